//! Sber QR API ("Плати QR" v3) JSON shapes, in the bank's own field names: snake_case for the
//! order API (`/qr/order/v3/…`), camelCase for the registry and for notifications, as the
//! bank's OpenAPI document (`file_PayQR_openapi_3.0.3.yml`) and its notification page spell
//! them. OAuth tokens and the gateway's own errors have shapes of their own.
//!
//! Amounts are integer kopecks ("в минимальных единицах валюты"). The spec's examples write
//! some of them as strings (`"operationSum": "770"`), so answers accept both; a fraction is
//! refused ([`kopecks_field`]). Currency is the ISO 4217 number, `643`.

use serde::{Deserialize, Deserializer, Serialize};

/// `currency` / `operation_currency` of roubles.
pub(super) const RUB: &str = "643";

/// `error_code` of a success.
pub(super) const SUCCESS: &str = "000000";

/// `response_code` of a successful operation (card-processing style).
pub(super) const OPERATION_APPROVED: &str = "00";

/// An integer amount written as a JSON number or as a string of digits.
pub(super) fn kopecks_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Number(i64),
        Text(String),
    }
    match Option::<Amount>::deserialize(d)? {
        None => Ok(None),
        Some(Amount::Number(n)) => Ok(Some(n)),
        Some(Amount::Text(text)) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("amount {text:?} is not whole kopecks"))),
    }
}

/// `POST /tokens/v3/oauth` answer.
#[derive(Debug, Deserialize)]
pub(super) struct Token {
    /// The Bearer token.
    pub(super) access_token: String,
    /// Its lifetime in seconds.
    pub(super) expires_in: i64,
    /// The scope granted.
    #[serde(default)]
    pub(super) scope: Option<String>,
}

/// The gateway's own error (`httpCode`, `httpMessage`, `moreInformation`), on 4xx/5xx.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GatewayError {
    /// The HTTP status again, as text or number.
    pub(super) http_message: Option<String>,
    /// What was wrong, e.g. `invalid_scope`.
    pub(super) more_information: Option<String>,
}

/// One goods line of an order (`order_params_type`).
#[derive(Debug, Serialize)]
pub(super) struct Position<'a> {
    /// Up to 256 characters.
    pub(super) position_name: &'a str,
    /// How many.
    pub(super) position_count: u32,
    /// Kopecks.
    pub(super) position_sum: i64,
}

/// `POST /qr/order/v3/creation`.
#[derive(Debug, Serialize)]
pub(super) struct Creation<'a> {
    /// The request's id (32 hex), also sent as the `RqUID` header.
    pub(super) rq_uid: &'a str,
    /// When the request was made: `YYYY-MM-DDTHH:MM:SSZ`.
    pub(super) rq_tm: &'a str,
    /// The client id at Sber.
    pub(super) member_id: &'a str,
    /// Our order number: the payment id (up to 36 characters).
    pub(super) order_number: &'a str,
    /// When the order was made (the same instant as `rq_tm`).
    pub(super) order_create_date: &'a str,
    /// The goods: one line for the whole bill.
    pub(super) order_params_type: Vec<Position<'a>>,
    /// The device: for an SBP order, the terminal id.
    pub(super) id_qr: &'a str,
    /// Kopecks.
    pub(super) order_sum: i64,
    /// `643`.
    pub(super) currency: &'static str,
    /// What the customer sees (up to 256 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<&'a str>,
    /// Sber's SBP member id: makes the order an SBP one (an NSPK link in `order_form_url`).
    pub(super) sbp_member_id: &'a str,
}

/// `POST /qr/order/v3/creation` answer.
#[derive(Debug, Deserialize)]
pub(super) struct Created {
    /// Our order number, echoed.
    #[serde(default)]
    pub(super) order_number: Option<String>,
    /// The bank's order id: every later call names the order by it.
    #[serde(default)]
    pub(super) order_id: Option<String>,
    /// `CREATED` on success.
    #[serde(default)]
    pub(super) order_state: Option<String>,
    /// The link to show as a QR (an NSPK link for an SBP order).
    #[serde(default)]
    pub(super) order_form_url: Option<String>,
}

/// What every order-API answer carries.
#[derive(Debug, Deserialize)]
pub(super) struct Common {
    /// The request's id, echoed.
    #[serde(default)]
    pub(super) rq_uid: Option<String>,
    /// `000000` on success; otherwise the error class in the first two digits.
    #[serde(default)]
    pub(super) error_code: Option<String>,
    /// The error's text.
    #[serde(default)]
    pub(super) error_description: Option<String>,
}

