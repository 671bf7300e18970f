//! The Sber terminal's books and their pure transitions (no clock, randomness or IO: every
//! transition takes `now`, and fresh ids are handed in): orders, their operations (the
//! payment, refunds), the order states of the spec, OAuth tokens.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::nspk::{LinkType, build_link};

use crate::sber::error::SberError;
use crate::time::to_msk;

/// Sber's member id in the SBP, written into SBP links (`bank=`) and expected as
/// `sbp_member_id` (the spec's enum has this and `110000000111`).
pub(crate) const SBER_SBP_MEMBER_ID: &str = "100000000111";

/// The spec's second allowed `sbp_member_id`.
const SBER_SBP_MEMBER_ID_ALT: &str = "110000000111";

/// Longest `order_number`.
const MAX_ORDER_NUMBER: usize = 36;

/// How long a token lives (seconds). Short, so that clients renew them in any longer test.
pub(crate) const TOKEN_LIFETIME: i64 = 60;

/// `response_code` of an approved operation.
pub(crate) const APPROVED: &str = "00";

/// `response_code` of an operation the payer's bank refused ("do not honour").
pub(crate) const REFUSED: &str = "05";

/// An order's own state (refunds are derived on top of `Paid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SbState {
    /// Made, not paid.
    Created,
    /// Paid.
    Paid,
    /// Revoked before payment.
    Revoked,
    /// The payer's bank declined it.
    Declined,
}

/// What kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// The payment.
    Pay,
    /// A refund.
    Refund,
}

impl OpKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OpKind::Pay => "PAY",
            OpKind::Refund => "REFUND",
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpOutcome {
    /// With the SBP (a refund just made): no `response_code` yet.
    Pending,
    /// Approved (`00`).
    Approved,
    /// Refused (`05`).
    Refused,
}

/// A financial operation of an order.
#[derive(Debug, Clone)]
pub(crate) struct SbOperation {
    /// `operation_id` (32 hex).
    pub(crate) id: String,
    /// Payment or refund.
    pub(crate) kind: OpKind,
    /// Kopecks.
    pub(crate) sum: Kopecks,
    /// When, Moscow time.
    pub(crate) at: DateTime<FixedOffset>,
    /// `auth_code` (6 digits).
    pub(crate) auth_code: String,
    /// `rrn` (12 digits).
    pub(crate) rrn: String,
    /// Where it is.
    pub(crate) outcome: OpOutcome,
    /// Status reads since it was made; a pending refund completes on the second.
    reads: u8,
}

impl SbOperation {
    /// `response_code`: empty while pending.
    pub(crate) fn response_code(&self) -> &'static str {
        match self.outcome {
            OpOutcome::Pending => "",
            OpOutcome::Approved => APPROVED,
            OpOutcome::Refused => REFUSED,
        }
    }

    /// `response_desc`.
    pub(crate) fn response_desc(&self) -> &'static str {
        match self.outcome {
            OpOutcome::Pending => "Операция в обработке СБП",
            OpOutcome::Approved => "Одобрено",
            OpOutcome::Refused => "Отказ банка получателя (песочница)",
        }
    }
}

/// An order at the terminal.
#[derive(Debug, Clone)]
pub(crate) struct SbOrder {
    /// `order_id` (32 hex).
    pub(crate) id: String,
    /// The partner's `order_number`.
    pub(crate) order_number: String,
    /// The terminal (`id_qr` = `tid` for SBP).
    pub(crate) tid: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `order_create_date` as the partner sent it.
    pub(crate) create_date: String,
    /// When the bank made it, Moscow time.
    pub(crate) created: DateTime<FixedOffset>,
    /// Its own state.
    pub(crate) state: SbState,
    /// `order_form_url`: an NSPK link for an SBP order.
    pub(crate) payload: String,
    /// Whether it is an SBP order (made with `sbp_member_id`).
    pub(crate) sbp: bool,
    /// Operations, oldest first.
    pub(crate) operations: Vec<SbOperation>,
}

