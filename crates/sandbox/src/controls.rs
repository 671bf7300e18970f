//! Sandbox-only controls that span both banks: the faults (`GET`/`PUT /sandbox/faults`) and the
//! overview of everything the sandbox holds (`GET /sandbox/qrs`, with the T-Bank payments, the
//! RBS orders and the Sber orders).

use crate::faults::Faults;
use crate::handle::Sandbox;
use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{
    CustomerQr, Order, PaymentStatus, Qr, QrStatus, QrType, Refund, RefundStatus,
};
use crate::raiffeisen::wire::{CustomerQrResponse, OrderResponse, RubleAmount, parse_body};
use crate::rbs::books::RbsOrder;
use crate::sber::books::SbOrder;
use crate::tbank::books::TbPayment;
use crate::time::{expiration_text, micros_text};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

/// `GET /sandbox/qrs` answer: everything the emulated bank holds, for people trying the demo.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Overview {
    /// QRs in registration order.
    qrs: Vec<QrSummary>,
    /// Refunds in creation order.
    refunds: Vec<RefundSummary>,
    /// Cash-register link activations in creation order.
    orders: Vec<OrderResponse>,
    /// Minted customer QRs in mint order.
    customer_qrs: Vec<CustomerQrResponse>,
    /// The T-Bank terminal's payments, oldest first.
    tbank_payments: Vec<serde_json::Value>,
    /// The RBS gateway's orders, oldest first.
    rbs_orders: Vec<serde_json::Value>,
    /// The Sber terminal's orders with their operations, oldest first.
    sber_orders: Vec<serde_json::Value>,
}

impl Overview {
    /// The overview of these books.
    pub(crate) fn new(
        qrs: &[Qr],
        refunds: &[Refund],
        orders: &[Order],
        customer_qrs: &[CustomerQr],
        tbank_payments: &[TbPayment],
        rbs_orders: &[RbsOrder],
        sber_orders: &[SbOrder],
    ) -> Self {
        Overview {
            qrs: qrs.iter().map(QrSummary::from).collect(),
            refunds: refunds.iter().map(RefundSummary::from).collect(),
            orders: orders.iter().map(OrderResponse::from).collect(),
            customer_qrs: customer_qrs.iter().map(CustomerQrResponse::from).collect(),
            tbank_payments: tbank_payments.iter().map(crate::tbank::summary).collect(),
            rbs_orders: rbs_orders.iter().map(crate::rbs::summary).collect(),
            sber_orders: sber_orders.iter().map(crate::sber::summary).collect(),
        }
    }
}

/// One QR in [`Overview`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QrSummary {
    /// The QR id.
    qr_id: String,
    /// `QRDynamic` or `QRStatic`.
    qr_type: QrType,
    /// The merchant's order id.
    order: String,
    /// `qrStatus`.
    qr_status: QrStatus,
    /// `paymentStatus` of the latest attempt.
    payment_status: PaymentStatus,
    /// The QR's fixed amount in rubles (null for a static QR without one).
    amount: Option<RubleAmount>,
    /// Registration time.
    create_date: String,
    /// Expiry (null: never).
    qr_expiration_date: Option<String>,
    /// The NSPK link.
    payload: String,
    /// Every payment attempt, oldest first.
    transactions: Vec<TransactionSummary>,
    /// The customer QR this QR charges (null: none).
    customer_qr: Option<String>,
}

impl From<&Qr> for QrSummary {
    fn from(qr: &Qr) -> Self {
        QrSummary {
            qr_id: qr.id.clone(),
            qr_type: qr.qr_type,
            order: qr.order.clone(),
            qr_status: qr.status,
            payment_status: qr.payment_status(),
            amount: qr.amount.map(RubleAmount),
            create_date: micros_text(qr.created),
            qr_expiration_date: qr.expires.map(expiration_text),
            payload: qr.payload.clone(),
            transactions: qr
                .payments
                .iter()
                .map(|p| TransactionSummary {
                    transaction_id: p.transaction_id,
                    amount: RubleAmount(p.amount),
                    payment_status: p.status,
                    transaction_date: micros_text(p.date),
                })
                .collect(),
            customer_qr: qr.customer_qr.clone(),
        }
    }
}

/// One payment attempt in [`QrSummary`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TransactionSummary {
    /// The bank's id of the attempt.
    transaction_id: u64,
    /// Rubles.
    amount: RubleAmount,
    /// `SUCCESS` or `DECLINED`.
    payment_status: PaymentStatus,
    /// When it happened.
    transaction_date: String,
}

/// One refund in [`Overview`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundSummary {
    /// The merchant's refund id.
    refund_id: String,
    /// The refunded order.
    order: String,
    /// The refunded payment.
    transaction_id: u64,
    /// Rubles.
    amount: RubleAmount,
    /// `refundStatus` as last answered.
    refund_status: RefundStatus,
}

impl From<&Refund> for RefundSummary {
    fn from(refund: &Refund) -> Self {
        RefundSummary {
            refund_id: refund.id.clone(),
            order: refund.order.clone(),
            transaction_id: refund.transaction_id,
            amount: RubleAmount(refund.amount),
            refund_status: refund.status,
        }
    }
}

/// `GET /sandbox/qrs`: every QR, refund, order, customer QR, T-Bank payment and Sber order.
async fn overview(State(sandbox): State<Sandbox>) -> Json<Overview> {
    let now = sandbox.now();
    let mut state = sandbox.lock();
    let qrs = state.raiffeisen.all_qrs(now);
    let refunds = state.raiffeisen.all_refunds();
    let orders = state.raiffeisen.all_orders(now);
    let customer_qrs = state.raiffeisen.all_customer_qrs();
    let tbank_payments = state.tbank.all(now);
    let rbs_orders = state.rbs.all(now);
    let sber_orders = state.sber.all();
    Json(Overview::new(
        &qrs,
        &refunds,
        &orders,
        &customer_qrs,
        &tbank_payments,
        &rbs_orders,
        &sber_orders,
    ))
}

/// `GET /sandbox/faults`.
async fn get_faults(State(sandbox): State<Sandbox>) -> Json<Faults> {
    Json(sandbox.faults())
}

/// `PUT /sandbox/faults`: replaces the faults (missing fields are off).
async fn put_faults(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Faults>, SandboxError> {
    // Only a JSON object: serde would also take an array of the fields in order.
    let object = parse_body::<serde_json::Map<String, serde_json::Value>>(&body)?;
    let faults = serde_json::from_value::<Faults>(serde_json::Value::Object(object))
        .map_err(|e| SandboxError::InvalidRequest(format!("Некорректные faults: {e}")))?;
    sandbox.set_faults(faults.clone());
    Ok(Json(faults))
}

/// The controls that span both banks.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/qrs", get(overview))
        .route("/sandbox/faults", get(get_faults).put(put_faults))
}
