//! `/v1/payments/{id}/qr.*` and `/v1/payments/{id}/receipt.*`: a pending payment's QR as an
//! SVG, a PNG or terminal text, and the QR slip for the receipt tape as ESC/POS bytes or plain
//! text. The register's key only: a payable QR goes to the register's own screen or printer;
//! the admin key, which reads payments, is refused (`403 admin_read_only`). The pictures and
//! bytes are made by [`crate::media`]; PNGs and printer rasters are rendered off the async
//! threads in the bounded render pool (`crate::limits::RenderPool`: `503 overloaded` when it is
//! full).
//!
//! Only a payable QR is given out: a payment still being created answers `409
//! payment_not_ready`, one no longer pending `409 qr_not_payable` (a QR of a cancelled or paid
//! payment must not reach a screen or a receipt).

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use qrpayd_domain::ids::OrderRef;
use qrpayd_domain::payment::{ApiStatus, PaymentState, QrType};
use qrpayd_store::Payment;

use super::ErrorCode;
use super::contract::*;
use super::payments::payment_id;
use super::{ApiError, AppState, Register};
use crate::media::qr::{self, QrError, QrMatrix};
use crate::media::receipt::{self, Paper, QrPrint, Slip};
use crate::media::{Lang, qr::QUIET_ZONE};

/// Smallest and largest picture, in pixels.
const SIZES: std::ops::RangeInclusive<u32> = 64..=4096;
/// `qr.png` without `size`.
const DEFAULT_PNG_SIZE: u32 = 512;

type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

/// The query's parameters, refusing any not in `known`.
fn params(query: QueryMap, known: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        let hint = if known.is_empty() {
            "this endpoint takes none".to_owned()
        } else {
            format!("use: {}", known.join(", "))
        };
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("unknown parameter `{unknown}`; {hint}"),
        ));
    }
    Ok(query)
}

/// A parameter with a fixed set of values.
fn choice<T>(
    query: &HashMap<String, String>,
    name: &str,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<T, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidOption,
                format!("`{name}` must be {allowed}"),
            )
        }),
    }
}

fn lang(query: &HashMap<String, String>) -> Result<Lang, ApiError> {
    choice(query, "lang", Lang::Ru, Lang::parse, "ru or en")
}

fn size(query: &HashMap<String, String>, matrix: &QrMatrix) -> Result<Option<u32>, ApiError> {
    let Some(text) = query.get("size") else {
        return Ok(None);
    };
    let needed = matrix.min_size(2).max(*SIZES.start());
    let size = text
        .parse::<u32>()
        .ok()
        .filter(|s| SIZES.contains(s) && *s >= needed)
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidSize,
                format!(
                    "`size` must be a whole number of pixels from {needed} (two per module of this QR, {} modules with the {QUIET_ZONE}-module quiet zone) to {}",
                    matrix.side(),
                    SIZES.end()
                ),
            )
        })?;
    Ok(Some(size))
}

fn qr_error(e: &QrError) -> ApiError {
    match e {
        QrError::TooSmall { .. } => ApiError::new(ErrorCode::InvalidSize, e.to_string()),
        QrError::TooLong | QrError::Png(_) => ApiError::internal(e),
    }
}

/// The viewer's payment and its payload, if its QR may be shown.
async fn payable(
    state: &AppState,
    register: &Register,
    id: Result<Path<String>, PathRejection>,
) -> Result<(Payment, String), ApiError> {
    let id = payment_id(id)?;
    let payment = state.payments.get(Some(&register.id), &id).await?;
    if payment.state == PaymentState::Creating {
        return Err(ApiError::new(
            ErrorCode::PaymentNotReady,
            "the QR is still being issued by the bank; retry in a moment",
        ));
    }
    if payment.qr_type == QrType::Customer {
        return Err(ApiError::new(
            ErrorCode::QrNotPayable,
            "the customer presents the QR for this payment: qrpayd has none to show or print",
        ));
    }
    let status = payment.state.api_status();
    match (&payment.qr, status) {
        (Some((_, payload)), ApiStatus::Pending) => {
            let payload = payload.clone();
            Ok((payment, payload))
        }
        _ => Err(ApiError::new(
            ErrorCode::QrNotPayable,
            format!(
                "the payment is {}: its QR can no longer be paid and must not be shown or printed",
                status.as_str()
            ),
        )),
    }
}

