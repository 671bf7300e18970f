//! Request and response bodies with Raiffeisen's field names (BANKS.md §1.2–1.7,
//! `sbp_en.yaml`), and their conversion to and from the sandbox's state.
//!
//! Amounts are rubles as JSON numbers. They are never read into or written from floating
//! point: incoming numbers are taken as their raw JSON text ([`RawValue`]) and parsed exactly
//! with [`Kopecks::parse_rubles`]; outgoing ones are written as raw JSON numbers from
//! [`Kopecks::to_rubles_text`] (canonical shortest form: `100`, `10.5`, `1110.11`).

use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{
    Charge, Confirm, CustomerQr, NewOrder, NewQr, NewRefund, Order, OrderEvent, PaymentEvent,
    PaymentStatus, Qr, QrStatus, QrType, Refund, RefundStatus, order_is_valid,
};
use crate::time::{expiration_text, micros_text};
use chrono::DateTime;
use qrpayd_domain::money::Kopecks;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// The `code` of every successful answer.
pub(crate) const SUCCESS: &str = "SUCCESS";

/// The `merchantId` the sandbox reports (the bank's own partner number; any fixed value).
pub(crate) const MERCHANT_ID: u64 = 123;

/// Longest `paymentDetails` of a QR (spec: 185).
const MAX_QR_PAYMENT_DETAILS: usize = 185;

/// Longest `additionalInfo` of a QR (spec: 140).
const MAX_ADDITIONAL_INFO: usize = 140;

/// Longest `paymentDetails` of a refund (spec: 140).
const MAX_REFUND_PAYMENT_DETAILS: usize = 140;

/// Longest `refundId` (spec: 40).
const MAX_REFUND_ID: usize = 40;

/// An amount in rubles on the wire: a JSON number read and written as exact decimal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RubleAmount(pub(crate) Kopecks);

impl Serialize for RubleAmount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_rubles_text()).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RubleAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Kopecks::parse_rubles(raw.get())
            .map(RubleAmount)
            .map_err(|e| D::Error::custom(format_args!("amount: {e}")))
    }
}

/// Parses a JSON request body; anything malformed is `ERROR.INVALID_REQUEST`.
pub(crate) fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, SandboxError> {
    serde_json::from_slice(body)
        .map_err(|e| SandboxError::InvalidRequest(format!("Некорректный JSON запроса: {e}")))
}

/// Refuses text longer than `max` characters.
fn check_len(field: &str, value: &Option<String>, max: usize) -> Result<(), SandboxError> {
    match value {
        Some(text) if text.chars().count() > max => Err(SandboxError::InvalidRequest(format!(
            "Поле {field} длиннее {max} символов"
        ))),
        _ => Ok(()),
    }
}

/// `{"code":"SUCCESS"}`.
#[derive(Debug, Serialize)]
pub(crate) struct SuccessBody {
    /// Always `SUCCESS`.
    pub(crate) code: &'static str,
}

/// `POST /sbp/v2/qrs` and `POST /sbp/v1/qr/register` body (`QRDynamic` / `QRStatic`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisterQrRequest {
    /// `QRDynamic` (one payment, fixed amount) or `QRStatic` (reusable).
    qr_type: Option<String>,
    /// The merchant's SBP id, e.g. `MA0000000552`.
    sbp_merchant_id: Option<String>,
    /// The merchant's order id, `[A-Za-z0-9_.-]{1,40}`.
    order: Option<String>,
    /// Amount in rubles (JSON number); required for `QRDynamic`.
    amount: Option<RubleAmount>,
    /// Currency, only `RUB`.
    currency: Option<String>,
    /// Expiry, RFC 3339 with an offset; must be in the future.
    qr_expiration_date: Option<String>,
    /// Payment purpose shown to the payer (≤ 185 chars).
    payment_details: Option<String>,
    /// Free text echoed in payment-info and callbacks (≤ 140 chars).
    additional_info: Option<String>,
    /// Account to credit; the sandbox has none and refuses it, like the bank's sandbox.
    account: Option<serde_json::Value>,
}

