//! The customer display and the cashier demo page in a real browser: Debian's headless
//! Chromium, driven over the DevTools protocol through a pipe (`--remote-debugging-pipe`: JSON
//! messages ending in a NUL byte on file descriptors 3 and 4; no WebSocket, no npm).
//!
//! qrpayd runs in-process with the embedded sandbox bank on a random port and the real clock
//! and worker, as in the demo. The display page is opened with nobody touching it; a payment
//! is created through the API, its QR is read back from a screenshot, the customer pays
//! through the sandbox, and the page must show "paid" within two seconds, then idle again.
//! Screenshots are saved under `target/tmp/qrpayd-display/` (paths printed).
//!
//! The store admin's journal page (`/admin`) is opened the same way: the day's totals, a
//! payment's history, the search by receipt.
//!
//! Without `chromium` on `PATH` the tests are skipped with a loud message, unless
//! `QRPAYD_REQUIRE_BROWSER` is set (`.ci/run` sets it and installs Chromium), then they fail
//! (`qrpayd_store::test_env`).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qrpayd_service::clock::SystemClock;
use qrpayd_service::config::{Config, demo_toml};
use qrpayd_service::startup::{Running, StartOptions, start};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const KEY: &str = "pos1-browser-test-key-0123";
const DISPLAY_KEY: &str = "pos1-browser-display-key-0123";
const SECRET: &str = "sandbox-browser-secret";
const ADMIN_KEY: &str = "admin-browser-test-key-0123";

