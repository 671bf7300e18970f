//! A RabbitMQ consumer, as a store's accounting system would run one: a durable queue bound to
//! every event of qrpayd's exchange, read until the run ends, reconnecting whenever the broker
//! goes away. It records each event's `seq`, type and payment in arrival order.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;
use tokio::sync::{Mutex, watch};

use crate::fleet::EXCHANGE;

/// One event as received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// The journal's sequence number.
    pub(crate) seq: i64,
    /// `payment.paid`, `refund.succeeded`, …
    pub(crate) kind: String,
    /// The payment it concerns.
    pub(crate) payment_id: String,
}

const QUEUE: &str = "qrpayd.soak.accounting";

async fn channel(url: &str) -> anyhow::Result<(Connection, Channel)> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            QUEUE.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            QUEUE.into(),
            EXCHANGE.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((connection, channel))
}

/// Declares the queue (so no event published from now on is missed).
pub(crate) async fn prepare(url: &str) -> anyhow::Result<()> {
    let (connection, _) = channel(url).await?;
    let _ = connection.close(200, "prepared".into()).await;
    Ok(())
}

fn parse(data: &[u8]) -> Option<Received> {
    let event: Value = serde_json::from_slice(data).ok()?;
    let data = &event["data"];
    let payment_id = data["payment_id"]
        .as_str()
        .or_else(|| data["id"].as_str())?
        .to_owned();
    Some(Received {
        seq: event["seq"].as_i64()?,
        kind: event["type"].as_str()?.to_owned(),
        payment_id,
    })
}

/// Reads events into `into` until `stop` turns true and the queue is empty. Returns how
/// many times it had to reconnect.
pub(crate) async fn run(
    url: String,
    into: Arc<Mutex<Vec<Received>>>,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let mut reconnects = 0;
    loop {
        let Ok((connection, channel)) = channel(&url).await else {
            reconnects += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        loop {
            match channel
                .basic_get(QUEUE.into(), BasicGetOptions { no_ack: true })
                .await
            {
                Ok(Some(message)) => {
                    if let Some(received) = parse(&message.delivery.data) {
                        into.lock().await.push(received);
                    } else {
                        tracing::error!("an event that is not qrpayd's envelope");
                    }
                }
                Ok(None) => {
                    if *stop.borrow() {
                        let _ = connection.close(200, "done".into()).await;
                        return reconnects;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(_) => break,
            }
        }
        reconnects += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