impl RegisterQrRequest {
    /// Checks the fields that need no state and converts to [`NewQr`].
    pub(crate) fn into_new_qr(self) -> Result<NewQr, SandboxError> {
        let qr_type = match self.qr_type.as_deref() {
            Some("QRDynamic") => QrType::Dynamic,
            Some("QRStatic") => QrType::Static,
            Some("QRVariable") => QrType::Variable,
            Some(other) => {
                return Err(SandboxError::InvalidRequest(format!(
                    "Неизвестный qrType: {}",
                    other.chars().take(40).collect::<String>()
                )));
            }
            None => {
                return Err(SandboxError::InvalidRequest("Не передан qrType".into()));
            }
        };
        let sbp_merchant_id = match self.sbp_merchant_id {
            Some(id) if !id.is_empty() => id,
            _ => return Err(SandboxError::SbpMerchantIdMissing),
        };
        if self.account.is_some_and(|a| !a.is_null()) {
            return Err(SandboxError::AccountNotRegistered);
        }
        if let Some(currency) = self.currency.as_deref()
            && currency != "RUB"
        {
            return Err(SandboxError::InvalidRequest(
                "Поддерживается только валюта RUB".into(),
            ));
        }
        check_len(
            "paymentDetails",
            &self.payment_details,
            MAX_QR_PAYMENT_DETAILS,
        )?;
        check_len("additionalInfo", &self.additional_info, MAX_ADDITIONAL_INFO)?;
        let expiration = match self.qr_expiration_date {
            None => None,
            Some(text) => Some(DateTime::parse_from_rfc3339(&text).map_err(|e| {
                SandboxError::QrExpirationDateNotValid(format!(
                    "ожидается дата с часовым поясом, например 2023-07-22T09:14:38+03:00 ({e})"
                ))
            })?),
        };
        Ok(NewQr {
            qr_type,
            sbp_merchant_id,
            order: self.order.unwrap_or_default(),
            amount: self.amount.map(|a| a.0),
            expiration,
            payment_details: self.payment_details,
            additional_info: self.additional_info,
        })
    }
}

/// Registration answer, also the v1 `GET /sbp/v1/qr/{qrId}/info` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrDataResponse {
    /// `SUCCESS`.
    code: &'static str,
    /// The QR id (32 chars, `AD1…` dynamic, `AS1…` static).
    qr_id: String,
    /// The NSPK link to render as the QR image.
    payload: String,
    /// Where the bank would serve the image.
    qr_url: String,
}

impl From<&Qr> for QrDataResponse {
    fn from(qr: &Qr) -> Self {
        QrDataResponse {
            code: SUCCESS,
            qr_id: qr.id.clone(),
            payload: qr.payload.clone(),
            qr_url: qr.qr_url(),
        }
    }
}

/// `GET /sbp/v2/qrs/{qrId}` answer: the spec's `qrInfov2`, which has **no `code`** (unlike
/// the v1 answers). An adapter that demands one fails against the real bank.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrStatusResponse {
    /// The QR id.
    qr_id: String,
    /// `NEW`, `IN_PROGRESS`, `PAID`, `CANCELLED` or `EXPIRED`.
    qr_status: QrStatus,
    /// Expiry (absent for a static QR registered without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_expiration_date: Option<String>,
    /// The NSPK link.
    payload: String,
    /// Where the bank would serve the image.
    qr_url: String,
}

impl From<&Qr> for QrStatusResponse {
    fn from(qr: &Qr) -> Self {
        QrStatusResponse {
            qr_id: qr.id.clone(),
            qr_status: qr.status,
            qr_expiration_date: qr.expires.map(expiration_text),
            payload: qr.payload.clone(),
            qr_url: qr.qr_url(),
        }
    }
}

