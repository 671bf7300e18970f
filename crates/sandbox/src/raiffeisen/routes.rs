//! Raiffeisen's HTTP face in the sandbox: its paths (BANKS.md §1.2), its Bearer auth and
//! error envelopes, fault injection on the `/api` routes, the customer-QR extension, and its
//! sandbox-only controls (the bank's own `nspc-mock` payment call, declines, expiry, the
//! registry).

use crate::faults::Injected;
use crate::handle::Sandbox;
use crate::qrc_id::fresh_qr_id;
use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{OrderStatus, QrStatus, QrType};
use crate::raiffeisen::wire::{
    CallbackSettings, ChargeRequest, CreateOrderRequest, CustomerQrResponse, DeclineRequest,
    MintCustomerQr, OrderRefundRequest, OrderResponse, PayRequest, PaymentInfoResponse,
    QrDataResponse, QrStatusResponse, RefundRequest, RefundResponse, RegisterQrRequest, SUCCESS,
    SuccessBody, parse_body,
};
use crate::time::{micros_text, to_msk};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Raiffeisen's API (with fault injection) and its sandbox-only controls, rooted at `/`.
pub(crate) fn router(sandbox: &Sandbox) -> Router<Sandbox> {
    let api = Router::new()
        .route("/api/sbp/v2/qrs", post(register_qr))
        .route("/api/sbp/v1/qr/register", post(register_qr))
        .route("/api/sbp/v2/qrs/{qr_id}", get(qr_status).delete(cancel_qr))
        .route("/api/sbp/v1/qr/{qr_id}/info", get(qr_info))
        .route("/api/sbp/v1/qr/{qr_id}/payment-info", get(payment_info))
        .route("/api/sbp/v1/refund", post(create_refund))
        .route("/api/sbp/v1/refund/{refund_id}", get(refund_status))
        .route("/api/settings/v1/callback", post(set_callback_url))
        .route("/api/payment/v1/orders", post(create_order))
        .route(
            "/api/payment/v1/orders/{order_id}",
            get(order_status).delete(cancel_order),
        )
        .route(
            "/api/payments/v1/orders/{order_id}/refunds/{refund_id}",
            post(create_order_refund).get(order_refund_status),
        )
        .route("/sandbox/customer-qr/charge", post(charge_customer_qr))
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            inject_faults,
        ));
    let controls = Router::new()
        .route("/api/nspc-mock/v01/rfuture/payment/init", post(nspc_pay))
        .route("/sandbox/qrs/{qr_id}/decline", post(decline_payment))
        .route("/sandbox/qrs/{qr_id}/expire", post(expire_qr))
        .route("/sandbox/refunds/{refund_id}/decline", post(decline_refund))
        .route("/sandbox/customer-qr", post(mint_customer_qr))
        .route("/sandbox/registry", get(registry));
    api.merge(controls)
}

/// Proof that the request carried `Authorization: Bearer <secretKey>`; else HTTP 401.
struct Authorized;

impl FromRequestParts<Sandbox> for Authorized {
    type Rejection = SandboxError;

    async fn from_request_parts(
        parts: &mut Parts,
        sandbox: &Sandbox,
    ) -> Result<Self, SandboxError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim);
        match token {
            Some(token) if same_secret(token, sandbox.secret_key()) => Ok(Authorized),
            _ => Err(SandboxError::Unauthorized),
        }
    }
}

/// Compares without stopping at the first difference.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Applies [`Faults`] to every `/api` call except the nspc-mock payment.
async fn inject_faults(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let (latency_ms, fault) = sandbox.lock().faults.take_fault();
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    match fault {
        Some(injected) => {
            let error = match injected {
                Injected::Http500 => SandboxError::InjectedHttp500,
                Injected::BusinessError => SandboxError::InjectedBusinessError,
            };
            tracing::info!(path = %request.uri().path(), code = error.code(), "sandbox fault injected");
            error.into_response()
        }
        None => {
            let path = request.uri().path().to_owned();
            let changes_something = request.method() != axum::http::Method::GET;
            let response = next.run(request).await;
            if changes_something && sandbox.lock().faults.take_lost_answer() {
                tracing::info!(
                    path,
                    "sandbox: the call was carried out, its answer is lost (fault)"
                );
                return SandboxError::InjectedHttp500.into_response();
            }
            let slow = sandbox.lock().faults.take_slow_answer();
            if !slow.is_zero() {
                tracing::info!(
                    path,
                    ?slow,
                    "sandbox: the call was carried out, its answer comes late (fault)"
                );
                tokio::time::sleep(slow).await;
            }
            response
        }
    }
}

