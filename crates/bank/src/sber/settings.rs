//! A Sber provider's settings (`kind = "sber"`): read from the provider's configuration table,
//! checked (including the certificate files: they must exist and parse, and the key must be
//! the certificate's), and turned into the adapter's [`SberConfig`].
//!
//! Over `https://` (the bank) the mutual-TLS files are required: the client certificate and
//! its key that Sber issued for the application, and the root the bank's servers chain to
//! (the Russian Trusted Root CA of the Ministry of Digital Development, which is in no
//! browser or Debian trust store). Over `http://` (qrpayd's sandbox, which serves plain HTTP)
//! there is no TLS, so none of them may be given: a plain-HTTP provider is never mistaken
//! for one that authenticates the bank.

use std::sync::Arc;
use std::time::Duration;

use qrpayd_domain::clock::Clock;
use qrpayd_domain::secret::Secret;
use serde::Deserialize;

use super::{SberConfig, TlsFiles};
use crate::settings::{Problem, check_base_url};

/// The production gateway (its `:443` is the default port).
pub const DEFAULT_BASE_URL: &str = "https://mc.api.sberbank.ru/prod";

/// Sber's NSPK member id in the SBP, the value the spec gives for `sbp_member_id`.
pub const DEFAULT_SBP_MEMBER_ID: &str = "100000000111";

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_sbp_member_id() -> String {
    DEFAULT_SBP_MEMBER_ID.to_owned()
}

/// The provider table's keys (besides `name`, `kind` and the common ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API gateway: `https://mc.api.sberbank.ru/prod` (the default) or qrpayd's sandbox
    /// (`http://…/sber`). `/tokens/v3/oauth` and `/qr/order/v3/…` are appended.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The application's OAuth `client_id` (Sber API personal account).
    #[serde(default)]
    pub client_id: String,
    /// The application's OAuth `client_secret`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The terminal id (`tid`, up to 8 characters): it is also the `id_qr` of SBP orders.
    #[serde(default)]
    pub tid: String,
    /// The client id at Sber (`member_id`, up to 8 characters).
    #[serde(default)]
    pub member_id: String,
    /// Sber's member id in the SBP (`sbp_member_id`): `100000000111` unless the bank says
    /// otherwise.
    #[serde(default = "default_sbp_member_id")]
    pub sbp_member_id: String,
    /// Path of the client certificate Sber issued (PEM; the chain may follow it). Convert the
    /// `.p12` the bank hands out with `openssl pkcs12 -in cert.p12 -out client.pem -nodes`.
    #[serde(default)]
    pub client_certificate: Option<String>,
    /// Path of the certificate's private key (PEM, PKCS#8, PKCS#1 or SEC1); may name the same
    /// file as `client_certificate`.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Path of the root certificate(s) the bank's servers chain to (PEM): the Russian Trusted
    /// Root CA (and its Sub CA) from <https://www.gosuslugi.ru/crt>. Only these roots are
    /// trusted for the bank.
    #[serde(default)]
    pub root_certificate: Option<String>,
}

/// Whether `text` is 1 to `max` characters of `A-Za-z0-9_-` (the spec's pattern for
/// `tid` and `member_id`).
fn sber_id(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Settings {
    /// Whether the provider talks to the bank over TLS (otherwise: the local sandbox).
    fn uses_tls(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// Everything wrong with the settings.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        check_base_url(&self.base_url, &mut problems);
        if self.client_id.is_empty() {
            problems.push(Problem::missing("client_id", false));
        }
        if self
            .client_secret
            .as_ref()
            .is_none_or(|s| s.expose().is_empty())
        {
            problems.push(Problem::missing("client_secret", true));
        }
        if self.tid.is_empty() {
            problems.push(Problem::missing("tid", false));
        } else if !sber_id(&self.tid, 8) {
            problems.push(Problem::new(
                "tid",
                format!(
                    "tid {:?} must be 1 to 8 letters, digits, '_' or '-'",
                    self.tid
                ),
            ));
        }
        if self.member_id.is_empty() {
            problems.push(Problem::missing("member_id", false));
        } else if !sber_id(&self.member_id, 8) {
            problems.push(Problem::new(
                "member_id",
                format!(
                    "member_id {:?} must be 1 to 8 letters, digits, '_' or '-'",
                    self.member_id
                ),
            ));
        }
        if self.sbp_member_id.len() != 12 || !self.sbp_member_id.bytes().all(|b| b.is_ascii_digit())
        {
            problems.push(Problem::new(
                "sbp_member_id",
                format!(
                    "sbp_member_id {:?} must be 12 digits (Sber's is {DEFAULT_SBP_MEMBER_ID})",
                    self.sbp_member_id
                ),
            ));
        }
        self.tls_problems(&mut problems);
        problems
    }

    /// The certificate files: required and valid over `https://`, absent over `http://`.
    fn tls_problems(&self, problems: &mut Vec<Problem>) {
        let files = [
            ("client_certificate", &self.client_certificate),
            ("client_key", &self.client_key),
            ("root_certificate", &self.root_certificate),
        ];
        if !self.uses_tls() {
            for (field, value) in files {
                if value.is_some() {
                    problems.push(Problem::new(
                        field,
                        format!(
                            "{field} has no effect over plain http:// (qrpayd's sandbox); remove it, or use an https:// base_url"
                        ),
                    ));
                }
            }
            return;
        }
        let mut all_there = true;
        for (field, value) in files {
            if value.as_deref().is_none_or(str::is_empty) {
                problems.push(Problem::new(
                    field,
                    format!(
                        "{field} is required for an https:// base_url (Sber requires mutual TLS)"
                    ),
                ));
                all_there = false;
            }
        }
        if !all_there {
            return;
        }
        match self.tls_files() {
            Ok(files) => {
                if let Err(problem) = files.check() {
                    problems.push(problem);
                }
            }
            Err(unreadable) => problems.extend(unreadable),
        }
    }

    /// The certificate files, read (every file that cannot be read is a problem).
    fn tls_files(&self) -> Result<TlsFiles, Vec<Problem>> {
        let mut unreadable = Vec::new();
        let mut read = |field: &'static str, path: &Option<String>| {
            let path = path.as_deref().unwrap_or_default();
            std::fs::read(path).unwrap_or_else(|e| {
                unreadable.push(Problem::new(
                    field,
                    format!("{field} {path:?} cannot be read: {e}"),
                ));
                Vec::new()
            })
        };
        let certificate = read("client_certificate", &self.client_certificate);
        let key = if self.client_key == self.client_certificate {
            Vec::new()
        } else {
            read("client_key", &self.client_key)
        };
        let roots = read("root_certificate", &self.root_certificate);
        if !unreadable.is_empty() {
            return Err(unreadable);
        }
        Ok(TlsFiles {
            identity: [certificate, b"\n".to_vec(), key].concat(),
            roots,
        })
    }

    /// The adapter's configuration. The certificate files are read here (again: they may have
    /// been replaced since the configuration was checked).
    pub(crate) fn adapter_config(
        &self,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<SberConfig, Problem> {
        let tls = if self.uses_tls() {
            Some(
                self.tls_files()
                    .map_err(|mut unreadable| unreadable.remove(0))?,
            )
        } else {
            None
        };
        Ok(SberConfig {
            base_url: self.base_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self
                .client_secret
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            tid: self.tid.clone(),
            member_id: self.member_id.clone(),
            sbp_member_id: self.sbp_member_id.clone(),
            tls,
            timeout,
            clock,
        })
    }
}