/// `GET /sbp/v1/qr/{qrId}/payment-info` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentInfoResponse {
    /// `SUCCESS`.
    code: &'static str,
    /// `additionalInfo` given at registration (absent when none: the schema's type is a
    /// non-empty string, so `null` would not conform).
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_info: Option<String>,
    /// `paymentDetails` given at registration (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_purpose: Option<String>,
    /// Rubles: the paid amount once there is a payment attempt, else the QR's fixed amount
    /// (absent for a static QR without amount and without payments).
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<RubleAmount>,
    /// When the QR was registered, Moscow time with microseconds.
    create_date: String,
    /// `RUB`.
    currency: &'static str,
    /// The bank's numeric partner id.
    merchant_id: u64,
    /// The merchant's order id.
    order: String,
    /// `NO_INFO`, `IN_PROGRESS`, `SUCCESS` or `DECLINED` (of the latest attempt).
    payment_status: PaymentStatus,
    /// The QR id.
    qr_id: String,
    /// The merchant's SBP id.
    sbp_merchant_id: String,
    /// When the latest attempt happened (only once paid or declined).
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_date: Option<String>,
    /// The bank's id of the latest attempt (only once paid or declined).
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<u64>,
    /// Expiry (absent for a static QR registered without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_expiration_date: Option<String>,
}

impl PaymentInfoResponse {
    /// payment-info of `qr` for merchant `sbp_merchant_id`.
    pub(crate) fn new(qr: &Qr, sbp_merchant_id: &str) -> Self {
        let last = qr.payments.last();
        PaymentInfoResponse {
            code: SUCCESS,
            additional_info: qr.additional_info.clone(),
            payment_purpose: qr.payment_details.clone(),
            amount: last.map(|p| p.amount).or(qr.amount).map(RubleAmount),
            create_date: micros_text(qr.created),
            currency: "RUB",
            merchant_id: MERCHANT_ID,
            order: qr.order.clone(),
            payment_status: qr.payment_status(),
            qr_id: qr.id.clone(),
            sbp_merchant_id: sbp_merchant_id.to_owned(),
            transaction_date: last.map(|p| micros_text(p.date)),
            transaction_id: last.map(|p| p.transaction_id),
            qr_expiration_date: qr.expires.map(expiration_text),
        }
    }
}

/// `POST /nspc-mock/v01/rfuture/payment/init` body: the bank's sandbox "pay this QR" call.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PayRequest {
    /// The QR to pay.
    pub(crate) qr_id: Option<String>,
    /// Rubles; must equal the QR's amount.
    pub(crate) amount: Option<RubleAmount>,
}

/// `POST /sandbox/qrs/{qrId}/decline` body (optional): the declined attempt's amount.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeclineRequest {
    /// Rubles; defaults to the QR's amount (required for a static QR without one).
    pub(crate) amount: Option<RubleAmount>,
}

/// `POST /settings/v1/callback` body and answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallbackSettings {
    /// Where payment notifications are POSTed.
    pub(crate) callback_url: Option<String>,
}

/// `POST /sbp/v1/refund` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundRequest {
    /// Rubles to return, ≥ 0.01.
    amount: Option<RubleAmount>,
    /// The paid order.
    order: Option<String>,
    /// The merchant's refund id (idempotency key, ≤ 40 chars).
    refund_id: Option<String>,
    /// Purpose of the refund (≤ 140 chars).
    payment_details: Option<String>,
    /// The payment's `transactionId` (needed for static QRs paid several times).
    transaction_id: Option<u64>,
}

impl RefundRequest {
    /// Checks the fields that need no state and converts to [`NewRefund`].
    pub(crate) fn into_new_refund(self) -> Result<NewRefund, SandboxError> {
        let refund_id = match self.refund_id {
            Some(id) if !id.is_empty() && id.chars().count() <= MAX_REFUND_ID => id,
            _ => {
                return Err(SandboxError::InvalidRequest(
                    "refundId обязателен, от 1 до 40 символов".into(),
                ));
            }
        };
        let order = match self.order {
            Some(order) if order_is_valid(&order) => order,
            _ => return Err(SandboxError::InvalidOrder),
        };
        let amount = self
            .amount
            .ok_or_else(|| SandboxError::InvalidRequest("Не передана сумма (amount)".into()))?;
        check_len(
            "paymentDetails",
            &self.payment_details,
            MAX_REFUND_PAYMENT_DETAILS,
        )?;
        Ok(NewRefund {
            refund_id,
            order,
            transaction_id: self.transaction_id,
            amount: amount.0,
        })
    }
}

/// Refund answer (`POST /sbp/v1/refund`, `GET /sbp/v1/refund/{refundId}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundResponse {
    /// `SUCCESS`.
    code: &'static str,
    /// Rubles being returned.
    amount: RubleAmount,
    /// `IN_PROGRESS`, `COMPLETED` or `DECLINED`.
    refund_status: RefundStatus,
}

