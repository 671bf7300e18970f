//! The NSPK link parser and the cash-register link check (`qrpayd_domain::nspk`), as a
//! register's scanner or the `links` commands feed them: any text.
//!
//! Input: the scanned text, optionally followed by a newline and the configured link.
//! Oracles: a link that reads rebuilds (`build_link`) into one that reads back with the same QR
//! id, type, bank and sum and a good CRC; a link that reads, with a good or no CRC, of a cash
//! (static) or unknown type, is the link configured when compared with itself.

use qrpayd_domain::nspk::{LinkCheckReason, LinkType, build_link, check_link, parse_link};

use crate::Target;

/// The target.
pub(super) const TARGET: Target = Target {
    name: "nspk_link",
    run,
    max_len: 2048,
    dictionary: &[
        "https://qr.nspk.ru/",
        "HTTPS://QR.NSPK.RU/",
        "?type=01",
        "?type=02",
        "&type=",
        "&bank=",
        "&sum=",
        "&cur=RUB",
        "&crc=",
        "100000000007",
        "AD100004BAL7227F9BNP6KNE007J9B3K",
        "#",
        "?",
        "&",
        "%2F",
        "http://",
        "://",
    ],
};

fn run(data: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(data);
    let (scanned, configured) = text.split_once('\n').unwrap_or((&text, ""));
    let parsed = parse_link(scanned);
    if let Ok(link) = &parsed {
        let bank = link.bank.clone().unwrap_or_else(|| "100000000007".into());
        if bank.len() == 12 && bank.bytes().all(|b| b.is_ascii_digit()) {
            let link_type = link.link_type.unwrap_or(LinkType::Static);
            let rebuilt = build_link(&link.qrc_id, link_type, &bank, link.sum);
            let again = parse_link(&rebuilt).map_err(|e| {
                format!("{scanned:?} reads, but its rebuilt {rebuilt:?} does not: {e}")
            })?;
            if again.qrc_id != link.qrc_id
                || again.link_type != Some(link_type)
                || again.bank.as_deref() != Some(bank.as_str())
                || again.sum != link.sum
                || again.crc_ok != Some(true)
            {
                return Err(format!(
                    "{scanned:?} reads as {link:?}; rebuilt {rebuilt:?} reads as {again:?}"
                ));
            }
        }
        if link.crc_ok != Some(false) && link.link_type != Some(LinkType::Dynamic) {
            let itself = check_link(scanned, scanned, None);
            if !itself.matched || itself.reason != LinkCheckReason::Match {
                return Err(format!("{scanned:?} is not itself: {itself:?}"));
            }
        }
    }
    let check = check_link(scanned, configured, None);
    Ok(format!(
        "{} / {:?}",
        super::outcome(&parsed.map(|l| (l.link_type, l.crc_ok, l.bank.is_some(), l.sum.is_some()))),
        check.reason
    ))
}
