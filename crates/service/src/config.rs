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
    /// A connection must deliver a complete request head within this many seconds of the
    /// server starting to wait for one (after connecting, and after each answer on a kept-alive
    /// connection, so it is also the keep-alive idle time).
    #[serde(default = "defaults::header_read_timeout_seconds")]
    pub header_read_timeout_seconds: u64,
    /// A connection on which no byte moved for this many seconds is closed (longer than
    /// `max_wait_seconds`).
    #[serde(default = "defaults::idle_timeout_seconds")]
    pub idle_timeout_seconds: u64,
    /// Most connections served at once (lowered to what the open-file limit allows); beyond
    /// it a new connection is answered `503 overloaded` with `Retry-After` and closed.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: u64,
    /// Most long-polls (`?wait=` on payments, refunds and events) one register keeps open; a
    /// newer one makes the oldest answer at once with the current state.
    #[serde(default = "defaults::max_long_polls_per_register")]
    pub max_long_polls_per_register: u64,
    /// Most customer-display streams open per register; one more is refused with `429
    /// too_many_displays` and `Retry-After` (the screens already open keep theirs).
    #[serde(default = "defaults::max_display_streams_per_register")]
    pub max_display_streams_per_register: u64,
    /// Requests per second each client address may make to the paths that need no register
    /// key (bank callbacks, displays and their assets, pages, the sandbox bank, OpenAPI);
    /// beyond it `429 rate_limited` with `Retry-After`.
    #[serde(default = "defaults::rate_limit_per_second")]
    pub rate_limit_per_second: u64,
    /// How many such requests a client address may make at once before the rate applies.
    #[serde(default = "defaults::rate_limit_burst")]
    pub rate_limit_burst: u64,
    /// QR pictures and receipt rasters rendered at once, off the async threads; as many again
    /// may wait per slot, more are refused with `503 overloaded`.
    #[serde(default = "defaults::max_concurrent_renders")]
    pub max_concurrent_renders: u64,
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
    /// The bank protocol: one of [`qrpayd_bank::KINDS`] (`raiffeisen`, `tbank`, `rbs`, `sber`, `sandbox`).
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
    pub(super) fn header_read_timeout_seconds() -> u64 {
        10
    }
    pub(super) fn idle_timeout_seconds() -> u64 {
        120
    }
    pub(super) fn max_connections() -> u64 {
        4096
    }
    pub(super) fn max_long_polls_per_register() -> u64 {
        8
    }
    pub(super) fn max_display_streams_per_register() -> u64 {
        4
    }
    pub(super) fn rate_limit_per_second() -> u64 {
        20
    }
    pub(super) fn rate_limit_burst() -> u64 {
        100
    }
    pub(super) fn max_concurrent_renders() -> u64 {
        2
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
const TOP_LEVEL: [(&str, bool); 23] = [
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
    ("header_read_timeout_seconds", true),
    ("idle_timeout_seconds", true),
    ("max_connections", true),
    ("max_long_polls_per_register", true),
    ("max_display_streams_per_register", true),
    ("rate_limit_per_second", true),
    ("rate_limit_burst", true),
    ("max_concurrent_renders", true),
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
        // The toml crate's own text quotes the offending line, which may hold a key: only its
        // message and position are shown (see `toml_problem`).
        let mut value: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError(format!("not valid TOML: {}", toml_problem(text, &e)))
        })?;
        apply_env(&mut value, env)?;
        let config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(without_values(e.message())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks everything and reports all problems together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            problems.push("listen is not an address like \"127.0.0.1:8080\"".into());
        }
        if qrpayd_store::Backend::from_url(&self.database_url).is_none() {
            problems.push(
                "database_url: use sqlite://qrpayd.db?mode=rwc (embedded), mysql://user:password@host/db (MariaDB) \
                 or postgres://user:password@host/db (PostgreSQL)"
                    .into(),
            );
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("public_url must start with http:// or https://".into());
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
            problems.push(
                "late_payment_policy: use \"refund\" (give the money back) or \"flag\" (mark for a person)"
                    .into(),
            );
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
                Err(_) => problems.push(
                    "metrics_listen is not an address like \"127.0.0.1:9464\"".into(),
                ),
                Ok(addr) if Some(addr) == self.listen.parse::<SocketAddr>().ok() => problems.push(
                    "metrics_listen must differ from listen (the API needs its key; metrics_listen has none)"
                        .into(),
                ),
                Ok(_) => {}
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            problems.push("log_format: use \"text\" or \"json\"".into());
        }
        self.validate_limits(&mut problems);
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
        for (i, p) in self.providers.iter().enumerate() {
            if ProviderName::parse(&p.name).is_err() {
                problems.push(format!(
                    "{}: the name must be letters, digits, '-', '_' or '.'",
                    entry("providers", i, &p.name)
                ));
            }
            if !names.insert(p.name.as_str()) {
                problems.push(format!(
                    "{} is configured twice",
                    entry("providers", i, &p.name)
                ));
            }
            if p.poll_interval_ms < 200 {
                problems.push(format!(
                    "{}: poll_interval_ms = {} is too frequent for a bank (200 at least)",
                    entry("providers", i, &p.name),
                    p.poll_interval_ms
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
                problems.push(format!("{}: payment_ttl_seconds = {} is too short: the bank takes QR lifetimes of {min} s at least, and one bank call (bank_timeout_seconds = {}) must fit before it", entry("providers", i, &p.name), self.payment_ttl_seconds, self.bank_timeout_seconds
                ));
            }
        }
    }

    fn validate_limits(&self, problems: &mut Vec<String>) {
        let ranges: [(&str, u64, u64, u64); 7] = [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
                1,
                300,
            ),
            ("max_connections", self.max_connections, 1, 1_000_000),
            (
                "max_long_polls_per_register",
                self.max_long_polls_per_register,
                1,
                100_000,
            ),
            (
                "max_display_streams_per_register",
                self.max_display_streams_per_register,
                1,
                100_000,
            ),
            (
                "rate_limit_per_second",
                self.rate_limit_per_second,
                1,
                1_000_000,
            ),
            ("rate_limit_burst", self.rate_limit_burst, 1, 1_000_000),
            ("max_concurrent_renders", self.max_concurrent_renders, 1, 64),
        ];
        for (name, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                problems.push(format!("{name} = {value} must be between {low} and {high}"));
            }
        }
        if self.idle_timeout_seconds <= self.max_wait_seconds || self.idle_timeout_seconds > 3600 {
            problems.push(format!(
                "idle_timeout_seconds = {} must be above max_wait_seconds ({}: a long-poll moves no byte while it waits) and at most 3600",
                self.idle_timeout_seconds, self.max_wait_seconds
            ));
        }
    }

    /// The HTTP server's limits.
    pub fn serve_limits(&self) -> crate::serve::ServeLimits {
        crate::serve::ServeLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }

    fn validate_registers(&self, problems: &mut Vec<String>) {
        if self.registers.is_empty() {
            problems.push("no [[registers]]: add at least one register with an api_key".into());
        }
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for (i, r) in self.registers.iter().enumerate() {
            if RegisterId::parse(&r.id).is_err() {
                problems.push(format!(
                    "{}: the id must be letters, digits, '-', '_' or '.'",
                    entry("registers", i, &r.id)
                ));
            }
            if !ids.insert(r.id.as_str()) {
                problems.push(format!(
                    "{} is configured twice",
                    entry("registers", i, &r.id)
                ));
            }
            if r.api_key.expose().len() < 16 {
                problems.push(format!(
                    "{}: api_key must be at least 16 characters",
                    entry("registers", i, &r.id)
                ));
            }
            if !keys.insert(r.api_key.expose()) {
                problems.push(format!(
                    "{}: api_key is shared with another register; each needs its own",
                    entry("registers", i, &r.id)
                ));
            }
            if let Some(display) = &r.display_key {
                if display.expose().len() < 16 {
                    problems.push(format!(
                        "{}: display_key must be at least 16 characters",
                        entry("registers", i, &r.id)
                    ));
                }
                if !display.expose().bytes().all(|b| b.is_ascii_graphic()) {
                    problems.push(format!("{}: display_key must be printable ASCII without spaces (it goes into the display's URL)", entry("registers", i, &r.id)
                    ));
                }
                let api_keys = self.registers.iter().map(|x| &x.api_key);
                if api_keys
                    .chain(self.admin_api_key.as_ref())
                    .any(|k| k == display)
                {
                    problems.push(format!("{}: display_key must differ from every api_key and the admin_api_key (a display only reads)", entry("registers", i, &r.id)
                    ));
                }
                if self
                    .registers
                    .iter()
                    .filter(|x| x.display_key.as_ref() == Some(display))
                    .count()
                    > 1
                {
                    problems.push(format!("{}: display_key is shared with another register; each display needs its own", entry("registers", i, &r.id)
                    ));
                }
            }
            if qrpayd_domain::payment::QrType::parse(&r.qr_type).is_none() {
                problems.push(format!(
                    "{}: qr_type: use \"dynamic\", \"cash_register\" or \"customer\"",
                    entry("registers", i, &r.id)
                ));
            }
            if r.provider.is_some() && !r.providers.is_empty() {
                problems.push(format!(
                    "{}: give either provider or providers, not both",
                    entry("registers", i, &r.id)
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
            .map_err(|_| ConfigError("listen is not an address like \"127.0.0.1:8080\"".into()))
    }
}

/// How an error names a provider or register: by its name when that is a valid one (names are
/// identifiers, shown in logs anyway), else by its position, so a value typed into the wrong
/// place is never repeated.
fn entry(list: &str, index: usize, name: &str) -> String {
    let valid = match list {
        "providers" => ProviderName::parse(name).is_ok(),
        _ => RegisterId::parse(name).is_ok(),
    };
    let singular = list.trim_end_matches('s');
    if valid {
        format!("{singular} {name:?}")
    } else {
        format!("{list}[{index}]")
    }
}

/// A TOML syntax error as its message and position only: the toml crate's `Display` quotes the
/// offending line, which may hold a key or password.
fn toml_problem(text: &str, error: &toml::de::Error) -> String {
    let message = without_values(error.message());
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or_default();
            let line = before.matches('\n').count().saturating_add(1);
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                .saturating_add(1);
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// A deserialisation message without the values it quotes: serde says `invalid type: string
/// "…", expected u64` or `unknown variant `…``, and the value may be a secret typed into the
/// wrong key. Quoted and back-ticked parts become `…`, except after `field`/`key` (names of
/// keys, which help).
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(['"', '`']) {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let quote = tail.chars().next().unwrap_or('"');
        let body = tail.get(1..).unwrap_or_default();
        let Some(end) = body.find(quote) else {
            out.push('…');
            return out;
        };
        let names_a_key = ["field ", "key ", "one of ", ", "]
            .iter()
            .any(|w| head.ends_with(w))
            && !head.contains("variant");
        out.push(quote);
        out.push_str(if names_a_key {
            body.get(..end).unwrap_or_default()
        } else {
            "…"
        });
        out.push(quote);
        rest = body.get(end.saturating_add(1)..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// A URL fit to print: the password in its user part and the values of query parameters
/// that carry credentials (`password`, `pass`, `pwd`, `secret`, `key`, `token`, …) become
/// `***`. For banners, logs and errors (`database_url`, `amqp_url`).
pub fn redacted_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    // The last `@` ends the user part (a password may hold `/` or `@` unencoded).
    let location = match before_query.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => before_query.to_owned(),
    };
    let mut out = match scheme {
        Some(scheme) => format!("{scheme}://{location}"),
        None => location,
    };
    if let Some(query) = query {
        let credential = |name: &str| {
            let name = name.to_ascii_lowercase();
            ["pass", "pwd", "secret", "key", "token", "auth"]
                .iter()
                .any(|word| name.contains(word))
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if credential(name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
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
            let value = if numeric {
                toml::Value::Integer(
                    val.parse()
                        .map_err(|_| ConfigError(format!("{key} must be a whole number")))?,
                )
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
                    .map_err(|_| ConfigError(format!("{key} must be a whole number")))?,
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
        assert!(err.contains("unknown kind"), "{err}");
        assert!(err.contains("api_key must be at least 16"), "{err}");
        assert!(err.contains("listen is not an address"), "{err}");
        // Values are never repeated.
        assert!(
            !err.contains("sberbank") && !err.contains("nowhere"),
            "{err}"
        );
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
        assert!(err.contains("metrics_listen is not an address"), "{err}");
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
    fn errors_never_repeat_what_was_written() {
        const SECRET: &str = "hunter2-very-secret-key";
        // A syntax error on a line holding a key: the toml crate would quote the line.
        let broken = GOOD.replace(
            "secret_key = \"file-secret\"",
            &format!("secret_key = \"{SECRET}"),
        );
        let err = Config::from_toml(&broken, no_env()).unwrap_err().0;
        assert!(err.contains("not valid TOML: line "), "{err}");
        assert!(!err.contains(SECRET), "{err}");
        // A key typed into the wrong place (a number expected, a string given).
        let misplaced = GOOD.replace(
            "payment_ttl_seconds = 300",
            &format!("payment_ttl_seconds = \"{SECRET}\""),
        );
        let err = Config::from_toml(&misplaced, no_env()).unwrap_err().0;
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        let misplaced = GOOD
            .replace(
                "public_url = \"http://127.0.0.1:8080\"",
                &format!("public_url = \"{SECRET}\""),
            )
            .replace("kind = \"raiffeisen\"", &format!("kind = \"{SECRET}\""))
            .replace("id = \"pos-1\"", &format!("id = \"{SECRET} x\""))
            .replace("https://pay-test.raif.ru", SECRET);
        let err = Config::from_toml(&format!("log_format = \"{SECRET}\"\n{misplaced}"), no_env())
            .unwrap_err()
            .0;
        assert!(!err.contains(SECRET), "{err}");
        assert!(err.contains("registers[0]"), "{err}");
        // An environment value that is not a number.
        let env = vec![("QRPAYD_MAX_WAIT_SECONDS".to_owned(), SECRET.to_owned())];
        let err = Config::from_toml(GOOD, env).unwrap_err().0;
        assert!(!err.contains(SECRET), "{err}");
        // Unknown keys are named (key names help and are not secrets).
        let err = Config::from_toml(&format!("{GOOD}\nlisten_port = 1\n"), no_env())
            .unwrap_err()
            .0;
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    fn urls_are_printed_without_credentials() {
        for (url, printed) in [
            (
                "mysql://qrpayd:s3cret@db.store.lan:3306/qrpayd",
                "mysql://qrpayd:***@db.store.lan:3306/qrpayd",
            ),
            (
                "postgres://qrpayd:p%40ss:word@db/qrpayd?sslmode=require&password=s3cret",
                "postgres://qrpayd:***@db/qrpayd?sslmode=require&password=***",
            ),
            (
                "amqp://guest:guest@127.0.0.1:5672/%2f",
                "amqp://guest:***@127.0.0.1:5672/%2f",
            ),
            ("sqlite://qrpayd.db?mode=rwc", "sqlite://qrpayd.db?mode=rwc"),
            ("postgres://user@db/x", "postgres://user@db/x"),
            ("mysql://u:pa/ss@host/db", "mysql://u:***@host/db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redacted_url(url), printed, "{url}");
        }
    }

    #[test]
    fn limits_have_defaults_and_are_checked() {
        let c = Config::from_toml(GOOD, no_env()).unwrap();
        assert_eq!(c.header_read_timeout_seconds, 10);
        assert_eq!(c.max_long_polls_per_register, 8);
        assert_eq!(c.serve_limits().max_connections, 4096);
        let env = vec![
            ("QRPAYD_MAX_CONNECTIONS".to_owned(), "0".to_owned()),
            ("QRPAYD_IDLE_TIMEOUT_SECONDS".to_owned(), "30".to_owned()),
        ];
        let err = Config::from_toml(GOOD, env).unwrap_err().0;
        assert!(err.contains("max_connections = 0"), "{err}");
        assert!(
            err.contains("idle_timeout_seconds = 30 must be above max_wait_seconds (60"),
            "{err}"
        );
        let env = vec![("QRPAYD_RATE_LIMIT_PER_SECOND".to_owned(), "5".to_owned())];
        assert_eq!(
            Config::from_toml(GOOD, env).unwrap().rate_limit_per_second,
            5
        );
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