/// Chromium, or `None` (skip) when it is absent and not required.
fn chromium(test: &str) -> Option<String> {
    if let Some(path) = qrpayd_store::test_env::on_path("chromium") {
        return Some(path.display().to_string());
    }
    qrpayd_store::test_env::missing(
        test,
        &qrpayd_store::test_env::CHROMIUM,
        "no `chromium` on PATH, so the customer display was NOT tested in a browser",
    );
    None
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qrpayd-display");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// qrpayd as the demo runs it (embedded sandbox bank, real clock, worker on), on a random
/// port with its own database.
struct Qrpayd {
    base: String,
    running: Option<Running>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Qrpayd {
    async fn start() -> Qrpayd {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("qrpayd.db").display()
        );
        let text = demo_toml(&addr, KEY, DISPLAY_KEY, SECRET)
            .replace("sqlite://qrpayd-demo.db?mode=rwc", &db)
            .replace(
                "bank_timeout_seconds = 5",
                &format!("bank_timeout_seconds = 5\nadmin_api_key = \"{ADMIN_KEY}\""),
            );
        let config = Config::from_toml(&text, Vec::new()).unwrap();
        let running = start(
            &config,
            listener,
            StartOptions {
                clock: Arc::new(SystemClock),
                run_worker: true,
                demo_bank: config.sandbox.as_ref().map(|s| {
                    qrpayd_sandbox::Sandbox::new(
                        qrpayd_sandbox::SandboxConfig::new(
                            s.sbp_merchant_id.clone(),
                            s.secret_key.expose().to_owned(),
                        )
                        .with_clock(Arc::new(SystemClock)),
                    )
                    .router()
                }),
            },
        )
        .await
        .unwrap();
        let app = Qrpayd {
            base: format!("http://{addr}"),
            running: Some(running),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        // qrpayd tells the sandbox its callback URL in the background; make sure it is set
        // before anyone pays, so "paid" comes by callback, not by a poll.
        let set = app
            .http
            .post(format!(
                "{}/sandbox-bank/api/settings/v1/callback",
                app.base
            ))
            .bearer_auth(SECRET)
            .json(&json!({"callbackUrl": format!("{}/v1/callbacks/raiffeisen", app.base)}))
            .send()
            .await
            .unwrap();
        assert!(set.status().is_success());
        app
    }

    async fn create(&self, idempotency_key: &str, amount: i64) -> Value {
        let response = self
            .http
            .post(format!("{}/v1/payments", self.base))
            .bearer_auth(KEY)
            .header("Idempotency-Key", idempotency_key)
            .json(&json!({"amount": amount, "order": "receipt-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// The customer pays, with the sandbox's public Raiffeisen call (rubles as a JSON number).
    async fn pay(&self, payment: &Value) {
        let body = format!(
            r#"{{"qrId": "{}", "amount": 123.45}}"#,
            payment["qr"]["qr_id"].as_str().unwrap()
        );
        let response = self
            .http
            .post(format!(
                "{}/sandbox-bank/api/nspc-mock/v01/rfuture/payment/init",
                self.base
            ))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// Headless Chromium over the DevTools protocol on a pipe.
struct Browser {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(executable: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // The shell hands our stdin to Chromium as fd 3 (commands) and our stdout pipe as
        // fd 4 (answers); Chromium's own output goes to stderr.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(executable)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-proxy-server",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Browser {
            child,
            input,
            output,
            next_id: 0,
            _profile: profile,
        }
    }

    /// One DevTools command; events in between are skipped.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.input.write_all(&bytes).await.unwrap();
        self.input.flush().await.unwrap();
        loop {
            let mut frame = Vec::new();
            let read = tokio::time::timeout(
                Duration::from_secs(30),
                self.output.read_until(0, &mut frame),
            )
            .await
            .unwrap_or_else(|_| panic!("Chromium did not answer {method}"))
            .unwrap();
            assert!(read > 0, "Chromium closed the pipe during {method}");
            frame.pop();
            let answer: Value = serde_json::from_slice(&frame).unwrap();
            if answer["id"] == id {
                assert!(
                    answer.get("error").is_none(),
                    "{method}: {}",
                    answer["error"]
                );
                return answer["result"].clone();
            }
        }
    }

    /// A new tab of `width`×`height` CSS pixels at `url`; its session id.
    async fn open(&mut self, url: &str, width: u32, height: u32) -> String {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        self.call(Some(&session), "Page.navigate", json!({"url": url}))
            .await;
        session
    }

    async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is `true`; how long that took.
    async fn until(&mut self, session: &str, expression: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.eval(session, expression).await == json!(true) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "not within {limit:?}: {expression}; the page shows state {}",
                self.eval(session, "document.body.dataset.state").await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A PNG screenshot of the tab, saved as `name` under `target/tmp/qrpayd-display/`.
    async fn screenshot(&mut self, session: &str, name: &str) -> (PathBuf, Vec<u8>) {
        let shot = self
            .call(
                Some(session),
                "Page.captureScreenshot",
                json!({"format": "png"}),
            )
            .await;
        let png = base64_decode(shot["data"].as_str().unwrap());
        let path = screenshot_dir().join(name);
        std::fs::write(&path, &png).unwrap();
        println!("screenshot: {}", path.display());
        (path, png)
    }

    async fn close(mut self) {
        let _ = self.call(None, "Browser.close", json!({})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let bits =
            chunk.iter().fold(0u32, |acc, &c| (acc << 6) | value(c)) << (6 * (4 - chunk.len()));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The QR codes found in a screenshot.
fn qr_codes_in(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_shows_the_qr_then_paid_within_two_seconds_then_idle() {
    let Some(executable) =
        chromium("the_display_shows_the_qr_then_paid_within_two_seconds_then_idle")
    else {
        return;
    };
    let app = Qrpayd::start().await;
    let mut browser = Browser::launch(&executable);
    let url = format!("{}/display/pos-1?key={DISPLAY_KEY}", app.base);
    // An 800×480 customer display, nobody touching it.
    let display = browser.open(&url, 800, 480).await;
    browser
        .until(
            &display,
            "document.body.dataset.state === 'idle'",
            Duration::from_secs(15),
        )
        .await;
    browser.screenshot(&display, "display-idle.png").await;

    let payment = app.create("sale-1", 12345).await;
    let payload = payment["qr"]["payload"].as_str().unwrap();
    browser
        .until(
            &display,
            "document.body.dataset.state === 'pending' && document.getElementById('qr').complete \
             && document.getElementById('qr').naturalWidth > 0",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        browser
            .eval(&display, "document.getElementById('amount').textContent")
            .await,
        "123,45\u{a0}₽"
    );
    // The countdown runs (a 300 s QR: 4:5x or 5:00).
    let countdown = browser
        .eval(&display, "document.getElementById('countdown').textContent")
        .await;
    assert!(
        countdown.as_str().unwrap().starts_with("4:5") || countdown == "5:00",
        "{countdown}"
    );
    // A phone camera reads the QR off the screen: the screenshot decodes to the payload.
    let (path, png) = browser.screenshot(&display, "display-pending.png").await;
    assert_eq!(qr_codes_in(&png), [payload], "{}", path.display());

    // The customer pays; the page switches to "paid" within two seconds.
    let started = Instant::now();
    app.pay(&payment).await;
    browser
        .until(
            &display,
            "document.body.dataset.state === 'paid'",
            Duration::from_secs(2),
        )
        .await;
    let took = started.elapsed();
    println!("the display showed \"paid\" {took:?} after the payment");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(
        browser
            .eval(
                &display,
                "document.getElementById('outcome-title').textContent"
            )
            .await,
        "Оплачено"
    );
    browser.screenshot(&display, "display-paid.png").await;

    // A portrait kiosk in English, opened now, shows the same outcome.
    let kiosk = browser.open(&format!("{url}&lang=en"), 540, 960).await;
    browser
        .until(
            &kiosk,
            "document.body.dataset.state === 'paid' && \
             document.getElementById('outcome-title').textContent === 'Paid'",
            Duration::from_secs(5),
        )
        .await;
    browser
        .screenshot(&kiosk, "kiosk-portrait-paid-en.png")
        .await;

    // And both go back to idle by themselves after the outcome was shown.
    browser
        .until(
            &display,
            "document.body.dataset.state === 'idle'",
            Duration::from_secs(15),
        )
        .await;
    browser
        .until(
            &kiosk,
            "document.body.dataset.state === 'idle'",
            Duration::from_secs(5),
        )
        .await;

    // A second, large payment, shown on the portrait kiosk: its QR decodes too, and the
    // amount fits the screen on both.
    let second = app.create("sale-2", 98_765_432).await;
    browser
        .until(
            &kiosk,
            "document.body.dataset.state === 'pending' && document.getElementById('qr').naturalWidth > 0",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        browser
            .eval(&kiosk, "document.getElementById('amount').textContent")
            .await,
        "₽987,654.32"
    );
    for page in [&kiosk, &display] {
        browser
            .until(
                page,
                "document.body.dataset.state === 'pending' && \
                 document.getElementById('amount').scrollWidth <= document.getElementById('amount').clientWidth",
                Duration::from_secs(5),
            )
            .await;
    }
    browser
        .screenshot(&display, "display-pending-large.png")
        .await;
    let (path, png) = browser
        .screenshot(&kiosk, "kiosk-portrait-pending-en.png")
        .await;
    assert_eq!(
        qr_codes_in(&png),
        [second["qr"]["payload"].as_str().unwrap()],
        "{}",
        path.display()
    );
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cashier_demo_page_creates_pays_and_refunds() {
    let Some(executable) = chromium("the_cashier_demo_page_creates_pays_and_refunds") else {
        return;
    };
    let app = Qrpayd::start().await;
    let mut browser = Browser::launch(&executable);
    // The key travels in the fragment: the browser never sends it to qrpayd.
    let page = browser
        .open(&format!("{}/demo#key={KEY}", app.base), 1000, 900)
        .await;
    browser
        .until(
            &page,
            &format!("document.getElementById('key').value === '{KEY}'"),
            Duration::from_secs(15),
        )
        .await;
    browser
        .eval(
            &page,
            "document.getElementById('amount').value = '250.50'; \
             document.getElementById('order').value = 'receipt-77'; \
             document.getElementById('create-form').requestSubmit(); true",
        )
        .await;
    browser
        .until(
            &page,
            "document.getElementById('status').className === 'status pending' && \
             document.getElementById('qr').naturalWidth > 0",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(
        browser
            .eval(&page, "document.getElementById('p-amount').textContent")
            .await,
        "250.50"
    );
    let (_, png) = browser.screenshot(&page, "demo-pending.png").await;
    let codes = qr_codes_in(&png);
    assert!(
        codes.len() == 1 && codes[0].contains("sum=25050"),
        "{codes:?}"
    );

    browser
        .eval(&page, "document.getElementById('pay').click(); true")
        .await;
    browser
        .until(
            &page,
            "document.getElementById('status').className === 'status paid'",
            Duration::from_secs(5),
        )
        .await;
    // Refund part of it; the sandbox completes refunds asynchronously, the page follows.
    browser
        .eval(
            &page,
            "document.getElementById('refund-amount').value = '50.50'; \
             document.getElementById('refund-form').requestSubmit(); true",
        )
        .await;
    browser
        .until(
            &page,
            "document.getElementById('p-refunded').textContent === '50.50'",
            Duration::from_secs(30),
        )
        .await;
    browser.screenshot(&page, "demo-refunded.png").await;
    let log = browser
        .eval(&page, "document.getElementById('log').textContent")
        .await;
    assert!(!log.as_str().unwrap().contains(KEY), "the key was logged");
    browser.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_journal_page_shows_the_day_a_payment_s_history_and_finds_a_receipt() {
    let Some(executable) =
        chromium("the_admin_journal_page_shows_the_day_a_payment_s_history_and_finds_a_receipt")
    else {
        return;
    };
    let app = Qrpayd::start().await;
    let paid = app.create("sale-1", 12345).await;
    app.pay(&paid).await;
    let id = paid["id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let p: Value = app
            .http
            .get(format!("{}/v1/payments/{id}?wait=1", app.base))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["status"] == "paid" {
            break;
        }
    }
    let _pending = app.create("sale-2", 5000).await;
    let mut browser = Browser::launch(&executable);
    // The key travels in the fragment: never sent to qrpayd, and the page drops it from the
    // address bar once read.
    let page = browser
        .open(&format!("{}/admin#key={ADMIN_KEY}", app.base), 1280, 900)
        .await;
    browser
        .until(
            &page,
            "document.body.dataset.loaded === 'yes'",
            Duration::from_secs(15),
        )
        .await;
    assert_eq!(browser.eval(&page, "location.hash").await, "");
    // The day's table: pos-1 with the sandbox bank, two payments, one paid for 123,45 ₽.
    let total = browser
        .eval(
            &page,
            "Array.from(document.querySelectorAll('#groups tr.total td')).map(td => td.textContent).join('|')",
        )
        .await;
    assert_eq!(total, "Итого||2|1|123,45|0,00", "{total}");
    let rows = browser
        .eval(
            &page,
            "document.querySelectorAll('#payments tbody tr').length",
        )
        .await;
    assert_eq!(rows, 2);
    browser.screenshot(&page, "admin-day.png").await;

    // A payment's full history, by clicking it.
    browser
        .eval(
            &page,
            &format!("document.querySelector('a[data-payment=\"{id}\"]').click(); true"),
        )
        .await;
    browser
        .until(
            &page,
            "!document.getElementById('detail-card').hidden && \
             Array.from(document.querySelectorAll('#history tbody tr')).some(tr => tr.textContent.includes('BankPaid'))",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        browser
            .eval(&page, "document.getElementById('d-id').textContent")
            .await,
        id.as_str()
    );
    browser.screenshot(&page, "admin-payment.png").await;

    // Search by receipt: both payments carry receipt-1.
    browser
        .eval(
            &page,
            "document.getElementById('order').value = 'receipt-1'; \
             document.getElementById('search-form').requestSubmit(); true",
        )
        .await;
    browser
        .until(
            &page,
            "document.getElementById('list-title').textContent === 'Чек receipt-1: найдено 2'",
            Duration::from_secs(5),
        )
        .await;
    // Nothing to act on, and no reconciliation yet.
    assert_eq!(
        browser
            .eval(&page, "document.querySelector('#late tbody').textContent")
            .await,
        "нет"
    );
    assert!(
        browser
            .eval(&page, "document.getElementById('rec-summary').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("Сверок ещё не было")
    );
    // A wrong key gets a clear message, not a broken page.
    browser
        .eval(
            &page,
            &format!(
                "document.getElementById('key').value = '{KEY}'; \
                 document.getElementById('key-form').requestSubmit(); true"
            ),
        )
        .await;
    browser
        .until(
            &page,
            "!document.getElementById('error').hidden && \
             document.getElementById('error').textContent.startsWith('ключ не подходит')",
            Duration::from_secs(5),
        )
        .await;
    browser.close().await;
    app.stop().await;
}
