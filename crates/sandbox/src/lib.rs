//! qrpayd-sandbox: an in-process emulator of Raiffeisenbank's SBP QR API (and of a T-Bank
//! acquiring terminal), for qrpayd's demo mode, tests and staff training.
//!
//! It speaks the bank's real paths, field names and error envelopes (BANKS.md §1): QR
//! registration (v1 and v2, `QRDynamic`, `QRStatic`, `QRVariable` cash-register links), QR
//! status and cancellation, payment-info, refunds, link activations (orders) with their
//! refunds, the callback-URL setting and the bank's own sandbox payment call
//! (`/api/nspc-mock/v01/rfuture/payment/init`, which also pays a link's live order). Payments
//! trigger signed callbacks (`X-Api-Signature-SHA256`; order notices for links), retried
//! until the receiver answers 200. A sandbox-only extension charges customer-presented QRs
//! (`customer`). Under `/tbank/v2/` it is a T-Bank terminal (`tbank`, BANKS.md §3.3).
//! Sandbox-only controls under `/sandbox/...` decline payments and refunds, expire QRs, mint
//! customer QRs, list everything, and inject faults (latency, HTTP 500, business errors,
//! lost or duplicated callbacks; on the Raiffeisen and T-Bank API alike).
//!
//! Endpoints (JSON; "auth" = `Authorization: Bearer <secret_key>`, else HTTP 401):
//!
//! | Method + path | Auth | What |
//! |---|---|---|
//! | `POST /api/sbp/v2/qrs`, `POST /api/sbp/v1/qr/register` | — | register a `QRDynamic` / `QRStatic` |
//! | `GET /api/sbp/v2/qrs/{qrId}` | auth | QR data and `qrStatus` |
//! | `DELETE /api/sbp/v2/qrs/{qrId}` | auth | cancel an unpaid QR (HTTP 200, empty body) |
//! | `GET /api/sbp/v1/qr/{qrId}/info` | auth | QR data (v1) |
//! | `GET /api/sbp/v1/qr/{qrId}/payment-info` | auth | `paymentStatus`, `transactionId`, ... |
//! | `POST /api/sbp/v1/refund`, `GET /api/sbp/v1/refund/{refundId}` | auth | refunds |
//! | `POST /api/settings/v1/callback` | auth | set the callback URL |
//! | `POST /api/payment/v1/orders` | auth | activate a `QRVariable` (cash-register link) with an amount; one live order per link (`ERROR.ORDER_ALREADY_ACTIVE`) |
//! | `GET`/`DELETE /api/payment/v1/orders/{orderId}` | auth | an order (`NEW`, `PAID`, `CANCELLED`, `EXPIRED`); cancel a `NEW` one (else `ORDER_HAS_FINAL_STATUS`) |
//! | `POST`/`GET /api/payments/v1/orders/{orderId}/refunds/{refundId}` | auth | refunds of a paid order |
//! | `POST /sandbox/customer-qr/charge` | auth | charge a customer-presented QR (extension) |
//! | `POST /api/nspc-mock/v01/rfuture/payment/init` | — | pay a QR, or a link's live order (the bank's own sandbox call) |
//! | `POST /tbank/v2/{Init,GetQr,GetState,Cancel,GetQrState}` | `Token` | the T-Bank terminal |
//! | `POST /tbank/v2/SbpPayTest` | `Token` | T-Bank's own sandbox call: pay, reject or expire a payment |
//! | `POST /rbs/payment/rest/{register,getOrderStatusExtended,refund}.do`, `…/sbp/c2b/qr/{dynamic/get,status,dynamic/reject}.do` | `userName`+`password` or `token` | BPC's RBS gateway (`rbs`) |
//! | `POST /sandbox/rbs/orders/{mdOrder}/{pay,decline}`, `…/refunds/decline` | — | the RBS customer pays or is refused; the SBP refuses the refund in progress |
//! | `POST /sandbox/customer-qr` | — | mint a customer QR (`{"amount_limit"?, "confirm"?: "auto"\|"manual"}`) |
//! | `PUT /sandbox/tbank/notification-url` | — | the T-Bank terminal's notification URL (`{"url": …}`) |
//! | `POST /sandbox/qrs/{qrId}/decline` | — | the payer's bank declines an attempt (body `{"amount":..}` optional) |
//! | `POST /sandbox/qrs/{qrId}/expire` | — | let a `NEW` QR's (or a link's live order's) expiry pass now |
//! | `GET /sandbox/qrs` | — | every QR (with its transactions), refund, order, customer QR and T-Bank payment |
//! | `GET /sandbox/registry?date=YYYY-MM-DD` | — | the day's registry, Raiffeisen's `SBPreport.csv` (Windows-1251) |
//! | `POST /sandbox/refunds/{refundId}/decline` | — | an `IN_PROGRESS` refund becomes `DECLINED` |
//! | `GET`/`PUT /sandbox/faults` | — | the [`Faults`] JSON |
//!
//! Determinism: a refund answers `IN_PROGRESS` on creation and on its first
//! `GET`, `COMPLETED` from the second `GET` on (no timers), which is also its completion time
//! in the registry. Expiry is evaluated against the configured clock ([`SandboxConfig::clock`]:
//! the real one unless a test shares its manual clock) whenever a QR is read or changed.
//!
//! Layout (one folder per bank; files only import downwards, so there are no circles):
//! * `raiffeisen/` — the Raiffeisen bank: `model` (its records), `state` (its books and the
//!   QR transitions), `orders` and `customer` (more transitions on the same books), `wire`
//!   (bodies with the bank's field names; amounts as exact JSON numbers), `error`
//!   ([`SandboxError`], each variant with its bank code and HTTP status), `registry` (the
//!   daily registry), `notify` (signed notifications and the sandbox's payer controls),
//!   `routes` (handlers, Bearer auth, fault injection);
//! * `tbank/` — the T-Bank terminal: `books`, `error` ([`TbankError`]), `routes`;
//! * `rbs/` — BPC's RBS gateway (VTB, Alfa, MTS): `books`, `error` ([`RbsError`]), `routes`;
//! * `handle` — the [`Sandbox`] handle: configuration, the books behind one lock, the clock;
//! * `books` — both banks' books and the faults, behind the handle's lock;
//! * `faults` — [`Faults`], shared by both banks;
//! * `callbacks` — delivery of notifications with retries;
//! * `controls` — sandbox-only controls that span both banks (faults, the overview);
//! * `app` — the router: every route of the sandbox, put together;
//! * `time`, `qrc_id` — Moscow timestamps; fresh NSPK QR ids.
//!
//! Money is always [`Kopecks`](qrpayd_domain::money::Kopecks); no amount ever passes through
//! floating point.

mod app;
mod books;
mod callbacks;
mod controls;
mod faults;
mod handle;
mod qrc_id;
mod raiffeisen;
mod rbs;
mod sber;
mod tbank;
mod time;

pub use crate::faults::{Chaos, ChaosCounts, Faults};
pub use crate::handle::{
    DEFAULT_BANK_MEMBER_ID, DEFAULT_RBS_USER_NAME, DEFAULT_SBER_CLIENT_ID, DEFAULT_SBER_MEMBER_ID,
    DEFAULT_SBER_TID, DEFAULT_TBANK_TERMINAL_KEY, Sandbox, SandboxConfig, serve,
};
pub use crate::raiffeisen::SandboxError;
pub use crate::rbs::RbsError;
pub use crate::sber::SberError;
pub use crate::tbank::TbankError;
