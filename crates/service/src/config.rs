//! Configuration: one TOML file, environment overrides, validation a store admin can read.
//!
//! Sources, later wins: built-in defaults → the file → `QRPAYD_*` environment variables.
//! Top-level keys are overridden by `QRPAYD_<KEY>` (e.g. `QRPAYD_DATABASE_URL`); a provider's
//! or register's keys by `QRPAYD_PROVIDERS__<NAME>__<KEY>` / `QRPAYD_REGISTERS__<ID>__<KEY>`
//! (names upper-cased, `-` written as `_`), so secrets can stay out of the file.
//!
//! [`Config::validate`] checks everything at startup and reports *all* problems at once,
//! including the timeout chain: QR lifetime < our wait for the bank < the register's timeout.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use qrpayd_bank::BankKind;
use qrpayd_domain::ids::{ProviderName, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::secret::Secret;
use serde::Deserialize;

/// The whole configuration (the file's shape).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[serde(default = "defaults::listen")]
    pub listen: String,
    /// `sqlite://path?mode=rwc` (embedded, one instance), `mysql://user:password@host/db`
    /// (MariaDB) or `postgres://user:password@host/db` (PostgreSQL; several instances may share
    /// one such database).
    #[serde(default = "defaults::database_url")]
    pub database_url: String,
    /// How the bank reaches our callbacks (`<public_url>/v1/callbacks/<provider>`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// How long a QR stays payable.
    #[serde(default = "defaults::payment_ttl_seconds")]
    pub payment_ttl_seconds: u64,
    /// How long the register waits for an answer (its own setting, 310 s by default on UKM 4
    /// registers). Must exceed everything qrpayd itself may wait.
    #[serde(default = "defaults::register_timeout_seconds")]
    pub register_timeout_seconds: u64,
    /// Timeout of one call to a bank.
    #[serde(default = "defaults::bank_timeout_seconds")]
    pub bank_timeout_seconds: u64,
    /// How long a refund sent to a bank without refund ids (T-Bank) may show no trace at the
    /// bank before it is recorded failed (`refund_not_received`; never sent again). T-Bank
    /// answers `Cancel` synchronously, so a request that reached it changes the payment at once;
    /// the default ten minutes is a wide margin over any answer lost in transit. 60 to 86400.
    #[serde(default = "defaults::refund_settle_seconds")]
    pub refund_settle_seconds: u64,
    /// Longest `?wait=` a long-poll may hold a request.
    #[serde(default = "defaults::max_wait_seconds")]
    pub max_wait_seconds: u64,
    /// Largest amount accepted for one payment, in kopecks (default 1 000 000 ₽).
    #[serde(default = "defaults::max_amount_kopecks")]
    pub max_amount_kopecks: i64,
    /// What to do when a customer pays after the payment was cancelled or expired:
    /// `refund` (default: give the money back automatically) or `flag` (mark it for a person).
    #[serde(default = "defaults::late_payment_policy")]
    pub late_payment_policy: String,
    /// Key of the store admin (`Authorization: Bearer …`): may list and read every register's
    /// payments and refunds, but not create or cancel anything. Absent = no admin access.
    #[serde(default)]
    pub admin_api_key: Option<Secret>,
    /// RabbitMQ for events, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`. Absent: no broker
    /// (events are still recorded and served at `GET /v1/events`).
    #[serde(default)]
    pub amqp_url: Option<Secret>,
    /// The durable topic exchange events are published to.
    #[serde(default = "defaults::amqp_exchange")]
    pub amqp_exchange: String,
    /// A second address serving only `GET /metrics` without a key (for a Prometheus on the
    /// store's network); absent = `/metrics` only on `listen`, with the admin key.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// `text` (default) or `json` log lines on stdout.
    #[serde(default = "defaults::log_format")]
    pub log_format: String,
    /// The ordered providers of registers that name neither `provider` nor `providers`: a
    /// create goes to the first available one and falls over to the next while the bank
    /// cannot have issued a QR (empty: the only configured provider, if there is one).
    #[serde(default)]
    pub default_providers: Vec<String>,
    /// Cash registers and kiosks allowed to use the API.
    #[serde(default)]
    pub registers: Vec<RegisterConfig>,
    /// Banks (payment modules).
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// Runs the SBP sandbox bank inside qrpayd under `/sandbox-bank` (demo and training).
    #[serde(default)]
    pub sandbox: Option<SandboxConfig>,
}

