//! The benchmark driver: starts the bare axum+sqlx baseline, the sandbox bank (`qrpayd
//! sandbox`, its own process) and qrpayd (`qrpayd serve`), runs the same load against both
//! servers in one run, and prints each figure, the ratio and PASS/FAIL per target.
//!
//! `qrpayd-bench --qrpayd <bin> --baseline <bin> [--quick]` (`bench/run` builds both in release
//! and raises the open-file limit). Phases, in order:
//!
//! 1. memory: RSS idle, holding 10,000 long-polls, and after they close (baseline `GET /wait`;
//!    qrpayd `GET /v1/payments/{id}?wait=600` spread over 10 registers);
//! 2. `/healthz` latency while qrpayd holds 10,000 long-polls, 2,000 half-open connections
//!    (re-opened as the header timeout cuts them) and 1,000 display streams;
//! 3. reads: baseline point read vs `GET /v1/payments/{id}`, 32 connections;
//! 4. creates: baseline FULL-sync insert vs `POST /v1/payments` (bank in another process),
//!    64 connections, with p99;
//! 5. pay → long-poll: the customer pays through the sandbox; how long until the register's
//!    open long-poll answers.

mod http;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::http::{Conn, once, request};

const REGISTERS: usize = 10;
const SANDBOX_SECRET: &str = "bench-sandbox-secret-0123";
const ADMIN_KEY: &str = "bench-admin-key-0123456789";

fn register_key(n: usize) -> String {
    format!("bench-register-{n:04}-key-0123")
}

fn display_key(n: usize) -> String {
    format!("bench-display-{n:04}-key-0123")
}

