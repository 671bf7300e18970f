//! Creating a payment: saved first, then the bank is asked for a QR; a repeated request gets
//! the same payment; a create whose answer never came is finished here (a dynamic QR nobody
//! saw fails; a cash-register activation is cancelled at the bank first).

use qrpayd_bank::{BankError, BankPaymentStatus, CreateQr, Deactivation, QrKind};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::{PaymentEvent, PaymentState, QrType};
use qrpayd_store::{EventDetails, Inserted, JobTarget, NewPayment, Payment, StoreError};
use std::time::Duration;

use super::outcome::{failure, failure_code, stored_creation_error};
use super::{
    CreatePayment, Created, MAX_BACKOFF, PaymentError, Payments, Provider, RETRY_BASE, backoff,
    chrono,
};
use qrpayd_domain::failure::FailureCode;

/// May a create that failed so go to the next provider? Only when the bank is the trouble (no
/// answer, a server error, nonsense, its own internal error); a refusal of the request itself
/// would be refused by the next bank too.
fn falls_over(error: &BankError, provider: &Provider) -> bool {
    crate::health::counts_against_bank(error, &provider.adapter.capabilities())
}

impl Payments {
    /// Creates a payment and its QR (or returns the earlier one for a repeated key).
    pub async fn create(
        &self,
        register: &RegisterId,
        key: IdempotencyKey,
        request: CreatePayment,
    ) -> Result<Created, PaymentError> {
        let provider = self
            .providers
            .get(&request.provider)
            .ok_or_else(|| PaymentError::UnknownProvider(request.provider.to_string()))?
            .clone();
        // What the bank must do; refused before anything is saved when it cannot.
        if !provider.adapter.capabilities().supports(request.qr_type) {
            return Err(PaymentError::Unsupported(format!(
                "provider {} does not support {} payments",
                provider.name,
                request.qr_type.as_str()
            )));
        }
        let capabilities = provider.adapter.capabilities();
        if !capabilities.accepts_amount(request.amount) {
            let bound =
                |k: Option<Kopecks>| k.map_or_else(|| "-".to_owned(), |k| k.to_rubles_fixed());
            return Err(PaymentError::AmountOutOfRange(format!(
                "provider {} takes amounts from {} to {} RUB; {} RUB is outside",
                provider.name,
                bound(capabilities.min_amount),
                bound(capabilities.max_amount),
                request.amount.to_rubles_fixed()
            )));
        }
        // Where the create may go: the first choice and, for a dynamic QR (which nobody can pay
        // before qrpayd shows it), the register's other providers that can take it.
        let mut candidates = vec![provider.clone()];
        if request.qr_type == QrType::Dynamic {
            candidates.extend(
                request
                    .fallback
                    .iter()
                    .filter_map(|name| self.providers.get(name))
                    .filter(|p| {
                        let c = p.adapter.capabilities();
                        c.supports(QrType::Dynamic) && c.accepts_amount(request.amount)
                    })
                    .cloned(),
            );
        }
        // The first provider whose health admits a create; the first choice if none does. A
        // provider named in the request is used whatever its health.
        let start = if candidates.len() > 1 {
            candidates
                .iter()
                .position(|p| self.health.admit(p.name.as_str()))
                .unwrap_or(0)
        } else {
            0
        };
        let provider = candidates.get(start).unwrap_or(&provider).clone();
        let kind = match request.qr_type {
            QrType::Dynamic => QrKind::Dynamic,
            QrType::Customer => QrKind::Customer {
                scanned: request.customer_qr.clone().unwrap_or_default(),
            },
            QrType::CashRegister => {
                let link = self
                    .store
                    .link_of(register)
                    .await?
                    .ok_or(PaymentError::NoCashLink)?;
                if link.provider != provider.name {
                    return Err(PaymentError::Unsupported(format!(
                        "the register's cash-register link belongs to provider {}, not {}",
                        link.provider, provider.name
                    )));
                }
                QrKind::CashLink {
                    link_qr_id: link.qr_id,
                    link_payload: link.payload,
                }
            }
        };
        let now = self.clock.now();
        let new = NewPayment {
            id: PaymentId::from_u128(uuid::Uuid::now_v7().as_u128()),
            register_id: register.clone(),
            idempotency_key: key,
            request_hash: request.hash(),
            amount: request.amount,
            currency: request.currency,
            provider: provider.name.clone(),
            order: request.order.clone(),
            description: request.description.clone(),
            created_at: now,
            expires_at: now + chrono(self.settings.payment_ttl),
            qr_type: request.qr_type,
        };
        let payment = match self
            .store
            .insert_payment(&new, self.creation_deadline(now))
            .await?
        {
            Inserted::New(payment) => payment,
            Inserted::Existing(existing) => return self.replay(existing, &new.request_hash).await,
            Inserted::LinkBusy(live) => return Err(PaymentError::LinkBusy(live)),
        };
        tracing::info!(payment = %payment.id, register = %register, amount = %payment.amount, provider = %provider.name, "payment saved; asking the bank for a QR");
        let asked = CreateQr {
            payment_id: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            expires_at: payment.expires_at,
            description: payment.description.clone(),
            kind,
        };
        let mut payment = payment;
        let mut index = start;
        let mut provider = provider;
        loop {
            let result = provider.adapter.create_qr(&asked).await;
            if let Err(error) = &result
                && falls_over(error, &provider)
                && self.another_call_fits(&payment)
                && let Some(next) = self.next_provider(&candidates, index)
            {
                let now = self.clock.now();
                let why = error.to_string();
                if let Some(moved) = self
                    .store
                    .move_to_provider(
                        &payment.id,
                        &provider.name,
                        &next.1.name,
                        &why,
                        now,
                        self.creation_deadline(now),
                    )
                    .await?
                {
                    tracing::warn!(payment = %payment.id, from = %provider.name, to = %next.1.name, "the bank failed before any QR existed ({why}); the create goes to the next provider");
                    self.hub.changed(payment.id.as_str());
                    payment = moved;
                    index = next.0;
                    provider = next.1.clone();
                    continue;
                }
            }
            return self
                .creation_answered(register, payment, &provider, result)
                .await;
        }
    }

