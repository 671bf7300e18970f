//! An RBS provider's settings (`kind = "rbs"`): read from the provider's configuration table,
//! checked, and turned into the adapter's [`RbsConfig`].
//!
//! The gateway is BPC's, run by many banks under their own host names; `preset` names the
//! ones qrpayd knows (BANKS.md §3.6), `base_url` reaches any other (or qrpayd's sandbox).

use std::time::Duration;

use qrpayd_domain::secret::Secret;
use serde::Deserialize;

use super::{Auth, CallbackCheck, RbsConfig};
use crate::settings::{Problem, check_base_url};

/// The gateways qrpayd knows: `(preset, base_url)`. `base_url` is what comes before
/// `/rest/<method>.do`. Sources: MTS's own API page (mts.rbsuat.com, "API URLs"); Alfa and VTB
/// from public client code (BANKS.md §3.6).
pub const PRESETS: [(&str, &str); 6] = [
    ("vtb-test", "https://vtb.rbsuat.com/payment"),
    ("vtb", "https://platezh.vtb24.ru/payment"),
    ("alfa-test", "https://alfa.rbsuat.com/payment"),
    ("alfa", "https://pay.alfabank.ru/payment"),
    ("mts-test", "https://mts.rbsuat.com/payment"),
    ("mts", "https://oplata.mtsbank.ru/payment"),
];

/// The provider table's keys (besides `name`, `kind` and the common ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A known gateway ([`PRESETS`]): `vtb`, `vtb-test`, `alfa`, `alfa-test`, `mts`,
    /// `mts-test`. Either this or `base_url`.
    #[serde(default)]
    pub preset: Option<String>,
    /// The gateway's address up to `/rest`, e.g. `https://alfa.rbsuat.com/payment`, or
    /// qrpayd's sandbox (`http://…/rbs/payment`). Either this or `preset`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The API account's login (`userName`, usually ending in `-api`); with `password`.
    #[serde(default)]
    pub user_name: Option<String>,
    /// The API account's password; with `user_name`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A merchant `token` from the bank's support, instead of `user_name` + `password`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The key of the symmetric callback checksum (HMAC-SHA256), from the bank's support.
    #[serde(default)]
    pub callback_key: Option<Secret>,
    /// The gateway's public key for the asymmetric callback checksum (RSA, SHA-512), as a PEM
    /// `PUBLIC KEY` block; instead of `callback_key`.
    #[serde(default)]
    pub callback_public_key: Option<String>,
}

impl Settings {
    /// The gateway address: the preset's or `base_url`.
    fn resolved_base_url(&self) -> Option<&str> {
        match (&self.preset, &self.base_url) {
            (Some(preset), None) => PRESETS
                .iter()
                .find(|(name, _)| name == preset)
                .map(|(_, url)| *url),
            (None, Some(url)) => Some(url.as_str()),
            _ => None,
        }
    }

    /// Everything wrong with the settings.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        match (&self.preset, &self.base_url) {
            (Some(_), Some(_)) => problems.push(Problem::new(
                "base_url",
                "give either preset or base_url, not both",
            )),
            (None, None) => problems.push(Problem::new(
                "base_url",
                format!(
                    "base_url (or preset: {}) is required",
                    PRESETS.map(|(name, _)| name).join(", ")
                ),
            )),
            (Some(preset), None) if self.resolved_base_url().is_none() => {
                problems.push(Problem::new(
                    "preset",
                    format!(
                        "unknown preset {preset:?} (known: {})",
                        PRESETS.map(|(name, _)| name).join(", ")
                    ),
                ));
            }
            (_, Some(url)) => check_base_url(url, &mut problems),
            (Some(_), None) => {}
        }
        let filled = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.expose().is_empty());
        let has_login = self.user_name.as_deref().is_some_and(|u| !u.is_empty());
        match (has_login, filled(&self.password), filled(&self.token)) {
            (true, true, false) | (false, false, true) => {}
            (_, _, true) => problems.push(Problem::new(
                "token",
                "give either token or user_name + password, not both",
            )),
            (false, _, false) => problems.push(Problem::missing("user_name", false)),
            (true, false, false) => problems.push(Problem::missing("password", true)),
        }
        let has_public_key = self
            .callback_public_key
            .as_deref()
            .is_some_and(|k| !k.is_empty());
        match (filled(&self.callback_key), has_public_key) {
            (true, true) => problems.push(Problem::new(
                "callback_public_key",
                "give either callback_key or callback_public_key, not both",
            )),
            (false, false) => problems.push(Problem::missing("callback_key", true)),
            (false, true) => {
                if let Err(e) = super::checksum::public_key_der(
                    self.callback_public_key.as_deref().unwrap_or_default(),
                ) {
                    problems.push(Problem::new("callback_public_key", e));
                }
            }
            (true, false) => {}
        }
        problems
    }

    /// The adapter's configuration.
    pub(crate) fn adapter_config(&self, timeout: Duration) -> RbsConfig {
        let auth = match (&self.token, &self.user_name, &self.password) {
            (Some(token), _, _) if !token.expose().is_empty() => Auth::Token(token.clone()),
            (_, user, password) => Auth::Login {
                user_name: user.clone().unwrap_or_default(),
                password: password.clone().unwrap_or_else(|| Secret::new("")),
            },
        };
        let callback = match (&self.callback_key, &self.callback_public_key) {
            (_, Some(pem)) if !pem.is_empty() => CallbackCheck::PublicKey(pem.clone()),
            (key, _) => CallbackCheck::Key(key.clone().unwrap_or_else(|| Secret::new(""))),
        };
        RbsConfig {
            base_url: self.resolved_base_url().unwrap_or_default().to_owned(),
            auth,
            callback,
            timeout,
        }
    }
}