impl SbOrder {
    /// `order_state` as the status answers it.
    pub(crate) fn state_text(&self) -> &'static str {
        match self.state {
            SbState::Created => "CREATED",
            SbState::Revoked => "REVOKED",
            SbState::Declined => "DECLINED",
            SbState::Paid if self.refunded() > Kopecks::ZERO => "REFUNDED",
            SbState::Paid => "PAID",
        }
    }

    /// What approved refunds gave back.
    pub(crate) fn refunded(&self) -> Kopecks {
        self.operations
            .iter()
            .filter(|o| o.kind == OpKind::Refund && o.outcome == OpOutcome::Approved)
            .fold(Kopecks::ZERO, |sum, o| {
                sum.checked_add(o.sum).unwrap_or(sum)
            })
    }

    /// The approved payment.
    pub(crate) fn pay(&self) -> Option<&SbOperation> {
        self.operations
            .iter()
            .find(|o| o.kind == OpKind::Pay && o.outcome == OpOutcome::Approved)
    }

    /// What the bank kept: paid minus approved refunds.
    pub(crate) fn kept(&self) -> Kopecks {
        match self.pay() {
            Some(pay) => pay
                .sum
                .checked_sub(self.refunded())
                .unwrap_or(Kopecks::ZERO),
            None => Kopecks::ZERO,
        }
    }

    /// A status read: a refund with the SBP completes on its second read. Returns whether
    /// one did (the bank then notifies).
    fn read(&mut self) -> bool {
        let Some(refund) = self
            .operations
            .iter_mut()
            .find(|o| o.outcome == OpOutcome::Pending)
        else {
            return false;
        };
        refund.reads = refund.reads.saturating_add(1);
        if refund.reads < 2 {
            return false;
        }
        refund.outcome = OpOutcome::Approved;
        true
    }
}

/// What `creation` is given.
#[derive(Debug, Clone)]
pub(crate) struct NewOrder {
    /// `member_id`.
    pub(crate) member_id: String,
    /// `order_number`.
    pub(crate) order_number: String,
    /// `order_create_date`.
    pub(crate) order_create_date: String,
    /// `id_qr`.
    pub(crate) id_qr: String,
    /// `order_sum`.
    pub(crate) amount: i64,
    /// `currency`.
    pub(crate) currency: String,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `sbp_member_id`.
    pub(crate) sbp_member_id: Option<String>,
}

/// What `cancel` is given.
#[derive(Debug, Clone)]
pub(crate) struct CancelRequest {
    /// `order_id`.
    pub(crate) order_id: String,
    /// `REFUND` or `REVERSE`.
    pub(crate) operation_type: String,
    /// The payment operation.
    pub(crate) operation_id: String,
    /// Its `auth_code`.
    pub(crate) auth_code: String,
    /// `tid`.
    pub(crate) tid: String,
    /// `id_qr`.
    pub(crate) id_qr: String,
    /// Kopecks.
    pub(crate) sum: i64,
    /// `operation_currency`.
    pub(crate) currency: String,
}

/// Fresh identifiers for a transition, handed in so the books stay pure.
#[derive(Debug, Clone)]
pub(crate) struct FreshIds {
    /// A 32-hex id (order or operation).
    pub(crate) id: String,
    /// An NSPK QR id.
    pub(crate) qrc_id: String,
    /// Six digits.
    pub(crate) auth_code: String,
    /// Twelve digits.
    pub(crate) rrn: String,
}

/// A token the bank handed out.
#[derive(Debug, Clone)]
struct Token {
    scope: String,
    expires_at: DateTime<Utc>,
}

/// The terminal's books.
#[derive(Debug, Default)]
pub(crate) struct SbBooks {
    orders: Vec<SbOrder>,
    tokens: HashMap<String, Token>,
    /// Where notifications go (`PUT /sandbox/sber/notification-url`; at the real bank this
    /// is set up by its support).
    pub(crate) notification_url: Option<String>,
}

impl SbBooks {
    fn order_mut(&mut self, id: &str) -> Result<&mut SbOrder, SberError> {
        self.orders
            .iter_mut()
            .find(|o| o.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| SberError::OrderNotFound(id.to_owned()))
    }

    /// Issues a token of `scope` valid for [`TOKEN_LIFETIME`].
    pub(crate) fn issue_token(&mut self, token: String, scope: &str, now: DateTime<Utc>) {
        self.tokens.retain(|_, t| t.expires_at > now);
        self.tokens.insert(
            token,
            Token {
                scope: scope.to_owned(),
                expires_at: now + chrono::TimeDelta::seconds(TOKEN_LIFETIME),
            },
        );
    }

