//! The `qrpayd` binary: command line, logging, signals. Everything else lives in the crates
//! (`crates/service` first; see ARCHITECTURE.md).
//!
//! With no arguments qrpayd runs the embedded demo: SQLite + the built-in sandbox bank, with
//! a configuration written to `qrpayd-demo.toml` on first start.

mod demo;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use qrpayd_service::clock::{Clock, SystemClock};
use qrpayd_service::config::Config;
use qrpayd_service::reconcile::{self, Format};
use qrpayd_service::startup::{StartOptions, open, start};

/// SBP QR-payment integrator: cash registers ask for a QR, qrpayd talks to the bank.
///
/// Without a command, runs the embedded demo (SQLite + built-in sandbox bank).
#[derive(Parser, Debug)]
#[command(name = "qrpayd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the server with a configuration file.
    Serve {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
    },
    /// Checks a configuration file (including the timeout chain) and exits.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
    },
    /// Compares the bank's daily registry with the journal and prints every difference.
    ///
    /// Exit status: 0 when they agree, 2 when there are differences, 1 on errors.
    Reconcile {
        /// The TOML configuration file (for the database and the late-payment policy).
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The bank's registry file (Raiffeisen's daily SBP report, Windows-1251 CSV).
        #[arg(long)]
        registry: PathBuf,
        /// `text` (for people), `json` or `csv`.
        #[arg(long, default_value = "text")]
        format: String,
        /// Record payments the bank took but the journal had closed as paid (late), so the
        /// late-payment policy refunds or flags them.
        #[arg(long)]
        mark_late: bool,
        /// The registry's day (YYYY-MM-DD, Moscow), for a registry whose title names none.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The provider whose registry it is (default: the one provider whose bank publishes
        /// registries).
        #[arg(long)]
        provider: Option<String>,
    },
    /// Writes the journal of payments and refunds created in a period as CSV (for accounting).
    Export {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// First day (YYYY-MM-DD, Moscow time) or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// Day after the last one (YYYY-MM-DD, Moscow time) or an RFC 3339 time.
        #[arg(long)]
        to: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Shows or applies the journal's schema migrations (`serve` applies them on start too).
    ///
    /// `--check` exits 0 when the schema is current, 2 when migrations are pending, 1 when the
    /// journal was written by a newer qrpayd (or on errors).
    Migrate {
        /// The TOML configuration file (for `database_url`).
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// Only report; change nothing.
        #[arg(long, conflicts_with = "apply", required_unless_present = "apply")]
        check: bool,
        /// Apply the pending migrations.
        #[arg(long)]
        apply: bool,
    },
    /// Writes a consistent copy of the SQLite journal while qrpayd runs.
    Backup {
        /// The TOML configuration file (for `database_url`).
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The copy to write (must not exist).
        #[arg(long)]
        output: PathBuf,
    },
    /// The journal, read-only: a day's payments, or one payment's full history.
    Payments {
        #[command(subcommand)]
        action: PaymentsCommand,
    },
    /// Cash-register links (one printed static QR per register): register, bind, list.
    Links {
        #[command(subcommand)]
        action: LinksCommand,
    },
    /// Runs only the SBP sandbox bank (Raiffeisen protocol), for tests and training.
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The merchant id the sandbox accepts.
        #[arg(long, default_value = "MA0000000552")]
        sbp_merchant_id: String,
        /// The secret key (Bearer token and callback HMAC key).
        #[arg(long, env = "QRPAYD_SANDBOX_SECRET_KEY")]
        secret_key: String,
    },
}

