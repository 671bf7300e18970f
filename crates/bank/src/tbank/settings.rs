//! A T-Bank provider's settings (`kind = "tbank"`): read from the provider's configuration
//! table, checked, and turned into the adapter's [`TBankConfig`].

use std::time::Duration;

use qrpayd_domain::secret::Secret;
use serde::Deserialize;

use super::TBankConfig;
use crate::settings::{Problem, check_base_url};

/// The provider table's keys (besides `name`, `kind` and the common ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `https://securepay.tinkoff.ru` or qrpayd's sandbox (`http://…/tbank`).
    pub base_url: String,
    /// The terminal key (`TerminalKey`).
    #[serde(default)]
    pub terminal_key: String,
    /// The terminal's password (signs every request's `Token`).
    #[serde(default)]
    pub password: Option<Secret>,
}

impl Settings {
    /// Everything wrong with the settings.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        check_base_url(&self.base_url, &mut problems);
        if self.terminal_key.is_empty() {
            problems.push(Problem::missing("terminal_key", false));
        }
        if self.password.as_ref().is_none_or(|s| s.expose().is_empty()) {
            problems.push(Problem::missing("password", true));
        }
        problems
    }

    /// The adapter's configuration.
    pub(crate) fn adapter_config(&self, timeout: Duration) -> TBankConfig {
        TBankConfig {
            base_url: self.base_url.clone(),
            terminal_key: self.terminal_key.clone(),
            password: self.password.clone().unwrap_or_else(|| Secret::new("")),
            timeout,
        }
    }
}
