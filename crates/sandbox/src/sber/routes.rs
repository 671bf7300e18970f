//! The Sber terminal's HTTP face under `/sber/`: the OAuth token endpoint, the order API
//! (`/sber/qr/order/v3/…`) behind its gateway checks (a live token of the path's scope, a
//! 32-hex `RqUID` header), the registry, the notification bodies, and the overview entry.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::Injected;
use crate::handle::Sandbox;
use crate::qrc_id::fresh_qr_id;
use crate::raiffeisen::model::QrType;
use crate::raiffeisen::{SandboxError, parse_body};
use crate::sber::books::{CancelRequest, FreshIds, NewOrder, SbOperation, SbOrder, SbState};
use crate::sber::error::{GatewayError, SberError};

/// The scopes the gateway knows, by path.
pub(crate) const SCOPE_CREATE: &str = "https://api.sberbank.ru/qr/order.create";
/// `/status`.
pub(crate) const SCOPE_STATUS: &str = "https://api.sberbank.ru/qr/order.status";
/// `/revocation`.
pub(crate) const SCOPE_REVOKE: &str = "https://api.sberbank.ru/qr/order.revoke";
/// `/cancel`.
pub(crate) const SCOPE_CANCEL: &str = "https://api.sberbank.ru/qr/order.cancel";
/// `/registry`.
pub(crate) const SCOPE_REGISTRY: &str = "auth://qr/order.registry";

const SCOPES: [&str; 5] = [
    SCOPE_CREATE,
    SCOPE_STATUS,
    SCOPE_REVOKE,
    SCOPE_CANCEL,
    SCOPE_REGISTRY,
];

/// Whether `text` is 32 hex digits (the spec's `RqUID` pattern).
pub(crate) fn is_rq_uid(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sber's timestamps: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn utc_text(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Operation times as the spec's sample registry writes them: Moscow time with a `Z`.
fn operation_text(at: DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Fresh ids for a transition.
pub(crate) fn fresh_ids() -> FreshIds {
    let id = uuid::Uuid::new_v4();
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let digits: String = a
        .as_bytes()
        .iter()
        .chain(b.as_bytes())
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    FreshIds {
        id: id.simple().to_string(),
        qrc_id: fresh_qr_id(QrType::Dynamic),
        auth_code: digits.get(..6).unwrap_or("000000").to_owned(),
        rrn: digits.get(6..18).unwrap_or("000000000000").to_owned(),
    }
}

/// Standard base64 with padding (the `Basic` credentials; no crate for twenty lines).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let index = usize::try_from((n >> shift) & 0x3F).unwrap_or(0);
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(v) = hex {
                        out.push(v);
                        i += 2;
                    } else {
                        out.push(b);
                    }
                }
                _ => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The gateway's `RqUID` header check.
fn check_rq_uid_header(headers: &HeaderMap) -> Result<String, GatewayError> {
    match header(headers, "RqUID") {
        None | Some("") => Err(GatewayError::new(
            StatusCode::BAD_REQUEST,
            "Empty header: rquid",
        )),
        Some(v) if is_rq_uid(v) => Ok(v.to_owned()),
        Some(_) => Err(GatewayError::new(
            StatusCode::BAD_REQUEST,
            "rquid header does not match pattern: ^(([0-9]|[a-f]|[A-F]){32})$",
        )),
    }
}

// --- OAuth ---------------------------------------------------------------------------------

/// `POST /sber/tokens/v3/oauth`: client credentials (`Authorization: Basic`), one scope.
async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    match issue_token(&sandbox, &headers, &body) {
        Ok((rq_uid, answer)) => {
            let mut response = (StatusCode::OK, Json(answer)).into_response();
            if let Ok(value) = rq_uid.parse() {
                response.headers_mut().insert("RqUID", value);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

fn issue_token(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, Value), GatewayError> {
    let rq_uid = check_rq_uid_header(headers)?;
    let config = &sandbox.inner.config;
    let expected = format!(
        "Basic {}",
        base64(format!("{}:{}", config.sber_client_id, config.sber_client_secret).as_bytes())
    );
    match header(headers, "Authorization") {
        None | Some("") => {
            return Err(GatewayError::new(
                StatusCode::BAD_REQUEST,
                "Empty header: authorization",
            ));
        }
        Some(given) if given == expected => {}
        Some(_) => {
            return Err(GatewayError::new(
                StatusCode::UNAUTHORIZED,
                "Client id not registered.",
            ));
        }
    }
    let fields = form_fields(body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return Err(GatewayError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ));
    }
    let scope = field("scope")
        .filter(|s| SCOPES.contains(s))
        .ok_or_else(|| GatewayError::new(StatusCode::BAD_REQUEST, "invalid_scope"))?
        .to_owned();
    let access_token = uuid::Uuid::new_v4().to_string();
    sandbox
        .lock()
        .sber
        .issue_token(access_token.clone(), &scope, sandbox.now());
    Ok((
        rq_uid,
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": crate::sber::books::TOKEN_LIFETIME,
            "scope": scope,
            "session_state": uuid::Uuid::new_v4().to_string(),
        }),
    ))
}

/// The gateway's checks of an order-API call: a live token of `scope`, a valid `RqUID`.
fn authorize(sandbox: &Sandbox, headers: &HeaderMap, scope: &str) -> Result<(), GatewayError> {
    let token = header(headers, "Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            GatewayError::new(StatusCode::UNAUTHORIZED, "Empty header: authorization")
        })?;
    if !sandbox
        .lock()
        .sber
        .token_allows(token, scope, sandbox.now())
    {
        return Err(GatewayError::new(
            StatusCode::UNAUTHORIZED,
            "Token is invalid, expired or of another scope",
        ));
    }
    check_rq_uid_header(headers).map(drop)
}

