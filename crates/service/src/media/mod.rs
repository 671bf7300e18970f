//! What the customer sees or gets printed: the QR as pictures ([`qr`]) and the QR slip for the
//! receipt tape ([`receipt`]). Pure functions of a payment's payload and amount: no IO, no
//! clock; the HTTP side is `api/media.rs`.

pub mod qr;
pub mod receipt;

/// The language of customer-facing text: Russian by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Russian.
    #[default]
    Ru,
    /// English.
    En,
}

impl Lang {
    /// `ru` or `en`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}
