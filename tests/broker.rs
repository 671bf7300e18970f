//! Events on a real RabbitMQ: delivered to a real consumer in order with unique ids, and none
//! lost when the broker goes away and comes back mid-run.
//!
//! The broker is `QRPAYD_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`; `.ci/run`
//! gives each run its own vhost). Each test uses its own exchange and queue. Without a reachable
//! broker the tests skip loudly, or fail when `QRPAYD_REQUIRE_RABBITMQ` is set (`.ci/run` sets
//! it; see `qrpayd_store::test_env`).
//!
//! The outage never touches someone else's broker: qrpayd reaches the broker through a TCP
//! relay in this process, and the test cuts the relay (every connection dropped, new ones
//! refused) and restores it. Only with `QRPAYD_TEST_RESTART_BROKER=1`, which `.ci/run` sets
//! when it started the broker itself, does the test stop and start the real broker with
//! `rabbitmqctl` instead.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

#[path = "api/helpers.rs"]
#[expect(
    dead_code,
    reason = "shared with the API suite; this suite uses part of it"
)]
mod helpers;

use std::collections::HashMap;
use std::time::Duration;

use helpers::*;
use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use qrpayd_store::test_env;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The tests share one broker and one of them may restart it.
static BROKER: Mutex<()> = Mutex::const_new(());

fn amqp_url() -> String {
    std::env::var("QRPAYD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Is the broker there? `false` after the loud skip (or the failure, when required).
async fn broker_reachable(test: &str) -> bool {
    let url = amqp_url();
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(&url, ConnectionProperties::default()),
    )
    .await;
    let problem = match attempt {
        Ok(Ok(connection)) => {
            let _ = connection.close(200, "probe".into()).await;
            return true;
        }
        Ok(Err(e)) => format!("{url}: {e}"),
        Err(_) => format!("{url}: no answer within 10 s"),
    };
    test_env::missing(test, &test_env::RABBITMQ, &problem);
    false
}

fn unique(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::new_v4().simple())
}

/// A durable queue bound to every routing key of `exchange`.
async fn consumer(exchange: &str, queue: &str) -> (Connection, Channel) {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ is not reachable at {}: {e}", amqp_url()));
    let channel = connection.create_channel().await.unwrap();
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (connection, channel)
}

/// Reads messages until `count` arrived (bounded in time).
async fn receive(queue: &str, count: usize) -> Vec<(String, Value)> {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..300 {
        match channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(message) => {
                let delivery = message.delivery;
                let kind = delivery
                    .properties
                    .kind()
                    .as_ref()
                    .map(|k| k.as_str().to_owned())
                    .unwrap_or_default();
                assert_eq!(delivery.routing_key.as_str(), kind);
                got.push((kind, serde_json::from_slice(&delivery.data).unwrap()));
                if got.len() == count {
                    break;
                }
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let _ = connection.close(200, "done".into()).await;
    got
}

async fn cleanup(channel: &Channel, queue: &str) {
    let _ = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
}

fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// May this test stop and start the broker itself? Only when the run started that broker
/// (`.ci/run` says so with `QRPAYD_TEST_RESTART_BROKER=1`); a developer's or a shared
/// machine's broker is never stopped.
fn may_restart_broker() -> bool {
    std::env::var("QRPAYD_TEST_RESTART_BROKER").is_ok_and(|v| v == "1")
}

/// A TCP relay to the broker that the test can cut: qrpayd connects through it, so cutting it
/// is a broker outage as qrpayd sees one (its connections die, reconnecting fails) while the
/// broker itself, and everyone else using it, carries on.
struct Relay {
    port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*watch.borrow() {
                    // Cut: accept and hang up at once, as a broker that is down would.
                    continue;
                }
                let mut cut = watch.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|open| !open) => {}
                    }
                });
            }
        });
        Relay { port, open }
    }

    /// `url` with its host and port replaced by the relay's.
    fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}127.0.0.1:{}{path}", self.port)
    }
}

/// `host:port` of an AMQP URL (5672 when the URL names no port).
fn broker_address(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    }
}

#[test]
fn the_relay_rewrites_only_the_address() {
    let relay_port = 40_000;
    let (open, _) = tokio::sync::watch::channel(true);
    let relay = Relay {
        port: relay_port,
        open,
    };
    assert_eq!(
        relay.url("amqp://guest:guest@127.0.0.1:5672/qrpayd_ci_1"),
        "amqp://guest:guest@127.0.0.1:40000/qrpayd_ci_1"
    );
    assert_eq!(relay.url("amqp://rabbit.lan"), "amqp://127.0.0.1:40000");
    assert_eq!(
        broker_address("amqp://guest:guest@127.0.0.1:5672/%2f"),
        "127.0.0.1:5672"
    );
    assert_eq!(broker_address("amqp://rabbit.lan/v"), "rabbit.lan:5672");
}