// --- the order API -------------------------------------------------------------------------

/// The request fields every order call has.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    rq_uid: Option<String>,
}

/// Why a request was not read: the gateway refused it, or its body is not valid.
enum Unread {
    /// The gateway's refusal.
    Gateway(GatewayError),
    /// A business error about the body (`05XXXX`), answered with the `rq_uid` it had.
    Body {
        rq_uid: String,
        rq_tm: String,
        error: SberError,
    },
}

impl IntoResponse for Unread {
    fn into_response(self) -> Response {
        match self {
            Unread::Gateway(e) => e.into_response(),
            Unread::Body {
                rq_uid,
                rq_tm,
                error,
            } => error.answer(&rq_uid, &rq_tm),
        }
    }
}

/// Reads `body` as `T` after the gateway's checks; the `rq_uid` to echo comes with it.
fn read<T: for<'de> Deserialize<'de>>(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    scope: &str,
    body: &[u8],
) -> Result<(String, T), Unread> {
    authorize(sandbox, headers, scope).map_err(Unread::Gateway)?;
    let rq_tm = utc_text(sandbox.now());
    let rq_uid = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.rq_uid)
        .unwrap_or_default();
    if !is_rq_uid(&rq_uid) {
        return Err(Unread::Body {
            rq_uid,
            rq_tm,
            error: SberError::Invalid("rq_uid: 32 шестнадцатеричных символа".into()),
        });
    }
    match serde_json::from_slice(body) {
        Ok(request) => Ok((rq_uid, request)),
        Err(e) => Err(Unread::Body {
            rq_uid,
            rq_tm,
            error: SberError::Invalid(format!("некорректное тело запроса: {e}")),
        }),
    }
}

