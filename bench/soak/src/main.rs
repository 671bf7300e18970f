//! `qrpayd-soak`: the evidence that qrpayd keeps the books straight when everything fails at
//! once, for a long time.
//!
//! Registers sell in parallel through real qrpayd processes (the release binary), mixed: paid,
//! declined, cancelled, cancel racing the payment, expired, paid late; full, partial and racing
//! refunds. Meanwhile the sandbox bank injects random faults (HTTP 500s, lost and late answers,
//! lost, duplicated and delayed notifications), qrpayd is killed with SIGKILL every few hundred
//! payments and started again, and on a database server the database and RabbitMQ are
//! restarted mid-run with two qrpayd instances sharing the journal. At the end every payment
//! must be final and agree with the bank's books, no sale charged twice, refunds never above
//! what was paid, every bank refund in the journal and back, every event received by a
//! consumer in order per payment, and no job left behind. The figures are printed; any
//! violation makes the exit status non-zero.
//!
//! ```text
//! cargo build --release --bins
//! target/release/qrpayd-soak                                  # 10,000 payments on SQLite
//! target/release/qrpayd-soak --db postgres --restart-servers  # two instances, restarts
//! ```

#![expect(
    clippy::indexing_slicing,
    reason = "the bank's and qrpayd's JSON is read with serde_json's Value[\"key\"], which answers Null for a missing key and never panics"
)]

mod check;
mod consumer;
mod fleet;
mod servers;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::{Chaos, Faults, Sandbox, SandboxConfig};
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

use crate::fleet::{Instance, Settings};
use crate::servers::{Broker, Database, Db};
use crate::workload::{Counters, Pos, Sale};

const MERCHANT: &str = "MA0000000552";
const SECRET: &str = "soak-sandbox-secret-key";

/// The soak's options.
#[derive(Debug, Parser)]
#[command(name = "qrpayd-soak", version, about)]
struct Args {
    /// How many sales.
    #[arg(long, default_value_t = 10_000)]
    payments: usize,
    /// How many registers sell at once.
    #[arg(long, default_value_t = 32)]
    registers: usize,
    /// SIGKILL a qrpayd instance (and start it again) every this many payments (0: never).
    #[arg(long, default_value_t = 500)]
    kill_every: usize,
    /// The journal: sqlite (one instance), mariadb or postgres (private servers).
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Db,
    /// qrpayd instances (default: 1 on SQLite, 2 on a server).
    #[arg(long)]
    instances: Option<usize>,
    /// Restart the database server and RabbitMQ mid-run (servers only).
    #[arg(long)]
    restart_servers: bool,
    /// Publish events to a private RabbitMQ and check a consumer got them (default: on with a
    /// database server).
    #[arg(long)]
    broker: Option<bool>,
    /// The random seed (sales and faults).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// QR lifetime in seconds (T-Bank takes 60 s at least, plus one bank call).
    #[arg(long, default_value_t = 65)]
    ttl: u64,
    /// `refund_settle_seconds`: how long a T-Bank refund whose answer was lost may show no
    /// trace before it is failed (qrpayd's default is 600).
    #[arg(long, default_value_t = 600)]
    refund_settle: u64,
    /// The qrpayd binary (default: `qrpayd` next to this one).
    #[arg(long)]
    qrpayd: Option<PathBuf>,
    /// Keep the work directory (logs, configuration, journal) for a look afterwards.
    #[arg(long)]
    keep: bool,
}

