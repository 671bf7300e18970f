//! The RBS gateway's HTTP face under `/rbs/payment/rest/`: form parameters in, JSON out, the
//! merchant's login or token checked on every call, business errors with HTTP 200
//! (`errorCode`), the shared faults in the gateway's shape, and the notification bodies.

use crate::faults::Injected;
use crate::handle::Sandbox;
use crate::qrc_id::fresh_qr_id;
use crate::raiffeisen::model::QrType;
use crate::rbs::books::{NewOrder, RbsEvent, RbsOrder, RefundState};
use crate::rbs::error::RbsError;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::NaiveDateTime;
use qrpayd_bank::rbs::checksum::{encode_form, parse_form, symmetric_checksum};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::secret::Secret;
use serde_json::{Value, json};

/// A call's form parameters.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str, missing: &'static str) -> Result<&str, RbsError> {
        self.get(name).ok_or(RbsError::Missing(missing))
    }

    fn amount(&self) -> Result<Kopecks, RbsError> {
        let text = self.required("amount", "Отсутствует сумма")?;
        text.parse::<i64>()
            .ok()
            .and_then(|k| Kopecks::new(k).ok())
            .ok_or(RbsError::Invalid("amount".into()))
    }
}

/// Reads the form and checks the merchant's credentials: `userName` + `password`, or `token`.
fn verified(sandbox: &Sandbox, body: &[u8]) -> Result<Form, RbsError> {
    let form = Form(parse_form(body).ok_or(RbsError::Invalid("form".into()))?);
    let (user, password) = sandbox.rbs_login();
    let login_ok = form.get("userName") == Some(user) && form.get("password") == Some(password);
    let token_ok = form.get("token") == Some(password) && form.get("userName").is_none();
    if login_ok || token_ok {
        Ok(form)
    } else {
        Err(RbsError::AccessDenied)
    }
}