/// A success answer: `fields` with `rq_uid`, `rq_tm` and `error_code` `000000`.
fn success(sandbox: &Sandbox, rq_uid: &str, fields: Value) -> Response {
    let mut body = json!({
        "rq_uid": rq_uid,
        "rq_tm": utc_text(sandbox.now()),
        "error_code": "000000",
        "error_description": "",
    });
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn refuse(sandbox: &Sandbox, rq_uid: &str, error: &SberError) -> Response {
    error.answer(rq_uid, &utc_text(sandbox.now()))
}

/// Applies [`crate::Faults`] to the order API (not to tokens), in Sber's shapes.
async fn inject_faults(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let (latency_ms, fault) = sandbox.lock().faults.take_fault();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let unavailable = || {
        GatewayError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error (sandbox fault)",
        )
        .into_response()
    };
    match fault {
        Some(Injected::Http500) => unavailable(),
        Some(Injected::BusinessError) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let rq_uid = serde_json::from_slice::<Envelope>(&bytes)
                .ok()
                .and_then(|e| e.rq_uid)
                .unwrap_or_default();
            drop(parts);
            refuse(&sandbox, &rq_uid, &SberError::Injected)
        }
        None => {
            let path = request.uri().path().to_owned();
            let changes_something = ["/creation", "/revocation", "/cancel"]
                .iter()
                .any(|p| path.ends_with(p));
            let response = next.run(request).await;
            if changes_something && sandbox.lock().faults.take_lost_answer() {
                tracing::info!(
                    "sandbox Sber: the call was carried out, its answer is lost (fault)"
                );
                return unavailable();
            }
            let slow = sandbox.lock().faults.take_slow_answer();
            if !slow.is_zero() {
                tracing::info!(
                    ?slow,
                    "sandbox Sber: the call was carried out, its answer comes late (fault)"
                );
                tokio::time::sleep(slow).await;
            }
            response
        }
    }
}

#[derive(Debug, Deserialize)]
struct CreationRequest {
    member_id: String,
    order_number: String,
    order_create_date: String,
    id_qr: String,
    order_sum: i64,
    currency: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sbp_member_id: Option<String>,
}

/// `POST /sber/qr/order/v3/creation`.
async fn creation(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let (rq_uid, request) = match read::<CreationRequest>(&sandbox, &headers, SCOPE_CREATE, &body) {
        Ok(read) => read,
        Err(unread) => return unread.into_response(),
    };
    let config = &sandbox.inner.config;
    let new = NewOrder {
        member_id: request.member_id,
        order_number: request.order_number,
        order_create_date: request.order_create_date,
        id_qr: request.id_qr,
        amount: request.order_sum,
        currency: request.currency,
        description: request.description,
        sbp_member_id: request.sbp_member_id,
    };
    let result = sandbox.lock().sber.create(
        new,
        &config.sber_member_id,
        &config.sber_tid,
        fresh_ids(),
        sandbox.now(),
    );
    match result {
        Ok(order) => {
            tracing::info!(order_id = %order.id, order_number = %order.order_number, "sandbox Sber order created");
            success(
                &sandbox,
                &rq_uid,
                json!({
                    "order_number": order.order_number,
                    "order_id": order.id,
                    "order_state": order.state_text(),
                    "order_form_url": order.payload,
                }),
            )
        }
        Err(e) => refuse(&sandbox, &rq_uid, &e),
    }
}

#[derive(Debug, Deserialize)]
struct StatusRequest {
    #[serde(default)]
    order_id: Option<String>,
    tid: String,
    partner_order_number: String,
}

/// One operation as `/status` lists it.
fn operation_json(op: &SbOperation) -> Value {
    json!({
        "operation_id": op.id,
        "operation_date_time": operation_text(op.at),
        "rrn": op.rrn,
        "operation_type": op.kind.as_str(),
        "operation_sum": op.sum.get(),
        "operation_currency": "643",
        "auth_code": op.auth_code,
        "response_code": op.response_code(),
        "response_desc": op.response_desc(),
    })
}