    /// Whether `token` is live and of `scope`.
    pub(crate) fn token_allows(&self, token: &str, scope: &str, now: DateTime<Utc>) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|t| t.scope == scope && t.expires_at > now)
    }

    /// `/creation`.
    pub(crate) fn create(
        &mut self,
        new: NewOrder,
        member_id: &str,
        tid: &str,
        fresh: FreshIds,
        now: DateTime<Utc>,
    ) -> Result<SbOrder, SberError> {
        if new.member_id != member_id {
            return Err(SberError::PartnerNotFound(new.member_id));
        }
        if new.id_qr != tid {
            return Err(SberError::QrNotFound(new.id_qr));
        }
        if new.currency != "643" {
            return Err(SberError::Currency(new.currency));
        }
        if new.order_number.is_empty() || new.order_number.chars().count() > MAX_ORDER_NUMBER {
            return Err(SberError::Invalid(
                "order_number: от 1 до 36 символов".into(),
            ));
        }
        let amount = Kopecks::new(new.amount)
            .ok()
            .filter(|a| !a.is_zero())
            .ok_or(SberError::Amount(new.amount))?;
        let sbp = match new.sbp_member_id.as_deref() {
            None => false,
            Some(SBER_SBP_MEMBER_ID | SBER_SBP_MEMBER_ID_ALT) => true,
            Some(other) => {
                return Err(SberError::Invalid(format!(
                    "sbp_member_id {other:?} не из допустимых значений"
                )));
            }
        };
        let payload = if sbp {
            build_link(
                &fresh.qrc_id,
                LinkType::Dynamic,
                SBER_SBP_MEMBER_ID,
                Some(amount),
            )
        } else {
            // A SberPay / Плати QR order: Sber's own link (the spec's sample).
            format!("https://sberbank.ru/qr/?dynamicQr={}", fresh.id)
        };
        let order = SbOrder {
            id: fresh.id,
            order_number: new.order_number,
            tid: new.id_qr,
            amount,
            description: new.description,
            create_date: new.order_create_date,
            created: to_msk(now),
            state: SbState::Created,
            payload,
            sbp,
            operations: Vec::new(),
        };
        self.orders.push(order.clone());
        Ok(order)
    }

    /// `/status` (a status read): by `order_id` if given, else by `partner_order_number`;
    /// both must agree with the order, and so must `tid`. Returns the order and whether a
    /// refund just completed.
    pub(crate) fn status(
        &mut self,
        order_id: Option<&str>,
        tid: &str,
        partner_order_number: &str,
    ) -> Result<(SbOrder, bool), SberError> {
        let order = match order_id {
            Some(id) => self.order_mut(id)?,
            None => self
                .orders
                .iter_mut()
                .rev()
                .find(|o| o.order_number == partner_order_number)
                .ok_or_else(|| SberError::OrderNotFound(partner_order_number.to_owned()))?,
        };
        if order.order_number != partner_order_number || order.tid != tid {
            return Err(SberError::OrderNotFound(
                order_id.unwrap_or(partner_order_number).to_owned(),
            ));
        }
        let completed = order.read();
        Ok((order.clone(), completed))
    }

    /// Is the order open (nobody paid yet)? For the "customer pays before the cancel" fault.
    pub(crate) fn is_open(&mut self, id: &str) -> bool {
        self.order_mut(id)
            .is_ok_and(|o| o.state == SbState::Created)
    }

    /// `/revocation`: a `CREATED` order becomes `REVOKED`.
    pub(crate) fn revoke(&mut self, id: &str) -> Result<SbOrder, SberError> {
        let order = self.order_mut(id)?;
        if order.state != SbState::Created {
            return Err(SberError::Sequence(order.state_text()));
        }
        order.state = SbState::Revoked;
        Ok(order.clone())
    }

    /// The customer pays a `CREATED` order.
    pub(crate) fn pay(
        &mut self,
        id: &str,
        fresh: FreshIds,
        now: DateTime<Utc>,
    ) -> Result<SbOrder, SberError> {
        let order = self.order_mut(id)?;
        if order.state != SbState::Created {
            return Err(SberError::Sequence(order.state_text()));
        }
        order.state = SbState::Paid;
        order.operations.push(SbOperation {
            id: fresh.id,
            kind: OpKind::Pay,
            sum: order.amount,
            at: to_msk(now),
            auth_code: fresh.auth_code,
            rrn: fresh.rrn,
            outcome: OpOutcome::Approved,
            reads: 0,
        });
        Ok(order.clone())
    }

    /// The customer's bank declines a `CREATED` order.
    pub(crate) fn decline(&mut self, id: &str) -> Result<SbOrder, SberError> {
        let order = self.order_mut(id)?;
        if order.state != SbState::Created {
            return Err(SberError::Sequence(order.state_text()));
        }
        order.state = SbState::Declined;
        Ok(order.clone())
    }

    /// `/cancel`: a refund of the payment operation, with the SBP until read twice. One at a
    /// time; a `REVERSE` of an SBP order is refused (the spec's status table: not for QR СБП).
    pub(crate) fn cancel(
        &mut self,
        request: CancelRequest,
        fresh: FreshIds,
        now: DateTime<Utc>,
    ) -> Result<(SbOrder, SbOperation), SberError> {
        let order = self
            .order_mut(&request.order_id)
            .map_err(|_| SberError::OriginalNotFound(request.order_id.clone()))?;
        if request.tid != order.tid || request.id_qr != order.tid {
            return Err(SberError::QrNotFound(request.id_qr));
        }
        if request.currency != "643" {
            return Err(SberError::Currency(request.currency));
        }
        let is_pay = |o: &&SbOperation| o.id.eq_ignore_ascii_case(&request.operation_id);
        let Some(pay) = order
            .operations
            .iter()
            .find(is_pay)
            .filter(|o| o.kind == OpKind::Pay)
        else {
            return Err(SberError::OperationNotFound(request.operation_id));
        };
        if pay.auth_code != request.auth_code {
            return Err(SberError::Invalid(
                "auth_code не совпадает с операцией".into(),
            ));
        }
        match request.operation_type.as_str() {
            "REFUND" => {}
            "REVERSE" if order.sbp => return Err(SberError::NotAllowed("REVERSE для QR СБП")),
            "REVERSE" => return Err(SberError::NotAllowed("REVERSE в песочнице")),
            other => {
                return Err(SberError::Invalid(format!("operation_type {other:?}")));
            }
        }
        if order.state != SbState::Paid {
            return Err(SberError::Sequence(order.state_text()));
        }
        if order
            .operations
            .iter()
            .any(|o| o.outcome == OpOutcome::Pending)
        {
            return Err(SberError::Sequence("возврат в обработке"));
        }
        let sum = Kopecks::new(request.sum)
            .ok()
            .filter(|s| !s.is_zero())
            .ok_or(SberError::Amount(request.sum))?;
        if sum > order.kept() {
            return Err(SberError::RefundTooLarge(order.kept().get()));
        }
        let refund = SbOperation {
            id: fresh.id,
            kind: OpKind::Refund,
            sum,
            at: to_msk(now),
            auth_code: fresh.auth_code,
            rrn: fresh.rrn,
            outcome: OpOutcome::Pending,
            reads: 0,
        };
        order.operations.push(refund.clone());
        Ok((order.clone(), refund))
    }

    /// Sandbox control: the order's refund with the SBP is refused.
    pub(crate) fn decline_refund(&mut self, id: &str) -> Result<SbOrder, SberError> {
        let order = self.order_mut(id)?;
        let refund = order
            .operations
            .iter_mut()
            .find(|o| o.outcome == OpOutcome::Pending)
            .ok_or_else(|| SberError::NoRefundInProgress(id.to_owned()))?;
        refund.outcome = OpOutcome::Refused;
        Ok(order.clone())
    }

    /// Every order, oldest first.
    pub(crate) fn all(&self) -> Vec<SbOrder> {
        self.orders.clone()
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions with the time handed in; nothing here reads the wall clock.
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn fresh(n: u8) -> FreshIds {
        FreshIds {
            id: format!("{n:032x}"),
            qrc_id: format!("AD1{n:029}"),
            auth_code: format!("{n:06}"),
            rrn: format!("{n:012}"),
        }
    }

    fn new(amount: i64) -> NewOrder {
        NewOrder {
            member_id: "00000001".into(),
            order_number: "pay_1".into(),
            order_create_date: "2024-05-01T10:00:00Z".into(),
            id_qr: "20188357".into(),
            amount,
            currency: "643".into(),
            description: None,
            sbp_member_id: Some(SBER_SBP_MEMBER_ID.into()),
        }
    }

    fn cancel(order: &SbOrder, sum: i64) -> CancelRequest {
        let pay = order.pay().unwrap();
        CancelRequest {
            order_id: order.id.clone(),
            operation_type: "REFUND".into(),
            operation_id: pay.id.clone(),
            auth_code: pay.auth_code.clone(),
            tid: "20188357".into(),
            id_qr: "20188357".into(),
            sum,
            currency: "643".into(),
        }
    }

    #[test]
    fn an_order_is_paid_and_refunded_in_parts_one_at_a_time() {
        let mut b = SbBooks::default();
        let o = b
            .create(new(10_000), "00000001", "20188357", fresh(1), t0())
            .unwrap();
        let link = qrpayd_domain::nspk::parse_link(&o.payload).unwrap();
        assert_eq!(
            (link.sum, link.bank.as_deref(), link.crc_ok),
            (
                Some(Kopecks::new(10_000).unwrap()),
                Some(SBER_SBP_MEMBER_ID),
                Some(true)
            )
        );
        assert_eq!(o.state_text(), "CREATED");
        let paid = b.pay(&o.id, fresh(2), t0()).unwrap();
        assert_eq!(paid.state_text(), "PAID");
        assert!(matches!(
            b.pay(&o.id, fresh(3), t0()),
            Err(SberError::Sequence("PAID"))
        ));
        assert!(matches!(b.revoke(&o.id), Err(SberError::Sequence("PAID"))));
        let (_, refund) = b.cancel(cancel(&paid, 4_000), fresh(4), t0()).unwrap();
        assert_eq!(refund.response_code(), "");
        assert!(matches!(
            b.cancel(cancel(&paid, 1), fresh(5), t0()),
            Err(SberError::Sequence(_))
        ));
        let (first, done) = b.status(Some(&o.id), "20188357", "pay_1").unwrap();
        assert_eq!((first.state_text(), done), ("PAID", false));
        let (second, done) = b.status(None, "20188357", "pay_1").unwrap();
        assert_eq!((second.state_text(), done), ("REFUNDED", true));
        assert_eq!(second.kept(), Kopecks::new(6_000).unwrap());
        assert!(matches!(
            b.cancel(cancel(&paid, 6_001), fresh(6), t0()),
            Err(SberError::RefundTooLarge(6_000))
        ));
        b.cancel(cancel(&paid, 6_000), fresh(7), t0()).unwrap();
        b.decline_refund(&o.id).unwrap();
        assert_eq!(b.all()[0].kept(), Kopecks::new(6_000).unwrap());
        let mut reverse = cancel(&paid, 100);
        reverse.operation_type = "REVERSE".into();
        assert!(matches!(
            b.cancel(reverse, fresh(8), t0()),
            Err(SberError::NotAllowed(_))
        ));
    }

    #[test]
    fn creation_checks_the_terminal_and_the_amount_and_revocation_closes() {
        let mut b = SbBooks::default();
        assert!(matches!(
            b.create(new(0), "00000001", "20188357", fresh(1), t0()),
            Err(SberError::Amount(0))
        ));
        assert!(matches!(
            b.create(new(1), "00000002", "20188357", fresh(1), t0()),
            Err(SberError::PartnerNotFound(_))
        ));
        assert!(matches!(
            b.create(new(1), "00000001", "other", fresh(1), t0()),
            Err(SberError::QrNotFound(_))
        ));
        let plain = NewOrder {
            sbp_member_id: None,
            ..new(100)
        };
        let o = b
            .create(plain, "00000001", "20188357", fresh(1), t0())
            .unwrap();
        assert!(o.payload.starts_with("https://sberbank.ru/qr/?dynamicQr="));
        assert_eq!(b.revoke(&o.id).unwrap().state_text(), "REVOKED");
        assert!(matches!(
            b.decline(&o.id),
            Err(SberError::Sequence("REVOKED"))
        ));
        let d = b
            .create(new(100), "00000001", "20188357", fresh(2), t0())
            .unwrap();
        assert_eq!(b.decline(&d.id).unwrap().state_text(), "DECLINED");
        assert!(matches!(
            b.status(Some(&d.id), "20188357", "other"),
            Err(SberError::OrderNotFound(_))
        ));
        b.issue_token("t".into(), "s", t0());
        assert!(b.token_allows("t", "s", t0()));
        assert!(!b.token_allows("t", "other", t0()));
        assert!(!b.token_allows("t", "s", t0() + chrono::TimeDelta::seconds(TOKEN_LIFETIME)));
    }
}