    /// Does one more bank call fit before the register stops waiting for this create?
    fn another_call_fits(&self, payment: &Payment) -> bool {
        self.clock.now() + chrono(self.settings.bank_timeout)
            < payment.created_at + chrono(self.settings.register_timeout)
    }

    /// The next of `candidates` after `index` that may take a create now (by its health).
    fn next_provider<'a>(
        &self,
        candidates: &'a [Provider],
        index: usize,
    ) -> Option<(usize, &'a Provider)> {
        candidates
            .iter()
            .enumerate()
            .skip(index.saturating_add(1))
            .find(|(_, p)| self.health.admit(p.name.as_str()))
    }

    /// Records what the bank answered to a create.
    async fn creation_answered(
        &self,
        register: &RegisterId,
        payment: Payment,
        provider: &Provider,
        result: Result<qrpayd_bank::IssuedQr, BankError>,
    ) -> Result<Created, PaymentError> {
        match result {
            Ok(qr) => {
                let first_poll =
                    (self.clock.now() + chrono(provider.poll_interval)).min(payment.expires_at);
                let details = EventDetails {
                    qr: Some((qr.qr_id, qr.payload)),
                    source: "bank registration",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::QrIssued, details, first_poll)
                    .await?;
                let payment = applied.payment().clone();
                if payment.state == PaymentState::Failed {
                    // A worker gave up on this create while the bank was answering.
                    let error = stored_creation_error(&payment).unwrap_or(BankError::Timeout);
                    return Err(PaymentError::CreationFailed(Box::new(payment), error));
                }
                self.hub.payment_created(register.as_str());
                Ok(Created {
                    payment,
                    replayed: false,
                })
            }
            Err(error)
                if payment.qr_type == QrType::CashRegister
                    && !matches!(
                        error,
                        BankError::Rejected { .. }
                            | BankError::LinkBusy(_)
                            | BankError::Unsupported(_)
                    ) =>
            {
                // The activation may exist at the bank, and the printed link is in plain view:
                // close it there before calling the payment failed.
                tracing::warn!(payment = %payment.id, "the bank's answer to the link activation was lost ({error}); cancelling it at the bank");
                let payment = self.recover_creation(&payment, 0).await?;
                match payment.state {
                    PaymentState::Creating => {
                        Err(PaymentError::CreationUnknown(Box::new(payment), error))
                    }
                    _ => Err(PaymentError::CreationFailed(Box::new(payment), error)),
                }
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, "the bank did not issue a QR: {error}");
                let message = match &error {
                    BankError::Rejected { code, message } => format!("{code}: {message}"),
                    other => other.to_string(),
                };
                let details = EventDetails {
                    failure: Some(failure(failure_code(&error), message)),
                    source: "bank registration",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(
                        &payment.id,
                        PaymentEvent::CreationFailed,
                        details,
                        self.clock.now(),
                    )
                    .await?;
                Err(PaymentError::CreationFailed(
                    Box::new(applied.payment().clone()),
                    error,
                ))
            }
        }
    }

    /// A repeated create: same request → the same payment (waiting for an in-flight create to
    /// finish); different request → refused.
    pub(super) async fn replay(
        &self,
        existing: Payment,
        request_hash: &str,
    ) -> Result<Created, PaymentError> {
        if existing.request_hash != request_hash {
            return Err(PaymentError::KeyReused(Box::new(existing)));
        }
        let payment = if existing.state == PaymentState::Creating {
            let deadline =
                tokio::time::Instant::now() + self.settings.bank_timeout + Duration::from_secs(1);
            self.wait_until(&existing.id, deadline, |p| {
                p.state != PaymentState::Creating
            })
            .await?
        } else {
            existing
        };
        match payment.state {
            PaymentState::Creating => Err(PaymentError::NotReady(Box::new(payment))),
            PaymentState::Failed if payment.qr.is_none() => {
                let error = stored_creation_error(&payment).unwrap_or(BankError::Timeout);
                Err(PaymentError::CreationFailed(Box::new(payment), error))
            }
            _ => Ok(Created {
                payment,
                replayed: true,
            }),
        }
    }

    /// Finishes a create whose bank answer never came (a timeout, a crash). A dynamic QR nobody
    /// saw cannot be paid: the payment fails at once. A cash-register activation may exist at
    /// the bank while the link is printed in plain view: it is cancelled there first, and the
    /// bank's status decides (paid if the customer was faster). Returns the payment as it is
    /// now (still `Creating` if the bank could not be asked; the job retries).
    pub(super) async fn recover_creation(
        &self,
        payment: &Payment,
        attempts: i64,
    ) -> Result<Payment, StoreError> {
        let now = self.clock.now();
        let failed = |why: &str| EventDetails {
            failure: Some(failure(FailureCode::CreationInterrupted, why)),
            source: "recovery",
            ..EventDetails::default()
        };
        if payment.qr_type != QrType::CashRegister {
            let details = failed(
                "qrpayd stopped while the bank was issuing the QR; no QR was shown, so nothing can be paid",
            );
            let applied = self
                .apply(&payment.id, PaymentEvent::CreationFailed, details, now)
                .await?;
            return Ok(applied.payment().clone());
        }
        let target = JobTarget::Payment(payment.id.clone());
        let (Some(provider), Some(link)) = (
            self.provider_of(payment),
            self.store.link_of(&payment.register_id).await?,
        ) else {
            tracing::error!(payment = %payment.id, "cannot close an unconfirmed link activation: provider or link no longer configured");
            self.store
                .reschedule_job(
                    &target,
                    now + chrono(MAX_BACKOFF),
                    Some("provider or link not configured"),
                )
                .await?;
            return Ok(payment.clone());
        };
        let query = Self::query_of(payment, &link.qr_id);
        let checked = async {
            let deactivation = provider.adapter.deactivate_qr(&query).await?;
            let status = provider.adapter.payment_status(&query).await?;
            Ok::<_, BankError>((deactivation, status))
        }
        .await;
        let retry = |why: String| async move {
            let delay = backoff(RETRY_BASE, attempts);
            tracing::warn!(payment = %payment.id, "closing an unconfirmed link activation: {why}; retry in {delay:?}");
            self.store
                .reschedule_job(&target, self.clock.now() + chrono(delay), Some(&why))
                .await
                .map(|()| payment.clone())
        };
        match checked {
            Err(error) => retry(error.to_string()).await,
            Ok((_, BankPaymentStatus::Paid { transaction_id })) => {
                // The customer paid the activation: it was issued after all.
                let issued = EventDetails {
                    qr: Some((link.qr_id.clone(), link.payload.clone())),
                    source: "recovery: the activation exists",
                    ..EventDetails::default()
                };
                self.apply(&payment.id, PaymentEvent::QrIssued, issued, now)
                    .await?;
                let paid = EventDetails {
                    bank_transaction_id: transaction_id,
                    source: "recovery: the activation was paid",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::BankPaid, paid, now)
                    .await?;
                Ok(applied.payment().clone())
            }
            Ok((deactivation, BankPaymentStatus::NotPaid | BankPaymentStatus::Declined))
                if deactivation == Deactivation::Closed || self.past_bank_expiry(payment) =>
            {
                let details = failed(
                    "the bank's answer to the link activation was lost; the activation was cancelled at the bank, nothing was paid",
                );
                let applied = self
                    .apply(&payment.id, PaymentEvent::CreationFailed, details, now)
                    .await?;
                Ok(applied.payment().clone())
            }
            Ok((deactivation, status)) => {
                retry(format!("deactivation {deactivation:?}, status {status:?}")).await
            }
        }
    }
}
