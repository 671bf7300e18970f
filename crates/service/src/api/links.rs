//! `POST /v1/links/check`: a cashier scans the printed QR sticker with the register's scanner
//! and learns whether it is the cash-register link configured for this register, and why not.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use qrpayd_domain::nspk;
use serde_json::json;

use super::payments::{body_error, json_object, optional_string};
use super::{ApiError, AppState, Register};

/// `POST /v1/links/check` with `{"payload": "<scanned text>"}`.
pub(super) async fn check(
    State(state): State<AppState>,
    register: Register,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let map = json_object(&body)?;
    if let Some(unknown) = map.keys().find(|k| k.as_str() != "payload") {
        return Err(ApiError::unprocessable(
            "unknown_field",
            format!("unknown field `{unknown}`; send {{\"payload\": \"<scanned text>\"}}"),
        ));
    }
    let scanned = optional_string(&map, "payload")?
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::unprocessable("payload_required", "send the scanned text as `payload`")
        })?;
    let link = state
        .payments
        .store()
        .link_of(&register.id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let Some(link) = link else {
        return Ok(Json(json!({
            "match": false,
            "reason": "no_link_configured",
            "message": "no cash-register link is bound to this register (qrpayd links register / links bind)",
            "configured": null,
        }))
        .into_response());
    };
    let expected_bank = nspk::parse_link(&link.payload).ok().and_then(|l| l.bank);
    let check = nspk::check_link(scanned, &link.payload, expected_bank.as_deref());
    Ok(Json(json!({
        "match": check.matched,
        "reason": check.reason.as_str(),
        "message": check.reason.message(),
        "scanned_qr_id": check.scanned_qr_id,
        "configured": { "qr_id": link.qr_id.as_str(), "provider": link.provider.as_str(), "payload": link.payload },
    }))
    .into_response())
}