impl From<&Refund> for RefundResponse {
    fn from(refund: &Refund) -> Self {
        RefundResponse {
            code: SUCCESS,
            amount: RubleAmount(refund.amount),
            refund_status: refund.status,
        }
    }
}

/// The payment notification POSTed to the callback URL (BANKS.md §1.7a).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentNotification {
    /// The bank's id of this payment attempt.
    pub(crate) transaction_id: u64,
    /// The QR paid.
    pub(crate) qr_id: String,
    /// The merchant's SBP id.
    pub(crate) sbp_merchant_id: String,
    /// The bank's numeric partner id.
    pub(crate) merchant_id: u64,
    /// Rubles, canonical text (the same text is signed).
    pub(crate) amount: RubleAmount,
    /// `RUB`.
    pub(crate) currency: &'static str,
    /// When it happened, Moscow time with microseconds (signed verbatim).
    pub(crate) transaction_date: String,
    /// `SUCCESS` or `DECLINED`.
    pub(crate) payment_status: PaymentStatus,
    /// `additionalInfo` from registration (null when none).
    pub(crate) additional_info: Option<String>,
    /// The merchant's order id.
    pub(crate) order: String,
    /// When the QR was registered.
    pub(crate) create_date: String,
}

impl PaymentNotification {
    /// The notification for `event` of merchant `sbp_merchant_id`.
    pub(crate) fn new(event: &PaymentEvent, sbp_merchant_id: &str) -> Self {
        PaymentNotification {
            transaction_id: event.transaction_id,
            qr_id: event.qr_id.clone(),
            sbp_merchant_id: sbp_merchant_id.to_owned(),
            merchant_id: MERCHANT_ID,
            amount: RubleAmount(event.amount),
            currency: "RUB",
            transaction_date: micros_text(event.transaction_date),
            payment_status: event.status,
            additional_info: event.additional_info.clone(),
            order: event.order.clone(),
            create_date: micros_text(event.create_date),
        }
    }
}

/// `POST /api/payment/v1/orders` body (BANKS.md §1.6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateOrderRequest {
    /// Rubles.
    amount: Option<RubleAmount>,
    /// The merchant's order id (generated when absent).
    id: Option<String>,
    /// Free text.
    comment: Option<String>,
    /// When the activation ends unpaid, RFC 3339 with offset.
    expiration_date: Option<String>,
    /// The link: `{id, paymentDetails?, additionalInfo?}`.
    qr: Option<OrderQrRequest>,
}

/// `qr` of [`CreateOrderRequest`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderQrRequest {
    /// The link's QR id.
    id: Option<String>,
    /// Payment purpose shown to the payer.
    payment_details: Option<String>,
}

impl CreateOrderRequest {
    /// Checks the fields that need no state and converts to [`NewOrder`].
    pub(crate) fn into_new_order(self) -> Result<NewOrder, SandboxError> {
        let amount = self
            .amount
            .ok_or_else(|| SandboxError::InvalidRequest("Не передана сумма (amount)".into()))?;
        let qr = self
            .qr
            .ok_or_else(|| SandboxError::InvalidRequest("Не передан qr.id".into()))?;
        let qr_id = qr
            .id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| SandboxError::InvalidRequest("Не передан qr.id".into()))?;
        check_len(
            "qr.paymentDetails",
            &qr.payment_details,
            MAX_QR_PAYMENT_DETAILS,
        )?;
        let expiration = self
            .expiration_date
            .map(|text| {
                DateTime::parse_from_rfc3339(&text).map_err(|e| {
                    SandboxError::InvalidRequest(format!("Некорректная дата expirationDate ({e})"))
                })
            })
            .transpose()?;
        Ok(NewOrder {
            id: self.id,
            qr_id,
            amount: amount.0,
            comment: self.comment,
            payment_details: qr.payment_details,
            expiration,
        })
    }
}

/// `{value, date}` of an order or order transaction.
#[derive(Debug, Serialize)]
pub(crate) struct StatusValue {
    /// `NEW`, `PAID`, … (orders); `SUCCESS` (transactions).
    value: &'static str,
    /// When it took this value.
    date: String,
}