/// `POST /sber/qr/order/v3/status`.
async fn status(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let (rq_uid, request) = match read::<StatusRequest>(&sandbox, &headers, SCOPE_STATUS, &body) {
        Ok(read) => read,
        Err(unread) => return unread.into_response(),
    };
    let result = sandbox.lock().sber.status(
        request.order_id.as_deref(),
        &request.tid,
        &request.partner_order_number,
    );
    match result {
        Ok((order, refund_completed)) => {
            if refund_completed {
                sandbox.notify_sber(&order);
            }
            let mut fields = json!({
                "mid": format!("{:0>15}", order.tid),
                "tid": order.tid,
                "id_qr": order.tid,
                "order_id": order.id,
                "order_state": order.state_text(),
            });
            if !order.operations.is_empty()
                && let Some(map) = fields.as_object_mut()
            {
                map.insert(
                    "order_operation_params".into(),
                    Value::Array(order.operations.iter().map(operation_json).collect()),
                );
                if order.sbp && order.pay().is_some() {
                    map.insert(
                        "sbp_operation_params".into(),
                        json!({
                            "sbp_operation_id": format!("B{}", order.id.to_ascii_uppercase()),
                            "sbp_masked_payer_id": "*********6731",
                        }),
                    );
                }
            }
            success(&sandbox, &rq_uid, fields)
        }
        Err(e) => refuse(&sandbox, &rq_uid, &e),
    }
}

#[derive(Debug, Deserialize)]
struct RevocationRequest {
    order_id: String,
}

/// `POST /sber/qr/order/v3/revocation`. With the `customer_pays_before_cancel` fault the
/// customer pays a moment before (the revocation is then refused: the order is `PAID`).
async fn revocation(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let (rq_uid, request) = match read::<RevocationRequest>(&sandbox, &headers, SCOPE_REVOKE, &body)
    {
        Ok(read) => read,
        Err(unread) => return unread.into_response(),
    };
    let id = request.order_id;
    let raced = {
        let mut books = sandbox.lock();
        let open = books.sber.is_open(&id);
        if open && books.faults.take_pay_before_cancel() {
            books.sber.pay(&id, fresh_ids(), sandbox.now()).ok()
        } else if open && books.faults.take_refused_deactivation() {
            drop(books);
            return refuse(&sandbox, &rq_uid, &SberError::Injected);
        } else if open && books.faults.take_ignored_deactivation(&id) {
            tracing::info!(order_id = %id, "sandbox Sber: revocation answered, not carried out (fault)");
            return success(
                &sandbox,
                &rq_uid,
                json!({"order_id": id, "order_state": "REVOKED"}),
            );
        } else {
            None
        }
    };
    if let Some(order) = &raced {
        tracing::info!(order_id = %id, "sandbox Sber: the customer paid just before the revocation (fault)");
        sandbox.notify_sber(order);
    }
    let result = sandbox.lock().sber.revoke(&id);
    match result {
        Ok(order) => success(
            &sandbox,
            &rq_uid,
            json!({"order_id": order.id, "order_state": order.state_text()}),
        ),
        Err(e) => refuse(&sandbox, &rq_uid, &e),
    }
}

#[derive(Debug, Deserialize)]
struct CancelBody {
    order_id: String,
    #[serde(default)]
    operation_type: Option<String>,
    operation_id: String,
    auth_code: String,
    id_qr: String,
    tid: String,
    cancel_operation_sum: i64,
    operation_currency: String,
}

