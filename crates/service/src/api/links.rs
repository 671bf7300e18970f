//! `POST /v1/links/check`: a cashier scans the printed QR sticker with the register's scanner
//! and learns whether it is the cash-register link configured for this register, and why not.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use qrpayd_domain::nspk;
use serde::Deserialize;
use utoipa::ToSchema;

use super::contract::{ConfiguredLink, ErrorBody, LinkCheck};
use super::payments::{body_error, json_object, optional_string, typed};
use super::{ApiError, AppState, ErrorCode, Register};

/// The scanned text of a cash-register sticker. Other fields are refused (`unknown_field`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"payload": "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007&crc=4478"})))]
pub(super) struct LinkCheckRequest {
    /// The scanned text, as read (not empty: `payload_required`).
    #[schema(min_length = 1)]
    payload: String,
}

/// `POST /v1/links/check` with `{"payload": "<scanned text>"}`.
#[utoipa::path(
    post,
    path = "/v1/links/check",
    operation_id = "checkLink",
    tag = "links",
    summary = "Check a scanned cash-register sticker against this register's link",
    description = include_str!("doc/checkLink.md"),
    security(("registerKey" = [])),
    request_body(content = LinkCheckRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The verdict (also when it does not match).", content_type = "application/json", body = LinkCheck),
        (status = 400, description = "`invalid_json`: the body is not a JSON object.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key cannot check links.", content_type = "application/json", body = ErrorBody),
        (status = 422, description = "`payload_required`, `unknown_field`, `invalid_field`.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn check(
    State(state): State<AppState>,
    register: Register,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let map = json_object(&body)?;
    if let Some(unknown) = map.keys().find(|k| k.as_str() != "payload") {
        return Err(ApiError::new(
            ErrorCode::UnknownField,
            format!("unknown field `{unknown}`; send {{\"payload\": \"<scanned text>\"}}"),
        ));
    }
    let required = || {
        ApiError::new(
            ErrorCode::PayloadRequired,
            "send the scanned text as `payload`",
        )
    };
    if optional_string(&map, "payload")?.is_none_or(str::is_empty) {
        return Err(required());
    }
    let request: LinkCheckRequest = typed(map)?;
    let scanned = request.payload.as_str();
    let link = state
        .payments
        .store()
        .link_of(&register.id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let Some(link) = link else {
        return Ok(Json(LinkCheck {
            matched: false,
            reason: "no_link_configured".to_owned(),
            message: "no cash-register link is bound to this register (qrpayd links register / links bind)".to_owned(),
            scanned_qr_id: None,
            configured: None,
        })
        .into_response());
    };
    let expected_bank = nspk::parse_link(&link.payload).ok().and_then(|l| l.bank);
    let check = nspk::check_link(scanned, &link.payload, expected_bank.as_deref());
    Ok(Json(LinkCheck {
        matched: check.matched,
        reason: check.reason.as_str().to_owned(),
        message: check.reason.message().to_owned(),
        scanned_qr_id: Some(check.scanned_qr_id),
        configured: Some(ConfiguredLink {
            qr_id: link.qr_id.as_str().to_owned(),
            provider: link.provider.as_str().to_owned(),
            payload: link.payload,
        }),
    })
    .into_response())
}
