//! NSPK (SBP) QR links: `https://qr.nspk.ru/<qrcId>?type=02&bank=…&sum=…&cur=RUB&crc=XXXX`.
//!
//! The `crc` is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection) over the ASCII
//! of the whole link up to, not including, `&crc=`, as 4 upper-case hex digits (BANKS.md §2.2,
//! verified on real payloads).

use crate::money::Kopecks;

/// CRC-16/CCITT-FALSE of `data`.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The kind of an NSPK link (`type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// `01`: static / reusable.
    Static,
    /// `02`: dynamic / one payment.
    Dynamic,
}

impl LinkType {
    fn code(self) -> &'static str {
        match self {
            LinkType::Static => "01",
            LinkType::Dynamic => "02",
        }
    }
}

/// Builds a link with its `crc`. `bank` is the 12-digit NSPK member id of the merchant's bank.
pub fn build_link(qrc_id: &str, link_type: LinkType, bank: &str, sum: Option<Kopecks>) -> String {
    let mut link = format!(
        "https://qr.nspk.ru/{qrc_id}?type={}&bank={bank}",
        link_type.code()
    );
    if let Some(sum) = sum {
        link.push_str(&format!("&sum={}&cur=RUB", sum.get()));
    }
    let crc = crc16_ccitt_false(link.as_bytes());
    link.push_str(&format!("&crc={crc:04X}"));
    link
}

/// Checks the `crc` of a link that carries one. `None` when the link has no `&crc=`.
pub fn crc_matches(link: &str) -> Option<bool> {
    let at = link.rfind("&crc=")?;
    let (signed, rest) = link.split_at(at);
    let given = rest.get(5..)?;
    let given = given.split('&').next().unwrap_or(given);
    let want = format!("{:04X}", crc16_ccitt_false(signed.as_bytes()));
    Some(given.eq_ignore_ascii_case(&want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn real_payload_vectors_from_banks_md() {
        for (link, crc) in [
            (
                "https://qr.nspk.ru/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02&bank=100000000284&sum=15590000&cur=RUB",
                "4C8A",
            ),
            (
                "https://qr.nspk.ru/BD10006LQ6LNI7R88AJBQP5AE5GEBSNT?type=02&bank=100000000015&sum=10000&cur=RUB",
                "B4F7",
            ),
            (
                "https://qr.nspk.ru/BS1A007UU3S1BDQT9GG9P854PISE7R13?type=01&bank=100000000008",
                "E390",
            ),
            (
                "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=1&cur=RUB",
                "AB75",
            ),
        ] {
            assert_eq!(
                format!("{:04X}", crc16_ccitt_false(link.as_bytes())),
                crc,
                "{link}"
            );
        }
    }

    #[test]
    fn builds_the_emulator_vectors() {
        let sum = Kopecks::new(12345).ok();
        assert_eq!(
            build_link(
                "AD10000000000000000000000000TEST",
                LinkType::Dynamic,
                "100000000007",
                sum
            ),
            "https://qr.nspk.ru/AD10000000000000000000000000TEST?type=02&bank=100000000007&sum=12345&cur=RUB&crc=7745"
        );
        assert_eq!(
            build_link(
                "AS1R0000000000000000000000000TST",
                LinkType::Static,
                "100000000014",
                None
            ),
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000014&crc=4478"
        );
    }

    #[test]
    fn crc_verification() {
        let good = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75";
        assert_eq!(crc_matches(good), Some(true));
        assert_eq!(crc_matches(&good.replace("AB75", "C08B")), Some(false));
        assert_eq!(crc_matches("https://qr.nspk.ru/AD1"), None);
    }
}