/// `qrpayd payments …`.
#[derive(Subcommand, Debug)]
enum PaymentsCommand {
    /// A Moscow day's payments by register and provider, with totals.
    List {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The day, YYYY-MM-DD (Moscow); default today.
        #[arg(long)]
        date: Option<String>,
        /// Only this register's.
        #[arg(long)]
        register: Option<String>,
        /// Only payments of this sale receipt (any day when no --date is given).
        #[arg(long)]
        order: Option<String>,
        /// `table` (for people) or `json`.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// One payment: every state change, bank answer and refund.
    Show {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The payment id (`pay_…`).
        id: String,
        /// `table` (for people) or `json`.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

/// `qrpayd links …`.
#[derive(Subcommand, Debug)]
enum LinksCommand {
    /// Registers a new cash-register link at the register's provider, binds it to the
    /// register and prints its payload (print it as the register's QR sticker).
    Register {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The register, e.g. `pos-1`.
        #[arg(long)]
        register: String,
        /// Chains: the store the register stands in.
        #[arg(long)]
        store_id: Option<String>,
        /// Chains: the legal entity whose account the link pays into.
        #[arg(long)]
        legal_entity: Option<String>,
    },
    /// Binds an existing printed link (its payload, as scanned) to a register.
    Bind {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
        /// The register, e.g. `pos-1`.
        #[arg(long)]
        register: String,
        /// The printed link, e.g. `https://qr.nspk.ru/AS1R…`.
        #[arg(long)]
        payload: String,
        /// Chains: the store the register stands in.
        #[arg(long)]
        store_id: Option<String>,
        /// Chains: the legal entity whose account the link pays into.
        #[arg(long)]
        legal_entity: Option<String>,
    },
    /// Lists the bound links.
    List {
        /// The TOML configuration file.
        #[arg(long, short, env = "QRPAYD_CONFIG")]
        config: PathBuf,
    },
}

async fn links(action: LinksCommand) -> anyhow::Result<()> {
    use qrpayd_service::links::{self, Placement};
    let config_path = match &action {
        LinksCommand::Register { config, .. }
        | LinksCommand::Bind { config, .. }
        | LinksCommand::List { config } => config.clone(),
    };
    let config = Config::load(&config_path)?;
    let (payments, _) = open(&config, Arc::new(SystemClock)).await?;
    match action {
        LinksCommand::Register {
            register,
            store_id,
            legal_entity,
            ..
        } => {
            let placement = Placement {
                store_id,
                legal_entity,
            };
            let link =
                links::register_new(&payments, &config, &register, placement, SystemClock.now())
                    .await?;
            println!("{}", link.payload);
            eprintln!(
                "registered and bound to {}: print this link as the register's QR sticker",
                link.register_id
            );
        }
        LinksCommand::Bind {
            register,
            payload,
            store_id,
            legal_entity,
            ..
        } => {
            let placement = Placement {
                store_id,
                legal_entity,
            };
            let link = links::bind_printed(
                &payments,
                &config,
                &register,
                &payload,
                placement,
                SystemClock.now(),
            )
            .await?;
            println!(
                "bound {} to {} ({})",
                link.qr_id, link.register_id, link.provider
            );
        }
        LinksCommand::List { .. } => {
            for link in payments.store().links().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    link.register_id,
                    link.provider,
                    link.qr_id,
                    link.payload,
                    link.store_id.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn migrate(config: &Config, check: bool) -> anyhow::Result<()> {
    let store = qrpayd_store::Store::open_unmigrated(&config.database_url).await?;
    let status = store.schema_status().await?;
    if let Some(refusal) = status.too_new() {
        anyhow::bail!(refusal);
    }
    if check {
        println!(
            "journal schema: version {} of {} known to qrpayd {}",
            status.current(),
            status.latest_known,
            env!("CARGO_PKG_VERSION")
        );
        if status.is_current() {
            println!("up to date");
            return Ok(());
        }
        for (version, description) in &status.pending {
            println!("pending: {version} {description}");
        }
        println!("run `qrpayd migrate --apply` (or start `qrpayd serve`) after a backup");
        std::process::exit(2);
    }
    let applied = store.migrate().await?;
    if applied.is_empty() {
        println!("journal schema already at version {}", status.latest_known);
    } else {
        println!(
            "journal schema upgraded from version {} to {} ({} migration(s))",
            status.current(),
            status.latest_known,
            applied.len()
        );
    }
    Ok(())
}

fn json_or_table(format: &str) -> anyhow::Result<bool> {
    match format {
        "json" => Ok(true),
        "table" => Ok(false),
        other => anyhow::bail!("unknown --format {other:?}: use table or json"),
    }
}

fn rubles(kopecks: i64) -> String {
    qrpayd_domain::money::Kopecks::new(kopecks)
        .map(qrpayd_domain::money::Kopecks::to_rubles_text)
        .unwrap_or_else(|_| format!("{kopecks} kop."))
}

/// `qrpayd payments list | show`.
async fn payments_cli(action: PaymentsCommand) -> anyhow::Result<()> {
    use qrpayd_service::journal;
    match action {
        PaymentsCommand::List {
            config,
            date,
            register,
            order,
            format,
        } => {
            let json = json_or_table(&format)?;
            let config = Config::load(&config)?;
            let store = qrpayd_store::Store::connect(&config.database_url).await?;
            let register = register
                .map(|r| qrpayd_domain::ids::RegisterId::parse(&r))
                .transpose()?;
            if let (Some(order), None) = (&order, &date) {
                let mut found = journal::by_order(&store, order).await?;
                if let Some(register) = &register {
                    found.retain(|p| p.register == register.as_str());
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&found)?);
                } else {
                    print_payment_rows(&found);
                }
                return Ok(());
            }
            let date = match date {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
                // wall-clock: "today" for a person at the command line.
                None => qrpayd_domain::moscow::date(chrono::Utc::now()),
            };
            let day = journal::day(&store, date, register, order).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&day)?);
                return Ok(());
            }
            println!("Payments of {} (Moscow)\n", day.date);
            println!(
                "{:<16} {:<14} {:>8} {:>8} {:>14} {:>14}",
                "REGISTER", "PROVIDER", "PAYMENTS", "PAID", "PAID RUB", "REFUNDED RUB"
            );
            for g in day.groups.iter().chain(std::iter::once(&day.totals)) {
                let (register, provider) = if g.register == "*" {
                    ("total", "")
                } else {
                    (g.register.as_str(), g.provider.as_str())
                };
                println!(
                    "{:<16} {:<14} {:>8} {:>8} {:>14} {:>14}",
                    register,
                    provider,
                    g.payments,
                    g.paid,
                    rubles(g.paid_amount),
                    rubles(g.refunded_amount)
                );
            }
            println!();
            print_payment_rows(&day.payments);
            Ok(())
        }
        PaymentsCommand::Show { config, id, format } => {
            let json = json_or_table(&format)?;
            let config = Config::load(&config)?;
            let store = qrpayd_store::Store::connect(&config.database_url).await?;
            let id = qrpayd_domain::ids::PaymentId::parse(&id)
                .with_context(|| format!("{id:?} is not a payment id (pay_…)"))?;
            let detail = journal::payment(&store, &id)
                .await?
                .with_context(|| format!("no payment {id} in the journal"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(());
            }
            let p = &detail.row;
            println!("payment      {}", p.id);
            println!(
                "status       {}{}",
                p.status,
                if p.late {
                    format!(" (late; {})", p.late_action.as_deref().unwrap_or("flag"))
                } else {
                    String::new()
                }
            );
            println!("amount       {} RUB", p.amount_rubles);
            println!("register     {}", p.register);
            println!("provider     {} ({})", p.provider, detail.qr_type);
            println!("receipt      {}", p.order.as_deref().unwrap_or("-"));
            println!("created      {}", p.created_at);
            println!("expires      {}", detail.expires_at);
            println!("paid         {}", p.paid_at.as_deref().unwrap_or("-"));
            println!("qr id        {}", detail.qr_id.as_deref().unwrap_or("-"));
            println!(
                "transaction  {}",
                detail.bank_transaction_id.as_deref().unwrap_or("-")
            );
            if let Some(failure) = &detail.failure {
                println!("failure      {failure}");
            }
            println!("refunded     {} RUB", rubles(p.refunded));
            println!("\nHISTORY");
            for line in &detail.history {
                println!(
                    "  {}  {:>10} -> {:<10} {}{}",
                    line.at,
                    line.from.as_deref().unwrap_or("-"),
                    line.to,
                    line.event,
                    line.detail
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                );
            }
            for r in &detail.refunds {
                println!(
                    "\nREFUND {}  {} RUB  {}{}{}",
                    r.id,
                    r.amount_rubles,
                    r.status,
                    if r.automatic { " (automatic)" } else { "" },
                    r.failure
                        .as_deref()
                        .map(|f| format!(" — {f}"))
                        .unwrap_or_default()
                );
                for line in &r.history {
                    println!(
                        "  {}  {:>10} -> {:<10} {}{}",
                        line.at,
                        line.from.as_deref().unwrap_or("-"),
                        line.to,
                        line.event,
                        line.detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
    }
}

fn print_payment_rows(rows: &[qrpayd_service::journal::PaymentRow]) {
    println!(
        "{:<37} {:<10} {:<12} {:<20} {:>12} {:<10} {:<24}",
        "ID", "REGISTER", "PROVIDER", "RECEIPT", "AMOUNT RUB", "STATUS", "CREATED"
    );
    for p in rows {
        let status = if p.late {
            format!("{}*late", p.status)
        } else {
            p.status.to_owned()
        };
        println!(
            "{:<37} {:<10} {:<12} {:<20} {:>12} {:<10} {:<24}",
            p.id,
            p.register,
            p.provider,
            p.order.as_deref().unwrap_or("-"),
            p.amount_rubles,
            status,
            p.created_at
        );
    }
    if rows.is_empty() {
        println!("(none)");
    }
}

/// jemalloc (with its background threads purging freed pages) instead of glibc's malloc: after a
/// flood of 3,000 long-polls closed, glibc kept all of it (RSS 18 → 112 MB and stayed), as did
/// mimalloc mostly (32 → 135 → 87 MB); jemalloc holds about the same (20 → 119 MB) and is back at
/// 29 MB within 12 s.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `YYYY-MM-DD` (start of that day, Moscow time) or an RFC 3339 time.
fn parse_moment(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("{text:?} is neither YYYY-MM-DD nor an RFC 3339 time"))?;
    Ok(qrpayd_domain::moscow::start_of(date))
}

async fn serve(config: Config, banner: Option<bool>) -> anyhow::Result<()> {
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another qrpayd or program using it? change `listen`)")
    })?;
    let options = StartOptions {
        clock: Arc::new(SystemClock),
        run_worker: true,
        demo_bank: demo::demo_bank(&config, Arc::new(SystemClock)),
    };
    let running = start(&config, listener, options).await?;
    if let Some(first) = banner {
        println!("{}", demo::demo_banner(&config, first));
    }
    let shutdown = running.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping");
        let _ = shutdown.send(true);
    });
    running.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let (config, first) = demo::demo_config()?;
            logging::init(&config.log_format);
            serve(config, Some(first)).await
        }
        Some(Command::Serve { config }) => {
            let config = Config::load(&config)?;
            logging::init(&config.log_format);
            serve(config, None).await
        }
        Some(Command::CheckConfig { config: path }) => {
            let config = Config::load(&path)?;
            println!(
                "{}: OK — {} register(s), {} provider(s), QR lifetime {} s < qrpayd's bank wait {} s < register timeout {} s",
                path.display(),
                config.registers.len(),
                config.providers.len(),
                config.payment_ttl_seconds,
                config.bank_wait_seconds(),
                config.register_timeout_seconds
            );
            Ok(())
        }
        Some(Command::Reconcile {
            config,
            registry,
            format,
            mark_late,
            date,
            provider,
        }) => {
            let format = match format.as_str() {
                "text" => Format::Text,
                "json" => Format::Json,
                "csv" => Format::Csv,
                other => anyhow::bail!("unknown --format {other:?}: use text, json or csv"),
            };
            let config = Config::load(&config)?;
            let bytes = std::fs::read(&registry)
                .with_context(|| format!("cannot read the registry {}", registry.display()))?;
            // The provider's bank reads its own registry format.
            let with_registry: Vec<_> = config
                .providers
                .iter()
                .filter(|p| provider.as_ref().is_none_or(|name| &p.name == name))
                .filter_map(|p| {
                    let bank = p.bank().ok()?;
                    bank.read_registry(&bytes)
                        .map(|read| (p.name.clone(), read))
                })
                .collect();
            // Several banks publish registries (Raiffeisen's CSV, Sber's JSON): the file is
            // the one bank's whose reader takes it, if only one does.
            let readable: Vec<_> = with_registry
                .iter()
                .filter(|(_, read)| read.is_ok())
                .cloned()
                .collect();
            let (provider, read) = match (with_registry.as_slice(), readable.as_slice(), &provider)
            {
                ([one], _, _) | (_, [one], None) => one.clone(),
                ([], _, Some(name)) => anyhow::bail!(
                    "provider {name:?} is not configured, or its bank publishes no registry qrpayd reads"
                ),
                ([], _, None) => {
                    anyhow::bail!("no configured provider's bank publishes a registry")
                }
                (_, _, _) => anyhow::bail!(
                    "several providers' banks publish registries: name one with --provider"
                ),
            };
            let mut registry = read.map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a registry qrpayd can read: {e}",
                    registry.display()
                )
            })?;
            let provider = qrpayd_domain::ids::ProviderName::parse(&provider)?;
            match (registry.date, date) {
                (Some(named), Some(given)) if named != given => anyhow::bail!(
                    "the registry is for {named}, not {given}: check the file or drop --date"
                ),
                (None, Some(given)) => registry.date = Some(given),
                _ => {}
            }
            let (payments, _) = open(&config, Arc::new(SystemClock)).await?;
            let report = reconcile::run(&payments, &registry, &provider, mark_late).await?;
            // Kept for the journal page's "last reconciliation" (wall-clock: when it ran).
            qrpayd_service::journal::save_reconciliation(
                payments.store(),
                &report,
                SystemClock.now(),
            )
            .await?;
            print!("{}", reconcile::render(&report, format));
            if let Some(unchecked) = &report.unchecked {
                eprintln!("incomplete check: {unchecked}");
            }
            if !report.is_clean() {
                std::process::exit(2);
            }
            Ok(())
        }
        Some(Command::Links { action }) => links(action).await,
        Some(Command::Payments { action }) => payments_cli(action).await,
        Some(Command::Migrate {
            config,
            check,
            apply: _,
        }) => migrate(&Config::load(&config)?, check).await,
        Some(Command::Backup { config, output }) => {
            let config = Config::load(&config)?;
            let store = qrpayd_store::Store::open_unmigrated(&config.database_url).await?;
            store.backup(&output).await?;
            println!("journal copied to {}", output.display());
            Ok(())
        }
        Some(Command::Export {
            config,
            from,
            to,
            output,
        }) => {
            let config = Config::load(&config)?;
            let from = parse_moment(&from).context("--from")?;
            let to = parse_moment(&to).context("--to")?;
            anyhow::ensure!(from < to, "--from must be before --to");
            let (payments, _) = open(&config, Arc::new(SystemClock)).await?;
            let csv = qrpayd_service::export::export(payments.store(), from, to).await?;
            match output {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(())
        }
        Some(Command::Sandbox {
            listen,
            sbp_merchant_id,
            secret_key,
        }) => {
            logging::init("text");
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let sandbox = qrpayd_sandbox::Sandbox::new(qrpayd_sandbox::SandboxConfig::new(
                sbp_merchant_id.clone(),
                secret_key,
            ));
            println!(
                "SBP sandbox bank (Raiffeisen protocol) for merchant {sbp_merchant_id} on http://{listen}\n\
                 Pay a QR: curl -X POST http://{listen}/api/nspc-mock/v01/rfuture/payment/init -H 'Content-Type: application/json' -d '{{\"qrId\": \"…\", \"amount\": 123.45}}'"
            );
            qrpayd_sandbox::serve(listener, sandbox, shutdown_signal()).await?;
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qrpayd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