/// The random faults of the issue: about 10 % of calls fail (5xx or a late answer), 30 % of
/// notifications are lost, 10 % duplicated, all delayed a little.
fn chaos(seed: u64) -> Faults {
    let mut chaos = Chaos::default();
    chaos.seed = seed;
    chaos.http_500_percent = 5;
    chaos.lost_answer_percent = 2;
    chaos.slow_answer_percent = 3;
    chaos.slow_answer_ms = 4_000;
    chaos.drop_callbacks_percent = 30;
    chaos.duplicate_callbacks_percent = 10;
    chaos.callback_delay_ms = 1_500;
    Faults {
        chaos,
        ..Faults::default()
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // No colour codes in a CI log or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    // Interrupted (Ctrl+C, SIGTERM): drop the run, so that its qrpayd processes and private
    // servers are stopped on the way out instead of being left behind.
    let outcome = tokio::select! {
        outcome = soak(args) => outcome,
        () = interrupted() => Err(anyhow::anyhow!("interrupted; the run's processes are stopped")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Resolves on Ctrl+C or SIGTERM.
async fn interrupted() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn soak(args: Args) -> anyhow::Result<bool> {
    let started = Instant::now();
    let work = tempfile::Builder::new().prefix("qrpayd-soak-").tempdir()?;
    let binary = match &args.qrpayd {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("qrpayd"),
    };
    anyhow::ensure!(
        binary.exists(),
        "no qrpayd binary at {} (cargo build --release --bins, or --qrpayd)",
        binary.display()
    );
    let instances = args
        .instances
        .unwrap_or(if args.db == Db::Sqlite { 1 } else { 2 });
    anyhow::ensure!(
        args.db != Db::Sqlite || instances == 1,
        "SQLite has one writer process: one instance"
    );

    // The servers and the bank.
    let db = Database::start(args.db, work.path(), free_port()?).await?;
    let with_broker = args.broker.unwrap_or(db.is_server());
    let broker = match with_broker {
        true => Some(Broker::start(work.path(), free_port()?).await?),
        false => None,
    };
    if let Some(b) = &broker {
        consumer::prepare(&b.url).await?;
    }
    let sandbox = Sandbox::new(SandboxConfig::new(MERCHANT, SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bank = format!("http://{}", listener.local_addr()?);
    tokio::spawn(qrpayd_sandbox::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));

    // qrpayd.
    let settings = Settings {
        binary,
        database_url: db.url.clone(),
        amqp_url: broker.as_ref().map(|b| b.url.clone()),
        bank: bank.clone(),
        merchant: MERCHANT.into(),
        secret: SECRET.into(),
        terminal: qrpayd_sandbox::DEFAULT_TBANK_TERMINAL_KEY.into(),
        registers: args.registers,
        ttl_seconds: args.ttl,
        bank_timeout_seconds: 3,
        refund_settle_seconds: args.refund_settle,
    };
    let mut fleet = Vec::new();
    for n in 0..instances {
        fleet.push(Instance::start(&settings, work.path(), &format!("qrpayd-{n}")).await?);
    }
    let first = fleet.first().context("no instance")?;
    // Raiffeisen notifications go to the first instance (the merchant's callback setting).
    reqwest::Client::new()
        .post(format!("{bank}/api/settings/v1/callback"))
        .bearer_auth(SECRET)
        .json(
            &serde_json::json!({"callbackUrl": format!("{}/v1/callbacks/raiffeisen", first.base)}),
        )
        .send()
        .await?
        .error_for_status()?;
    sandbox.set_faults(chaos(args.seed));

    // The accounting consumer.
    let received = Arc::new(Mutex::new(Vec::new()));
    let (stop_consumer, consumer_stop) = watch::channel(false);
    let consumer_task = broker.as_ref().map(|b| {
        tokio::spawn(consumer::run(
            b.url.clone(),
            Arc::clone(&received),
            consumer_stop,
        ))
    });

    // The registers.
    let pos = Arc::new(Pos {
        instances: fleet.clone(),
        sandbox: sandbox.clone(),
        sandbox_base: bank.clone(),
        sandbox_secret: SECRET.into(),
        http: reqwest::Client::builder().no_proxy().build()?,
        counters: Counters::default(),
        patience: Duration::from_secs(args.ttl + 120),
        refund_patience: Duration::from_secs(args.refund_settle + 120),
    });
    let sales = Arc::new(Mutex::new(Vec::with_capacity(args.payments)));
    let next = Arc::new(AtomicUsize::new(0));
    let mut registers = Vec::new();
    for n in 0..args.registers {
        registers.push(tokio::spawn(workload::register(
            Arc::clone(&pos),
            n,
            args.registers,
            args.payments,
            args.seed,
            Arc::clone(&sales),
            Arc::clone(&next),
        )));
    }

    // The chaos: kills and restarts while the registers sell.
    let mut kills = 0;
    let mut db_restarts = 0;
    let mut broker_restarts = 0;
    let mut next_kill = args.kill_every;
    let third = args.payments / 3;
    while registers.iter().any(|r| !r.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let created = pos.counters.created.load(Ordering::Relaxed);
        if args.kill_every > 0 && created >= next_kill {
            next_kill += args.kill_every;
            let victim = workload::draw(args.seed, u64::try_from(kills).unwrap_or(0))
                % u64::try_from(fleet.len()).unwrap_or(1);
            if let Some(instance) = fleet.get(usize::try_from(victim).unwrap_or(0)) {
                let down = Duration::from_millis(200 + victim * 500);
                instance.kill_and_restart(down).await?;
                kills += 1;
                eprintln!(
                    "[{:>5}s] {created} payments: SIGKILL {} and restart",
                    started.elapsed().as_secs(),
                    instance.base
                );
            }
        }
        if args.restart_servers && db.is_server() && db_restarts == 0 && created >= third {
            eprintln!(
                "[{:>5}s] {created} payments: restarting the database",
                started.elapsed().as_secs()
            );
            db.restart(Duration::from_secs(3)).await?;
            db_restarts += 1;
        }
        if args.restart_servers
            && broker_restarts == 0
            && created >= 2 * third
            && let Some(b) = &broker
        {
            eprintln!(
                "[{:>5}s] {created} payments: restarting RabbitMQ",
                started.elapsed().as_secs()
            );
            b.restart(Duration::from_secs(3)).await?;
            broker_restarts += 1;
        }
    }
    for r in registers {
        r.await?;
    }
    let selling = started.elapsed();

    // Let the background work finish: refunds in progress, closing, jobs, the outbox.
    let injected = sandbox.faults().chaos.injected;
    sandbox.set_faults(Faults::default());
    let store = qrpayd_store::Store::connect(&db.url).await?;
    let settle_deadline = Instant::now() + Duration::from_secs(args.ttl + args.refund_settle + 300);
    loop {
        let far = chrono::Utc::now() + chrono::Duration::days(36_500); // wall-clock: a real run
        let jobs = store.job_counts(far, far).await?;
        let backlog = store.outbox_backlog().await?;
        let published = broker.is_none() || backlog.unpublished == 0;
        if (jobs.payments_due + jobs.refunds_due == 0 && published)
            || Instant::now() > settle_deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if broker.is_some() {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let _ = stop_consumer.send(true);
    let reconnects = match consumer_task {
        Some(task) => task.await.unwrap_or_default(),
        None => 0,
    };

    let overview: serde_json::Value = reqwest::Client::new()
        .get(format!("{bank}/sandbox/qrs"))
        .send()
        .await?
        .json()
        .await?;
    let sales: Vec<Sale> = sales.lock().await.clone();
    let events = received.lock().await.clone();
    let findings = check::check(
        &store,
        &overview,
        &sales,
        broker.as_ref().map(|_| events.as_slice()),
    )
    .await?;

    for instance in &fleet {
        instance.stop().await;
    }

    // The report.
    let mut scenarios: std::collections::BTreeMap<String, usize> = Default::default();
    for s in &sales {
        *scenarios.entry(format!("{:?}", s.scenario)).or_default() += 1;
    }
    let unfinished: Vec<_> = sales.iter().filter(|s| s.unfinished.is_some()).collect();
    println!(
        "qrpayd soak — {} on {:?}, {instances} instance(s), {} registers, seed {}",
        env!("CARGO_PKG_VERSION"),
        args.db,
        args.registers,
        args.seed
    );
    println!(
        "  sales                 {} in {} s ({} per minute); by scenario {scenarios:?}",
        sales.len(),
        selling.as_secs(),
        sales.len() * 60 / usize::try_from(selling.as_secs().max(1)).unwrap_or(1)
    );
    println!(
        "  payments in journal   {} {:?}, late {}",
        findings.payments, findings.by_status, findings.late
    );
    println!(
        "  refunds               {} succeeded, {} failed, {} refused as over the amount",
        findings.refunds_succeeded,
        findings.refunds_failed,
        pos.counters.refunds_refused.load(Ordering::Relaxed)
    );
    println!(
        "  money                 paid {} RUB, refunded {} RUB",
        Kopecks::new(findings.paid_kopecks)
            .map(|k| k.to_rubles_fixed())
            .unwrap_or_default(),
        Kopecks::new(findings.refunded_kopecks)
            .map(|k| k.to_rubles_fixed())
            .unwrap_or_default()
    );
    println!(
        "  bank faults injected  {} HTTP 500, {} lost answers, {} late answers; notifications: {} lost, {} duplicated, {} delayed",
        injected.http_500,
        injected.lost_answers,
        injected.slow_answers,
        injected.dropped_callbacks,
        injected.duplicated_callbacks,
        injected.delayed_callbacks
    );
    println!(
        "  process faults        {kills} SIGKILLs, {db_restarts} database restarts, {broker_restarts} broker restarts; {} register retries",
        pos.counters.retries.load(Ordering::Relaxed)
    );
    if broker.is_some() {
        println!(
            "  events                {} received, {} distinct, consumer reconnected {reconnects} times",
            findings.events_received, findings.events_distinct
        );
    }
    println!("  unfinished sales      {}", unfinished.len());
    for s in unfinished.iter().take(10) {
        println!(
            "    sale {}: {}",
            s.number,
            s.unfinished.as_deref().unwrap_or_default()
        );
    }
    println!("  violations            {}", findings.violations.len());
    for v in findings.violations.iter().take(50) {
        println!("    {v}");
    }
    println!("  run time              {} s", started.elapsed().as_secs());
    if args.keep {
        let kept = work.keep();
        println!("  work directory        {}", kept.display());
    }
    Ok(findings.violations.is_empty() && unfinished.is_empty())
}
