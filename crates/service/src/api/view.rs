//! The payment and refund objects as registers see them: the store's records turned into the
//! wire types of `qrpayd_domain::contract` (the API's JSON shapes, with their schemas).

use qrpayd_domain::contract::{
    Failure, LateAction, PaymentView, QrKind, QrView, RefundView, wire_time,
};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::QrType;
use qrpayd_domain::refund::RefundState;
use qrpayd_store::{Payment, Refund};

fn failure(failure: Option<&(String, String)>) -> Option<Failure> {
    failure.map(|(code, message)| Failure {
        code: code.clone(),
        message: message.clone(),
    })
}

/// The wire form of a QR type.
pub(super) fn qr_kind(qr_type: QrType) -> QrKind {
    match qr_type {
        QrType::Dynamic => QrKind::Dynamic,
        QrType::CashRegister => QrKind::CashRegister,
        QrType::Customer => QrKind::Customer,
    }
}

/// The payment object, with its refunds (oldest first).
pub(super) fn payment_view(p: &Payment, refunds: &[Refund]) -> PaymentView {
    let refunded = refunds
        .iter()
        .filter(|r| r.state == RefundState::Succeeded)
        .try_fold(Kopecks::ZERO, |sum, r| sum.checked_add(r.amount))
        .unwrap_or(Kopecks::MAX);
    PaymentView {
        id: p.id.as_str().to_owned(),
        status: p.state.api_status(),
        amount: p.amount,
        currency: p.currency,
        provider: p.provider.as_str().to_owned(),
        order: p.order.as_ref().map(|o| o.as_str().to_owned()),
        description: p.description.clone(),
        qr_type: qr_kind(p.qr_type),
        qr: p.qr.as_ref().map(|(qr_id, payload)| QrView {
            payload: payload.clone(),
            qr_id: qr_id.as_str().to_owned(),
        }),
        late: p.late,
        late_action: p.late_action.as_deref().and_then(LateAction::parse),
        failure: failure(p.failure.as_ref()),
        refunded_amount: refunded,
        refunds: refunds.iter().map(refund_view).collect(),
        created_at: wire_time(p.created_at),
        expires_at: wire_time(p.expires_at),
        updated_at: wire_time(p.updated_at),
        paid_at: p.paid_at.map(wire_time),
    }
}

/// The refund object.
pub(super) fn refund_view(r: &Refund) -> RefundView {
    RefundView {
        id: r.id.as_str().to_owned(),
        payment_id: r.payment_id.as_str().to_owned(),
        amount: r.amount,
        status: r.state.into(),
        reason: r.reason.clone(),
        automatic: r.automatic,
        failure: failure(r.failure.as_ref()),
        created_at: wire_time(r.created_at),
        updated_at: wire_time(r.updated_at),
        finished_at: r.finished_at.map(wire_time),
    }
}
