//! Faults to inject into both banks' APIs: latency, server errors, business errors, lost and
//! duplicated notifications, races and lost answers. Each bank turns an injected fault into
//! its own error shape.

use serde::{Deserialize, Serialize};

/// Faults to inject, read and set with `GET`/`PUT /sandbox/faults` or [`Sandbox::set_faults`].
///
/// They apply to the `/api` routes except the nspc-mock payment call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay in milliseconds before answering every `/api` call.
    pub latency_ms: u64,
    /// The next N `/api` calls answer HTTP 500 (counted down per call).
    pub http_500_next: u32,
    /// The next N `/api` calls answer HTTP 200 `{"code":"ERROR.INTERNAL","message":...}`
    /// (counted down per call, after any pending HTTP 500s).
    pub business_error_next: u32,
    /// Send no callbacks at all (lost callbacks).
    pub drop_callbacks: bool,
    /// Send each callback twice.
    pub duplicate_callbacks: bool,
    /// The next N cancellations of an open QR, link order or T-Bank payment race a payment:
    /// the customer pays a moment before the cancel arrives (counted down per cancel). The
    /// Raiffeisen `DELETE` is then refused (`ERROR.QR_ALREADY_PAID` / `ORDER_HAS_FINAL_STATUS`);
    /// T-Bank's `Cancel` refunds the payment.
    pub customer_pays_before_cancel: u32,
    /// The T-Bank terminal also sends a fiscal-receipt notice (`Status: RECEIPT`) after each
    /// payment, as a terminal with an online cash register does.
    pub tbank_receipts: bool,
    /// The next N API calls that change something at the bank (Raiffeisen: every `POST` and
    /// `DELETE`; T-Bank: `Init` and `Cancel`) are carried out, but their answer is lost on the
    /// way back: the caller gets HTTP 500 although the bank acted (counted down per such call,
    /// after the other faults). The case "did my request reach the bank?".
    pub lose_answer_next: u32,
    /// The next N deactivations of an open QR, order or T-Bank payment are refused with a
    /// business error and leave it payable (counted down per deactivation).
    pub refuse_deactivation_next: u32,
}

/// A fault due on this call, which the bank answers in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// HTTP 500.
    Http500,
    /// A business error with HTTP 200.
    BusinessError,
}

impl Faults {
    /// Decides the faults of one `/api` call: the latency to add and, if one is due, the
    /// injected error (HTTP 500 first, then the business error), counting it down.
    pub(crate) fn take_fault(&mut self) -> (u64, Option<Injected>) {
        let latency = self.latency_ms;
        if self.http_500_next > 0 {
            self.http_500_next = self.http_500_next.saturating_sub(1);
            (latency, Some(Injected::Http500))
        } else if self.business_error_next > 0 {
            self.business_error_next = self.business_error_next.saturating_sub(1);
            (latency, Some(Injected::BusinessError))
        } else {
            (latency, None)
        }
    }

    /// Whether the answer of the call just carried out is lost (`lose_answer_next`), counting
    /// it down.
    pub(crate) fn take_lost_answer(&mut self) -> bool {
        if self.lose_answer_next == 0 {
            return false;
        }
        self.lose_answer_next = self.lose_answer_next.saturating_sub(1);
        true
    }

    /// Whether this deactivation is refused (`refuse_deactivation_next`), counting it down.
    pub(crate) fn take_refused_deactivation(&mut self) -> bool {
        if self.refuse_deactivation_next == 0 {
            return false;
        }
        self.refuse_deactivation_next = self.refuse_deactivation_next.saturating_sub(1);
        true
    }

    /// Whether the customer pays an open QR (or order, or T-Bank payment) a moment before the
    /// cancel that is arriving now (the `customer_pays_before_cancel` fault), counting it down.
    pub(crate) fn take_pay_before_cancel(&mut self) -> bool {
        if self.customer_pays_before_cancel == 0 {
            return false;
        }
        self.customer_pays_before_cancel = self.customer_pays_before_cancel.saturating_sub(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_count_down() {
        let mut s = Faults {
            latency_ms: 7,
            http_500_next: 1,
            business_error_next: 1,
            ..Faults::default()
        };
        assert_eq!(s.take_fault(), (7, Some(Injected::Http500)));
        assert_eq!(s.take_fault(), (7, Some(Injected::BusinessError)));
        assert_eq!(s.take_fault(), (7, None));
    }
}
