//! The T-Bank terminal's HTTP face under `/tbank/v2/`: the wire (T-Bank's field names, `Token`
//! checked on every request with the terminal's password), the handlers, and the
//! notification bodies.

use crate::faults::Injected;
use crate::handle::Sandbox;
use crate::qrc_id::fresh_qr_id;
use crate::raiffeisen::model::QrType;
use crate::raiffeisen::model::RefundStatus;
use crate::raiffeisen::{SandboxError, parse_body};
use crate::tbank::books::{Cancelled, NewPayment, TbEvent, TbPayment};
use crate::tbank::error::TbankError;
use crate::time::micros_text;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use chrono::DateTime;
use qrpayd_bank::tbank::{raw_token, same_token};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::secret::Secret;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

// --- the wire ------------------------------------------------------------------------------

/// `PaymentId` as a string or a number.
fn flexible_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    }))
}

/// Every field any method reads (T-Bank's names); others (`DATA`, `Receipt`, and
/// `ExternalRequestId`, which the spec says does not work for SBP) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TbRequest {
    /// The terminal.
    terminal_key: Option<String>,
    /// Kopecks.
    amount: Option<i64>,
    /// `Init`.
    order_id: Option<String>,
    /// `Init`.
    description: Option<String>,
    /// `Init`: `YYYY-MM-DDTHH:MM:SS+03:00`.
    redirect_due_date: Option<String>,
    /// `Init`.
    #[serde(rename = "NotificationURL")]
    notification_url: Option<String>,
    /// The payment.
    #[serde(deserialize_with = "flexible_id")]
    payment_id: Option<String>,
    /// `GetQr`: `PAYLOAD` or `IMAGE`.
    data_type: Option<String>,
    /// `SbpPayTest`.
    is_deadline_expired: Option<bool>,
    /// `SbpPayTest`.
    is_rejected: Option<bool>,
}

impl TbRequest {
    fn payment_id(&self) -> Result<&str, TbankError> {
        self.payment_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| TbankError::Invalid("не передан PaymentId".into()))
    }
}

/// Reads a request and checks its terminal and `Token`.
fn verified(sandbox: &Sandbox, body: &[u8]) -> Result<TbRequest, TbankError> {
    let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(body)
        .map_err(|e| TbankError::Invalid(format!("некорректный JSON: {e}")))?;
    let request: TbRequest = serde_json::from_slice(body)
        .map_err(|e| TbankError::Invalid(format!("некорректные поля: {e}")))?;
    if request.terminal_key.as_deref() != Some(sandbox.tbank_terminal_key()) {
        return Err(TbankError::UnknownTerminal);
    }
    let given: Option<String> = fields
        .get("Token")
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let expected = raw_token(&fields, &Secret::new(sandbox.tbank_password()));
    match (given, expected) {
        (Some(given), Some(expected)) if same_token(&given, &expected) => Ok(request),
        _ => Err(TbankError::BadToken),
    }
}

/// A success answer with `fields`.
fn success(sandbox: &Sandbox, fields: Vec<(&str, Value)>) -> Response {
    let mut body = Map::new();
    body.insert("Success".into(), Value::Bool(true));
    body.insert("ErrorCode".into(), Value::String("0".into()));
    body.insert(
        "TerminalKey".into(),
        Value::String(sandbox.tbank_terminal_key().to_owned()),
    );
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    (StatusCode::OK, Json(Value::Object(body))).into_response()
}

fn kopecks_value(amount: Kopecks) -> Value {
    Value::from(amount.get())
}

