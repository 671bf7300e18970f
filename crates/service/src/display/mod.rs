//! The pages people look at: the customer display / kiosk screen of a register, and the
//! cashier demo page. This module decides *what* a display shows ([`screen`]: a pure
//! function of the register's latest payment and the time) and holds the pages' HTML, CSS
//! and JavaScript, embedded in the binary so a kiosk with no internet needs nothing but
//! qrpayd. The HTTP side (pages, the event stream, assets) is `api/display.rs`.
//!
//! What a display may see (it has a `display_key`, not an API key): its own register's
//! *current* payment only — the amount, the QR, the status and the time left. No payment
//! ids, no orders or descriptions, no refunds, no other payment.

use chrono::{DateTime, Utc};
use qrpayd_domain::payment::{ApiStatus, PaymentState, QrType};
use qrpayd_store::Payment;
use sha2::{Digest, Sha256};

/// How long a display shows an outcome (paid, cancelled, …) before going back to idle.
pub const OUTCOME_SECONDS: i64 = 10;

/// What the display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shows {
    /// Nothing to pay: the idle screen.
    Idle,
    /// The QR of a payable payment, with its amount and countdown.
    Qr,
    /// How the payment ended (`paid`, `cancelled`, `expired`, `failed`).
    Outcome(ApiStatus),
}

/// The display's screen and the payment behind it.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// What to show.
    pub shows: Shows,
    /// The payment shown (none when idle).
    pub payment: Option<&'a Payment>,
    /// When the screen changes by itself (an outcome goes back to idle).
    pub until: Option<DateTime<Utc>>,
}

impl Screen<'_> {
    /// An opaque version of the screen (the event id of the display's stream): equal
    /// versions show the same thing (a payment being closed still shows the same QR).
    /// Reveals no payment id.
    pub fn version(&self) -> String {
        let Some(p) = self.payment else {
            return "idle".to_owned();
        };
        let shows = match self.shows {
            Shows::Idle => "idle",
            Shows::Qr => "qr",
            Shows::Outcome(status) => status.as_str(),
        };
        let digest = Sha256::digest(format!("{}|{shows}", p.id.as_str()));
        hex::encode(digest.get(..8).unwrap_or_default())
    }
}

/// What a register's display shows, given its most recent payment:
/// * a payable payment with a QR for the customer to scan (a dynamic QR, or the register's
///   cash-register link) → the QR (a payment being closed is still shown: it may still end
///   paid);
/// * a payment that ended less than [`OUTCOME_SECONDS`] ago → its outcome;
/// * anything else → idle: no payment, one being created (no QR yet), one whose QR was never
///   issued (nobody saw it), one paid with a QR the *customer* presents (there is nothing to
///   scan on the display), an outcome shown long enough, and a *late* payment (paid after it
///   was closed: the customer has left, and the money is usually refunded).
pub fn screen(latest: Option<&Payment>, now: DateTime<Utc>) -> Screen<'_> {
    let idle = Screen {
        shows: Shows::Idle,
        payment: None,
        until: None,
    };
    let Some(p) = latest else {
        return idle;
    };
    if p.qr.is_none() || p.late {
        return idle;
    }
    match p.state {
        PaymentState::Creating => idle,
        PaymentState::Pending | PaymentState::Closing(_) if p.qr_type == QrType::Customer => idle,
        PaymentState::Pending | PaymentState::Closing(_) => Screen {
            shows: Shows::Qr,
            payment: Some(p),
            until: None,
        },
        PaymentState::Paid
        | PaymentState::Failed
        | PaymentState::Expired
        | PaymentState::Cancelled => {
            let until = p.updated_at + chrono::Duration::seconds(OUTCOME_SECONDS);
            if now < until {
                Screen {
                    shows: Shows::Outcome(p.state.api_status()),
                    payment: Some(p),
                    until: Some(until),
                }
            } else {
                idle
            }
        }
    }
}

/// A file the pages load from qrpayd itself.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its name under `/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

/// Every asset of the pages.
pub const ASSETS: [Asset; 6] = [
    Asset {
        name: "display.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/display.css"),
    },
    Asset {
        name: "display.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/display.js"),
    },
    Asset {
        name: "demo.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/demo.css"),
    },
    Asset {
        name: "demo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/demo.js"),
    },
    Asset {
        name: "admin.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/admin.css"),
    },
    Asset {
        name: "admin.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/admin.js"),
    },
];

/// The asset called `name`.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The customer display page (the same for every register; its script reads the URL).
pub const DISPLAY_HTML: &str = include_str!("assets/display.html");

/// The page a display shows when its URL is wrong (unknown register, no `display_key`, wrong
/// key).
pub const UNKNOWN_DISPLAY_HTML: &str = include_str!("assets/unknown-display.html");

