//! Publishing the event outbox to RabbitMQ, never losing an event.
//!
//! Events are rows written in the same transaction as the state change (see the store's
//! `events` module). One instance at a time holds the `outbox` lease and publishes the
//! unpublished rows in `seq` order to a durable topic exchange (`amqp_exchange`, routing key =
//! event type such as `payment.paid`): persistent messages, `mandatory`, publisher confirms. A
//! row is marked published only when the broker acknowledged it and routed it to at least one
//! queue; anything else (broker down, a nack, no queue bound) stops the batch, and the same
//! rows are tried again after a backoff, so order per payment (in fact global order) holds and
//! consumers de-duplicate by `event_id` if a confirm was lost after the broker stored a message.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};

use lapin::types::FieldTable;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use qrpayd_store::{Store, StoreError};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::payments::backoff;

/// Where to publish.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `amqp://user:password@host:5672/vhost` (the password never reaches logs).
    pub url: String,
    /// The topic exchange, `qrpay.events` by default.
    pub exchange: String,
}

/// Why a batch stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker connection or channel failed.
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker refused the message.
    #[error("the broker did not accept event {0} (nack)")]
    Nacked(i64),
    /// No queue is bound for the event's routing key: it would be dropped, so it waits.
    #[error("event {0} is unroutable: bind a queue to the exchange (it is kept and retried)")]
    Unroutable(i64),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outbox publisher of one instance.
#[derive(Debug, Clone)]
pub struct Publisher {
    store: Store,
    clock: Arc<dyn Clock>,
    config: BrokerConfig,
    /// Who holds the lease (unique per process).
    instance: String,
}

/// How long the publishing lease lasts without renewal: a crashed publisher is replaced
/// within this.
const LEASE: chrono::Duration = chrono::Duration::seconds(15);
/// Events per batch.
const BATCH: i64 = 100;

/// The URL without its credentials, for logs.
fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    }
}

impl Publisher {
    /// A publisher for this instance.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: BrokerConfig,
        instance: String,
    ) -> Self {
        Publisher {
            store,
            clock,
            config,
            instance,
        }
    }

    /// Connects, opens a confirming channel and declares the exchange (durable topic).
    pub async fn connect(&self) -> Result<(Connection, Channel), PublishError> {
        let connection =
            Connection::connect(&self.config.url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .exchange_declare(
                self.config.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok((connection, channel))
    }

    /// Publishes one batch of unpublished events in order; returns how many were confirmed.
    pub async fn publish_pending(&self, channel: &Channel) -> Result<usize, PublishError> {
        let events = self.store.unpublished_events(BATCH).await?;
        let mut done = 0;
        for event in &events {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.event_id.as_str().into())
                .with_type(event.kind.as_str().into())
                .with_app_id("qrpayd".into())
                .with_timestamp(u64::try_from(event.created_at.timestamp()).unwrap_or_default());
            let confirm = channel
                .basic_publish(
                    self.config.exchange.as_str().into(),
                    event.kind.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    event.payload.as_bytes(),
                    properties,
                )
                .await?
                .await?;
            match confirm {
                Confirmation::Ack(None) => {
                    self.store
                        .mark_published(event.seq, self.clock.now())
                        .await?;
                    done += 1;
                }
                Confirmation::Ack(Some(_)) => return Err(PublishError::Unroutable(event.seq)),
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    return Err(PublishError::Nacked(event.seq));
                }
            }
        }
        Ok(done)
    }

    /// Runs until `shutdown`: holds the lease, keeps a connection, publishes, retries with
    /// backoff on any failure.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(broker = %redacted(&self.config.url), exchange = %self.config.exchange, "event publisher started");
        let mut connection: Option<(Connection, Channel)> = None;
        let mut failures = 0;
        loop {
            let pause = match self.round(&mut connection).await {
                Ok(published) => {
                    failures = 0;
                    if published > 0 {
                        Duration::ZERO
                    } else {
                        Duration::from_millis(200)
                    }
                }
                Err(e) => {
                    connection = None;
                    let delay = backoff(Duration::from_millis(500), failures);
                    failures += 1;
                    tracing::warn!("publishing events failed, retry in {delay:?}: {e}");
                    delay
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        if let Some((connection, _)) = connection {
            let _ = connection.close(200, "qrpayd stopping".into()).await;
        }
        tracing::info!("event publisher stopped");
    }

    async fn round(
        &self,
        connection: &mut Option<(Connection, Channel)>,
    ) -> Result<usize, PublishError> {
        if !self
            .store
            .try_lease("outbox", &self.instance, self.clock.now(), LEASE)
            .await?
        {
            // Another instance publishes; check again later.
            *connection = None;
            return Ok(0);
        }
        if connection
            .as_ref()
            .is_none_or(|(c, ch)| !c.status().connected() || !ch.status().connected())
        {
            *connection = Some(self.connect().await?);
            tracing::info!("connected to the broker");
        }
        match connection {
            Some((_, channel)) => self.publish_pending(channel).await,
            None => Ok(0),
        }
    }
}
