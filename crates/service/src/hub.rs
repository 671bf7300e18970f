//! Change notifications inside one process, for long-polls.
//!
//! Every state change that [`crate::payments::Payments`] commits is announced here; a
//! long-poll subscribes *before* reading the payment, so a change committed between its read
//! and its wait still wakes it.

use qrpayd_domain::ids::PaymentId;
use tokio::sync::broadcast;

/// Announces "this payment changed" to whoever waits.
#[derive(Debug, Clone)]
pub struct ChangeHub {
    sender: broadcast::Sender<PaymentId>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        // Capacity only bounds how far a slow waiter may lag; a lagging waiter re-reads.
        let (sender, _) = broadcast::channel(1024);
        ChangeHub { sender }
    }
}

impl ChangeHub {
    /// Announces a change.
    pub fn changed(&self, id: &PaymentId) {
        // No receivers is fine: nobody is waiting.
        let _ = self.sender.send(id.clone());
    }

    /// Starts listening. Subscribe first, then read the current state.
    pub fn subscribe(&self) -> Subscription {
        Subscription(self.sender.subscribe())
    }
}

/// A waiter's end of the hub.
#[derive(Debug)]
pub struct Subscription(broadcast::Receiver<PaymentId>);

impl Subscription {
    /// Waits until `id` may have changed (an announcement for it, or lost announcements).
    pub async fn changed(&mut self, id: &PaymentId) {
        loop {
            match self.0.recv().await {
                Ok(changed) if &changed == id => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}