/// The `refuse_deactivation_next` fault: this deactivation is refused with a business error.
fn refuse_deactivation(sandbox: &Sandbox, what: &str) -> Result<(), SandboxError> {
    if sandbox.lock().faults.take_refused_deactivation() {
        tracing::info!(what, "sandbox: deactivation refused (fault)");
        return Err(SandboxError::InjectedBusinessError);
    }
    Ok(())
}

/// `POST /api/sbp/v2/qrs`, `POST /api/sbp/v1/qr/register`.
async fn register_qr(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<QrDataResponse>, SandboxError> {
    let new = parse_body::<RegisterQrRequest>(&body)?.into_new_qr()?;
    let qr = sandbox
        .lock()
        .raiffeisen
        .register(new, sandbox.now(), fresh_qr_id)?;
    tracing::info!(qr_id = %qr.id, order = %qr.order, "sandbox QR registered");
    Ok(Json(QrDataResponse::from(&qr)))
}

/// `GET /api/sbp/v2/qrs/{qrId}`.
async fn qr_status(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
) -> Result<Json<QrStatusResponse>, SandboxError> {
    let qr = sandbox.lock().raiffeisen.qr(&qr_id, sandbox.now())?;
    Ok(Json(QrStatusResponse::from(&qr)))
}

/// `DELETE /api/sbp/v2/qrs/{qrId}`: HTTP 200 with an empty body.
async fn cancel_qr(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
) -> Result<StatusCode, SandboxError> {
    let now = sandbox.now();
    // The `customer_pays_before_cancel` fault: the customer pays a moment before the DELETE.
    let race = {
        let mut state = sandbox.lock();
        match state.raiffeisen.qr(&qr_id, now) {
            Ok(qr)
                if qr.status == QrStatus::New
                    && qr.qr_type == QrType::Dynamic
                    && state.faults.take_pay_before_cancel() =>
            {
                qr.amount
            }
            _ => None,
        }
    };
    if let Some(amount) = race {
        tracing::info!(
            qr_id,
            "sandbox: the customer paid just before the cancel (fault)"
        );
        sandbox.pay(&qr_id, amount).await?;
    }
    refuse_deactivation(&sandbox, &qr_id)?;
    if sandbox.lock().faults.take_ignored_deactivation(&qr_id) {
        tracing::info!(
            qr_id,
            "sandbox: deactivation answered, not carried out (fault)"
        );
        return Ok(StatusCode::OK);
    }
    sandbox.lock().raiffeisen.cancel(&qr_id, now)?;
    Ok(StatusCode::OK)
}

/// `GET /api/sbp/v1/qr/{qrId}/info`.
async fn qr_info(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
) -> Result<Json<QrDataResponse>, SandboxError> {
    let qr = sandbox.lock().raiffeisen.qr(&qr_id, sandbox.now())?;
    Ok(Json(QrDataResponse::from(&qr)))
}

/// `GET /api/sbp/v1/qr/{qrId}/payment-info`.
async fn payment_info(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
) -> Result<Json<PaymentInfoResponse>, SandboxError> {
    let qr = sandbox.lock().raiffeisen.qr(&qr_id, sandbox.now())?;
    Ok(Json(PaymentInfoResponse::new(
        &qr,
        sandbox.sbp_merchant_id(),
    )))
}

/// `POST /api/sbp/v1/refund`.
async fn create_refund(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<RefundResponse>, SandboxError> {
    let new = parse_body::<RefundRequest>(&body)?.into_new_refund()?;
    let refund = sandbox.lock().raiffeisen.refund(new)?;
    Ok(Json(RefundResponse::from(&refund)))
}

/// `GET /api/sbp/v1/refund/{refundId}`.
async fn refund_status(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(refund_id): Path<String>,
) -> Result<Json<RefundResponse>, SandboxError> {
    let refund = sandbox
        .lock()
        .raiffeisen
        .refund_status(&refund_id, sandbox.now())?;
    Ok(Json(RefundResponse::from(&refund)))
}

/// `POST /api/settings/v1/callback`.
async fn set_callback_url(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<CallbackSettings>, SandboxError> {
    let settings = parse_body::<CallbackSettings>(&body)?;
    let url = settings
        .callback_url
        .ok_or_else(|| SandboxError::InvalidRequest("Не передан callbackUrl".into()))?;
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        _ => {
            return Err(SandboxError::InvalidRequest(
                "callbackUrl должен быть http(s) URL".into(),
            ));
        }
    }
    sandbox.lock().raiffeisen.callback_url = Some(url.clone());
    tracing::info!(%url, "sandbox callback URL set");
    Ok(Json(CallbackSettings {
        callback_url: Some(url),
    }))
}

/// `POST /api/nspc-mock/v01/rfuture/payment/init`: the bank's sandbox "pay this QR" call.
async fn nspc_pay(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<SuccessBody>, SandboxError> {
    let request = parse_body::<PayRequest>(&body)?;
    let qr_id = request
        .qr_id
        .ok_or_else(|| SandboxError::InvalidRequest("Не передан qrId".into()))?;
    let amount = request
        .amount
        .ok_or_else(|| SandboxError::InvalidRequest("Не передана сумма (amount)".into()))?;
    sandbox.pay(&qr_id, amount.0).await?;
    Ok(Json(SuccessBody { code: SUCCESS }))
}

/// `POST /sandbox/qrs/{qrId}/decline`: the payer's bank declines an attempt.
async fn decline_payment(
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
    body: Bytes,
) -> Result<Json<SuccessBody>, SandboxError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        DeclineRequest::default()
    } else {
        parse_body::<DeclineRequest>(&body)?
    };
    sandbox.decline(&qr_id, request.amount.map(|a| a.0))?;
    Ok(Json(SuccessBody { code: SUCCESS }))
}

/// `POST /sandbox/qrs/{qrId}/expire`: lets a `NEW` QR's expiry pass now.
async fn expire_qr(
    State(sandbox): State<Sandbox>,
    Path(qr_id): Path<String>,
) -> Result<Json<QrStatusResponse>, SandboxError> {
    let qr = sandbox
        .lock()
        .raiffeisen
        .expire_now(&qr_id, sandbox.now())?;
    Ok(Json(QrStatusResponse::from(&qr)))
}

/// `POST /api/payment/v1/orders`: activates a cash-register link.
async fn create_order(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<OrderResponse>, SandboxError> {
    let new = parse_body::<CreateOrderRequest>(&body)?.into_new_order()?;
    let order = sandbox
        .lock()
        .raiffeisen
        .create_order(new, sandbox.now(), || Uuid::new_v4().to_string())?;
    tracing::info!(order = %order.id, qr_id = %order.qr_id, "sandbox order created");
    Ok(Json(OrderResponse::from(&order)))
}

/// `GET /api/payment/v1/orders/{orderId}`.
async fn order_status(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(order_id): Path<String>,
) -> Result<Json<OrderResponse>, SandboxError> {
    let order = sandbox.lock().raiffeisen.order(&order_id, sandbox.now())?;
    Ok(Json(OrderResponse::from(&order)))
}

/// `DELETE /api/payment/v1/orders/{orderId}`: HTTP 200 with an empty body.
async fn cancel_order(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path(order_id): Path<String>,
) -> Result<StatusCode, SandboxError> {
    let now = sandbox.now();
    // The `customer_pays_before_cancel` fault: the customer pays a moment before the DELETE.
    let race = {
        let mut state = sandbox.lock();
        match state.raiffeisen.order(&order_id, now) {
            Ok(order)
                if order.status == OrderStatus::New && state.faults.take_pay_before_cancel() =>
            {
                Some((order.qr_id, order.amount))
            }
            _ => None,
        }
    };
    if let Some((link, amount)) = race {
        tracing::info!(
            order_id,
            "sandbox: the customer paid just before the cancel (fault)"
        );
        sandbox.pay(&link, amount).await?;
    }
    refuse_deactivation(&sandbox, &order_id)?;
    sandbox.lock().raiffeisen.cancel_order(&order_id, now)?;
    Ok(StatusCode::OK)
}

/// `POST /api/payments/v1/orders/{orderId}/refunds/{refundId}`.
async fn create_order_refund(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path((order_id, refund_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<RefundResponse>, SandboxError> {
    let amount = parse_body::<OrderRefundRequest>(&body)?.amount()?;
    let refund =
        sandbox
            .lock()
            .raiffeisen
            .order_refund(&order_id, &refund_id, amount, sandbox.now())?;
    Ok(Json(RefundResponse::from(&refund)))
}

/// `GET /api/payments/v1/orders/{orderId}/refunds/{refundId}`.
async fn order_refund_status(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    Path((order_id, refund_id)): Path<(String, String)>,
) -> Result<Json<RefundResponse>, SandboxError> {
    let refund =
        sandbox
            .lock()
            .raiffeisen
            .order_refund_status(&order_id, &refund_id, sandbox.now())?;
    Ok(Json(RefundResponse::from(&refund)))
}

/// `POST /sandbox/customer-qr`: mints a customer QR (body optional).
async fn mint_customer_qr(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<CustomerQrResponse>, SandboxError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        MintCustomerQr::default()
    } else {
        parse_body::<MintCustomerQr>(&body)?
    };
    let qr = sandbox.mint_customer_qr(
        request.amount_limit.map(|a| a.0),
        request.confirm.unwrap_or_default(),
    );
    Ok(Json(CustomerQrResponse::from(&qr)))
}

/// `POST /sandbox/customer-qr/charge`: charges a scanned customer QR (auth, faults apply).
async fn charge_customer_qr(
    _: Authorized,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<QrDataResponse>, SandboxError> {
    let charge = parse_body::<ChargeRequest>(&body)?.into_charge()?;
    let qr = sandbox.charge_customer_qr(charge)?;
    Ok(Json(QrDataResponse::from(&qr)))
}

/// `POST /sandbox/refunds/{refundId}/decline`.
async fn decline_refund(
    State(sandbox): State<Sandbox>,
    Path(refund_id): Path<String>,
) -> Result<Json<RefundResponse>, SandboxError> {
    let refund = sandbox.lock().raiffeisen.decline_refund(&refund_id)?;
    Ok(Json(RefundResponse::from(&refund)))
}

/// The query of `GET /sandbox/registry`.
#[derive(Deserialize)]
struct RegistryQuery {
    /// `YYYY-MM-DD`, a Moscow date.
    date: Option<String>,
}

/// `GET /sandbox/registry?date=YYYY-MM-DD`: the day's registry in Raiffeisen's CSV format
/// (Windows-1251, `;`, CRLF).
async fn registry(
    State(sandbox): State<Sandbox>,
    query: Result<Query<RegistryQuery>, QueryRejection>,
) -> Result<Response, SandboxError> {
    let Query(query) =
        query.map_err(|e| SandboxError::InvalidRequest(format!("Некорректный запрос: {e}")))?;
    let text = query.date.ok_or_else(|| {
        SandboxError::InvalidRequest("Не передан параметр date (YYYY-MM-DD)".into())
    })?;
    let date = Some(text.as_str())
        .filter(|t| t.len() == 10)
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            SandboxError::InvalidRequest(format!(
                "Некорректная дата {:?}: ожидается YYYY-MM-DD",
                text.chars().take(40).collect::<String>()
            ))
        })?;
    let body = qrpayd_bank::raiffeisen::registry::write(&sandbox.registry(date));
    let disposition = format!("attachment; filename=\"SBPreport_{date}.csv\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/csv; charset=windows-1251".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The Spring-style 404 the bank answers unknown paths with.
#[derive(Serialize)]
struct SpringNotFound {
    /// When.
    timestamp: String,
    /// 404.
    status: u16,
    /// `Not Found`.
    error: &'static str,
    /// The path asked for.
    path: String,
}

/// Any other path.
pub(crate) async fn unknown_path(State(sandbox): State<Sandbox>, uri: Uri) -> Response {
    let body = SpringNotFound {
        timestamp: micros_text(to_msk(sandbox.now())),
        status: StatusCode::NOT_FOUND.as_u16(),
        error: "Not Found",
        path: uri.path().to_owned(),
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_ids_look_like_nspk_ids() {
        for (qr_type, prefix) in [
            (QrType::Dynamic, "AD1"),
            (QrType::Static, "AS1"),
            (QrType::Variable, "AS1R"),
        ] {
            let id = fresh_qr_id(qr_type);
            assert_eq!(id.len(), 32);
            assert!(id.starts_with(prefix));
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'V').contains(&b)),
                "{id}"
            );
        }
        assert_ne!(fresh_qr_id(QrType::Dynamic), fresh_qr_id(QrType::Dynamic));
    }

    #[test]
    fn secret_comparison() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
    }
}