/// `qr` of [`OrderResponse`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderQrResponse {
    /// The link's QR id.
    id: String,
    /// Payment purpose.
    payment_details: Option<String>,
}

/// An order, as `POST`/`GET /api/payment/v1/orders[/{id}]` answer it (no `code`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderResponse {
    /// The order id.
    id: String,
    /// Rubles.
    amount: RubleAmount,
    /// Free text.
    comment: Option<String>,
    /// Free JSON of the merchant (always `{}` here).
    extra: serde_json::Map<String, serde_json::Value>,
    /// `{value, date}`.
    status: StatusValue,
    /// When it ends unpaid.
    expiration_date: String,
    /// The activated link.
    qr: OrderQrResponse,
}

impl From<&Order> for OrderResponse {
    fn from(order: &Order) -> Self {
        OrderResponse {
            id: order.id.clone(),
            amount: RubleAmount(order.amount),
            comment: order.comment.clone(),
            extra: serde_json::Map::new(),
            status: StatusValue {
                value: order.status.as_str(),
                date: order.status_date_text(),
            },
            expiration_date: order.expiration_text(),
            qr: OrderQrResponse {
                id: order.qr_id.clone(),
                payment_details: order.payment_details.clone(),
            },
        }
    }
}

/// `POST /api/payments/v1/orders/{id}/refunds/{refundId}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderRefundRequest {
    /// Rubles to return.
    pub(crate) amount: Option<RubleAmount>,
    /// Purpose (≤ 140 chars).
    pub(crate) payment_details: Option<String>,
}

impl OrderRefundRequest {
    /// The amount, after the checks that need no state.
    pub(crate) fn amount(&self) -> Result<Kopecks, SandboxError> {
        check_len(
            "paymentDetails",
            &self.payment_details,
            MAX_REFUND_PAYMENT_DETAILS,
        )?;
        self.amount
            .map(|a| a.0)
            .ok_or_else(|| SandboxError::InvalidRequest("Не передана сумма (amount)".into()))
    }
}

/// `paymentParams` of an order notification.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentParams {
    /// The paid link.
    qr_id: String,
}

/// `transaction` of an order notification.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderTransaction {
    /// The bank's operation id.
    id: u64,
    /// The order id (signed).
    order_id: String,
    /// `{value: SUCCESS, date}` (signed, the date verbatim).
    pub(crate) status: StatusValue,
    /// `sbp`.
    payment_method: &'static str,
    /// `{qrId}`.
    payment_params: PaymentParams,
    /// Rubles, canonical text (signed).
    amount: RubleAmount,
    /// The order's comment.
    comment: Option<String>,
    /// Always `{}`.
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The order notification POSTed to the callback URL (BANKS.md §1.7b).
#[derive(Debug, Serialize)]
pub(crate) struct OrderNotification {
    /// `payment`.
    event: &'static str,
    /// What happened.
    pub(crate) transaction: OrderTransaction,
}

impl OrderNotification {
    /// The notification of a paid order.
    pub(crate) fn new(event: &OrderEvent) -> Self {
        OrderNotification {
            event: "payment",
            transaction: OrderTransaction {
                id: event.transaction_id,
                order_id: event.order_id.clone(),
                status: StatusValue {
                    value: "SUCCESS",
                    date: micros_text(event.date),
                },
                payment_method: "sbp",
                payment_params: PaymentParams {
                    qr_id: event.qr_id.clone(),
                },
                amount: RubleAmount(event.amount),
                comment: event.comment.clone(),
                extra: serde_json::Map::new(),
            },
        }
    }

    /// `status.date` as signed.
    pub(crate) fn date(&self) -> &str {
        &self.transaction.status.date
    }

    /// `status.value` as signed.
    pub(crate) fn value(&self) -> &'static str {
        self.transaction.status.value
    }
}

/// `POST /sandbox/customer-qr` body (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MintCustomerQr {
    /// Rubles above which the customer's bank declines (auto mode).
    pub(crate) amount_limit: Option<RubleAmount>,
    /// `auto` (default) or `manual`.
    pub(crate) confirm: Option<Confirm>,
}