/// `POST /sber/qr/order/v3/cancel`.
async fn cancel(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let (rq_uid, request) = match read::<CancelBody>(&sandbox, &headers, SCOPE_CANCEL, &body) {
        Ok(read) => read,
        Err(unread) => return unread.into_response(),
    };
    let request = CancelRequest {
        order_id: request.order_id,
        // The spec's default.
        operation_type: request.operation_type.unwrap_or_else(|| "REFUND".into()),
        operation_id: request.operation_id,
        auth_code: request.auth_code,
        tid: request.tid,
        id_qr: request.id_qr,
        sum: request.cancel_operation_sum,
        currency: request.operation_currency,
    };
    let result = sandbox
        .lock()
        .sber
        .cancel(request, fresh_ids(), sandbox.now());
    match result {
        Ok((order, refund)) => {
            tracing::info!(order_id = %order.id, refund = %refund.id, sum = %refund.sum, "sandbox Sber refund with the SBP");
            success(
                &sandbox,
                &rq_uid,
                json!({
                    "order_id": order.id,
                    "order_status": order.state_text(),
                    "operation_id": refund.id,
                    "operation_date_time": operation_text(refund.at),
                    "operation_type": refund.kind.as_str(),
                    "operation_sum": refund.sum.get(),
                    "operation_currency": "643",
                    "auth_code": refund.auth_code,
                    "rrn": refund.rrn,
                    "tid": order.tid,
                    "id_qr": order.tid,
                    "sbp_operation_params": {
                        "sbp_cancel_operation_id": format!("D{}", refund.id.to_ascii_uppercase()),
                        "sbp_merchant_name": "ООО \"Песочница\"",
                    },
                }),
            )
        }
        Err(e) => refuse(&sandbox, &rq_uid, &e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistryRequest {
    rq_uid: String,
    #[serde(rename = "idQR")]
    id_qr: String,
    start_period: String,
    end_period: String,
    registry_type: String,
}

/// A registry period bound: the spec says "по Мск", written with `Z`.
fn period_bound(text: &str) -> Result<DateTime<FixedOffset>, SberError> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .map_err(|e| SberError::Invalid(format!("период {text:?}: {e}")))?;
    qrpayd_domain::moscow::offset()
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| SberError::Invalid(format!("период {text:?}")))
}

/// `POST /sber/qr/order/v3/registry` (camelCase): the paid orders made in the period, with
/// their successful operations (`REGISTRY`), or the totals (`QUANTITY`).
async fn registry(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = authorize(&sandbox, &headers, SCOPE_REGISTRY) {
        return e.into_response();
    }
    let rq_tm = utc_text(sandbox.now());
    let request: RegistryRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return registry_error(&rq_tm, "", &SberError::Invalid(e.to_string()));
        }
    };
    let period = period_bound(&request.start_period)
        .and_then(|from| Ok((from, period_bound(&request.end_period)?)));
    let (from, to) = match period {
        Ok(p) => p,
        Err(e) => return registry_error(&rq_tm, &request.rq_uid, &e),
    };
    let tid = sandbox.inner.config.sber_tid.clone();
    if request.id_qr != tid {
        return registry_error(
            &rq_tm,
            &request.rq_uid,
            &SberError::QrNotFound(request.id_qr),
        );
    }
    let orders: Vec<SbOrder> = sandbox
        .lock()
        .sber
        .all()
        .into_iter()
        .filter(|o| {
            o.tid == tid && o.state == SbState::Paid && o.created >= from && o.created <= to
        })
        .collect();
    let mut body = json!({
        "rqUid": request.rq_uid,
        "rqTm": rq_tm,
        "errorCode": "000000",
        "tid": tid,
        "idQR": tid,
    });
    let Some(map) = body.as_object_mut() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match request.registry_type.as_str() {
        "REGISTRY" => {
            let list: Vec<Value> = orders.iter().map(registry_order).collect();
            map.insert(
                "registryData".into(),
                json!({"orderParams": {"orderParam": list}}),
            );
        }
        "QUANTITY" => {
            let paid: i64 = orders
                .iter()
                .filter_map(|o| o.pay())
                .map(|p| p.sum.get())
                .sum();
            let refunded: i64 = orders.iter().map(|o| o.refunded().get()).sum();
            let count = orders
                .iter()
                .flat_map(|o| o.operations.iter())
                .filter(|op| op.response_code() == crate::sber::books::APPROVED)
                .count();
            map.insert(
                "quantityData".into(),
                json!({
                    "totalCount": count,
                    "totalPaymentAmount": paid,
                    "totalRefundAmount": refunded,
                    "totalAmount": paid - refunded,
                }),
            );
        }
        other => {
            return registry_error(
                &rq_tm,
                &request.rq_uid,
                &SberError::Invalid(format!("registryType {other:?}")),
            );
        }
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn registry_order(order: &SbOrder) -> Value {
    let operations: Vec<Value> = order
        .operations
        .iter()
        .filter(|op| op.response_code() == crate::sber::books::APPROVED)
        .map(|op| {
            json!({
                "operationId": op.id,
                "operationDateTime": operation_text(op.at),
                "rrn": op.rrn,
                "operationType": op.kind.as_str(),
                "operationSum": op.sum.get(),
                "operationCurrency": "643",
                "authCode": op.auth_code,
                "responseCode": op.response_code(),
            })
        })
        .collect();
    json!({
        "orderId": order.id,
        "partnerOrderNumber": order.order_number,
        "amount": order.amount.get(),
        "currency": "643",
        "orderCreateDate": order.create_date,
        "orderState": order.state_text(),
        "orderOperationParams": {"orderOperationParam": operations},
    })
}

fn registry_error(rq_tm: &str, rq_uid: &str, error: &SberError) -> Response {
    let body = json!({
        "rqUid": rq_uid,
        "rqTm": rq_tm,
        "errorCode": error.code(),
        "errorDescription": error.to_string(),
    });
    (StatusCode::OK, Json(body)).into_response()
}

// --- notifications and controls -------------------------------------------------------------

/// A notification's body (camelCase, as the bank's notification page lists the fields).
pub(crate) fn notification_body(order: &SbOrder, member_id: &str, now: DateTime<Utc>) -> String {
    json!({
        "rqUid": uuid::Uuid::new_v4().simple().to_string(),
        "rqTm": utc_text(now),
        "memberId": member_id,
        "idQR": order.tid,
        "tid": order.tid,
        "orderId": order.id,
        "partnerOrderNumber": order.order_number,
        "orderState": order.state_text(),
    })
    .to_string()
}

/// `PUT /sandbox/sber/notification-url` body.
#[derive(Debug, Deserialize)]
struct NotificationUrl {
    /// Where notifications go.
    url: Option<String>,
}

/// `PUT /sandbox/sber/notification-url`: where the terminal's notifications go (at the bank,
/// Sber's support sets it up; `null` clears it).
async fn put_notification_url(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let request: NotificationUrl = parse_body(&body)?;
    if let Some(url) = &request.url {
        match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(SandboxError::InvalidRequest(
                    "url должен быть http(s) URL".into(),
                ));
            }
        }
    }
    sandbox.set_sber_notification_url(request.url.clone());
    Ok(Json(json!({ "url": request.url })))
}

