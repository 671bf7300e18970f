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
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrpayd_domain::ids::OrderRef;
use qrpayd_domain::payment::{ApiStatus, PaymentState, QrType};
use qrpayd_store::Payment;

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
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        let hint = if known.is_empty() {
            "this endpoint takes none".to_owned()
        } else {
            format!("use: {}", known.join(", "))
        };
        return Err(ApiError::bad_request(
            "invalid_query",
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
            ApiError::bad_request("invalid_option", format!("`{name}` must be {allowed}"))
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
            ApiError::bad_request(
                "invalid_size",
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
        QrError::TooSmall { .. } => ApiError::bad_request("invalid_size", e.to_string()),
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
            StatusCode::CONFLICT,
            "payment_not_ready",
            "the QR is still being issued by the bank; retry in a moment",
        ));
    }
    if payment.qr_type == QrType::Customer {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "qr_not_payable",
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
            StatusCode::CONFLICT,
            "qr_not_payable",
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
        crate::limits::RenderRefused::Busy => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string())
                .retry_after(std::time::Duration::from_secs(1))
        }
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
            ApiError::bad_request(
                "invalid_width",
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
