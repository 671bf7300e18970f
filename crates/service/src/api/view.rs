//! The payment object as registers see it (the API's JSON shape).

use chrono::{DateTime, SecondsFormat, Utc};
use qrpayd_store::Payment;
use serde_json::{Value, json};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The payment object.
pub(super) fn payment_json(p: &Payment) -> Value {
    json!({
        "id": p.id.as_str(),
        "status": p.state.api_status().as_str(),
        "amount": p.amount.get(),
        "currency": p.currency.code(),
        "provider": p.provider.as_str(),
        "order": p.order.as_ref().map(|o| o.as_str()),
        "description": p.description,
        "qr": p.qr.as_ref().map(|(qr_id, payload)| json!({ "payload": payload, "qr_id": qr_id.as_str() })),
        "late": p.late,
        "failure": p.failure.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
        "created_at": time(p.created_at),
        "expires_at": time(p.expires_at),
        "updated_at": time(p.updated_at),
        "paid_at": p.paid_at.map(time),
    })
}