/// One register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterConfig {
    /// Register id, e.g. `pos-1`.
    pub id: String,
    /// The register's API key (`Authorization: Bearer …`).
    pub api_key: Secret,
    /// Provider used when a request names none.
    #[serde(default)]
    pub provider: Option<String>,
    /// Instead of `provider`: the ordered providers of a request that names none. A create goes
    /// to the first available one (by its health) and, for a dynamic QR, falls over to the next
    /// when the bank fails before a QR exists.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Key of the register's customer display / kiosk screen (`/display/<id>?key=…`). It
    /// shows only this register's current payment (amount, QR, status, time left) and changes
    /// nothing; absent = no display for this register.
    #[serde(default)]
    pub display_key: Option<Secret>,
    /// How this register takes QR payments when a request does not say: `dynamic` (a QR per
    /// payment, the default), `cash_register` (its printed link), `customer` (scan the
    /// customer's QR).
    #[serde(default = "defaults::qr_type")]
    pub qr_type: String,
}

/// One provider: its name, its bank (`kind`) and the bank's own settings, which only the bank's
/// module reads and checks ([`BankKind`]: `qrpayd-bank`'s list of banks).
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawProvider")]
pub struct ProviderConfig {
    /// The "payment module" name registers send, e.g. `raiffeisen`.
    pub name: String,
    /// The bank protocol: one of [`qrpayd_bank::KINDS`] (`raiffeisen`, `tbank`, `sandbox`).
    pub kind: String,
    /// How often to ask the bank about a pending payment (callbacks usually come first).
    pub poll_interval_ms: u64,
    /// Tell the bank our callback URL at startup.
    pub set_callback_url: bool,
    /// The bank and its settings, or why they could not be read (an unknown kind or key,
    /// reported by [`Config::validate`] with every other problem).
    bank: Result<BankKind, String>,
}

/// A provider table as written: the common keys, and the bank's own ones left to the bank.
#[derive(Deserialize)]
struct RawProvider {
    name: String,
    kind: String,
    #[serde(default = "defaults::poll_interval_ms")]
    poll_interval_ms: u64,
    #[serde(default = "defaults::yes")]
    set_callback_url: bool,
    #[serde(flatten)]
    settings: toml::Table,
}

impl From<RawProvider> for ProviderConfig {
    fn from(raw: RawProvider) -> Self {
        let bank = BankKind::parse(&raw.kind, toml::Value::Table(raw.settings));
        ProviderConfig {
            name: raw.name,
            kind: raw.kind,
            poll_interval_ms: raw.poll_interval_ms,
            set_callback_url: raw.set_callback_url,
            bank,
        }
    }
}

impl ProviderConfig {
    /// The bank and its settings, as read by the bank's module.
    pub fn bank(&self) -> Result<&BankKind, String> {
        self.bank.as_ref().map_err(Clone::clone)
    }
}

/// The embedded sandbox bank.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// The merchant id the sandbox accepts.
    pub sbp_merchant_id: String,
    /// The sandbox's secret key.
    pub secret_key: Secret,
}

