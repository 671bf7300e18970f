//! Wiring: from a validated [`Config`] to a running server, worker and (optionally) the
//! demo's bank, when the binary hands one in. `main` and the black-box tests both start qrpayd
//! through [`start`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use qrpayd_domain::health::BreakerSettings;
use qrpayd_domain::ids::{ProviderName, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState, Displays, Register, Registers};
use crate::clock::Clock;
use crate::config::Config;
use crate::health::HealthBoard;
use crate::hub::ChangeHub;
use crate::metrics::Metrics;
use crate::metrics::bank::InstrumentedBank;
use crate::outbox::{BrokerConfig, Publisher};
use crate::payments::{LatePolicy, Payments, Provider, Settings, backoff};
use crate::worker::Worker;

/// Why qrpayd could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The journal could not be opened.
    #[error("cannot open the journal database: {0}")]
    Store(#[from] qrpayd_store::StoreError),
    /// A bank adapter could not be built.
    #[error("provider {0}: {1}")]
    Provider(String, qrpayd_bank::BankError),
}

/// How to start (what tests change).
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Business time source.
    pub clock: Arc<dyn Clock>,
    /// Run the background worker loop. Tests that drive jobs by hand turn it off.
    pub run_worker: bool,
    /// The demo's bank, served under `/sandbox-bank` (the binary builds it from the
    /// configuration's `[sandbox]`; this crate does not depend on the sandbox).
    pub demo_bank: Option<axum::Router>,
}

/// A running qrpayd.
#[derive(Debug)]
pub struct Running {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The orchestrator (tests inspect through it).
    pub payments: Payments,
    /// The worker (tests call [`Worker::run_due_jobs`]).
    pub worker: Worker,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets in-flight ones finish, stops the worker.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.server.await {
            tracing::error!("server task: {e}");
        }
        for task in self.background {
            let _ = task.await;
        }
    }

    /// Waits until the server ends (after [`Running::shutdown_handle`] was told to stop, or
    /// on a fatal error), then stops the background tasks.
    pub async fn wait(self) -> std::io::Result<()> {
        let result = match self.server.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        let _ = self.shutdown.send(true);
        for task in self.background {
            let _ = task.await;
        }
        result
    }

    /// Asks the server to stop (from a signal handler).
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Builds every configured bank adapter, wrapped so its calls are timed and counted.
fn build_providers(
    config: &Config,
    metrics: &Arc<Metrics>,
    health: &Arc<HealthBoard>,
    clock: &Arc<dyn Clock>,
) -> Result<HashMap<ProviderName, Provider>, StartError> {
    let mut providers = HashMap::new();
    for p in &config.providers {
        let name =
            ProviderName::parse(&p.name).map_err(|e| crate::config::ConfigError(e.to_string()))?;
        let adapter = p
            .bank()
            .map_err(crate::config::ConfigError)?
            .build(
                Duration::from_secs(config.bank_timeout_seconds),
                clock.clone(),
            )
            .map_err(|e| StartError::Provider(p.name.clone(), e))?;
        let adapter = InstrumentedBank::wrap(adapter, &p.name, metrics.clone(), Arc::clone(health));
        providers.insert(
            name.clone(),
            Provider {
                name,
                adapter,
                poll_interval: Duration::from_millis(p.poll_interval_ms),
            },
        );
    }
    Ok(providers)
}

fn build_registers(config: &Config) -> Result<Registers, StartError> {
    let mut entries = Vec::new();
    for r in &config.registers {
        let id = RegisterId::parse(&r.id).map_err(|e| crate::config::ConfigError(e.to_string()))?;
        let providers = config
            .register_providers(r)
            .iter()
            .map(|p| ProviderName::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| crate::config::ConfigError(e.to_string()))?;
        let qr_type = qrpayd_domain::payment::QrType::parse(&r.qr_type)
            .unwrap_or(qrpayd_domain::payment::QrType::Dynamic);
        entries.push((
            r.api_key.clone(),
            Register {
                id,
                providers,
                qr_type,
            },
        ));
    }
    Ok(Registers::new(entries, config.admin_api_key.clone()))
}

fn build_displays(config: &Config) -> Result<Displays, StartError> {
    let mut displays = Vec::new();
    for r in &config.registers {
        if let Some(key) = &r.display_key {
            let id =
                RegisterId::parse(&r.id).map_err(|e| crate::config::ConfigError(e.to_string()))?;
            displays.push((id, key.clone()));
        }
    }
    Ok(Displays::new(displays))
}

/// Opens the journal and builds the orchestrator (no server, no worker): for `start` and for
/// the command-line tools (`reconcile`, `export`).
pub async fn open(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Payments, HashMap<ProviderName, Provider>), StartError> {
    open_with(config, clock, &Arc::new(Metrics::new())).await
}

