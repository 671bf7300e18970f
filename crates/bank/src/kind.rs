//! The bank kinds qrpayd speaks, and everything the rest of qrpayd needs to know about one:
//! how its settings are read and checked, what it can do, how its adapter is built, and how
//! its daily registry is read. This is the one list of banks; the configuration and startup
//! code have no per-bank branches.
//!
//! Adding a bank: a folder `src/<bank>/` with its adapter, wire types, notification checks and
//! `settings.rs`, then one variant here (and its arm in each `match` below, which the compiler
//! asks for). See ARCHITECTURE.md, "Adding a bank".

use std::sync::Arc;
use std::time::Duration;

use qrpayd_domain::clock::Clock;
use serde::Deserialize;

use crate::registry::Registry;
pub use crate::settings::Problem;
use crate::{BankAdapter, BankError, Capabilities, raiffeisen, rbs, sandbox, sber, tbank};

/// The `kind`s a provider may have.
pub const KINDS: [&str; 5] = ["raiffeisen", "tbank", "rbs", "sber", "sandbox"];

/// A provider's bank, with its settings.
#[derive(Debug, Clone)]
pub enum BankKind {
    /// Raiffeisenbank's SBP API.
    Raiffeisen(raiffeisen::Settings),
    /// T-Bank internet acquiring with SBP.
    Tbank(tbank::Settings),
    /// BPC's RBS gateway with SBP C2B (VTB, Alfa-Bank, MTS Bank, …).
    Rbs(rbs::Settings),
    /// Sber's QR API ("Плати QR" v3, QR СБП).
    Sber(sber::Settings),
    /// qrpayd's own sandbox bank: Raiffeisen's protocol plus customer-presented QRs.
    Sandbox(raiffeisen::Settings),
}

impl BankKind {
    /// Reads the settings of a provider of `kind` from its other keys (`fields`: any serde
    /// deserializer over the provider's table, without `name`, `kind` and the common keys).
    /// An unknown kind, a missing key of the wrong type or an unknown key is an error.
    pub fn parse<'de, D: serde::Deserializer<'de>>(kind: &str, fields: D) -> Result<Self, String> {
        let settings = match kind {
            "raiffeisen" => raiffeisen::Settings::deserialize(fields).map(BankKind::Raiffeisen),
            "tbank" => tbank::Settings::deserialize(fields).map(BankKind::Tbank),
            "rbs" => rbs::Settings::deserialize(fields).map(BankKind::Rbs),
            "sber" => sber::Settings::deserialize(fields).map(BankKind::Sber),
            "sandbox" => raiffeisen::Settings::deserialize(fields).map(BankKind::Sandbox),
            _ => {
                // The value is not repeated: a key typed into the wrong line must not reach a log.
                return Err(format!(
                    "unknown kind (supported: {})",
                    KINDS.map(|k| format!("{k:?}")).join(", ")
                ));
            }
        };
        settings.map_err(|e| e.to_string())
    }