mod defaults {
    pub(super) fn listen() -> String {
        "127.0.0.1:8080".into()
    }
    pub(super) fn database_url() -> String {
        "sqlite://qrpayd.db?mode=rwc".into()
    }
    pub(super) fn payment_ttl_seconds() -> u64 {
        300
    }
    pub(super) fn register_timeout_seconds() -> u64 {
        310
    }
    pub(super) fn bank_timeout_seconds() -> u64 {
        5
    }
    pub(super) fn refund_settle_seconds() -> u64 {
        600
    }
    pub(super) fn max_wait_seconds() -> u64 {
        60
    }
    pub(super) fn max_amount_kopecks() -> i64 {
        100_000_000
    }
    pub(super) fn late_payment_policy() -> String {
        "refund".into()
    }
    pub(super) fn amqp_exchange() -> String {
        "qrpay.events".into()
    }
    pub(super) fn qr_type() -> String {
        "dynamic".into()
    }
    pub(super) fn log_format() -> String {
        "text".into()
    }
    pub(super) fn poll_interval_ms() -> u64 {
        2000
    }
    pub(super) fn yes() -> bool {
        true
    }
}

/// Why the configuration could not be used. The text lists every problem, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Top-level keys that may be overridden from the environment, with their TOML type.
const TOP_LEVEL: [(&str, bool); 15] = [
    ("amqp_url", false),
    ("amqp_exchange", false),
    ("late_payment_policy", false),
    ("admin_api_key", false),
    ("listen", false),
    ("database_url", false),
    ("public_url", false),
    ("payment_ttl_seconds", true),
    ("register_timeout_seconds", true),
    ("bank_timeout_seconds", true),
    ("max_wait_seconds", true),
    ("refund_settle_seconds", true),
    ("max_amount_kopecks", true),
    ("log_format", false),
    ("metrics_listen", false),
];