/// One order in the sandbox overview.
pub(crate) fn summary(order: &SbOrder) -> Value {
    json!({
        "orderId": order.id,
        "orderNumber": order.order_number,
        "tid": order.tid,
        "amount": order.amount.get(),
        "orderState": order.state_text(),
        "sbp": order.sbp,
        "description": order.description,
        "createDate": operation_text(order.created),
        "payload": order.payload,
        "kept": order.kept().get(),
        "operations": order.operations.iter().map(operation_json).collect::<Vec<_>>(),
    })
}

/// The terminal's API under `/sber/` (the order API with fault injection) and its
/// sandbox-only control.
pub(crate) fn router(sandbox: &Sandbox) -> Router<Sandbox> {
    let api = Router::new()
        .route("/sber/qr/order/v3/creation", post(creation))
        .route("/sber/qr/order/v3/status", post(status))
        .route("/sber/qr/order/v3/revocation", post(revocation))
        .route("/sber/qr/order/v3/cancel", post(cancel))
        .route("/sber/qr/order/v3/registry", post(registry))
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            inject_faults,
        ));
    Router::new()
        .route("/sber/tokens/v3/oauth", post(token))
        .route("/sandbox/sber/notification-url", put(put_notification_url))
        .merge(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_forms_as_the_rfcs_say() {
        // RFC 4648 §10 vectors.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(
            form_fields(b"grant_type=client_credentials&scope=https%3A%2F%2Fapi.sberbank.ru%2Fqr%2Forder.create"),
            [
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), SCOPE_CREATE.to_owned())
            ]
        );
        assert!(is_rq_uid("d0c5d5d03e074ad7ba2e2e248eef7e9c"));
        assert!(!is_rq_uid("d0c5d5d03e074ad7ba2e2e248eef7e9"));
        let ids = fresh_ids();
        assert_eq!(
            (ids.id.len(), ids.auth_code.len(), ids.rrn.len()),
            (32, 6, 12)
        );
    }
}