async fn open_with(
    config: &Config,
    clock: Arc<dyn Clock>,
    metrics: &Arc<Metrics>,
) -> Result<(Payments, HashMap<ProviderName, Provider>), StartError> {
    config.validate()?;
    let store = Store::connect(&config.database_url).await?;
    let health = Arc::new(HealthBoard::new(
        Arc::clone(&clock),
        BreakerSettings::default(),
    ));
    let providers = build_providers(config, metrics, &health, &clock)?;
    let payments = Payments::new(
        store,
        clock,
        ChangeHub::default(),
        providers.clone(),
        health,
        Settings {
            payment_ttl: Duration::from_secs(config.payment_ttl_seconds),
            bank_timeout: Duration::from_secs(config.bank_timeout_seconds),
            register_timeout: Duration::from_secs(config.register_timeout_seconds),
            refund_settle: Duration::from_secs(config.refund_settle_seconds),
            late_payment_policy: if config.late_payment_policy == "flag" {
                LatePolicy::Flag
            } else {
                LatePolicy::Refund
            },
        },
    );
    Ok((payments, providers))
}

/// Starts qrpayd on `listener` with a validated `config`.
pub async fn start(
    config: &Config,
    listener: TcpListener,
    options: StartOptions,
) -> Result<Running, StartError> {
    config.validate()?;
    let addr = listener
        .local_addr()
        .map_err(|e| crate::config::ConfigError(format!("listener: {e}")))?;
    let metrics = Arc::new(Metrics::new());
    let (payments, providers) = open_with(config, options.clock.clone(), &metrics).await?;
    // SQLite is one process's file: a second `serve` on it would double every job.
    payments.store().claim_single_instance()?;
    let worker = Worker::new(
        payments.clone(),
        options.clock.clone(),
        Duration::from_secs(config.bank_timeout_seconds),
    );
    let state = AppState {
        payments: payments.clone(),
        registers: Arc::new(build_registers(config)?),
        max_wait: Duration::from_secs(config.max_wait_seconds),
        max_amount: Kopecks::new(config.max_amount_kopecks).unwrap_or(Kopecks::MAX),
        displays: Arc::new(build_displays(config)?),
        demo: config.sandbox.is_some(),
        clock: options.clock.clone(),
        metrics,
        outbox: config.amqp_url.is_some(),
        limits: Arc::new(crate::limits::Limits::from_config(config)),
        screens: Arc::new(crate::screens::Screens::new(
            payments.clone(),
            options.clock.clone(),
        )),
    };
    let metrics_listener = match &config.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| crate::config::ConfigError(format!("metrics_listen {addr}: {e}")))?,
        ),
        None => None,
    };
    let metrics_app = api::metrics_router(state.clone());
    let app = api::router(state, options.demo_bank.clone());
    let limits = config.serve_limits().fitted_to_fd_limit();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let hub = payments.hub().clone();
    // Logged before the server answers anything, so whoever sees `/healthz` answer also finds
    // this line in the log.
    tracing::info!(%addr, "qrpayd is listening");
    let server = tokio::spawn(crate::serve::serve(
        listener,
        app,
        limits,
        shutdown_rx.clone(),
        // Answer open long-polls now with the current state instead of waiting them out.
        move || hub.close(),
    ));
    let mut background = Vec::new();
    if let Some(listener) = metrics_listener {
        // The same timeouts and cap as the API: a port scanner gets nothing more here.
        let stop = shutdown_rx.clone();
        background.push(tokio::spawn(async move {
            let served = crate::serve::serve(listener, metrics_app, limits, stop, || {}).await;
            if let Err(e) = served {
                tracing::error!("metrics listener: {e}");
            }
        }));
    }
    if options.run_worker {
        background.push(tokio::spawn(worker.clone().run(shutdown_rx.clone())));
    }
    background.push(tokio::spawn(crate::events::tail(
        payments.store().clone(),
        payments.hub().clone(),
        shutdown_rx.clone(),
    )));
    if let Some(url) = &config.amqp_url {
        let publisher = Publisher::new(
            payments.store().clone(),
            options.clock.clone(),
            BrokerConfig {
                url: url.expose().to_owned(),
                exchange: config.amqp_exchange.clone(),
            },
            format!(
                "qrpayd-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
        );
        background.push(tokio::spawn(publisher.run(shutdown_rx.clone())));
    }
    if let Some(public_url) = &config.public_url {
        for p in config.providers.iter().filter(|p| p.set_callback_url) {
            let Some(provider) = ProviderName::parse(&p.name)
                .ok()
                .and_then(|n| providers.get(&n))
            else {
                continue;
            };
            let url = format!(
                "{}/v1/callbacks/{}",
                public_url.trim_end_matches('/'),
                p.name
            );
            background.push(tokio::spawn(register_callback(
                provider.clone(),
                url,
                shutdown_rx.clone(),
            )));
        }
    }
    Ok(Running {
        addr,
        payments,
        worker,
        shutdown,
        server,
        background,
    })
}

/// Tells a bank our callback URL, retrying with backoff until it accepts. Polling covers the
/// meantime, so failure here only delays outcomes by a poll interval.
async fn register_callback(provider: Provider, url: String, mut shutdown: watch::Receiver<bool>) {
    let mut attempt = 0;
    loop {
        match provider.adapter.register_callback_url(&url).await {
            Ok(()) => {
                tracing::info!(provider = %provider.name, url, "callback URL registered at the bank");
                return;
            }
            Err(e) => {
                let delay = backoff(Duration::from_secs(1), attempt);
                tracing::warn!(provider = %provider.name, "cannot register the callback URL (retry in {delay:?}; polling works meanwhile): {e}");
                attempt += 1;
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}
