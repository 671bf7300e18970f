//! Fresh NSPK QR ids (`qrcId`): a type prefix and random characters of the base32hex alphabet,
//! like the ids NSPK hands out.

use crate::raiffeisen::model::QrType;
use uuid::Uuid;

/// A fresh QR id: the type's prefix (`AD1` dynamic, `AS1` static, `AS1R` cash-register
/// link, like the real ones seen, BANKS.md §2.1) and random characters of the base32hex
/// alphabet `0-9A-V` up to 32, like the ids NSPK hands out.
pub(crate) fn fresh_qr_id(qr_type: QrType) -> String {
    let prefix = match qr_type {
        QrType::Dynamic => "AD1",
        QrType::Static => "AS1",
        QrType::Variable => "AS1R",
    };
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let tail: String = a
        .as_bytes()
        .iter()
        .chain(b.as_bytes().iter())
        .take(32usize.saturating_sub(prefix.len()))
        .map(|byte| {
            char::from_digit(u32::from(byte & 0x1F), 32)
                .unwrap_or('0')
                .to_ascii_uppercase()
        })
        .collect();
    format!("{prefix}{tail}")
}
