//! Faults to inject into both banks' APIs: latency, server errors, business errors, lost and
//! duplicated notifications, races and lost answers. Each bank turns an injected fault into
//! its own error shape.

use std::collections::BTreeSet;
use std::time::Duration;

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
    /// Bank ids (Raiffeisen `qrId`, T-Bank `PaymentId`) whose next deactivation is answered
    /// as done but not carried out: the QR stays payable, as when the customer's payment was
    /// already on its way through the SBP. A payment made then reaches qrpayd *late*.
    pub ignore_deactivation_of: BTreeSet<String>,
    /// Random faults for long mixed runs (the soak), drawn per call and per notification.
    pub chaos: Chaos,
}

/// Random faults, each a percentage of the calls (or notifications) it applies to, drawn from
/// a generator seeded with `seed`, so a run can be repeated. All zero: off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chaos {
    /// The generator's seed.
    pub seed: u64,
    /// API calls answered HTTP 500 without being carried out.
    pub http_500_percent: u8,
    /// Calls that change something, carried out, whose answer is lost (HTTP 500).
    pub lost_answer_percent: u8,
    /// Calls carried out and answered only after `slow_answer_ms` (the caller times out).
    pub slow_answer_percent: u8,
    /// How late a slow answer comes.
    pub slow_answer_ms: u64,
    /// Notifications never sent.
    pub drop_callbacks_percent: u8,
    /// Notifications sent twice.
    pub duplicate_callbacks_percent: u8,
    /// Notifications are held back by a random time up to this.
    pub callback_delay_ms: u64,
    /// How many numbers were drawn (the generator's position; not part of the settings).
    #[serde(skip)]
    draws: u64,
    /// How many faults were injected so far (not part of the settings).
    #[serde(skip)]
    pub injected: ChaosCounts,
}

/// How many random faults a run got, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChaosCounts {
    /// API calls answered HTTP 500 without being carried out.
    pub http_500: u64,
    /// Calls carried out whose answer was lost.
    pub lost_answers: u64,
    /// Calls answered late.
    pub slow_answers: u64,
    /// Notifications never sent.
    pub dropped_callbacks: u64,
    /// Notifications sent twice.
    pub duplicated_callbacks: u64,
    /// Notifications held back.
    pub delayed_callbacks: u64,
}

impl Chaos {
    /// The next number of the sequence (splitmix64 of the seed and the position).
    fn next(&mut self) -> u64 {
        self.draws = self.draws.wrapping_add(1);
        let mut z = self
            .seed
            .wrapping_add(self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True `percent` % of the time (never when 0).
    fn hits(&mut self, percent: u8) -> bool {
        percent > 0 && self.next() % 100 < u64::from(percent)
    }

    /// A random duration up to `max_ms`.
    fn up_to(&mut self, max_ms: u64) -> Duration {
        if max_ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.next() % max_ms.saturating_add(1))
    }
}

/// What happens to one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallbackFate {
    /// Sent at all.
    pub(crate) sent: bool,
    /// How many copies.
    pub(crate) copies: usize,
    /// Held back this long first.
    pub(crate) delay: Duration,
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
        } else if self.chaos.hits(self.chaos.http_500_percent) {
            self.chaos.injected.http_500 += 1;
            (latency, Some(Injected::Http500))
        } else {
            (latency, None)
        }
    }

    /// How long to hold back the answer of the call just carried out (`Duration::ZERO`: not).
    pub(crate) fn take_slow_answer(&mut self) -> Duration {
        if self.chaos.hits(self.chaos.slow_answer_percent) {
            self.chaos.injected.slow_answers += 1;
            Duration::from_millis(self.chaos.slow_answer_ms)
        } else {
            Duration::ZERO
        }
    }

    /// Whether the next deactivation of `bank_id` is answered as done but not carried out.
    pub(crate) fn take_ignored_deactivation(&mut self, bank_id: &str) -> bool {
        self.ignore_deactivation_of.remove(bank_id)
    }

    /// What happens to the notification about to be sent.
    pub(crate) fn take_callback_fate(&mut self) -> CallbackFate {
        let chaos = &mut self.chaos;
        let dropped = self.drop_callbacks || chaos.hits(chaos.drop_callbacks_percent);
        let doubled = self.duplicate_callbacks || chaos.hits(chaos.duplicate_callbacks_percent);
        let delay = chaos.up_to(chaos.callback_delay_ms);
        let counts = &mut chaos.injected;
        counts.dropped_callbacks += u64::from(dropped);
        counts.duplicated_callbacks += u64::from(doubled && !dropped);
        counts.delayed_callbacks += u64::from(!delay.is_zero() && !dropped);
        CallbackFate {
            sent: !dropped,
            copies: if doubled { 2 } else { 1 },
            delay,
        }
    }

    /// Whether the answer of the call just carried out is lost (`lose_answer_next`), counting
    /// it down.
    pub(crate) fn take_lost_answer(&mut self) -> bool {
        if self.lose_answer_next == 0 {
            let lost = self.chaos.hits(self.chaos.lost_answer_percent);
            self.chaos.injected.lost_answers += u64::from(lost);
            return lost;
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

    #[test]
    fn chaos_hits_about_its_share_and_repeats_with_its_seed() {
        let settings = Chaos {
            seed: 42,
            http_500_percent: 10,
            drop_callbacks_percent: 30,
            callback_delay_ms: 500,
            ..Chaos::default()
        };
        let run = || {
            let mut faults = Faults {
                chaos: settings.clone(),
                ..Faults::default()
            };
            let errors = (0..10_000)
                .filter(|_| faults.take_fault().1 == Some(Injected::Http500))
                .count();
            let fates: Vec<CallbackFate> =
                (0..10_000).map(|_| faults.take_callback_fate()).collect();
            (errors, fates)
        };
        let (errors, fates) = run();
        assert!((800..1_200).contains(&errors), "{errors}");
        let dropped = fates.iter().filter(|f| !f.sent).count();
        assert!((2_700..3_300).contains(&dropped), "{dropped}");
        assert!(
            fates
                .iter()
                .all(|f| f.delay <= Duration::from_millis(500) && f.copies == 1)
        );
        assert!(fates.iter().any(|f| f.delay > Duration::from_millis(250)));
        // The same seed, the same run.
        assert_eq!(run(), (errors, fates));
        // Off by default.
        let mut quiet = Faults::default();
        assert!((0..1_000).all(|_| quiet.take_fault() == (0, None) && !quiet.take_lost_answer()));
    }
}
