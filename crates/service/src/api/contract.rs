//! The API's typed contract and its OpenAPI document.
//!
//! The document served at `/openapi.json` is derived from the code: the operations from the
//! `#[utoipa::path]` attribute on each handler (their prose in `api/doc/*.md`), routed through
//! `utoipa_axum` so a route cannot exist without its description; the schemas from the wire
//! types (`qrpayd_domain::contract` for payments, refunds and events, the request structs next
//! to their handlers, [`super::ErrorCode`] with its table, the answers below). The committed
//! `openapi.json` is that derivation written out; the golden test
//! (`crates/service/tests/openapi.rs`) keeps the two equal: after changing the API run
//! `QRPAYD_BLESS=1 cargo test -p qrpayd-service --test openapi` and commit the file.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::example::{Example, ExampleBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::{Modify, PartialSchema, ToSchema};

pub use qrpayd_domain::contract::{
    DisplayQr, DisplayState, DisplayStatus, Event, EventData, EventType, Failure, LateAction,
    PaymentSnapshot, PaymentView, QrKind, QrView, RefundSnapshot, RefundStatus, RefundView,
};
pub use qrpayd_domain::payment::ApiStatus;

pub use super::error::{ErrorBody, ErrorCode, ErrorDetail};

/// The answer of `GET /v1/payments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentList {
    /// The matching payments, newest first (by `created_at`), at most `limit`. Empty when none
    /// match.
    pub payments: Vec<PaymentView>,
}

/// A page of the event feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPage {
    /// Events after the cursor, in `seq` order.
    pub events: Vec<Event>,
    /// The cursor for the next call (`after=`).
    #[schema(format = Int64)]
    pub next: i64,
}

/// The verdict on a scanned cash-register sticker.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCheck {
    /// Whether the scanned sticker is this register's link.
    #[serde(rename = "match")]
    pub matched: bool,
    /// Why (not): `match`, `no_link_configured`, `not_a_link`, `not_sbp`, `bad_crc`,
    /// `other_link`, `not_a_cash_link`, `other_bank`.
    #[schema(value_type = LinkReason)]
    pub reason: String,
    /// The reason in words, for the cashier.
    pub message: String,
    /// The QR id read from the scanned link, when it could be read (absent when no link is
    /// bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub scanned_qr_id: Option<Option<String>>,
    /// The register's bound link (null when none).
    #[schema(required = true)]
    pub configured: Option<ConfiguredLink>,
}

/// Why a scanned sticker matches this register's link or not.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkReason {
    /// It is this register's link.
    Match,
    /// The register has no link bound.
    NoLinkConfigured,
    /// Not a link at all.
    NotALink,
    /// A link, but not an SBP one.
    NotSbp,
    /// An SBP link with a wrong checksum.
    BadCrc,
    /// Another register's (or shop's) link.
    OtherLink,
    /// An SBP link, but not a cash-register link.
    NotACashLink,
    /// A cash-register link of another bank.
    OtherBank,
}

/// A register's bound cash-register link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredLink {
    /// The link's QR id.
    pub qr_id: String,
    /// The provider it belongs to.
    pub provider: String,
    /// The link itself.
    pub payload: String,
}

/// `GET /healthz` when healthy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthOk {
    /// Always `ok`.
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: String,
    /// qrpayd's version.
    #[schema(examples("0.1.0"))]
    pub version: String,
}

/// `GET /healthz` when the journal database does not answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthUnavailable {
    /// Always `unavailable`.
    #[schema(pattern = "^unavailable$")]
    pub status: String,
    /// Always `database_unavailable`.
    pub error: ErrorDetail,
}

/// A verified notification that was confirmed with the bank, or is about nothing of ours, is
/// answered 200 so the bank stops re-sending it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackAnswer {
    /// `accepted`: confirmed with the bank and applied (or already known, or nothing to do).
    /// `ignored`: verified but about nothing of ours (see `reason`); acknowledged so the bank
    /// stops re-sending it, nothing changed.
    pub status: CallbackStatus,
    /// Only with `ignored`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(examples("not our order"))]
    pub reason: Option<String>,
}

/// What qrpayd did with a verified notification.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Confirmed with the bank and applied.
    Accepted,
    /// About nothing of ours.
    Ignored,
}