impl Config {
    /// Reads `path`, applies `QRPAYD_*` overrides from the process environment, validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text, std::env::vars())
            .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses TOML text with the given environment (tests pass their own).
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError(format!("not valid TOML: {e}")))?;
        apply_env(&mut value, env)?;
        let config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(e.message().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks everything and reports all problems together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!(
                "listen = {:?} is not an address like \"127.0.0.1:8080\"",
                self.listen
            ));
        }
        if qrpayd_store::Backend::from_url(&self.database_url).is_none() {
            problems.push(format!(
                "database_url: use sqlite://qrpayd.db?mode=rwc (embedded), mysql://user:password@host/db (MariaDB) \
                 or postgres://user:password@host/db (PostgreSQL); got a URL starting {:?}",
                self.database_url.split(':').next().unwrap_or_default()
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push(format!(
                "public_url = {url:?} must start with http:// or https://"
            ));
        }
        if self.payment_ttl_seconds < 30 {
            problems.push(format!(
                "payment_ttl_seconds = {} is too short for a customer to scan and pay (30 at least)",
                self.payment_ttl_seconds
            ));
        }
        if !(60..=86_400).contains(&self.refund_settle_seconds) {
            problems.push(format!(
                "refund_settle_seconds = {} must be between 60 and 86400",
                self.refund_settle_seconds
            ));
        }
        if self.bank_timeout_seconds == 0 || self.bank_timeout_seconds > 60 {
            problems.push(format!(
                "bank_timeout_seconds = {} must be between 1 and 60",
                self.bank_timeout_seconds
            ));
        }
        let bank_wait = self.bank_wait_seconds();
        if self.register_timeout_seconds <= bank_wait {
            problems.push(format!(
                "timeout chain broken: register_timeout_seconds = {} must be greater than qrpayd's own wait for the bank, \
                 payment_ttl_seconds ({}) + bank_timeout_seconds ({}) = {bank_wait}; otherwise the register gives up \
                 before qrpayd knows whether the customer paid. Lower payment_ttl_seconds or raise the register's timeout \
                 (and register_timeout_seconds with it).",
                self.register_timeout_seconds, self.payment_ttl_seconds, self.bank_timeout_seconds
            ));
        }
        if self.max_wait_seconds == 0 || self.max_wait_seconds >= self.register_timeout_seconds {
            problems.push(format!(
                "max_wait_seconds = {} must be at least 1 and below register_timeout_seconds ({})",
                self.max_wait_seconds, self.register_timeout_seconds
            ));
        }
        if self.max_amount_kopecks < 1 || self.max_amount_kopecks > Kopecks::MAX.get() {
            problems.push(format!(
                "max_amount_kopecks = {} must be between 1 and {}",
                self.max_amount_kopecks,
                Kopecks::MAX.get()
            ));
        }
        if let Some(url) = &self.amqp_url
            && !(url.expose().starts_with("amqp://") || url.expose().starts_with("amqps://"))
        {
            problems.push("amqp_url must start with amqp:// or amqps://".into());
        }
        if self.amqp_exchange.is_empty() || self.amqp_exchange.len() > 127 {
            problems.push("amqp_exchange must be 1 to 127 characters".into());
        }
        if !matches!(self.late_payment_policy.as_str(), "refund" | "flag") {
            problems.push(format!(
                "late_payment_policy = {:?}: use \"refund\" (give the money back) or \"flag\" (mark for a person)",
                self.late_payment_policy
            ));
        }
        if let Some(key) = &self.admin_api_key
            && key.expose().len() < 16
        {
            problems.push("admin_api_key must be at least 16 characters".into());
        }
        if let Some(key) = &self.admin_api_key
            && self.registers.iter().any(|r| r.api_key == *key)
        {
            problems.push("admin_api_key must differ from every register's api_key".into());
        }
        if let Some(metrics) = &self.metrics_listen {
            match metrics.parse::<SocketAddr>() {
                Err(_) => problems.push(format!(
                    "metrics_listen = {metrics:?} is not an address like \"127.0.0.1:9464\""
                )),
                Ok(addr) if Some(addr) == self.listen.parse::<SocketAddr>().ok() => problems.push(
                    "metrics_listen must differ from listen (the API needs its key; metrics_listen has none)"
                        .into(),
                ),
                Ok(_) => {}
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            problems.push(format!(
                "log_format = {:?}: use \"text\" or \"json\"",
                self.log_format
            ));
        }
        self.validate_providers(&mut problems);
        self.validate_registers(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            let mut text = String::from("the configuration has problems:");
            for p in problems {
                let _ = write!(text, "\n  - {p}");
            }
            Err(ConfigError(text))
        }
    }

    fn validate_providers(&self, problems: &mut Vec<String>) {
        if self.providers.is_empty() {
            problems.push("no [[providers]]: add at least one bank".into());
        }
        let mut names = HashSet::new();
        for p in &self.providers {
            if ProviderName::parse(&p.name).is_err() {
                problems.push(format!(
                    "provider name {:?}: use letters, digits, '-', '_' or '.'",
                    p.name
                ));
            }
            if !names.insert(p.name.as_str()) {
                problems.push(format!("provider {:?} is configured twice", p.name));
            }
            if p.poll_interval_ms < 200 {
                problems.push(format!(
                    "provider {:?}: poll_interval_ms = {} is too frequent for a bank (200 at least)",
                    p.name, p.poll_interval_ms
                ));
            }
            let bank = match p.bank() {
                Ok(bank) => bank,
                Err(e) => {
                    problems.push(format!("provider {:?}: {e}", p.name));
                    continue;
                }
            };
            for problem in bank.problems() {
                let hint = if problem.secret {
                    format!(
                        " (or set QRPAYD_PROVIDERS__{}__{})",
                        env_name(&p.name),
                        problem.field.to_ascii_uppercase()
                    )
                } else {
                    String::new()
                };
                problems.push(format!(
                    "provider {:?}: {} for kind = {:?}{hint}",
                    p.name,
                    problem.message,
                    bank.name()
                ));
            }
            if p.set_callback_url && !bank.capabilities().callbacks {
                problems.push(format!(
                    "provider {:?}: set_callback_url = true, but kind = {:?} sends no notifications (qrpayd polls it)",
                    p.name,
                    bank.name()
                ));
            }
            // The bank's shortest QR lifetime, with one bank call's time to reach it.
            if let Some(min) = bank.capabilities().min_lifetime_seconds
                && self.payment_ttl_seconds < min.saturating_add(self.bank_timeout_seconds)
            {
                problems.push(format!(
                    "provider {:?}: payment_ttl_seconds = {} is too short: the bank takes QR lifetimes of {min} s at least, and one bank call (bank_timeout_seconds = {}) must fit before it",
                    p.name, self.payment_ttl_seconds, self.bank_timeout_seconds
                ));
            }
        }
    }

    fn validate_registers(&self, problems: &mut Vec<String>) {
        if self.registers.is_empty() {
            problems.push("no [[registers]]: add at least one register with an api_key".into());
        }
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for r in &self.registers {
            if RegisterId::parse(&r.id).is_err() {
                problems.push(format!(
                    "register id {:?}: use letters, digits, '-', '_' or '.'",
                    r.id
                ));
            }
            if !ids.insert(r.id.as_str()) {
                problems.push(format!("register {:?} is configured twice", r.id));
            }
            if r.api_key.expose().len() < 16 {
                problems.push(format!(
                    "register {:?}: api_key must be at least 16 characters",
                    r.id
                ));
            }
            if !keys.insert(r.api_key.expose()) {
                problems.push(format!(
                    "register {:?}: api_key is shared with another register; each needs its own",
                    r.id
                ));
            }
            if let Some(display) = &r.display_key {
                if display.expose().len() < 16 {
                    problems.push(format!(
                        "register {:?}: display_key must be at least 16 characters",
                        r.id
                    ));
                }
                if !display.expose().bytes().all(|b| b.is_ascii_graphic()) {
                    problems.push(format!(
                        "register {:?}: display_key must be printable ASCII without spaces (it goes into the display's URL)",
                        r.id
                    ));
                }
                let api_keys = self.registers.iter().map(|x| &x.api_key);
                if api_keys
                    .chain(self.admin_api_key.as_ref())
                    .any(|k| k == display)
                {
                    problems.push(format!(
                        "register {:?}: display_key must differ from every api_key and the admin_api_key (a display only reads)",
                        r.id
                    ));
                }
                if self
                    .registers
                    .iter()
                    .filter(|x| x.display_key.as_ref() == Some(display))
                    .count()
                    > 1
                {
                    problems.push(format!(
                        "register {:?}: display_key is shared with another register; each display needs its own",
                        r.id
                    ));
                }
            }
            if qrpayd_domain::payment::QrType::parse(&r.qr_type).is_none() {
                problems.push(format!(
                    "register {:?}: qr_type {:?}: use \"dynamic\", \"cash_register\" or \"customer\"",
                    r.id, r.qr_type
                ));
            }
            if r.provider.is_some() && !r.providers.is_empty() {
                problems.push(format!(
                    "register {:?}: give either provider or providers, not both",
                    r.id
                ));
            }
            self.check_provider_list(
                &format!("register {:?}", r.id),
                r.provider.iter().chain(&r.providers),
                problems,
            );
        }
        self.check_provider_list("default_providers", &self.default_providers, problems);
        let longest = self
            .registers
            .iter()
            .map(|r| self.register_providers(r).len())
            .max()
            .unwrap_or(0);
        let create_wait = self
            .bank_timeout_seconds
            .saturating_mul(u64::try_from(longest).unwrap_or(u64::MAX));
        if longest > 1 && create_wait >= self.register_timeout_seconds {
            problems.push(format!(
                "a create that falls over through {longest} providers may take {longest} × bank_timeout_seconds = {create_wait} s, not less than register_timeout_seconds = {}",
                self.register_timeout_seconds
            ));
        }
    }

    /// Every name in `names` is a configured provider, once.
    fn check_provider_list<'a>(
        &self,
        whose: &str,
        names: impl IntoIterator<Item = &'a String>,
        problems: &mut Vec<String>,
    ) {
        let mut seen = HashSet::new();
        for p in names {
            if !self.providers.iter().any(|x| &x.name == p) {
                problems.push(format!("{whose}: provider {p:?} is not configured"));
            } else if !seen.insert(p) {
                problems.push(format!("{whose}: provider {p:?} is listed twice"));
            }
        }
    }

    /// The ordered providers of `register`'s requests that name none: its `provider`, its
    /// `providers`, the store's `default_providers`, or the only configured provider.
    pub fn register_providers(&self, register: &RegisterConfig) -> Vec<String> {
        if let Some(p) = &register.provider {
            return vec![p.clone()];
        }
        if !register.providers.is_empty() {
            return register.providers.clone();
        }
        if !self.default_providers.is_empty() {
            return self.default_providers.clone();
        }
        match self.providers.as_slice() {
            [only] => vec![only.name.clone()],
            _ => Vec::new(),
        }
    }

    /// The longest qrpayd may take to learn a payment's final outcome: the QR lifetime plus
    /// one bank call to deactivate and re-check.
    pub fn bank_wait_seconds(&self) -> u64 {
        self.payment_ttl_seconds
            .saturating_add(self.bank_timeout_seconds)
    }

    /// The listen address (validated).
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| ConfigError(format!("bad listen address {:?}", self.listen)))
    }
}