    /// The kind's name.
    pub fn name(&self) -> &'static str {
        match self {
            BankKind::Raiffeisen(_) => "raiffeisen",
            BankKind::Tbank(_) => "tbank",
            BankKind::Rbs(_) => "rbs",
            BankKind::Sber(_) => "sber",
            BankKind::Sandbox(_) => "sandbox",
        }
    }

    /// Everything wrong with the settings (empty when they are usable).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            BankKind::Raiffeisen(s) | BankKind::Sandbox(s) => s.problems(),
            BankKind::Tbank(s) => s.problems(),
            BankKind::Rbs(s) => s.problems(),
            BankKind::Sber(s) => s.problems(),
        }
    }

    /// What the bank can do, and its limits.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            BankKind::Raiffeisen(_) => raiffeisen::CAPABILITIES,
            BankKind::Tbank(_) => tbank::CAPABILITIES,
            BankKind::Rbs(_) => rbs::CAPABILITIES,
            BankKind::Sber(_) => sber::CAPABILITIES,
            BankKind::Sandbox(_) => sandbox::CAPABILITIES,
        }
    }

    /// Builds the adapter, with `timeout` for each bank call and `clock` for the business time
    /// an adapter needs (request timestamps, token expiry).
    pub fn build(
        &self,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<dyn BankAdapter>, BankError> {
        Ok(match self {
            BankKind::Raiffeisen(s) => {
                Arc::new(raiffeisen::Raiffeisen::new(s.adapter_config(timeout))?)
            }
            BankKind::Tbank(s) => Arc::new(tbank::TBank::new(s.adapter_config(timeout))?),
            BankKind::Rbs(s) => Arc::new(rbs::Rbs::new(s.adapter_config(timeout))?),
            BankKind::Sber(s) => Arc::new(sber::Sber::new(
                s.adapter_config(timeout, clock)
                    .map_err(|p| BankError::Unavailable(p.message))?,
            )?),
            BankKind::Sandbox(s) => Arc::new(sandbox::SandboxBank::new(s.adapter_config(timeout))?),
        })
    }

    /// Reads the bank's daily registry file, if the bank publishes one.
    pub fn read_registry(&self, bytes: &[u8]) -> Option<Result<Registry, String>> {
        match self {
            BankKind::Raiffeisen(_) | BankKind::Sandbox(_) => {
                Some(raiffeisen::registry::parse(bytes).map_err(|e| e.to_string()))
            }
            BankKind::Sber(_) => Some(sber::registry::parse(bytes)),
            BankKind::Tbank(_) | BankKind::Rbs(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_like: &[(&str, &str)]) -> serde_json::Value {
        serde_json::Value::Object(
            toml_like
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
                .collect(),
        )
    }

    #[test]
    fn every_kind_parses_checks_and_builds() {
        let raiffeisen = table(&[
            ("base_url", "https://pay-test.raif.ru"),
            ("sbp_merchant_id", "MA0000000552"),
            ("secret_key", "k"),
        ]);
        let tbank = table(&[
            ("base_url", "https://securepay.tinkoff.ru"),
            ("terminal_key", "1DEMO"),
            ("password", "p"),
        ]);
        let rbs = table(&[
            ("preset", "alfa-test"),
            ("user_name", "shop-api"),
            ("password", "p"),
            ("callback_key", "k"),
        ]);
        for (kind, fields) in [
            ("raiffeisen", &raiffeisen),
            ("sandbox", &raiffeisen),
            ("tbank", &tbank),
            ("rbs", &rbs),
        ] {
            let parsed = BankKind::parse(kind, fields.clone()).unwrap();
            assert_eq!(parsed.name(), kind);
            assert_eq!(parsed.problems(), vec![], "{kind}");
            assert!(
                parsed
                    .build(Duration::from_secs(1), Arc::new(crate::clock::SystemClock))
                    .is_ok()
            );
            assert!(KINDS.contains(&kind));
        }
        assert_eq!(
            BankKind::parse("tbank", tbank.clone())
                .unwrap()
                .capabilities(),
            tbank::CAPABILITIES
        );
    }

    #[test]
    fn problems_name_the_field_and_unknown_keys_and_kinds_are_refused() {
        let missing = BankKind::parse("tbank", table(&[("base_url", "ftp://x")])).unwrap();
        let fields: Vec<_> = missing
            .problems()
            .iter()
            .map(|p| (p.field, p.secret))
            .collect();
        assert_eq!(
            fields,
            [
                ("base_url", false),
                ("terminal_key", false),
                ("password", true)
            ]
        );
        let typo = table(&[("base_url", "https://x"), ("secret_kye", "k")]);
        assert!(
            BankKind::parse("raiffeisen", typo)
                .unwrap_err()
                .contains("secret_kye")
        );
        let unknown = BankKind::parse("sberbank", table(&[])).unwrap_err();
        assert!(unknown.contains("unknown kind"), "{unknown}");
        assert!(!unknown.contains("sberbank"), "{unknown}");
        assert!(unknown.contains("\"tbank\""), "{unknown}");
    }

    #[test]
    fn only_banks_with_a_registry_read_one() {
        let sample = include_bytes!("../tests/data/SBPreport.csv");
        let raiffeisen = BankKind::parse(
            "raiffeisen",
            table(&[
                ("base_url", "https://x"),
                ("sbp_merchant_id", "M"),
                ("secret_key", "k"),
            ]),
        )
        .unwrap();
        assert!(matches!(raiffeisen.read_registry(sample), Some(Ok(_))));
        let tbank = BankKind::parse(
            "tbank",
            table(&[
                ("base_url", "https://x"),
                ("terminal_key", "T"),
                ("password", "p"),
            ]),
        )
        .unwrap();
        assert!(tbank.read_registry(sample).is_none());
    }
}
