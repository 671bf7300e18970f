//! The registers and their customers: each register sells in a loop, a sale drawn from the
//! run's seed (which bank, how much, what the customer does, which refunds follow), and behaves
//! as a careful register does: a request that got no answer (qrpayd killed, a timeout) is sent
//! again with the same `Idempotency-Key`, until it is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::Sandbox;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::fleet::{Instance, register_key};

/// The bank a sale goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bank {
    /// `kind = "raiffeisen"`.
    Raiffeisen,
    /// `kind = "tbank"`.
    TBank,
}

impl Bank {
    fn provider(self) -> &'static str {
        match self {
            Bank::Raiffeisen => "raiffeisen",
            Bank::TBank => "tbank",
        }
    }
}

/// What the customer (or the cashier) does with the QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scenario {
    /// Pays.
    Pay,
    /// The customer's bank declines.
    Decline,
    /// The cashier cancels.
    Cancel,
    /// The cashier cancels while the customer pays.
    CancelRace,
    /// Nobody does anything until it expires.
    Expire,
    /// Cancelled, but the bank's deactivation does not take and the customer pays afterwards.
    Late,
}

/// The refunds that follow a paid sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundPlan {
    /// None.
    None,
    /// The whole amount.
    Full,
    /// A third, then a quarter.
    Partial,
    /// Two refunds of 60 % each, sent at once: one of them must be refused.
    Racing,
}

/// One sale and what became of it.
#[derive(Debug, Clone)]
pub(crate) struct Sale {
    /// Its number (the idempotency key and receipt are `sale-<n>`).
    pub(crate) number: usize,
    /// The register.
    pub(crate) register: usize,
    /// The bank.
    pub(crate) bank: Bank,
    /// Kopecks.
    pub(crate) amount: i64,
    /// What happens.
    pub(crate) scenario: Scenario,
    /// Refunds after payment.
    pub(crate) refunds: RefundPlan,
    /// qrpayd's payment id, once created.
    pub(crate) payment_id: Option<String>,
    /// The payment at the bank (Raiffeisen `qrId`, T-Bank `PaymentId`).
    pub(crate) bank_id: Option<String>,
    /// The refunds qrpayd accepted.
    pub(crate) refund_ids: Vec<String>,
    /// What the register could not finish (qrpayd did not answer for minutes).
    pub(crate) unfinished: Option<String>,
}

/// splitmix64 of `seed` and `n`: the run's random choices, repeatable.
pub(crate) fn draw(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Sale {
    /// Sale `number` of the run with `seed`.
    pub(crate) fn drawn(seed: u64, number: usize, registers: usize) -> Sale {
        let n = u64::try_from(number).unwrap_or(u64::MAX).wrapping_mul(8);
        let pick = |k: u64, m: u64| draw(seed, n.wrapping_add(k)) % m;
        let scenario = match pick(0, 100) {
            0..45 => Scenario::Pay,
            45..55 => Scenario::Decline,
            55..70 => Scenario::Cancel,
            70..82 => Scenario::CancelRace,
            82..90 => Scenario::Expire,
            _ => Scenario::Late,
        };
        let refunds = match pick(1, 100) {
            0..20 => RefundPlan::Full,
            20..40 => RefundPlan::Partial,
            40..50 => RefundPlan::Racing,
            _ => RefundPlan::None,
        };
        Sale {
            number,
            register: number % registers.max(1),
            bank: if pick(2, 2) == 0 {
                Bank::Raiffeisen
            } else {
                Bank::TBank
            },
            // 10.00 to 5,000.00 RUB: inside both banks' limits.
            amount: 1_000 + i64::try_from(pick(3, 499_001)).unwrap_or(0),
            scenario,
            refunds,
            payment_id: None,
            bank_id: None,
            refund_ids: Vec::new(),
            unfinished: None,
        }
    }
}

/// Counters the report prints.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Payments created (first answers).
    pub(crate) created: AtomicUsize,
    /// Requests sent again because the first try got no answer.
    pub(crate) retries: AtomicU64,
    /// Refund requests refused because the amount was no longer there (the racing ones).
    pub(crate) refunds_refused: AtomicU64,
}

/// What the registers share: qrpayd's instances, the bank (to play the customer), counters.
pub(crate) struct Pos {
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) sandbox: Sandbox,
    pub(crate) sandbox_base: String,
    pub(crate) sandbox_secret: String,
    pub(crate) http: reqwest::Client,
    pub(crate) counters: Counters,
    /// How long the register keeps retrying one request.
    pub(crate) patience: Duration,
    /// How long the register waits for a refund to become final.
    pub(crate) refund_patience: Duration,
}