/// How the outage test takes the broker away from qrpayd.
enum Outage {
    /// Cut the relay qrpayd connects through.
    Relay(Relay),
    /// Stop the real broker (`QRPAYD_TEST_RESTART_BROKER=1` only).
    Broker,
}

impl Outage {
    async fn prepare() -> Outage {
        if may_restart_broker() {
            Outage::Broker
        } else {
            Outage::Relay(Relay::start(broker_address(&amqp_url())).await)
        }
    }

    /// The URL qrpayd is given.
    fn qrpayd_url(&self) -> String {
        match self {
            Outage::Relay(relay) => relay.url(&amqp_url()),
            Outage::Broker => amqp_url(),
        }
    }

    fn begin(&self) {
        match self {
            Outage::Relay(relay) => {
                relay.open.send_replace(false);
            }
            Outage::Broker => rabbitmqctl(&["stop_app"]),
        }
    }

    fn end(&self) {
        match self {
            Outage::Relay(relay) => {
                relay.open.send_replace(true);
            }
            Outage::Broker => {
                rabbitmqctl(&["start_app"]);
                rabbitmqctl(&["await_startup"]);
            }
        }
    }
}

#[tokio::test]
async fn every_state_change_reaches_a_real_consumer_in_order() {
    let _broker = BROKER.lock().await;
    if !broker_reachable("every_state_change_reaches_a_real_consumer_in_order").await {
        return;
    }
    let exchange = unique("qrpay.events.test");
    let queue = unique("qrpayd.test");
    let (_conn, channel) = consumer(&exchange, &queue).await;
    let app = spawn_with(Options {
        amqp: Some((amqp_url(), exchange.clone())),
        ..Options::default()
    })
    .await;

    let paid = app.paid_payment("a").await;
    let cancelled = app.create_ok("b").await;
    assert_eq!(
        app.cancel(cancelled["id"].as_str().unwrap()).await.status,
        200
    );
    let refund = app
        .refund(paid["id"].as_str().unwrap(), "r", json!({"amount": 100}))
        .await;
    assert_eq!(refund.status, 201);

    let messages = receive(&queue, 5).await;
    let kinds: Vec<&str> = messages.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    // In commit order, hence in order per payment.
    let of = |id: &str| -> Vec<String> {
        messages
            .iter()
            .filter(|(_, v)| v["data"]["id"] == id || v["data"]["payment_id"] == id)
            .map(|(k, _)| k.clone())
            .collect()
    };
    assert_eq!(
        of(paid["id"].as_str().unwrap()),
        ["payment.created", "payment.paid", "refund.created"]
    );
    assert_eq!(
        of(cancelled["id"].as_str().unwrap()),
        ["payment.created", "payment.cancelled"]
    );
    let seqs: Vec<i64> = messages
        .iter()
        .map(|(_, v)| v["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|(_, v)| v["event_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    assert_eq!(messages[1].1["data"]["status"], "paid");
    assert_eq!(messages[1].1["data"]["amount"], 12345);
    // The same events are in the register's feed.
    let feed = app
        .request(
            reqwest::Method::GET,
            "/v1/events?after=0",
            Some(KEY),
            None,
            None,
        )
        .await;
    assert_eq!(feed.body["events"].as_array().unwrap().len(), 5);
    cleanup(&channel, &queue).await;
}

#[tokio::test]
async fn a_broker_outage_loses_no_event() {
    let _broker = BROKER.lock().await;
    if !broker_reachable("a_broker_outage_loses_no_event").await {
        return;
    }
    let exchange = unique("qrpay.events.test");
    let queue = unique("qrpayd.test");
    let (conn, _channel) = consumer(&exchange, &queue).await;
    let _ = conn.close(200, "ready".into()).await;
    let outage = Outage::prepare().await;
    let app = spawn_with(Options {
        amqp: Some((outage.qrpayd_url(), exchange.clone())),
        ..Options::default()
    })
    .await;
    let before = app.paid_payment("before").await;
    // Its two events are out before the outage, so none is in flight when it starts.
    let mut messages = receive(&queue, 2).await;

    outage.begin();
    // Business goes on while the broker is away.
    let mut during = Vec::new();
    for n in 0..3 {
        during.push(app.paid_payment(&format!("during-{n}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    outage.end();

    // 2 events for the first payment and 2 for each of the three others.
    messages.extend(receive(&queue, 6).await);
    let mut per_payment: HashMap<String, Vec<String>> = HashMap::new();
    for (kind, v) in &messages {
        per_payment
            .entry(v["data"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(kind.clone());
    }
    assert_eq!(messages.len(), 8, "{per_payment:?}");
    for p in std::iter::once(&before).chain(during.iter()) {
        assert_eq!(
            per_payment[p["id"].as_str().unwrap()],
            ["payment.created", "payment.paid"]
        );
    }
    let (conn, channel) = consumer(&exchange, &queue).await;
    cleanup(&channel, &queue).await;
    let _ = conn.close(200, "done".into()).await;
}