/// `pos-1` → `POS_1`, for environment variable names.
fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace(['-', '.'], "_")
}

fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (key, val) in env {
        let Some(rest) = key.strip_prefix("QRPAYD_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        if let Some(&(name, numeric)) = TOP_LEVEL.iter().find(|(n, _)| *n == lower) {
            let value =
                if numeric {
                    toml::Value::Integer(val.parse().map_err(|_| {
                        ConfigError(format!("{key} = {val:?} must be a whole number"))
                    })?)
                } else {
                    toml::Value::String(val)
                };
            table.insert(name.to_owned(), value);
            continue;
        }
        let mut parts = rest.splitn(3, "__");
        let (Some(section), Some(item), Some(field)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (list, id_key) = match section {
            "PROVIDERS" => ("providers", "name"),
            "REGISTERS" => ("registers", "id"),
            _ => continue,
        };
        let entries = table
            .get_mut(list)
            .and_then(toml::Value::as_array_mut)
            .ok_or_else(|| ConfigError(format!("{key} is set but the file has no [[{list}]]")))?;
        let entry = entries
            .iter_mut()
            .filter_map(toml::Value::as_table_mut)
            .find(|t| {
                t.get(id_key)
                    .and_then(toml::Value::as_str)
                    .is_some_and(|n| env_name(n) == item)
            })
            .ok_or_else(|| {
                ConfigError(format!("{key}: no entry in [[{list}]] is called {item}"))
            })?;
        let field = field.to_ascii_lowercase();
        let value = match field.as_str() {
            "poll_interval_ms" => toml::Value::Integer(
                val.parse()
                    .map_err(|_| ConfigError(format!("{key} = {val:?} must be a whole number")))?,
            ),
            "set_callback_url" => toml::Value::Boolean(val == "true"),
            _ => toml::Value::String(val),
        };
        entry.insert(field, value);
    }
    Ok(())
}

