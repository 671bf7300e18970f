//! A Raiffeisen provider's settings (`kind = "raiffeisen"`, and `kind = "sandbox"`, which speaks
//! the same protocol to qrpayd's sandbox bank): read from the provider's configuration table,
//! checked, and turned into the adapter's [`RaiffeisenConfig`].

use std::time::Duration;

use qrpayd_domain::secret::Secret;
use serde::Deserialize;

use super::RaiffeisenConfig;
use crate::settings::{Problem, check_base_url};

/// The provider table's keys (besides `name`, `kind` and the common ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://pay.raif.ru` (production), `https://pay-test.raif.ru` (the bank's sandbox) or
    /// qrpayd's own sandbox.
    pub base_url: String,
    /// The SBP merchant id, e.g. `MA0000000552`.
    #[serde(default)]
    pub sbp_merchant_id: String,
    /// The secret key: Bearer token for the API and HMAC key of notifications.
    #[serde(default)]
    pub secret_key: Option<Secret>,
    /// The store's `publicId` signed in order (cash-register link) notifications; by default
    /// the `sbp_merchant_id`.
    #[serde(default)]
    pub public_id: Option<String>,
}

impl Settings {
    /// Everything wrong with the settings.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        check_base_url(&self.base_url, &mut problems);
        if self.sbp_merchant_id.is_empty() {
            problems.push(Problem::missing("sbp_merchant_id", false));
        }
        if self
            .secret_key
            .as_ref()
            .is_none_or(|s| s.expose().is_empty())
        {
            problems.push(Problem::missing("secret_key", true));
        }
        if self.public_id.as_deref() == Some("") {
            problems.push(Problem::new(
                "public_id",
                "public_id must not be empty (leave it out to use sbp_merchant_id)",
            ));
        }
        problems
    }

    /// The adapter's configuration.
    pub(crate) fn adapter_config(&self, timeout: Duration) -> RaiffeisenConfig {
        RaiffeisenConfig {
            base_url: self.base_url.clone(),
            sbp_merchant_id: self.sbp_merchant_id.clone(),
            secret_key: self.secret_key.clone().unwrap_or_else(|| Secret::new("")),
            public_id: self.public_id.clone(),
            timeout,
        }
    }
}
