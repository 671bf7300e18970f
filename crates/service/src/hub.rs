//! Change notifications inside one process, for long-polls.
//!
//! Every state change that [`crate::payments::Payments`] commits is announced here by the id
//! of what changed (a payment's `pay_…` or a refund's `rf_…`); a long-poll subscribes *before*
//! reading, so a change committed between its read and its wait still wakes it.
//!
//! A second, smaller signal says "register X has a new payment with a QR" (by register id),
//! for the customer displays, which follow a register rather than a payment.

use tokio::sync::{broadcast, watch};

/// Announces "this payment changed" to whoever waits.
#[derive(Debug, Clone)]
pub struct ChangeHub {
    sender: broadcast::Sender<String>,
    /// Register ids, announced when one of their payments got its QR.
    registers: broadcast::Sender<String>,
    /// Set when qrpayd stops: every waiter returns at once with the current state, so a
    /// shutdown never waits for long-polls to run out.
    closing: watch::Sender<bool>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        // Capacity only bounds how far a slow waiter may lag; a lagging waiter re-reads.
        let (sender, _) = broadcast::channel(1024);
        let (registers, _) = broadcast::channel(256);
        let (closing, _) = watch::channel(false);
        ChangeHub {
            sender,
            registers,
            closing,
        }
    }
}

impl ChangeHub {
    /// Announces a change of the payment or refund `id`.
    pub fn changed(&self, id: &str) {
        // No receivers is fine: nobody is waiting.
        let _ = self.sender.send(id.to_owned());
    }

    /// Starts listening. Subscribe first, then read the current state.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            changes: self.sender.subscribe(),
            closing: self.closing.subscribe(),
        }
    }

    /// Announces that `register` has a new payment whose QR was just issued.
    pub fn payment_created(&self, register: &str) {
        let _ = self.registers.send(register.to_owned());
    }

    /// Starts listening for new payments of registers. Subscribe first, then read.
    pub fn subscribe_registers(&self) -> RegisterSubscription {
        RegisterSubscription {
            created: self.registers.subscribe(),
            closing: self.closing.subscribe(),
        }
    }

    /// Releases every waiter (shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Has [`ChangeHub::close`] been called?
    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }
}

/// A waiter's end of the hub.
#[derive(Debug)]
pub struct Subscription {
    changes: broadcast::Receiver<String>,
    closing: watch::Receiver<bool>,
}

impl Subscription {
    /// Waits until `id` may have changed (an announcement for it, or lost announcements), or
    /// qrpayd is stopping.
    pub async fn changed(&mut self, id: &str) {
        let changes = async {
            loop {
                match self.changes.recv().await {
                    Ok(changed) if changed == id => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        tokio::select! {
            () = changes => {}
            _ = self.closing.wait_for(|closing| *closing) => {}
        }
    }
}

/// A display's end of the "new payment for a register" signal.
#[derive(Debug)]
pub struct RegisterSubscription {
    created: broadcast::Receiver<String>,
    closing: watch::Receiver<bool>,
}

impl RegisterSubscription {
    /// Waits until `register` may have a new payment (an announcement for it, or lost
    /// announcements), or qrpayd is stopping.
    pub async fn created(&mut self, register: &str) {
        let created = async {
            loop {
                match self.created.recv().await {
                    Ok(r) if r == register => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        tokio::select! {
            () = created => {}
            _ = self.closing.wait_for(|closing| *closing) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_releases_waiters() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe();
        hub.changed("pay_2");
        hub.close();
        // Returns (the other id's announcement is skipped, the close releases it).
        sub.changed("pay_1").await;
        assert!(hub.is_closing());
    }

    #[tokio::test]
    async fn a_new_payment_wakes_its_registers_display_only() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe_registers();
        hub.payment_created("pos-2");
        hub.payment_created("pos-1");
        // Skips pos-2's announcement, returns on pos-1's.
        tokio::time::timeout(std::time::Duration::from_secs(1), sub.created("pos-1"))
            .await
            .unwrap();
        hub.close();
        sub.created("pos-3").await;
    }
}