/// A success answer: `errorCode` `"0"` with `fields`.
fn success(fields: Value) -> Response {
    let mut body = json!({"errorCode": "0", "errorMessage": "Успешно"});
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn answer(result: Result<Value, RbsError>) -> Response {
    match result {
        Ok(fields) => success(fields),
        Err(e) => e.into_response(),
    }
}

/// Applies [`crate::Faults`] to the gateway's calls, in its shape.
async fn inject_faults(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let (latency_ms, fault) = sandbox.lock().faults.take_fault();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fault {
        Some(Injected::Http500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(Injected::BusinessError) => RbsError::Injected.into_response(),
        None => {
            let path = request.uri().path();
            let changes_something = ["/register.do", "/refund.do", "/reject.do"]
                .iter()
                .any(|m| path.ends_with(m));
            let response = next.run(request).await;
            if changes_something && sandbox.lock().faults.take_lost_answer() {
                tracing::info!("sandbox RBS: the call was carried out, its answer is lost (fault)");
                return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    .into_response();
            }
            let slow = sandbox.lock().faults.take_slow_answer();
            if !slow.is_zero() {
                tracing::info!(
                    ?slow,
                    "sandbox RBS: the call was carried out, its answer comes late (fault)"
                );
                tokio::time::sleep(slow).await;
            }
            response
        }
    }
}

/// `expirationDate` (`yyyy-MM-ddTHH:mm:ss`, Moscow time).
fn expiration(text: &str) -> Result<chrono::DateTime<chrono::Utc>, RbsError> {
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .map_err(|_| RbsError::Invalid("expirationDate".into()))?;
    use chrono::TimeZone;
    qrpayd_domain::moscow::offset()
        .from_local_datetime(&local)
        .single()
        .map(|at| at.to_utc())
        .ok_or(RbsError::Invalid("expirationDate".into()))
}

fn register_call(sandbox: &Sandbox, body: &[u8]) -> Result<Value, RbsError> {
    let form = verified(sandbox, body)?;
    let order_number = form
        .required("orderNumber", "Номер заказа не может быть пуст")?
        .to_owned();
    let amount = form.amount()?;
    form.required("returnUrl", "URL возврата не может быть пуст")?;
    if form.get("currency").is_some_and(|c| c != "643") {
        return Err(RbsError::UnknownCurrency);
    }
    let expires = form.get("expirationDate").map(expiration).transpose()?;
    let new = NewOrder {
        order_number,
        amount,
        description: form.get("description").map(str::to_owned),
        expires,
        callback_url: form.get("dynamicCallbackUrl").map(str::to_owned),
    };
    let md_order = uuid::Uuid::new_v4().to_string();
    let order = sandbox.lock().rbs.register(new, md_order, sandbox.now())?;
    tracing::info!(md_order = %order.md_order, order_number = %order.order_number, "sandbox RBS order registered");
    Ok(json!({
        "orderId": order.md_order,
        "formUrl": format!("{}/rbs/payment/merchants/pay?mdOrder={}", crate::raiffeisen::model::QR_URL_BASE, order.md_order),
    }))
}

/// `POST /rbs/payment/rest/register.do`.
async fn register(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    answer(register_call(&sandbox, &body))
}

fn get_qr_call(sandbox: &Sandbox, body: &[u8]) -> Result<Value, RbsError> {
    let form = verified(sandbox, body)?;
    let md_order = form.required("mdOrder", "Не передан mdOrder")?;
    let qr = sandbox
        .lock()
        .rbs
        .dynamic_qr(md_order, sandbox.now(), || fresh_qr_id(QrType::Dynamic))?;
    Ok(json!({
        "qrId": qr.qr_id,
        "payload": qr.payload,
        "qrStatus": qr.state.as_str(),
    }))
}

/// `POST /rbs/payment/rest/sbp/c2b/qr/dynamic/get.do`.
async fn get_qr(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    answer(get_qr_call(&sandbox, &body))
}

fn qr_status_call(sandbox: &Sandbox, body: &[u8]) -> Result<Value, RbsError> {
    let form = verified(sandbox, body)?;
    let md_order = form.required("mdOrder", "Не передан mdOrder")?;
    let qr = sandbox
        .lock()
        .rbs
        .qr_status(md_order, form.get("qrId"), sandbox.now())?;
    Ok(json!({
        "qrStatus": qr.state.as_str(),
        "qrType": "DYNAMIC",
        "transactionState": qr.state.transaction_state(),
    }))
}

/// `POST /rbs/payment/rest/sbp/c2b/qr/status.do`.
async fn qr_status(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    answer(qr_status_call(&sandbox, &body))
}

/// With the `customer_pays_before_cancel` fault the customer pays a payable QR a moment before
/// the reject arrives, which is then refused; `refuse_deactivation_next` refuses it outright;
/// an ignored deactivation is answered `rejected: true` and leaves the QR payable.
fn reject_call(sandbox: &Sandbox, body: &[u8]) -> Result<Value, RbsError> {
    let form = verified(sandbox, body)?;
    let md_order = form.required("mdOrder", "Не передан mdOrder")?.to_owned();
    let now = sandbox.now();
    let raced = {
        let mut books = sandbox.lock();
        let open = books.rbs.is_open(&md_order, now);
        if open && books.faults.take_pay_before_cancel() {
            Some(books.rbs.pay(&md_order, now)?)
        } else if open && books.faults.take_refused_deactivation() {
            return Err(RbsError::Injected);
        } else if open && ignored(&mut books, &md_order, form.get("qrId")) {
            tracing::info!(%md_order, "sandbox RBS: reject.do answered, not carried out (fault)");
            return Ok(json!({ "rejected": true }));
        } else {
            None
        }
    };
    if let Some(event) = raced {
        tracing::info!(%md_order, "sandbox RBS: the customer paid just before the reject (fault)");
        sandbox.notify_rbs(&event);
    }
    sandbox
        .lock()
        .rbs
        .reject(&md_order, form.get("qrId"), now)?;
    Ok(json!({ "rejected": true }))
}

/// Whether this reject is answered but not carried out (`ignore_next_deactivation` of the
/// order, named by its `mdOrder` or by qrpayd's reference of the payment).
fn ignored(books: &mut crate::books::Books, md_order: &str, qr_id: Option<&str>) -> bool {
    let reference = qr_id.map(|qr_id| qrpayd_bank::rbs::reference::pack(md_order, qr_id));
    books.faults.take_ignored_deactivation(md_order)
        || reference.is_some_and(|r| books.faults.take_ignored_deactivation(&r))
}

/// `POST /rbs/payment/rest/sbp/c2b/qr/dynamic/reject.do`.
async fn reject(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    answer(reject_call(&sandbox, &body))
}

fn refund_call(sandbox: &Sandbox, body: &[u8]) -> Result<Value, RbsError> {
    let form = verified(sandbox, body)?;
    let md_order = form.required("orderId", "Не передан orderId")?;
    let amount = form.amount()?;
    if form.get("currency").is_some_and(|c| c != "643") {
        return Err(RbsError::UnknownCurrency);
    }
    let external = form.get("externalRefundId").map(str::to_owned);
    if external.as_ref().is_some_and(|id| id.len() > 32) {
        return Err(RbsError::Invalid("externalRefundId".into()));
    }
    sandbox
        .lock()
        .rbs
        .refund(md_order, amount, external, sandbox.now())?;
    Ok(json!({}))
}

/// `POST /rbs/payment/rest/refund.do`.
async fn refund(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    answer(refund_call(&sandbox, &body))
}

/// The order as `getOrderStatusExtended.do` shows it.
pub(crate) fn order_view(order: &RbsOrder) -> Value {
    let refunded: i64 = order
        .refunds
        .iter()
        .filter(|r| r.state == RefundState::Completed)
        .map(|r| r.amount.get())
        .sum();
    json!({
        "orderNumber": order.order_number,
        "orderStatus": order.order_status,
        "actionCode": order.action_code.parse::<i64>().unwrap_or_default(),
        "actionCodeDescription": "",
        "amount": order.amount.get(),
        "currency": "643",
        "date": order.created.timestamp_millis(),
        "orderDescription": order.description.clone().unwrap_or_default(),
        "attributes": [{"name": "mdOrder", "value": order.md_order}],
        "paymentAmountInfo": {
            "paymentState": match order.order_status {
                0 => "CREATED",
                2 => "DEPOSITED",
                4 => "REFUNDED",
                _ => "DECLINED",
            },
            "depositedAmount": if order.is_paid() { order.amount.get() - refunded } else { 0 },
            "refundedAmount": refunded,
        },
        "refunds": order.refunds.iter().map(|r| {
            let mut entry = json!({
                "externalRefundId": r.external_id,
                "amount": r.amount.get(),
            });
            if let (Some(code), Some(entry)) = (r.action_code(), entry.as_object_mut()) {
                entry.insert("actionCode".into(), json!(code.parse::<i64>().unwrap_or_default()));
            }
            entry
        }).collect::<Vec<_>>(),
    })
}

fn status_call(sandbox: &Sandbox, body: &[u8]) -> Result<(Value, Vec<RbsEvent>), RbsError> {
    let form = verified(sandbox, body)?;
    let md_order = form.required("orderId", "Не передан orderId")?;
    let (order, events) = sandbox.lock().rbs.status(md_order, sandbox.now())?;
    Ok((order_view(&order), events))
}

/// `POST /rbs/payment/rest/getOrderStatusExtended.do`.
async fn status(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match status_call(&sandbox, &body) {
        Ok((view, events)) => {
            for event in &events {
                sandbox.notify_rbs(event);
            }
            success(view)
        }
        Err(e) => e.into_response(),
    }
}

/// A notification's form body: the order's basic parameters and their `checksum`.
pub(crate) fn notification_body(event: &RbsEvent, key: &Secret) -> String {
    let amount = event.order.amount.get().to_string();
    let status = if event.success { "1" } else { "0" };
    let mut params: Vec<(String, String)> = [
        ("mdOrder", event.order.md_order.as_str()),
        ("orderNumber", event.order.order_number.as_str()),
        ("operation", event.operation),
        ("status", status),
        ("amount", amount.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let checksum = symmetric_checksum(&params, key);
    params.push(("checksum".into(), checksum));
    encode_form(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// One order in the sandbox overview.
pub(crate) fn summary(order: &RbsOrder) -> Value {
    json!({
        "mdOrder": order.md_order,
        "orderNumber": order.order_number,
        "amount": order.amount.get(),
        "orderStatus": order.order_status,
        "actionCode": order.action_code,
        "expirationDate": order.expires.to_rfc3339(),
        "qrId": order.qr.as_ref().map(|q| q.qr_id.clone()),
        "qrStatus": order.qr.as_ref().map(|q| q.state.as_str()),
        "payload": order.qr.as_ref().map(|q| q.payload.clone()),
        "refunds": order.refunds.iter().map(|r| json!({
            "externalRefundId": r.external_id,
            "amount": r.amount.get(),
            "state": match r.state {
                RefundState::Pending(_) => "IN_PROGRESS",
                RefundState::Completed => "COMPLETED",
                RefundState::Declined => "DECLINED",
            },
        })).collect::<Vec<_>>(),
    })
}

/// `POST /sandbox/rbs/orders/{mdOrder}/pay`: the customer pays the order's QR.
async fn control_pay(State(sandbox): State<Sandbox>, Path(md_order): Path<String>) -> Response {
    answer(sandbox.rbs_pay(&md_order).map(|()| json!({})))
}

/// `POST /sandbox/rbs/orders/{mdOrder}/decline`: the customer's bank refuses the payment.
async fn control_decline(State(sandbox): State<Sandbox>, Path(md_order): Path<String>) -> Response {
    answer(sandbox.rbs_decline(&md_order).map(|()| json!({})))
}

/// `POST /sandbox/rbs/orders/{mdOrder}/refunds/decline`: the SBP refuses the order's refund in
/// progress.
async fn control_decline_refund(
    State(sandbox): State<Sandbox>,
    Path(md_order): Path<String>,
) -> Response {
    answer(sandbox.rbs_decline_refund(&md_order).map(|()| json!({})))
}

/// The gateway's API under `/rbs/payment/rest/` (with fault injection) and its sandbox-only
/// controls under `/sandbox/rbs/`.
pub(crate) fn router(sandbox: &Sandbox) -> Router<Sandbox> {
    let api = Router::new()
        .route("/rbs/payment/rest/register.do", post(register))
        .route("/rbs/payment/rest/sbp/c2b/qr/dynamic/get.do", post(get_qr))
        .route("/rbs/payment/rest/sbp/c2b/qr/status.do", post(qr_status))
        .route(
            "/rbs/payment/rest/sbp/c2b/qr/dynamic/reject.do",
            post(reject),
        )
        .route("/rbs/payment/rest/getOrderStatusExtended.do", post(status))
        .route("/rbs/payment/rest/refund.do", post(refund))
        .route_layer(middleware::from_fn_with_state(
            sandbox.clone(),
            inject_faults,
        ));
    let controls = Router::new()
        .route("/sandbox/rbs/orders/{md_order}/pay", post(control_pay))
        .route(
            "/sandbox/rbs/orders/{md_order}/decline",
            post(control_decline),
        )
        .route(
            "/sandbox/rbs/orders/{md_order}/refunds/decline",
            post(control_decline_refund),
        );
    api.merge(controls)
}