/// `POST /qr/order/v3/status`.
#[derive(Debug, Serialize)]
pub(super) struct Status<'a> {
    /// The request's id.
    pub(super) rq_uid: &'a str,
    /// When.
    pub(super) rq_tm: &'a str,
    /// The bank's order id.
    pub(super) order_id: &'a str,
    /// The terminal.
    pub(super) tid: &'a str,
    /// Our order number (the payment id).
    pub(super) partner_order_number: &'a str,
}

/// One financial operation of an order (`order_operation_params`).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Operation {
    /// The bank's id of the operation: a refund names the payment by it.
    pub(super) operation_id: String,
    /// `PAY`, `REVERSE` or `REFUND`.
    pub(super) operation_type: String,
    /// Kopecks.
    #[serde(deserialize_with = "kopecks_field")]
    pub(super) operation_sum: Option<i64>,
    /// `643`.
    #[serde(default)]
    pub(super) operation_currency: Option<String>,
    /// The authorisation code: a refund must repeat the payment's.
    #[serde(default)]
    pub(super) auth_code: Option<String>,
    /// `00` when the operation succeeded.
    #[serde(default)]
    pub(super) response_code: Option<String>,
    /// Its text.
    #[serde(default)]
    pub(super) response_desc: Option<String>,
}

/// `POST /qr/order/v3/status` answer.
#[derive(Debug, Deserialize)]
pub(super) struct OrderStatus {
    /// The terminal.
    #[serde(default)]
    pub(super) tid: Option<String>,
    /// The bank's order id.
    #[serde(default)]
    pub(super) order_id: Option<String>,
    /// The order's status.
    #[serde(default)]
    pub(super) order_state: Option<String>,
    /// Its operations (none before it is paid).
    #[serde(default)]
    pub(super) order_operation_params: Vec<Operation>,
}

/// `POST /qr/order/v3/revocation`.
#[derive(Debug, Serialize)]
pub(super) struct Revocation<'a> {
    /// The request's id.
    pub(super) rq_uid: &'a str,
    /// When.
    pub(super) rq_tm: &'a str,
    /// The bank's order id.
    pub(super) order_id: &'a str,
}

/// `POST /qr/order/v3/revocation` answer.
#[derive(Debug, Deserialize)]
pub(super) struct Revoked {
    /// The bank's order id.
    #[serde(default)]
    pub(super) order_id: Option<String>,
    /// `REVOKED` on success.
    #[serde(default)]
    pub(super) order_state: Option<String>,
}

/// `POST /qr/order/v3/cancel`: a refund (`REFUND`) or a same-day reversal (`REVERSE`) of a
/// payment operation.
#[derive(Debug, Serialize)]
pub(super) struct Cancel<'a> {
    /// The request's id.
    pub(super) rq_uid: &'a str,
    /// When.
    pub(super) rq_tm: &'a str,
    /// The bank's order id.
    pub(super) order_id: &'a str,
    /// `REFUND` (the spec's default) or `REVERSE`.
    pub(super) operation_type: &'static str,
    /// The payment operation being refunded.
    pub(super) operation_id: &'a str,
    /// Its authorisation code.
    pub(super) auth_code: &'a str,
    /// The device (the terminal id for SBP).
    pub(super) id_qr: &'a str,
    /// The terminal.
    pub(super) tid: &'a str,
    /// Kopecks to give back.
    pub(super) cancel_operation_sum: i64,
    /// `643`.
    pub(super) operation_currency: &'static str,
    /// The refund's purpose (up to 140 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) operation_description: Option<&'a str>,
}

/// `POST /qr/order/v3/cancel` answer.
#[derive(Debug, Deserialize)]
pub(super) struct Cancelled {
    /// The bank's order id.
    #[serde(default)]
    pub(super) order_id: Option<String>,
    /// The order's status after it.
    #[serde(default)]
    pub(super) order_status: Option<String>,
    /// The refund operation's id.
    #[serde(default)]
    pub(super) operation_id: Option<String>,
    /// `REFUND` / `REVERSE`.
    #[serde(default)]
    pub(super) operation_type: Option<String>,
    /// Kopecks given back.
    #[serde(default, deserialize_with = "kopecks_field")]
    pub(super) operation_sum: Option<i64>,
}

/// A notification (`/notify` on our side), camelCase. Nothing in it is signed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Notification {
    /// The client id at Sber.
    #[serde(default)]
    pub(super) member_id: Option<String>,
    /// The terminal.
    #[serde(default)]
    pub(super) tid: Option<String>,
    /// Our order number (the payment id).
    #[serde(default)]
    pub(super) partner_order_number: Option<String>,
    /// The order's status.
    #[serde(default)]
    pub(super) order_state: Option<String>,
}