/// One server-sent event of a display's stream: `event: state`, an `id`, `retry: 2000` and
/// the `DisplayState` as JSON in `data`.
pub(super) struct DisplayEvent;

impl PartialSchema for DisplayEvent {
    fn schema() -> RefOr<Schema> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("event", string().enum_values(Some(["state"])))
            .property(
                "id",
                string().description(Some(
                    "The screen's version: `Last-Event-ID` on a reconnect.",
                )),
            )
            .property(
                "retry",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .description(Some("Milliseconds before the browser reconnects.")),
            )
            .property(
                "data",
                string()
                    .content_media_type("application/json")
                    .content_schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "DisplayState",
                    )))),
            )
            .required("data")
            .into()
    }
}

impl ToSchema for DisplayEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DisplayEvent")
    }
}

/// `true` or `false` in a query.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum TrueFalse {
    /// Yes.
    True,
    /// No.
    False,
}

/// A terminal's background.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum TermBackground {
    /// Dark (most terminals).
    Dark,
    /// Light.
    Light,
}

/// Receipt paper width in millimetres.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub(super) enum PaperWidth {
    /// 58 mm.
    #[serde(rename = "58")]
    Narrow,
    /// 80 mm.
    #[serde(rename = "80")]
    Wide,
}

/// How a slip prints its QR.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum QrMode {
    /// The printer's own QR command.
    Native,
    /// A bitmap.
    Raster,
}

/// A page's or slip's language.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum Language {
    /// Russian.
    Ru,
    /// English.
    En,
}

/// The pages' files.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub(super) enum AssetName {
    /// The display's style.
    #[serde(rename = "display.css")]
    DisplayCss,
    /// The display's script.
    #[serde(rename = "display.js")]
    DisplayJs,
    /// The demo's style.
    #[serde(rename = "demo.css")]
    DemoCss,
    /// The demo's script.
    #[serde(rename = "demo.js")]
    DemoJs,
}

/// `wait`: seconds to wait, a whole number; any value is capped at `max_wait_seconds`.
pub(super) struct WaitSeconds;

impl PartialSchema for WaitSeconds {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .default(Some(0.into()))
            .examples([60])
            .into()
    }
}

impl ToSchema for WaitSeconds {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WaitSeconds")
    }
}

/// A time in a query: RFC 3339, or a date (the start of that day in Moscow time).
pub(super) struct Moment;

impl PartialSchema for Moment {
    fn schema() -> RefOr<Schema> {
        let format = |f| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(f)))
        };
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(format(KnownFormat::DateTime))
            .item(format(KnownFormat::Date))
            .examples([serde_json::json!("2025-03-14")])
            .into()
    }
}

impl ToSchema for Moment {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Moment")
    }
}

/// Raiffeisenbank's `paymentNotification` (its SBP API), POSTed to
/// `<public_url>/v1/callbacks/<provider>`. Signed with `X-Api-Signature-SHA256`: lowercase hex
/// HMAC-SHA256 with the merchant's secret key over
/// `amount|sbpMerchantId|order|paymentStatus|transactionDate` (each as sent). Other fields
/// (`merchantId`, `additionalInfo`, `createDate`, ...) are ignored. The bank's own format: the
/// bank's specification is the reference; this only says what qrpayd reads.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RaiffeisenPaymentNotification {
    /// The bank's id of the payment operation.
    #[schema(format = Int64)]
    transaction_id: Option<i64>,
    /// The QR paid.
    qr_id: Option<String>,
    /// Must be the provider's configured `sbp_merchant_id`.
    sbp_merchant_id: String,
    /// Rubles, as a JSON number with at most two decimals (e.g. `123.45`); signed as written.
    #[schema(schema_with = rubles_number)]
    amount: serde_json::Value,
    /// The currency.
    #[schema(examples("RUB"))]
    currency: Option<String>,
    /// Moscow time with microseconds, signed verbatim.
    #[schema(examples("2025-03-14T12:27:40.311204+03:00"))]
    transaction_date: String,
    /// The payment's status at the bank.
    #[schema(value_type = RaiffeisenPaymentStatus)]
    payment_status: String,
    /// qrpayd's payment id.
    order: Option<String>,
}

/// A JSON number of rubles (never read as a float: qrpayd parses its text exactly).
fn rubles_number() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .description(Some(
            "Rubles, as a JSON number with at most two decimals (e.g. `123.45`); signed as written.",
        ))
        .examples([serde_json::json!(123.45)])
}

