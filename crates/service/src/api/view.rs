//! The payment and refund objects as registers see them (the API's JSON shapes).

use chrono::{DateTime, SecondsFormat, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::refund::RefundState;
use qrpayd_store::{Payment, Refund};
use serde_json::{Value, json};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The payment object, with its refunds (oldest first).
pub(super) fn payment_json(p: &Payment, refunds: &[Refund]) -> Value {
    let refunded = refunds
        .iter()
        .filter(|r| r.state == RefundState::Succeeded)
        .try_fold(Kopecks::ZERO, |sum, r| sum.checked_add(r.amount))
        .unwrap_or(Kopecks::MAX);
    json!({
        "id": p.id.as_str(),
        "status": p.state.api_status().as_str(),
        "amount": p.amount.get(),
        "currency": p.currency.code(),
        "provider": p.provider.as_str(),
        "order": p.order.as_ref().map(|o| o.as_str()),
        "description": p.description,
        "qr_type": p.qr_type.as_str(),
        "qr": p.qr.as_ref().map(|(qr_id, payload)| json!({ "payload": payload, "qr_id": qr_id.as_str() })),
        "late": p.late,
        "late_action": p.late_action,
        "failure": p.failure.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
        "refunded_amount": refunded.get(),
        "refunds": refunds.iter().map(refund_json).collect::<Vec<_>>(),
        "created_at": time(p.created_at),
        "expires_at": time(p.expires_at),
        "updated_at": time(p.updated_at),
        "paid_at": p.paid_at.map(time),
    })
}

/// The refund object.
pub(super) fn refund_json(r: &Refund) -> Value {
    json!({
        "id": r.id.as_str(),
        "payment_id": r.payment_id.as_str(),
        "amount": r.amount.get(),
        "status": r.state.api_status(),
        "reason": r.reason,
        "automatic": r.automatic,
        "failure": r.failure.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
        "finished_at": r.finished_at.map(time),
    })
}
