//! The RBS gateway's answers (BANKS.md §3.6), in the gateway's own field names. Requests are
//! form parameters built in `mod.rs` with the same names (`orderNumber`, `amount`, `mdOrder`,
//! `qrId`, `externalRefundId`, …).
//!
//! Amounts are integer kopecks on this wire. The gateway writes some fields as a string in one
//! answer and a number in another (`errorCode` `"0"` or `0`, `actionCode`, `currency`): those
//! are read as text either way ([`flexible_text`]).

use serde::{Deserialize, Deserializer};

/// A field that comes as a JSON string or an integer, read as its text.
pub(super) fn flexible_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Integer(i64),
    }
    Ok(Option::<Text>::deserialize(d)?.map(|t| match t {
        Text::Text(text) => text,
        Text::Integer(number) => number.to_string(),
    }))
}

/// What every answer may carry: `errorCode` (`"0"` or absent on success, `1`…`99` otherwise,
/// with HTTP 200) and `errorMessage`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Common {
    /// `"0"` or absent on success.
    #[serde(default, deserialize_with = "flexible_text")]
    pub(super) error_code: Option<String>,
    /// Why, in the request's language.
    #[serde(default)]
    pub(super) error_message: Option<String>,
}

/// `register.do`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Registered {
    /// The gateway's order id (called `mdOrder` in the SBP methods and notifications).
    #[serde(default)]
    pub(super) order_id: Option<String>,
}

/// `sbp/c2b/qr/dynamic/get.do`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DynamicQr {
    /// NSPK's QR id.
    #[serde(default)]
    pub(super) qr_id: Option<String>,
    /// The NSPK link (`https://qr.nspk.ru/…`), present while `qrStatus` is `STARTED`.
    #[serde(default)]
    pub(super) payload: Option<String>,
    /// `STARTED` for a fresh QR.
    #[serde(default)]
    pub(super) qr_status: Option<String>,
}

/// `sbp/c2b/qr/status.do`. (One public client reads the QR's state as `status`: both names
/// are accepted.)
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QrState {
    /// `STARTED`, `CONFIRMED`, `REJECTED`, `REJECTED_BY_USER`, `ACCEPTED`.
    #[serde(default, alias = "status")]
    pub(super) qr_status: Option<String>,
    /// `CREATED`, `DECLINED`, `DEPOSITED`.
    #[serde(default)]
    pub(super) transaction_state: Option<String>,
}

/// `sbp/c2b/qr/dynamic/reject.do`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rejected {
    /// `true` when the QR was deactivated.
    #[serde(default, deserialize_with = "flexible_bool")]
    pub(super) rejected: Option<bool>,
}

/// `true`/`false` as a JSON boolean or as text.
fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(flag)) => Some(flag),
        Some(Flag::Text(text)) => match text.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        None => None,
    })
}

/// `getOrderStatusExtended.do` (the fields qrpayd reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderStatus {
    /// Our payment id, as registered.
    #[serde(default)]
    pub(super) order_number: Option<String>,
    /// 0 registered, 1 held, 2 paid, 3 reversed, 4 refunded, 5 ACS, 6 declined, 7 pending,
    /// 8 partly completed. Absent when the order was not found.
    #[serde(default)]
    pub(super) order_status: Option<i64>,
    /// The processing's result code (`0` success; e.g. `-2007` the session expired).
    #[serde(default, deserialize_with = "flexible_text")]
    pub(super) action_code: Option<String>,
    /// Kopecks, as registered.
    #[serde(default)]
    pub(super) amount: Option<i64>,
    /// ISO 4217 numeric (`643`).
    #[serde(default, deserialize_with = "flexible_text")]
    pub(super) currency: Option<String>,
    /// Refunds of the order (version 5 and later; `externalRefundId` from version 21).
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) refunds: Vec<RefundEntry>,
}

/// One element of `refunds`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefundEntry {
    /// Our refund's id as sent in `refund.do`.
    #[serde(default)]
    pub(super) external_refund_id: Option<String>,
    /// Kopecks.
    #[serde(default)]
    pub(super) amount: Option<i64>,
    /// The processing's result: `0` done, another code declined, absent not settled yet.
    #[serde(default, deserialize_with = "flexible_text")]
    pub(super) action_code: Option<String>,
}

/// `refunds` as an array, or a single object (the documentation calls it an "object").
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RefundEntry>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<RefundEntry>),
        One(RefundEntry),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        Some(OneOrMany::Many(many)) => many,
        Some(OneOrMany::One(one)) => vec![one],
        None => Vec::new(),
    })
}