/// Applies [`crate::Faults`] to the `/tbank/v2` calls except `SbpPayTest`, in T-Bank's shape.
pub(crate) async fn inject_faults(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let (latency_ms, fault) = sandbox.lock().faults.take_fault();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fault {
        Some(Injected::Http500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(Injected::BusinessError) => TbankError::Injected.into_response(),
        None => {
            let path = request.uri().path();
            let changes_something = path.ends_with("/Init") || path.ends_with("/Cancel");
            let response = next.run(request).await;
            if changes_something && sandbox.lock().faults.take_lost_answer() {
                tracing::info!(
                    "sandbox T-Bank: the call was carried out, its answer is lost (fault)"
                );
                return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    .into_response();
            }
            let slow = sandbox.lock().faults.take_slow_answer();
            if !slow.is_zero() {
                tracing::info!(
                    ?slow,
                    "sandbox T-Bank: the call was carried out, its answer comes late (fault)"
                );
                tokio::time::sleep(slow).await;
            }
            response
        }
    }
}

/// Verifies and applies the request (the handler below answers it).
fn init_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbPayment, TbankError> {
    let request = verified(sandbox, body)?;
    let amount = request
        .amount
        .and_then(|a| Kopecks::new(a).ok())
        .ok_or_else(|| TbankError::Invalid("не передан Amount (копейки)".into()))?;
    let due = request
        .redirect_due_date
        .as_deref()
        .map(DateTime::parse_from_rfc3339)
        .transpose()
        .map_err(|e| TbankError::Invalid(format!("RedirectDueDate: {e}")))?;
    let new = NewPayment {
        order_id: request.order_id.unwrap_or_default(),
        amount,
        description: request.description,
        due,
        notification_url: request.notification_url,
    };
    sandbox.lock().tbank.init(new, sandbox.now())
}

/// `POST /tbank/v2/Init`.
pub(crate) async fn init(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = init_call(&sandbox, &body);
    match result {
        Ok(payment) => {
            tracing::info!(payment_id = %payment.id, order = %payment.order_id, "sandbox T-Bank payment created");
            success(
                &sandbox,
                vec![
                    ("Status", Value::String(payment.status_text().into())),
                    ("PaymentId", Value::String(payment.id.clone())),
                    ("OrderId", Value::String(payment.order_id.clone())),
                    ("Amount", kopecks_value(payment.amount)),
                    (
                        "PaymentURL",
                        Value::String(format!(
                            "{}/tbank/pay/{}",
                            crate::raiffeisen::model::QR_URL_BASE,
                            payment.id
                        )),
                    ),
                ],
            )
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn get_qr_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbPayment, TbankError> {
    let request = verified(sandbox, body)?;
    match request.data_type.as_deref() {
        None | Some("PAYLOAD") => {}
        Some(other) => {
            return Err(TbankError::Invalid(format!(
                "DataType {other:?} не поддерживается песочницей (только PAYLOAD)"
            )));
        }
    }
    let id = request.payment_id()?.to_owned();
    sandbox
        .lock()
        .tbank
        .get_qr(&id, sandbox.now(), || fresh_qr_id(QrType::Dynamic))
}

/// `POST /tbank/v2/GetQr`.
pub(crate) async fn get_qr(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_qr_call(&sandbox, &body);
    match result {
        Ok(payment) => success(
            &sandbox,
            vec![
                ("OrderId", Value::String(payment.order_id.clone())),
                ("PaymentId", payment_id_number(&payment.id)),
                (
                    "Data",
                    Value::String(payment.payload.clone().unwrap_or_default()),
                ),
            ],
        ),
        Err(e) => e.into_response(),
    }
}

/// `PaymentId` as the number notifications and some answers carry.
fn payment_id_number(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(id.to_owned()))
}

/// Verifies and applies the request (the handler below answers it).
fn get_state_call(
    sandbox: &Sandbox,
    body: &[u8],
) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.state(&id, sandbox.now())
}

/// `POST /tbank/v2/GetState`.
pub(crate) async fn get_state(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_state_call(&sandbox, &body);
    match result {
        Ok((payment, event)) => {
            if let Some(event) = event {
                sandbox.notify_tbank(&event);
            }
            success(
                &sandbox,
                vec![
                    ("OrderId", Value::String(payment.order_id.clone())),
                    ("PaymentId", Value::String(payment.id.clone())),
                    ("Status", Value::String(payment.status_text().into())),
                    ("Amount", kopecks_value(payment.left_after_completed())),
                ],
            )
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it). With the
/// `customer_pays_before_cancel` fault, the customer pays an open payment a moment before the
/// cancel arrives (the race a real terminal has), and the bank refunds it.
fn cancel_call(sandbox: &Sandbox, body: &[u8]) -> Result<Cancelled, TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    let amount = request
        .amount
        .map(|a| Kopecks::new(a).map_err(|e| TbankError::Invalid(format!("Amount: {e}"))))
        .transpose()?;
    let now = sandbox.now();
    let raced = {
        let mut state = sandbox.lock();
        let open = state.tbank.is_open(&id, now);
        if open && state.faults.take_pay_before_cancel() {
            Some(state.tbank.pay_test(&id, false, false, now)?)
        } else if open && state.faults.take_refused_deactivation() {
            return Err(TbankError::Injected);
        } else if open && state.faults.take_ignored_deactivation(&id) {
            tracing::info!(payment_id = %id, "sandbox T-Bank: Cancel answered, not carried out (fault)");
            return state.tbank.cancel_in_words_only(&id, now);
        } else {
            None
        }
    };
    if let Some(event) = &raced {
        tracing::info!(payment_id = %id, "sandbox T-Bank: the customer paid just before the cancel (fault)");
        sandbox.notify_tbank(event);
    }
    // The refund the race causes covers the whole payment, whatever `Amount` said.
    let amount = if raced.is_some() { None } else { amount };
    sandbox.lock().tbank.cancel(&id, amount, now)
}

/// `POST /tbank/v2/Cancel`.
pub(crate) async fn cancel(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = cancel_call(&sandbox, &body);
    match result {
        Ok(done) => success(
            &sandbox,
            vec![
                ("OrderId", Value::String(done.payment.order_id.clone())),
                ("PaymentId", Value::String(done.payment.id.clone())),
                ("Status", Value::String(done.status.into())),
                ("OriginalAmount", kopecks_value(done.original)),
                ("NewAmount", kopecks_value(done.new)),
            ],
        ),
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn get_qr_state_call(
    sandbox: &Sandbox,
    body: &[u8],
) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.qr_state(&id, sandbox.now())
}

/// `POST /tbank/v2/GetQrState`.
pub(crate) async fn get_qr_state(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_qr_state_call(&sandbox, &body);
    match result {
        Ok((payment, event)) => {
            if let Some(event) = event {
                sandbox.notify_tbank(&event);
            }
            let mut fields = vec![
                ("OrderId", Value::String(payment.order_id.clone())),
                ("Status", Value::String(payment.status_text().into())),
            ];
            if let Some(latest) = payment.refunds.last() {
                fields.push(("Amount", kopecks_value(latest.amount)));
                if latest.status == RefundStatus::Declined {
                    fields.push((
                        "QrCancelCode",
                        Value::String(crate::tbank::books::REFUND_FAILED_CODE.into()),
                    ));
                    fields.push((
                        "QrCancelMessage",
                        Value::String("Возврат отклонён банком получателя (песочница)".into()),
                    ));
                }
            }
            success(&sandbox, fields)
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn sbp_pay_test_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbEvent, TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.pay_test(
        &id,
        request.is_deadline_expired.unwrap_or(false),
        request.is_rejected.unwrap_or(false),
        sandbox.now(),
    )
}

/// `POST /tbank/v2/SbpPayTest`.
pub(crate) async fn sbp_pay_test(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = sbp_pay_test_call(&sandbox, &body);
    match result {
        Ok(event) => {
            tracing::info!(payment_id = %event.payment_id, status = event.status, "sandbox T-Bank SbpPayTest");
            sandbox.notify_tbank(&event);
            success(&sandbox, vec![])
        }
        Err(e) => e.into_response(),
    }
}

/// `PUT /sandbox/tbank/notification-url` body.
#[derive(Debug, Deserialize)]
struct NotificationUrl {
    /// Where notifications go when a payment was created without `NotificationURL`.
    url: Option<String>,
}

/// `PUT /sandbox/tbank/notification-url`: the terminal's notification URL (`null` clears it).
pub(crate) async fn put_notification_url(
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
    sandbox.set_tbank_notification_url(request.url.clone());
    Ok(Json(serde_json::json!({ "url": request.url })))
}

/// A notification's body: the event's fields and their `Token`.
pub(crate) fn notification_body(event: &TbEvent, terminal_key: &str, password: &Secret) -> String {
    let mut body = Map::new();
    body.insert("TerminalKey".into(), Value::String(terminal_key.to_owned()));
    body.insert("OrderId".into(), Value::String(event.order_id.clone()));
    body.insert("Success".into(), Value::Bool(true));
    body.insert("Status".into(), Value::String(event.status.into()));
    body.insert("PaymentId".into(), payment_id_number(&event.payment_id));
    body.insert("ErrorCode".into(), Value::String("0".into()));
    body.insert("Amount".into(), kopecks_value(event.amount));
    let token = qrpayd_bank::tbank::request_token(&body, password);
    body.insert("Token".into(), Value::String(token));
    Value::Object(body).to_string()
}

/// One payment in the sandbox overview.
pub(crate) fn summary(payment: &TbPayment) -> Value {
    serde_json::json!({
        "paymentId": payment.id,
        "orderId": payment.order_id,
        "amount": payment.amount.get(),
        "status": payment.status_text(),
        "description": payment.description,
        "redirectDueDate": payment.due.map(|d| d.to_rfc3339()),
        "createDate": micros_text(payment.created),
        "payload": payment.payload,
        "refunds": payment.refunds.iter().map(|r| serde_json::json!({
            "number": r.number,
            "amount": r.amount.get(),
            "before": r.before.get(),
            "after": r.after.get(),
            "status": r.status_text(),
        })).collect::<Vec<_>>(),
    })
}

/// The terminal's API under `/tbank/v2/` (with fault injection) and its sandbox-only controls
/// (T-Bank's own `SbpPayTest`, the terminal's notification URL).
pub(crate) fn router(sandbox: &Sandbox) -> Router<Sandbox> {
    let api = Router::new()
        .route("/tbank/v2/Init", post(init))
        .route("/tbank/v2/GetQr", post(get_qr))
        .route("/tbank/v2/GetState", post(get_state))
        .route("/tbank/v2/Cancel", post(cancel))
        .route("/tbank/v2/GetQrState", post(get_qr_state))
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            inject_faults,
        ));
    let controls = Router::new()
        .route("/tbank/v2/SbpPayTest", post(sbp_pay_test))
        .route("/sandbox/tbank/notification-url", put(put_notification_url));
    api.merge(controls)
}