/// Runs CPU-heavy rendering in the bounded render pool, off the async threads.
async fn render<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state.limits.render.render(work).await.map_err(|e| match e {
        crate::limits::RenderRefused::Busy => ApiError::new(ErrorCode::Overloaded, e.to_string())
            .retry_after(std::time::Duration::from_secs(1)),
        crate::limits::RenderRefused::Failed(_) => ApiError::internal(&e),
    })
}

fn encode(payload: &str) -> Result<QrMatrix, ApiError> {
    QrMatrix::encode(payload).map_err(|e| qr_error(&e))
}

fn reply(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // A QR is shown while it is payable only: never from a cache.
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/payments/{id}/qr.svg[?size=N]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/qr.svg",
    operation_id = "getPaymentQrSvg",
    tag = "qr",
    summary = "The payment's QR as SVG",
    description = include_str!("doc/getPaymentQrSvg.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("size" = Option<u64>, Query, description = "Optional: `width` and `height` of the SVG in pixels (98 to 4096); without it the SVG scales to its container.", minimum = 98, maximum = 4096),
    ),
    responses(
        (status = 200, description = "The picture or slip.", content_type = "image/svg+xml", body = String, headers(("Cache-Control" = String, description = "`no-store`: a QR is shown only while it is payable."))),
        (status = 400, description = "`invalid_size` (`size` out of range or not a number), `invalid_query` (a parameter this endpoint does not take).", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn qr_svg(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let query = params(query, &["size"])?;
    let (_, payload) = payable(&state, &register, id).await?;
    let matrix = encode(&payload)?;
    let size = size(&query, &matrix)?;
    Ok(reply("image/svg+xml", qr::svg(&matrix, size)))
}

/// `GET /v1/payments/{id}/qr.png[?size=N]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/qr.png",
    operation_id = "getPaymentQrPng",
    tag = "qr",
    summary = "The payment's QR as PNG",
    description = include_str!("doc/getPaymentQrPng.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("size" = Option<u64>, Query, description = "Width and height in pixels, 98 to 4096 (at least two pixels per module: an NSPK link is 41 modules plus the 4-module quiet zone on each side, 49 in all). Whole pixels per module, centred; the leftover pixels widen the quiet zone.", minimum = 98, maximum = 4096),
    ),
    responses(
        (status = 200, description = "The picture or slip.", content_type = "image/png", body = inline(Binary), headers(("Cache-Control" = String, description = "`no-store`: a QR is shown only while it is payable."))),
        (status = 400, description = "`invalid_size` (`size` out of range or not a number), `invalid_query` (a parameter this endpoint does not take).", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn qr_png(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let query = params(query, &["size"])?;
    let (_, payload) = payable(&state, &register, id).await?;
    let matrix = encode(&payload)?;
    let size = size(&query, &matrix)?.unwrap_or(DEFAULT_PNG_SIZE);
    let png = render(&state, move || qr::png(&matrix, size))
        .await?
        .map_err(|e| qr_error(&e))?;
    Ok(reply("image/png", png))
}

/// `GET /v1/payments/{id}/qr.txt[?background=dark|light]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/qr.txt",
    operation_id = "getPaymentQrText",
    tag = "qr",
    summary = "The payment's QR as terminal text",
    description = include_str!("doc/getPaymentQrText.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("background" = inline(Option<TermBackground>), Query, description = "The terminal's background: `dark` (most terminals; the characters draw the light modules) or `light` (the characters draw the dark modules)."),
    ),
    responses(
        (status = 200, description = "The picture or slip.", content_type = "text/plain", body = String, headers(("Cache-Control" = String, description = "`no-store`: a QR is shown only while it is payable."))),
        (status = 400, description = "`invalid_option` (`background` is not `dark` or `light`), `invalid_query` (a parameter this endpoint does not take).", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn qr_txt(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let query = params(query, &["background"])?;
    let dark = choice(
        &query,
        "background",
        true,
        |b| match b {
            "dark" => Some(true),
            "light" => Some(false),
            _ => None,
        },
        "dark or light (the terminal's background)",
    )?;
    let (_, payload) = payable(&state, &register, id).await?;
    let matrix = encode(&payload)?;
    Ok(reply("text/plain; charset=utf-8", qr::text(&matrix, dark)))
}

fn paper(query: &HashMap<String, String>) -> Result<Paper, ApiError> {
    match query.get("width") {
        None => Ok(Paper::Mm80),
        Some(text) => Paper::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidWidth,
                "`width` must be 58 or 80 (the receipt paper's width in millimetres)",
            )
        }),
    }
}

fn slip<'a>(payment: &'a Payment, payload: &'a str) -> Slip<'a> {
    Slip {
        amount: payment.amount,
        order: payment.order.as_ref().map(OrderRef::as_str),
        expires_at: payment.expires_at,
        payload,
    }
}

/// `GET /v1/payments/{id}/receipt.escpos[?width=58|80&qr=native|raster&lang=ru|en&cut=true|false]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/receipt.escpos",
    operation_id = "getPaymentReceiptEscpos",
    tag = "qr",
    summary = "The QR slip for the receipt printer (ESC/POS bytes)",
    description = include_str!("doc/getPaymentReceiptEscpos.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("width" = inline(Option<PaperWidth>), Query, description = "Receipt paper width in millimetres: `58` (384 dots, 32 characters a line) or `80` (576 dots, 48 characters)."),
        ("qr" = inline(Option<QrMode>), Query, description = "`native`: the printer's QR command (small, sharp; most printers made since about 2012). `raster`: a bitmap, for any printer that prints images."),
        ("lang" = inline(Option<Language>), Query, description = "Language of the slip's text."),
        ("cut" = inline(Option<TrueFalse>), Query, description = "`false` leaves out the final cut (to print the slip inside a longer receipt)."),
    ),
    responses(
        (status = 200, description = "The picture or slip.", content_type = "application/octet-stream", body = inline(Binary), headers(("Cache-Control" = String, description = "`no-store`: a QR is shown only while it is payable."))),
        (status = 400, description = "`invalid_width` (`width` is not 58 or 80), `invalid_option` (`qr`, `lang` or `cut` has an unknown value), `invalid_query` (a parameter this endpoint does not take).", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn receipt_escpos(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let query = params(query, &["width", "qr", "lang", "cut"])?;
    let paper = paper(&query)?;
    let mode = choice(
        &query,
        "qr",
        QrPrint::Native,
        QrPrint::parse,
        "native or raster",
    )?;
    let lang = lang(&query)?;
    let cut = choice(
        &query,
        "cut",
        true,
        |c| match c {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        "true or false",
    )?;
    let (payment, payload) = payable(&state, &register, id).await?;
    let bytes = render(&state, move || {
        receipt::escpos(&slip(&payment, &payload), paper, mode, lang, cut)
    })
    .await?
    .map_err(|e| qr_error(&e))?;
    Ok(reply("application/octet-stream", bytes))
}

/// `GET /v1/payments/{id}/receipt.txt[?width=58|80&lang=ru|en]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}/receipt.txt",
    operation_id = "getPaymentReceiptText",
    tag = "qr",
    summary = "The QR slip as plain text",
    description = include_str!("doc/getPaymentReceiptText.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("width" = inline(Option<PaperWidth>), Query, description = "Receipt paper width in millimetres: `58` (384 dots, 32 characters a line) or `80` (576 dots, 48 characters)."),
        ("lang" = inline(Option<Language>), Query, description = "Language of the slip's text."),
    ),
    responses(
        (status = 200, description = "The picture or slip.", content_type = "text/plain", body = String, headers(("Cache-Control" = String, description = "`no-store`: a QR is shown only while it is payable."))),
        (status = 400, description = "`invalid_width` (`width` is not 58 or 80), `invalid_option` (`qr`, `lang` or `cut` has an unknown value), `invalid_query` (a parameter this endpoint does not take).", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn receipt_txt(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let query = params(query, &["width", "lang"])?;
    let paper = paper(&query)?;
    let lang = lang(&query)?;
    let (payment, payload) = payable(&state, &register, id).await?;
    Ok(reply(
        "text/plain; charset=utf-8",
        receipt::text(&slip(&payment, &payload), paper, lang),
    ))
}