/// A minted customer QR (`POST /sandbox/customer-qr` answer, and in the overview).
#[derive(Debug, Serialize)]
pub(crate) struct CustomerQrResponse {
    /// What the customer's app shows; scan it into a payment with `qr_type: customer`.
    payload: String,
    /// Rubles (null: no limit).
    amount_limit: Option<RubleAmount>,
    /// `auto` or `manual`.
    confirm: Confirm,
    /// The QR id of its charge (null: not charged yet).
    charged_as: Option<String>,
}

impl From<&CustomerQr> for CustomerQrResponse {
    fn from(qr: &CustomerQr) -> Self {
        CustomerQrResponse {
            payload: qr.payload.clone(),
            amount_limit: qr.amount_limit.map(RubleAmount),
            confirm: qr.confirm,
            charged_as: qr.charged_as.clone(),
        }
    }
}

/// `POST /sandbox/customer-qr/charge` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChargeRequest {
    /// The merchant.
    sbp_merchant_id: Option<String>,
    /// The scanned customer QR.
    payload: Option<String>,
    /// The merchant's order id.
    order: Option<String>,
    /// Rubles.
    amount: Option<RubleAmount>,
    /// Until when the charge may wait for the customer.
    qr_expiration_date: Option<String>,
    /// Payment purpose (≤ 185 chars).
    payment_details: Option<String>,
}

impl ChargeRequest {
    /// Checks the fields that need no state and converts to [`Charge`].
    pub(crate) fn into_charge(self) -> Result<Charge, SandboxError> {
        let sbp_merchant_id = match self.sbp_merchant_id {
            Some(id) if !id.is_empty() => id,
            _ => return Err(SandboxError::SbpMerchantIdMissing),
        };
        let payload = self
            .payload
            .ok_or_else(|| SandboxError::InvalidRequest("Не передан payload".into()))?;
        let amount = self
            .amount
            .ok_or_else(|| SandboxError::InvalidRequest("Не передана сумма (amount)".into()))?;
        check_len(
            "paymentDetails",
            &self.payment_details,
            MAX_QR_PAYMENT_DETAILS,
        )?;
        let expiration = self
            .qr_expiration_date
            .map(|text| {
                DateTime::parse_from_rfc3339(&text).map_err(|e| {
                    SandboxError::QrExpirationDateNotValid(format!(
                        "ожидается дата с часовым поясом ({e})"
                    ))
                })
            })
            .transpose()?;
        Ok(Charge {
            sbp_merchant_id,
            payload,
            order: self.order.unwrap_or_default(),
            amount: amount.0,
            expiration,
            payment_details: self.payment_details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Holder {
        amount: RubleAmount,
    }

    #[test]
    fn amounts_are_exact_text_both_ways() {
        for (json, kopecks, out) in [
            (r#"{"amount":1110.11}"#, 111_011, r#"{"amount":1110.11}"#),
            (r#"{"amount":10.50}"#, 1050, r#"{"amount":10.5}"#),
            (r#"{"amount":100}"#, 10_000, r#"{"amount":100}"#),
            (r#"{"amount":0.1}"#, 10, r#"{"amount":0.1}"#),
        ] {
            let h: Holder = serde_json::from_str(json).unwrap();
            assert_eq!(h.amount.0.get(), kopecks);
            assert_eq!(serde_json::to_string(&h).unwrap(), out);
        }
        for bad in [
            r#"{"amount":"100"}"#,
            r#"{"amount":-1}"#,
            r#"{"amount":1e2}"#,
            r#"{"amount":1.001}"#,
            r#"{"amount":null}"#,
            r#"{"amount":[1]}"#,
        ] {
            assert!(serde_json::from_str::<Holder>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn optional_amount_null_is_absent() {
        let req: PayRequest = serde_json::from_str(r#"{"qrId":"X","amount":null}"#).unwrap();
        assert_eq!(req.amount, None);
    }

    #[test]
    fn malformed_json_is_invalid_request() {
        let err = parse_body::<PayRequest>(b"{not json").unwrap_err();
        assert_eq!(err.code(), "ERROR.INVALID_REQUEST");
    }
}