struct Options {
    qrpayd: PathBuf,
    baseline: PathBuf,
    quick: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut qrpayd = None;
    let mut baseline = None;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--qrpayd" => qrpayd = args.next().map(PathBuf::from),
            "--baseline" => baseline = args.next().map(PathBuf::from),
            "--quick" => quick = true,
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Options {
        qrpayd: qrpayd.context("--qrpayd <binary>")?,
        baseline: baseline.context("--baseline <binary>")?,
        quick,
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

fn spawn(program: &Path, args: &[&str], log: &Path) -> anyhow::Result<Process> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    Ok(Process(child))
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

async fn until_up(addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    for _ in 0..600 {
        if once(addr, &request("GET", path, &[], ""))
            .await
            .is_ok_and(|a| a.status == 200)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{addr}{path} never answered 200")
}

/// Latencies in microseconds, sorted.
struct Latencies(Vec<u64>);

impl Latencies {
    fn new(mut v: Vec<u64>) -> Self {
        v.sort_unstable();
        Latencies(v)
    }

    /// The `q`-th percentile in microseconds.
    fn p(&self, q: usize) -> u64 {
        let last = self.0.len().saturating_sub(1);
        self.0
            .get(last.saturating_mul(q) / 100)
            .copied()
            .unwrap_or_default()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `a / b` as a percentage with one decimal, as text.
fn percent(a: u64, b: u64) -> String {
    if b == 0 {
        return "-".into();
    }
    let tenths = a.saturating_mul(1000) / b;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn ms(us: u64) -> String {
    format!("{}.{} ms", us / 1000, (us % 1000) / 100)
}

/// Closed-loop load: `connections` workers each send `make(i)` in a loop for `duration`.
/// Returns requests per second and latencies; fails on any answer other than `expect`.
async fn load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    expect: u16,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
) -> anyhow::Result<(u64, Latencies)> {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = JoinSet::new();
    for _ in 0..connections {
        let make = make.clone();
        let counter = counter.clone();
        workers.spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let req = make(n);
                let sent = Instant::now();
                let answer = conn.send(&req).await?;
                if answer.status != expect {
                    bail!(
                        "answered {} instead of {expect}: {}",
                        answer.status,
                        String::from_utf8_lossy(&answer.body)
                    );
                }
                latencies.push(micros(sent.elapsed()));
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done??);
    }
    let elapsed = micros(start.elapsed()).max(1);
    let count = u64::try_from(all.len()).unwrap_or_default();
    Ok((
        count.saturating_mul(1_000_000) / elapsed,
        Latencies::new(all),
    ))
}

/// Opens `n` requests that wait (each on its own connection), `in_flight` connects at a time.
async fn hold(
    addr: SocketAddr,
    n: usize,
    make: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
) -> anyhow::Result<JoinSet<()>> {
    let mut held = JoinSet::new();
    let opened = Arc::new(AtomicU64::new(0));
    for i in 0..n {
        let make = make.clone();
        let opened = opened.clone();
        held.spawn(async move {
            let Ok(mut conn) = Conn::open(addr).await else {
                return;
            };
            if conn.write(&make(i)).await.is_err() {
                return;
            }
            opened.fetch_add(1, Ordering::Relaxed);
            let _ = conn.read_answer().await;
            std::future::pending::<()>().await;
        });
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let want = u64::try_from(n).unwrap_or_default();
    for _ in 0..600 {
        if opened.load(Ordering::Relaxed) >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the server take the last requests in.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(held)
}

/// RSS once `held` is closed: the lowest seen within `within`, stopping early under `goal`.
async fn rss_after_close(
    pid: u32,
    mut held: JoinSet<()>,
    goal: u64,
    within: Duration,
) -> (u64, Duration) {
    held.abort_all();
    while held.join_next().await.is_some() {}
    let start = Instant::now();
    let mut lowest = u64::MAX;
    while start.elapsed() < within {
        tokio::time::sleep(Duration::from_secs(1)).await;
        lowest = lowest.min(rss_kib(pid).unwrap_or(u64::MAX));
        if lowest <= goal {
            break;
        }
    }
    (lowest, start.elapsed())
}

struct Table {
    rows: Vec<[String; 6]>,
    failed: usize,
}

impl Table {
    fn row(
        &mut self,
        what: &str,
        baseline: String,
        qrpayd: String,
        ratio: String,
        target: &str,
        pass: bool,
    ) {
        if !pass {
            self.failed += 1;
        }
        let verdict = if pass { "PASS" } else { "FAIL" };
        println!(
            "  {what}: baseline {baseline}, qrpayd {qrpayd}, {ratio} (target {target}) {verdict}"
        );
        self.rows.push([
            what.to_owned(),
            baseline,
            qrpayd,
            ratio,
            target.to_owned(),
            verdict.to_owned(),
        ]);
    }

    fn print(&self) {
        println!("\n| measure | baseline | qrpayd | ratio | target | result |");
        println!("|---|---|---|---|---|---|");
        for [a, b, c, d, e, f] in &self.rows {
            println!("| {a} | {b} | {c} | {d} | {e} | {f} |");
        }
    }
}

fn qrpayd_config(dir: &Path, port: u16, bank: u16) -> String {
    let mut text = format!(
        r#"listen = "127.0.0.1:{port}"
database_url = "sqlite://{db}?mode=rwc"
public_url = "http://127.0.0.1:{port}"
payment_ttl_seconds = 3000
register_timeout_seconds = 3010
bank_timeout_seconds = 5
max_wait_seconds = 600
idle_timeout_seconds = 700
admin_api_key = "{ADMIN_KEY}"
# The load generator is one client address holding thousands of connections.
max_connections = 16000
max_long_polls_per_register = 1000
max_display_streams_per_register = 100
rate_limit_per_second = 100000
rate_limit_burst = 100000

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "http://127.0.0.1:{bank}"
sbp_merchant_id = "MA0000000552"
secret_key = "{SANDBOX_SECRET}"
# Outcomes come by callback; a poll per pending payment every minute at most.
poll_interval_ms = 60000
"#,
        db = dir.join("qrpayd.db").display()
    );
    for n in 0..REGISTERS {
        text.push_str(&format!(
            "\n[[registers]]\nid = \"pos-{n}\"\napi_key = \"{}\"\ndisplay_key = \"{}\"\n",
            register_key(n),
            display_key(n)
        ));
    }
    text
}

fn bearer(n: usize) -> String {
    format!("Bearer {}", register_key(n))
}

/// Creates a payment for register `n`; its JSON.
async fn create(conn: &mut Conn, n: usize, key: &str) -> anyhow::Result<serde_json::Value> {
    let auth = bearer(n);
    let answer = conn
        .send(&request(
            "POST",
            "/v1/payments",
            &[("Authorization", &auth), ("Idempotency-Key", key)],
            r#"{"amount": 100, "currency": "RUB", "provider": "raiffeisen"}"#,
        ))
        .await?;
    if answer.status != 201 {
        bail!(
            "create answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    answer.json()
}

fn id_of(payment: &serde_json::Value) -> anyhow::Result<String> {
    payment["id"]
        .as_str()
        .map(str::to_owned)
        .context("payment id")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let scale = |full: usize, quick: usize| if options.quick { quick } else { full };
    let seconds =
        |full: u64, quick: u64| Duration::from_secs(if options.quick { quick } else { full });
    let dir = std::env::temp_dir().join(format!("qrpayd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("work directory {}", dir.display());

    let base_port = free_port()?;
    let bank_port = free_port()?;
    let port = free_port()?;
    let base_addr: SocketAddr = ([127, 0, 0, 1], base_port).into();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let baseline = spawn(
        &options.baseline,
        &[
            &format!("127.0.0.1:{base_port}"),
            &dir.join("baseline.db").display().to_string(),
        ],
        &dir.join("baseline.log"),
    )?;
    let bank = spawn(
        &options.qrpayd,
        &[
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{bank_port}"),
            "--secret-key",
            SANDBOX_SECRET,
        ],
        &dir.join("sandbox.log"),
    )?;
    let config = dir.join("qrpayd.toml");
    std::fs::write(&config, qrpayd_config(&dir, port, bank_port))?;
    let qrpayd = spawn(
        &options.qrpayd,
        &["serve", "--config", &config.display().to_string()],
        &dir.join("qrpayd.log"),
    )?;
    until_up(base_addr, "/hello").await?;
    until_up(addr, "/healthz").await?;
    let bank_addr: SocketAddr = ([127, 0, 0, 1], bank_port).into();
    // The sandbox must be up (it is called for every create).
    for _ in 0..600 {
        if Conn::open(bank_addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut table = Table {
        rows: Vec::new(),
        failed: 0,
    };
    let mut setup = Conn::open(addr).await?;
    // One pending payment per register, for the long-polls.
    let mut pending = Vec::new();
    for n in 0..REGISTERS {
        pending.push(id_of(&create(&mut setup, n, &format!("hold-{n}")).await?)?);
    }
    let pending = Arc::new(pending);

    // 1. Memory of 10,000 waiting requests.
    let waits = scale(10_000, 2_000);
    println!("\n1. memory: {waits} open long-polls");
    let base_idle = rss_kib(baseline.pid())?;
    let held = hold(
        base_addr,
        waits,
        Arc::new(|_| request("GET", "/wait", &[], "")),
    )
    .await?;
    let base_held = rss_kib(baseline.pid())?;
    let (base_after, _) = rss_after_close(
        baseline.pid(),
        held,
        base_idle.saturating_mul(2),
        seconds(10, 2),
    )
    .await;
    let q_idle = rss_kib(qrpayd.pid())?;
    let make_wait = {
        let pending = pending.clone();
        Arc::new(move |i: usize| {
            let n = i % REGISTERS;
            let path = format!(
                "/v1/payments/{}?wait=600",
                pending.get(n).map_or("", String::as_str)
            );
            request("GET", &path, &[("Authorization", &bearer(n))], "")
        })
    };
    let held = hold(addr, waits, make_wait.clone()).await?;
    let q_held = rss_kib(qrpayd.pid())?;
    let (q_after, q_after_in) = rss_after_close(
        qrpayd.pid(),
        held,
        q_idle.saturating_mul(2),
        seconds(60, 10),
    )
    .await;
    println!(
        "  baseline idle {base_idle} KiB, holding {base_held} KiB, after {base_after} KiB; qrpayd idle {q_idle} KiB, holding {q_held} KiB, after {q_after} KiB ({}s)",
        q_after_in.as_secs()
    );
    table.row(
        &format!("RSS holding {waits} long-polls"),
        format!("{} MiB", base_held / 1024),
        format!("{} MiB", q_held / 1024),
        percent(q_held, base_held),
        "≤ 150% of baseline",
        q_held.saturating_mul(100) <= base_held.saturating_mul(150),
    );
    table.row(
        "RSS a minute after they close",
        format!("{} MiB (idle {} MiB)", base_after / 1024, base_idle / 1024),
        format!(
            "{} MiB (idle {} MiB, after {} s)",
            q_after / 1024,
            q_idle / 1024,
            q_after_in.as_secs()
        ),
        percent(q_after, q_idle),
        "< 200% of qrpayd idle",
        q_after < q_idle.saturating_mul(2),
    );

    // 2. /healthz while held: long-polls, half-open connections, display streams.
    let half_open = scale(2_000, 300);
    let displays = scale(1_000, 100);
    println!(
        "\n2. /healthz while qrpayd holds {waits} long-polls, {half_open} half-open connections, {displays} display streams"
    );
    let held = hold(addr, waits, make_wait).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut hostile = JoinSet::new();
    for _ in 0..half_open {
        let stop = stop.clone();
        hostile.spawn(async move {
            // Unfinished headers; re-opened whenever the server cuts it.
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut conn) = Conn::open(addr).await
                    && conn
                        .write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
                        .await
                        .is_ok()
                {
                    conn.drain(Duration::from_secs(60)).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }
    let opened_streams = Arc::new(AtomicU64::new(0));
    for i in 0..displays {
        let n = i % REGISTERS;
        let opened_streams = opened_streams.clone();
        hostile.spawn(async move {
            let path = format!("/display/pos-{n}/events?key={}", display_key(n));
            if let Ok(mut conn) = Conn::open(addr).await
                && conn.write(&request("GET", &path, &[], "")).await.is_ok()
            {
                opened_streams.fetch_add(1, Ordering::Relaxed);
                conn.drain(Duration::from_secs(3600)).await;
            }
        });
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut health = Vec::new();
    let mut failures = 0;
    for _ in 0..scale(200, 50) {
        let sent = Instant::now();
        match tokio::time::timeout(
            Duration::from_secs(5),
            once(addr, &request("GET", "/healthz", &[], "")),
        )
        .await
        {
            Ok(Ok(a)) if a.status == 200 => health.push(micros(sent.elapsed())),
            _ => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let health = Latencies::new(health);
    println!(
        "  display streams opened {}; /healthz p50 {} p99 {} max {}, failures {failures}",
        opened_streams.load(Ordering::Relaxed),
        ms(health.p(50)),
        ms(health.p(99)),
        ms(health.p(100))
    );
    table.row(
        &format!(
            "/healthz p99 under {waits} long-polls + {half_open} half-open + {displays} displays"
        ),
        "-".into(),
        ms(health.p(99)),
        format!("{failures} failed"),
        "< 50 ms, none failed",
        health.p(99) < 50_000 && failures == 0,
    );
    stop.store(true, Ordering::Relaxed);
    hostile.abort_all();
    drop(held);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // 3. Reads.
    let read_for = seconds(8, 3);
    println!("\n3. reads, 32 connections, {}s each", read_for.as_secs());
    let (base_reads, base_lat) = load(
        base_addr,
        32,
        read_for,
        200,
        Arc::new(|_| request("GET", "/read/pay_1", &[], "")),
    )
    .await?;
    let read_path = format!(
        "/v1/payments/{}",
        pending.first().map_or("", String::as_str)
    );
    let (q_reads, q_lat) = load(
        addr,
        32,
        read_for,
        200,
        Arc::new(move |_| request("GET", &read_path, &[("Authorization", &bearer(0))], "")),
    )
    .await?;
    println!(
        "  baseline {base_reads}/s (p99 {}), qrpayd {q_reads}/s (p99 {})",
        ms(base_lat.p(99)),
        ms(q_lat.p(99))
    );
    table.row(
        "GET a payment vs a bare point read",
        format!("{base_reads}/s"),
        format!("{q_reads}/s"),
        percent(q_reads, base_reads),
        "≥ 70%",
        q_reads.saturating_mul(100) >= base_reads.saturating_mul(70),
    );

    // 4. Creates.
    let create_for = seconds(10, 3);
    println!(
        "\n4. creates, 64 connections, {}s each",
        create_for.as_secs()
    );
    let (base_inserts, base_ins_lat) = load(
        base_addr,
        64,
        create_for,
        201,
        Arc::new(|_| request("POST", "/insert", &[], "{}")),
    )
    .await?;
    let run = std::process::id();
    let (q_creates, q_create_lat) = load(
        addr,
        64,
        create_for,
        201,
        Arc::new(move |i| {
            let n = usize::try_from(i).unwrap_or_default() % REGISTERS;
            let key = format!("load-{run}-{i}");
            request(
                "POST",
                "/v1/payments",
                &[("Authorization", &bearer(n)), ("Idempotency-Key", &key)],
                r#"{"amount": 100, "currency": "RUB", "provider": "raiffeisen"}"#,
            )
        }),
    )
    .await?;
    println!(
        "  baseline {base_inserts}/s (p99 {}), qrpayd {q_creates}/s (p50 {}, p99 {})",
        ms(base_ins_lat.p(99)),
        ms(q_create_lat.p(50)),
        ms(q_create_lat.p(99))
    );
    table.row(
        "create a payment vs a bare FULL-sync insert",
        format!("{base_inserts}/s"),
        format!("{q_creates}/s"),
        percent(q_creates, base_inserts),
        "≥ 25%",
        q_creates.saturating_mul(100) >= base_inserts.saturating_mul(25),
    );
    table.row(
        "create p99 at 64 concurrent",
        ms(base_ins_lat.p(99)),
        ms(q_create_lat.p(99)),
        "-".into(),
        "< 250 ms",
        q_create_lat.p(99) < 250_000,
    );

    // 5. Pay → long-poll.
    let rounds = scale(200, 30);
    println!("\n5. pay → long-poll, {rounds} payments");
    let mut latencies = Vec::new();
    // A fresh connection: the setup one has been idle past the header timeout.
    let mut setup = Conn::open(addr).await?;
    for i in 0..rounds {
        let n = i % REGISTERS;
        let payment = create(&mut setup, n, &format!("pay-{run}-{i}")).await?;
        let id = id_of(&payment)?;
        let qr_id = payment
            .pointer("/qr/qr_id")
            .and_then(|v| v.as_str())
            .context("qr_id")?
            .to_owned();
        let mut poll = Conn::open(addr).await?;
        poll.write(&request(
            "GET",
            &format!("/v1/payments/{id}?wait=30"),
            &[("Authorization", &bearer(n))],
            "",
        ))
        .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = Instant::now();
        let paid = once(
            bank_addr,
            &request(
                "POST",
                "/api/nspc-mock/v01/rfuture/payment/init",
                &[],
                &format!(r#"{{"qrId": "{qr_id}", "amount": 1.00}}"#),
            ),
        )
        .await?;
        if paid.status != 200 {
            bail!(
                "the sandbox did not take the payment: {}",
                String::from_utf8_lossy(&paid.body)
            );
        }
        let answer = poll.read_answer().await?;
        latencies.push(micros(sent.elapsed()));
        if answer.json()?.get("status").and_then(|v| v.as_str()) != Some("paid") {
            bail!(
                "the long-poll answered {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
    }
    let latencies = Latencies::new(latencies);
    println!(
        "  p50 {}, p99 {}, max {}",
        ms(latencies.p(50)),
        ms(latencies.p(99)),
        ms(latencies.p(100))
    );
    table.row(
        "pay → register long-poll answered, p99",
        "-".into(),
        ms(latencies.p(99)),
        format!("p50 {}", ms(latencies.p(50))),
        "≤ 50 ms",
        latencies.p(99) <= 50_000,
    );

    table.print();
    println!(
        "\n{} of {} targets met",
        table.rows.len().saturating_sub(table.failed),
        table.rows.len()
    );
    // Stopped before exiting (`exit` runs no destructors).
    drop(qrpayd);
    drop(bank);
    drop(baseline);
    let _ = std::fs::remove_dir_all(&dir);
    if options.quick {
        println!("(a smoke run: small numbers, targets not judged)");
    } else if table.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