/// A ready-to-run configuration for the embedded demo: SQLite file, the sandbox bank inside
/// qrpayd, one register with a customer display. The keys should be random.
pub fn demo_toml(
    listen: &str,
    register_key: &str,
    display_key: &str,
    sandbox_secret: &str,
) -> String {
    format!(
        r#"# qrpayd demo configuration, written on first start of `cargo run --release`.
# Everything runs in one process: the journal in a SQLite file and the built-in SBP
# sandbox bank under /sandbox-bank. Edit freely; delete this file to start over.

listen = "{listen}"
database_url = "sqlite://qrpayd-demo.db?mode=rwc"
public_url = "http://{listen}"          # how the bank reaches our callbacks
payment_ttl_seconds = 300               # a QR stays payable this long
register_timeout_seconds = 310          # the register's own wait; must exceed ttl + bank_timeout
bank_timeout_seconds = 5

[[registers]]
id = "pos-1"
api_key = "{register_key}"
display_key = "{display_key}"   # customer display: http://{listen}/display/pos-1?key=<this>

[[providers]]
name = "raiffeisen"                     # the "payment module" name registers send
kind = "raiffeisen"
base_url = "http://{listen}/sandbox-bank"
sbp_merchant_id = "MA0000000552"
secret_key = "{sandbox_secret}"
poll_interval_ms = 2000

# The built-in sandbox bank (Raiffeisen SBP protocol). Remove for production.
[sandbox]
sbp_merchant_id = "MA0000000552"
secret_key = "{sandbox_secret}"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "127.0.0.1:8080"
database_url = "sqlite://qrpayd.db?mode=rwc"
public_url = "http://127.0.0.1:8080"
payment_ttl_seconds = 300
register_timeout_seconds = 310

[[registers]]
id = "pos-1"
api_key = "0123456789abcdef-pos1"

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "https://pay-test.raif.ru"
sbp_merchant_id = "MA0000000552"
secret_key = "file-secret"
"#;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn the_issue_shape_parses() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
        assert_eq!(c.payment_ttl_seconds, 300);
        assert_eq!(c.providers[0].poll_interval_ms, 2000);
        assert_eq!(c.bank_wait_seconds(), 305);
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = vec![
            (
                "QRPAYD_DATABASE_URL".to_owned(),
                "sqlite::memory:".to_owned(),
            ),
            ("QRPAYD_PAYMENT_TTL_SECONDS".to_owned(), "120".to_owned()),
            (
                "QRPAYD_PROVIDERS__RAIFFEISEN__SECRET_KEY".to_owned(),
                "env-secret".to_owned(),
            ),
            (
                "QRPAYD_REGISTERS__POS_1__API_KEY".to_owned(),
                "env-key-0123456789".to_owned(),
            ),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ];
        let c = Config::from_toml(GOOD, env).unwrap();
        assert_eq!(c.database_url, "sqlite::memory:");
        assert_eq!(c.payment_ttl_seconds, 120);
        assert_eq!(
            match c.providers[0].bank() {
                Ok(BankKind::Raiffeisen(s)) => s.secret_key.as_ref().unwrap().expose(),
                other => panic!("{other:?}"),
            },
            "env-secret"
        );
        assert_eq!(c.registers[0].api_key.expose(), "env-key-0123456789");
    }

    #[test]
    fn timeout_chain_is_enforced_with_an_explanation() {
        let text = GOOD.replace(
            "register_timeout_seconds = 310",
            "register_timeout_seconds = 300",
        );
        let err = Config::from_toml(&text, no_env()).unwrap_err();
        assert!(err.0.contains("timeout chain broken"), "{err}");
        assert!(err.0.contains("= 305"), "{err}");
    }

    #[test]
    fn a_qr_lifetime_below_the_banks_minimum_is_refused() {
        let tbank = |ttl: u64| {
            GOOD.replace("payment_ttl_seconds = 300", &format!("payment_ttl_seconds = {ttl}"))
                .replace(
                    "register_timeout_seconds = 310",
                    "register_timeout_seconds = 200",
                )
                .replace(
                    "kind = \"raiffeisen\"\nbase_url = \"https://pay-test.raif.ru\"\nsbp_merchant_id = \"MA0000000552\"\nsecret_key = \"file-secret\"",
                    "kind = \"tbank\"\nbase_url = \"https://securepay.tinkoff.ru\"\nterminal_key = \"1DEMO\"\npassword = \"p\"",
                )
        };
        // T-Bank takes a RedirectDueDate at least a minute ahead, and one bank call must fit.
        let err = Config::from_toml(&tbank(64), no_env()).unwrap_err();
        assert!(
            err.0.contains("payment_ttl_seconds = 64 is too short"),
            "{err}"
        );
        assert!(Config::from_toml(&tbank(65), no_env()).is_ok());
        // `public_id` is Raiffeisen's: another bank's settings do not know it.
        let err =
            Config::from_toml(&format!("{}public_id = \"x\"\n", tbank(120)), no_env()).unwrap_err();
        assert!(err.0.contains("unknown field `public_id`"), "{err}");
        let raif = format!("{GOOD}public_id = \"store-42\"\n");
        let config = Config::from_toml(&raif, no_env()).unwrap();
        assert!(matches!(
            config.providers[0].bank(),
            Ok(BankKind::Raiffeisen(s)) if s.public_id.as_deref() == Some("store-42")
        ));
    }

    #[test]
    fn all_problems_are_reported_together() {
        let text = GOOD
            .replace("kind = \"raiffeisen\"", "kind = \"sberbank\"")
            .replace("0123456789abcdef-pos1", "short")
            .replace("127.0.0.1:8080\"\ndatabase", "nowhere\"\ndatabase");
        let err = Config::from_toml(&text, no_env()).unwrap_err().0;
        assert!(err.contains("unknown kind \"sberbank\""), "{err}");
        assert!(err.contains("api_key must be at least 16"), "{err}");
        assert!(err.contains("listen = \"nowhere\""), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_env_values_are_refused() {
        let err = Config::from_toml(&format!("{GOOD}\nlisten_port = 1\n"), no_env()).unwrap_err();
        assert!(err.0.contains("listen_port"), "{err}");
        let env = vec![("QRPAYD_PAYMENT_TTL_SECONDS".to_owned(), "five".to_owned())];
        assert!(Config::from_toml(GOOD, env).is_err());
    }

    #[test]
    fn metrics_listen_is_an_address_other_than_listen() {
        let c = Config::from_toml(
            &format!("metrics_listen = \"127.0.0.1:9464\"\n{GOOD}"),
            no_env(),
        )
        .unwrap();
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        let err = Config::from_toml(&format!("metrics_listen = \"nowhere\"\n{GOOD}"), no_env())
            .unwrap_err()
            .0;
        assert!(err.contains("metrics_listen = \"nowhere\""), "{err}");
        let err = Config::from_toml(
            &format!("metrics_listen = \"127.0.0.1:8080\"\n{GOOD}"),
            no_env(),
        )
        .unwrap_err()
        .0;
        assert!(err.contains("must differ from listen"), "{err}");
        let env = vec![(
            "QRPAYD_METRICS_LISTEN".to_owned(),
            "127.0.0.1:9100".to_owned(),
        )];
        let c = Config::from_toml(GOOD, env).unwrap();
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9100"));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("file-secret") && !debug.contains("0123456789abcdef-pos1"));
    }

    #[test]
    fn the_demo_config_is_valid() {
        let text = demo_toml(
            "127.0.0.1:8080",
            "demo-register-key-0123",
            "demo-display-key-0123",
            "demo-secret",
        );
        let c = Config::from_toml(&text, no_env()).unwrap();
        assert!(c.sandbox.is_some());
        assert_eq!(
            c.registers[0].display_key.as_ref().unwrap().expose(),
            "demo-display-key-0123"
        );
    }

    #[test]
    fn display_keys_are_checked_and_may_come_from_the_environment() {
        let with = |key: &str| {
            GOOD.replace(
                "api_key = \"0123456789abcdef-pos1\"",
                &format!("api_key = \"0123456789abcdef-pos1\"\ndisplay_key = \"{key}\""),
            )
        };
        let c = Config::from_toml(&with("display-key-0123456789"), no_env()).unwrap();
        assert_eq!(
            c.registers[0].display_key.as_ref().unwrap().expose(),
            "display-key-0123456789"
        );
        let env = vec![(
            "QRPAYD_REGISTERS__POS_1__DISPLAY_KEY".to_owned(),
            "env-display-key-0123".to_owned(),
        )];
        let c = Config::from_toml(GOOD, env).unwrap();
        assert_eq!(
            c.registers[0].display_key.as_ref().unwrap().expose(),
            "env-display-key-0123"
        );
        let err = Config::from_toml(&with("short"), no_env()).unwrap_err().0;
        assert!(err.contains("display_key must be at least 16"), "{err}");
        let err = Config::from_toml(&with("0123456789abcdef-pos1"), no_env())
            .unwrap_err()
            .0;
        assert!(err.contains("display_key must differ"), "{err}");
        let err = Config::from_toml(&with("has a space 0123456789"), no_env())
            .unwrap_err()
            .0;
        assert!(err.contains("printable ASCII"), "{err}");
    }
}
