//! The qrpayd processes under test: the real binary, each instance with its own port and log
//! file, all on one journal. Killed with SIGKILL and started again on the same configuration,
//! as a power cut and a supervisor would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// The registers' API keys are `register-key-<n>-0123456789`; the admin's is this.
pub(crate) const ADMIN_KEY: &str = "soak-admin-key-0123456789";

/// The register's API key.
pub(crate) fn register_key(n: usize) -> String {
    format!("register-key-{n}-0123456789")
}

/// What every instance's configuration shares.
pub(crate) struct Settings {
    /// The qrpayd binary.
    pub(crate) binary: PathBuf,
    /// The journal.
    pub(crate) database_url: String,
    /// The broker, if events are published.
    pub(crate) amqp_url: Option<String>,
    /// The sandbox bank's base URL.
    pub(crate) bank: String,
    /// The sandbox's merchant and secret.
    pub(crate) merchant: String,
    pub(crate) secret: String,
    /// The sandbox's T-Bank terminal and password.
    pub(crate) terminal: String,
    /// How many registers.
    pub(crate) registers: usize,
    /// QR lifetime.
    pub(crate) ttl_seconds: u64,
    /// One bank call's limit.
    pub(crate) bank_timeout_seconds: u64,
    /// `refund_settle_seconds`.
    pub(crate) refund_settle_seconds: u64,
}

/// One qrpayd instance.
pub(crate) struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    config: PathBuf,
    log: PathBuf,
    binary: PathBuf,
    child: Mutex<Option<Child>>,
}

/// The exchange events go to.
pub(crate) const EXCHANGE: &str = "qrpayd.soak";

fn config_text(settings: &Settings, port: u16) -> String {
    let mut text = format!(
        r#"
listen = "127.0.0.1:{port}"
database_url = "{db}"
public_url = "http://127.0.0.1:{port}"
payment_ttl_seconds = {ttl}
register_timeout_seconds = {register_timeout}
bank_timeout_seconds = {bank_timeout}
max_wait_seconds = 30
refund_settle_seconds = {refund_settle}
late_payment_policy = "refund"
admin_api_key = "{ADMIN_KEY}"
"#,
        db = settings.database_url,
        ttl = settings.ttl_seconds,
        register_timeout = settings.ttl_seconds + settings.bank_timeout_seconds + 10,
        bank_timeout = settings.bank_timeout_seconds,
        refund_settle = settings.refund_settle_seconds,
    );
    if let Some(url) = &settings.amqp_url {
        text.push_str(&format!(
            "amqp_url = \"{url}\"\namqp_exchange = \"{EXCHANGE}\"\n"
        ));
    }
    for n in 0..settings.registers {
        text.push_str(&format!(
            "\n[[registers]]\nid = \"pos-{n}\"\napi_key = \"{}\"\n",
            register_key(n)
        ));
    }
    text.push_str(&format!(
        r#"
[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "{bank}"
sbp_merchant_id = "{merchant}"
secret_key = "{secret}"
poll_interval_ms = 1000

[[providers]]
name = "tbank"
kind = "tbank"
base_url = "{bank}/tbank"
terminal_key = "{terminal}"
password = "{secret}"
poll_interval_ms = 1000
"#,
        bank = settings.bank,
        merchant = settings.merchant,
        secret = settings.secret,
        terminal = settings.terminal,
    ));
    text
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Instance {
    /// Writes the instance's configuration into `work` and starts it.
    pub(crate) async fn start(
        settings: &Settings,
        work: &Path,
        name: &str,
    ) -> anyhow::Result<Arc<Instance>> {
        let port = free_port()?;
        let config = work.join(format!("{name}.toml"));
        std::fs::write(&config, config_text(settings, port))?;
        let instance = Arc::new(Instance {
            base: format!("http://127.0.0.1:{port}"),
            config,
            log: work.join(format!("{name}.log")),
            binary: settings.binary.clone(),
            child: Mutex::new(None),
        });
        instance.launch().await?;
        Ok(instance)
    }

    async fn launch(&self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.binary)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn,qrpayd_service=info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        *self.child.lock().await = Some(child);
        let http = reqwest::Client::new();
        for _ in 0..600 {
            let healthy = http
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "qrpayd at {} did not become healthy; see {}",
            self.base,
            self.log.display()
        )
    }

    /// SIGKILL, then start again after `down`.
    pub(crate) async fn kill_and_restart(&self, down: Duration) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.lock().await.take() {
            child.kill().await?;
        }
        tokio::time::sleep(down).await;
        self.launch().await
    }

    /// SIGKILL for good (the end of the run).
    pub(crate) async fn stop(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
        }
    }
}