const FINAL: [&str; 4] = ["paid", "failed", "expired", "cancelled"];

impl Pos {
    /// Sends a POS API request until it is answered (the same request, the same key),
    /// trying the instances in turn. `None` when nobody answered within the patience.
    async fn call(
        &self,
        register: usize,
        method: reqwest::Method,
        path: &str,
        idem: Option<&str>,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        let deadline = Instant::now() + self.patience;
        let mut attempt = register;
        loop {
            let instance = self.instances.get(attempt % self.instances.len())?;
            attempt = attempt.wrapping_add(1);
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", instance.base))
                .bearer_auth(register_key(register))
                .timeout(Duration::from_secs(45));
            if let Some(idem) = idem {
                request = request.header("Idempotency-Key", idem);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.json::<Value>().await.unwrap_or(Value::Null);
                    Some((status, body))
                }
                Err(_) => None,
            };
            match answer {
                // Answered with a decision.
                Some((status, body))
                    if status < 500 && body["error"]["code"] != "payment_not_ready" =>
                {
                    return Some((status, body));
                }
                // A bank error the payment records (502/504 with the failed payment).
                Some((status, body)) if (status == 502 || status == 504) => {
                    return Some((status, body));
                }
                // No answer, qrpayd's own trouble (a database restart), or still working.
                _ => {}
            }
            if Instant::now() > deadline {
                return None;
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Waits until the payment is final; its last view.
    async fn final_payment(&self, register: usize, id: &str) -> Option<Value> {
        let deadline = Instant::now() + self.patience * 4;
        loop {
            let (_, body) = self
                .call(
                    register,
                    reqwest::Method::GET,
                    &format!("/v1/payments/{id}?wait=25"),
                    None,
                    None,
                )
                .await?;
            if body["status"].as_str().is_some_and(|s| FINAL.contains(&s)) {
                return Some(body);
            }
            if Instant::now() > deadline {
                return None;
            }
        }
    }

    /// Waits until the refund is final.
    async fn final_refund(&self, register: usize, id: &str) -> Option<Value> {
        let deadline = Instant::now() + self.refund_patience;
        loop {
            let (_, body) = self
                .call(
                    register,
                    reqwest::Method::GET,
                    &format!("/v1/refunds/{id}?wait=25"),
                    None,
                    None,
                )
                .await?;
            if body["status"] == "succeeded" || body["status"] == "failed" {
                return Some(body);
            }
            if Instant::now() > deadline {
                return None;
            }
        }
    }

    /// The customer pays (an error when the bank refuses: the QR is closed).
    async fn customer_pays(&self, sale: &Sale) {
        let Some(bank_id) = &sale.bank_id else {
            return;
        };
        let _ = match sale.bank {
            Bank::Raiffeisen => match Kopecks::new(sale.amount) {
                Ok(amount) => self
                    .sandbox
                    .pay(bank_id, amount)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Bank::TBank => self.sandbox.tbank_pay(bank_id).map_err(|e| e.to_string()),
        };
    }

    async fn customer_declines(&self, sale: &Sale) {
        let Some(bank_id) = &sale.bank_id else {
            return;
        };
        match sale.bank {
            Bank::Raiffeisen => {
                let _ = self
                    .http
                    .post(format!(
                        "{}/sandbox/qrs/{bank_id}/decline",
                        self.sandbox_base
                    ))
                    .bearer_auth(&self.sandbox_secret)
                    .send()
                    .await;
            }
            Bank::TBank => {
                let _ = self.sandbox.tbank_reject(bank_id);
            }
        }
    }

    async fn refund(&self, sale: &mut Sale, key: String, amount: i64) -> Option<Value> {
        let id = sale.payment_id.clone()?;
        let (status, body) = self
            .call(
                sale.register,
                reqwest::Method::POST,
                &format!("/v1/payments/{id}/refunds"),
                Some(&key),
                Some(&json!({"amount": amount})),
            )
            .await?;
        match status {
            201 => {
                let refund_id = body["id"].as_str()?.to_owned();
                if !sale.refund_ids.contains(&refund_id) {
                    sale.refund_ids.push(refund_id.clone());
                }
                self.final_refund(sale.register, &refund_id).await
            }
            409 => {
                self.counters
                    .refunds_refused
                    .fetch_add(1, Ordering::Relaxed);
                None
            }
            502 => {
                // Refused by the bank: the refund is recorded failed.
                if let Some(refund_id) = body["refund"]["id"].as_str() {
                    sale.refund_ids.push(refund_id.to_owned());
                }
                None
            }
            _ => {
                tracing::warn!(sale = sale.number, status, %body, "refund answer");
                None
            }
        }
    }

    /// Runs one sale to its end.
    pub(crate) async fn sell(&self, sale: &mut Sale) {
        let key = format!("sale-{}", sale.number);
        let body = json!({
            "amount": sale.amount,
            "provider": sale.bank.provider(),
            "order": key,
        });
        let Some((status, created)) = self
            .call(
                sale.register,
                reqwest::Method::POST,
                "/v1/payments",
                Some(&key),
                Some(&body),
            )
            .await
        else {
            sale.unfinished = Some("create never answered".into());
            return;
        };
        let payment = if status == 201 {
            created
        } else {
            created["payment"].clone()
        };
        sale.payment_id = payment["id"].as_str().map(str::to_owned);
        sale.bank_id = payment["qr"]["qr_id"].as_str().map(str::to_owned);
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        let Some(id) = sale.payment_id.clone() else {
            sale.unfinished = Some(format!("create answered {status} without a payment"));
            return;
        };
        if status != 201 {
            // Failed at creation (the bank was down): a final answer for this sale.
            return;
        }
        let cancel_path = format!("/v1/payments/{id}/cancel");
        let register = sale.register;
        let cancel = || self.call(register, reqwest::Method::POST, &cancel_path, None, None);
        match sale.scenario {
            Scenario::Pay => self.customer_pays(sale).await,
            Scenario::Decline => self.customer_declines(sale).await,
            Scenario::Cancel => {
                cancel().await;
            }
            Scenario::CancelRace => {
                tokio::join!(self.customer_pays(sale), cancel());
            }
            Scenario::Expire => {}
            Scenario::Late => {
                if let Some(bank_id) = &sale.bank_id {
                    self.sandbox.ignore_next_deactivation(bank_id);
                }
                cancel().await;
            }
        }
        let Some(mut done) = self.final_payment(sale.register, &id).await else {
            sale.unfinished = Some("never final".into());
            return;
        };
        if sale.scenario == Scenario::Late && done["status"] != "paid" {
            self.customer_pays(sale).await;
            // A late payment arrives by notification (or later by reconciliation); wait a
            // little for it, without blocking the register for long.
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Some((_, now)) = self
                    .call(
                        sale.register,
                        reqwest::Method::GET,
                        &format!("/v1/payments/{id}"),
                        None,
                        None,
                    )
                    .await
                {
                    done = now;
                    if done["status"] == "paid" {
                        break;
                    }
                }
            }
            return;
        }
        if done["status"] != "paid" || done["late"] == true {
            return;
        }
        let amount = sale.amount;
        match sale.refunds {
            RefundPlan::None => {}
            RefundPlan::Full => {
                self.refund(sale, format!("{key}-full"), amount).await;
            }
            RefundPlan::Partial => {
                self.refund(sale, format!("{key}-third"), amount / 3).await;
                self.refund(sale, format!("{key}-quarter"), amount / 4)
                    .await;
            }
            RefundPlan::Racing => {
                let mut a = sale.clone();
                let mut b = sale.clone();
                let share = amount * 6 / 10;
                tokio::join!(
                    self.refund(&mut a, format!("{key}-race-a"), share),
                    self.refund(&mut b, format!("{key}-race-b"), share)
                );
                for id in a.refund_ids.into_iter().chain(b.refund_ids) {
                    if !sale.refund_ids.contains(&id) {
                        sale.refund_ids.push(id);
                    }
                }
            }
        }
    }
}

/// One register: sells the sales whose number is its own, in order, until `total`.
pub(crate) async fn register(
    pos: Arc<Pos>,
    number: usize,
    registers: usize,
    total: usize,
    seed: u64,
    sales: Arc<Mutex<Vec<Sale>>>,
    next: Arc<AtomicUsize>,
) {
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return;
        }
        let mut sale = Sale::drawn(seed, n, registers);
        // Every register sells; which one takes a number depends on who is free.
        sale.register = number;
        pos.sell(&mut sale).await;
        sales.lock().await.push(sale);
    }
}