/// The cashier demo page.
pub const DEMO_HTML: &str = include_str!("assets/demo.html");

/// The store admin's read-only journal page (`/admin`).
pub const ADMIN_HTML: &str = include_str!("assets/admin.html");

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use chrono::TimeZone;
    use qrpayd_domain::ids::{IdempotencyKey, PaymentId, ProviderName, QrId, RegisterId};
    use qrpayd_domain::money::{Currency, Kopecks};
    use qrpayd_domain::payment::CloseReason;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn payment(state: PaymentState, updated: i64) -> Payment {
        Payment {
            id: PaymentId::parse("pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b").unwrap(),
            register_id: RegisterId::parse("pos-1").unwrap(),
            idempotency_key: IdempotencyKey::parse("k").unwrap(),
            request_hash: String::new(),
            amount: Kopecks::new(12345).unwrap(),
            currency: Currency::Rub,
            provider: ProviderName::parse("raiffeisen").unwrap(),
            order: None,
            description: None,
            state,
            qr_type: QrType::Dynamic,
            late: false,
            late_action: None,
            qr: Some((
                QrId::parse("AD1X").unwrap(),
                "https://qr.nspk.ru/AD1X".into(),
            )),
            bank_transaction_id: None,
            failure: None,
            version: 2,
            created_at: t(0),
            expires_at: t(300),
            updated_at: t(updated),
            paid_at: None,
        }
    }

    #[test]
    fn a_payable_payment_shows_its_qr_even_while_closing() {
        for state in [
            PaymentState::Pending,
            PaymentState::Closing(CloseReason::Cancel),
        ] {
            let p = payment(state, 1);
            assert_eq!(screen(Some(&p), t(400)).shows, Shows::Qr);
        }
    }

    #[test]
    fn an_outcome_shows_for_a_while_then_idle() {
        let p = payment(PaymentState::Paid, 60);
        let s = screen(Some(&p), t(65));
        assert_eq!(s.shows, Shows::Outcome(ApiStatus::Paid));
        assert_eq!(s.until, Some(t(70)));
        assert_eq!(screen(Some(&p), t(70)).shows, Shows::Idle);
        let c = payment(PaymentState::Cancelled, 60);
        assert_eq!(
            screen(Some(&c), t(61)).shows,
            Shows::Outcome(ApiStatus::Cancelled)
        );
    }

    #[test]
    fn nothing_to_see_is_idle() {
        assert_eq!(screen(None, t(0)).shows, Shows::Idle);
        let creating = payment(PaymentState::Creating, 0);
        assert_eq!(screen(Some(&creating), t(0)).shows, Shows::Idle);
        let mut no_qr = payment(PaymentState::Failed, 0);
        no_qr.qr = None;
        assert_eq!(screen(Some(&no_qr), t(1)).shows, Shows::Idle);
        let mut late = payment(PaymentState::Paid, 0);
        late.late = true;
        assert_eq!(screen(Some(&late), t(1)).shows, Shows::Idle);
        // The customer presents the QR: nothing to scan on the display, but the outcome shows.
        let mut presented = payment(PaymentState::Pending, 0);
        presented.qr_type = QrType::Customer;
        assert_eq!(screen(Some(&presented), t(1)).shows, Shows::Idle);
        presented.state = PaymentState::Paid;
        assert_eq!(
            screen(Some(&presented), t(1)).shows,
            Shows::Outcome(ApiStatus::Paid)
        );
        let mut link = payment(PaymentState::Pending, 0);
        link.qr_type = QrType::CashRegister;
        assert_eq!(screen(Some(&link), t(1)).shows, Shows::Qr);
    }

    #[test]
    fn versions_change_with_the_screen_and_hide_the_id() {
        let p = payment(PaymentState::Pending, 1);
        let v1 = screen(Some(&p), t(2)).version();
        assert_eq!(v1, screen(Some(&p), t(3)).version());
        assert!(!v1.contains("0190a1b2"));
        let closing = payment(PaymentState::Closing(CloseReason::Cancel), 3);
        assert_eq!(v1, screen(Some(&closing), t(4)).version());
        let paid = payment(PaymentState::Paid, 5);
        assert_ne!(v1, screen(Some(&paid), t(6)).version());
        assert_eq!(screen(None, t(0)).version(), "idle");
    }

    #[test]
    fn assets_are_found_by_name() {
        assert!(asset("display.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
        // The pages load nothing from outside qrpayd.
        for text in
            ASSETS
                .iter()
                .map(|a| a.body)
                .chain([DISPLAY_HTML, DEMO_HTML, UNKNOWN_DISPLAY_HTML])
        {
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn")
            );
        }
    }
}
