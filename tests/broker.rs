//! Events on a real RabbitMQ: delivered to a real consumer in order with unique ids, and none
//! lost when the broker stops and comes back mid-run.
//!
//! The broker is `QRPAYD_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`; `.ci/run`
//! gives each run its own vhost). Each test uses its own exchange and queue. The tests run one at
//! a time (they stop and start the broker), and an unreachable broker fails them.

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
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The tests share one broker and one of them restarts it.
static BROKER: Mutex<()> = Mutex::const_new(());

fn amqp_url() -> String {
    std::env::var("QRPAYD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
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

#[tokio::test]
async fn every_state_change_reaches_a_real_consumer_in_order() {
    let _broker = BROKER.lock().await;
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
    let exchange = unique("qrpay.events.test");
    let queue = unique("qrpayd.test");
    let (conn, _channel) = consumer(&exchange, &queue).await;
    let _ = conn.close(200, "ready".into()).await;
    let app = spawn_with(Options {
        amqp: Some((amqp_url(), exchange.clone())),
        ..Options::default()
    })
    .await;
    let before = app.paid_payment("before").await;

    rabbitmqctl(&["stop_app"]);
    // Business goes on while the broker is away.
    let mut during = Vec::new();
    for n in 0..3 {
        during.push(app.paid_payment(&format!("during-{n}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);

    // 2 events for the first payment and 2 for each of the three others.
    let messages = receive(&queue, 8).await;
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