/// A Raiffeisen notification's `paymentStatus`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum RaiffeisenPaymentStatus {
    /// Paid.
    Success,
    /// Declined.
    Declined,
    /// Unknown yet.
    NoInfo,
    /// Under way.
    InProgress,
}

/// Bytes (a PNG, ESC/POS).
pub(super) struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Binary")
    }
}

/// The document's frame: title, prose, tags, the two keys.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "qrpayd POS API",
        version = "1",
        description = include_str!("doc/intro.md"),
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The qrpayd instance serving this document (`listen` in the configuration).")),
    tags(
        (name = "payments", description = include_str!("doc/tag_payments.md")),
        (name = "refunds", description = include_str!("doc/tag_refunds.md")),
        (name = "links", description = include_str!("doc/tag_links.md")),
        (name = "events", description = include_str!("doc/tag_events.md")),
        (name = "qr", description = include_str!("doc/tag_qr.md")),
        (name = "display", description = include_str!("doc/tag_display.md")),
        (name = "callbacks", description = include_str!("doc/tag_callbacks.md")),
        (name = "admin", description = include_str!("doc/tag_admin.md")),
        (name = "operations", description = include_str!("doc/tag_operations.md")),
    ),
    components(schemas(ErrorCode, Event, PaymentSnapshot, RefundSnapshot, DisplayState)),
    modifiers(&SecuritySchemes)
)]
pub(super) struct ApiDoc;

/// Adds the two bearer keys.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "registerKey",
            bearer(include_str!("doc/key_register.md").trim_end()),
        );
        components.add_security_scheme(
            "adminKey",
            bearer(include_str!("doc/key_admin.md").trim_end()),
        );
    }
}

/// The examples of the document (`doc/examples.json`): per schema, and per operation (by
/// `operationId`) for its request body and its answers by status, each named with a summary.
/// They are data for readers; the contract test checks every one against its schema.
pub(super) struct Examples;

impl Examples {
    fn named(
        examples: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<(String, RefOr<Example>)> {
        examples
            .iter()
            .map(|(name, example)| {
                let summary = example.get("summary").and_then(serde_json::Value::as_str);
                let built = ExampleBuilder::new()
                    .summary(summary.unwrap_or_default())
                    .value(example.get("value").cloned())
                    .build();
                (name.clone(), RefOr::T(built))
            })
            .collect()
    }
}

impl Modify for Examples {
    fn modify(&self, openapi: &mut OpenApi) {
        let Ok(all) = serde_json::from_str::<serde_json::Value>(include_str!("doc/examples.json"))
        else {
            return;
        };
        if let (Some(schemas), Some(components)) = (
            all.get("schemas").and_then(serde_json::Value::as_object),
            openapi.components.as_mut(),
        ) {
            for (name, examples) in schemas {
                if let (Some(RefOr::T(Schema::Object(object))), Some(list)) =
                    (components.schemas.get_mut(name), examples.as_array())
                {
                    object.examples = list.clone();
                }
            }
        }
        let Some(operations) = all.get("operations").and_then(serde_json::Value::as_object) else {
            return;
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let Some(examples) = operation
                    .operation_id
                    .as_deref()
                    .and_then(|id| operations.get(id))
                else {
                    continue;
                };
                if let (Some(RefOr::T(body)), Some(named)) = (
                    operation.request_body.as_mut(),
                    examples
                        .get("request")
                        .and_then(serde_json::Value::as_object),
                ) {
                    for content in body.content.values_mut() {
                        if let RefOr::T(content) = content {
                            content.examples.extend(Self::named(named));
                        }
                    }
                }
                let Some(answers) = examples
                    .get("responses")
                    .and_then(serde_json::Value::as_object)
                else {
                    continue;
                };
                for (status, answer) in answers {
                    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status)
                    else {
                        continue;
                    };
                    let (Some(content_type), Some(named)) = (
                        answer
                            .get("content_type")
                            .and_then(serde_json::Value::as_str),
                        answer
                            .get("examples")
                            .and_then(serde_json::Value::as_object),
                    ) else {
                        continue;
                    };
                    if let Some(RefOr::T(content)) = response.content.get_mut(content_type) {
                        content.examples.extend(Self::named(named));
                    }
                }
            }
        }
    }
}
