//! NSPK (SBP) QR links: `https://qr.nspk.ru/<qrcId>?type=02&bank=…&sum=…&cur=RUB&crc=XXXX`.
//!
//! The `crc` is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection) over the ASCII
//! of the whole link up to, not including, `&crc=`, as 4 upper-case hex digits (BANKS.md §2.2,
//! verified on real payloads).
//!
//! [`parse_link`] reads a scanned text into an [`NspkLink`]; [`check_link`] decides whether a
//! scanned cash-register link is the one configured for a register (BANKS.md §2.3): it
//! compares the 32-character QR id upper-cased, never the raw strings, because printed links
//! may or may not carry the query, and answers with a stable [`LinkCheckReason`].

use serde::Serialize;

use crate::money::Kopecks;

/// The host of every NSPK payment link (compared case-insensitively).
pub const NSPK_HOST: &str = "qr.nspk.ru";

/// Length of an NSPK QR id (`qrcId`).
pub const QRC_ID_LEN: usize = 32;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// `01`: static / reusable.
    Static,
    /// `02`: dynamic / one payment.
    Dynamic,
}

impl LinkType {
    /// The `type=` value: `01` or `02`.
    pub fn code(self) -> &'static str {
        match self {
            LinkType::Static => "01",
            LinkType::Dynamic => "02",
        }
    }

    /// Reads a `type=` value.
    pub fn from_code(code: &str) -> Option<LinkType> {
        match code {
            "01" => Some(LinkType::Static),
            "02" => Some(LinkType::Dynamic),
            _ => None,
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

/// A parsed NSPK link. Only the QR id is always there: printed cash-register links are often
/// just `https://qr.nspk.ru/<qrcId>` (BANKS.md §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NspkLink {
    /// The 32-character QR id, upper-cased.
    pub qrc_id: String,
    /// `type=`: static (`01`, reusable, what a cash-register link is) or dynamic (`02`).
    pub link_type: Option<LinkType>,
    /// `bank=`: the NSPK member id of the merchant's bank (12 digits).
    pub bank: Option<String>,
    /// `sum=` in kopecks.
    pub sum: Option<Kopecks>,
    /// Whether the `crc` verifies; `None` when the link carries none.
    pub crc_ok: Option<bool>,
}

/// Why a text is not an NSPK link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a URL, or a damaged one (no or malformed QR id, unreadable parameters).
    #[error("not an SBP link, or a damaged one")]
    NotALink,
    /// A well-formed URL, but not `https://qr.nspk.ru/…`.
    #[error("a link, but not an SBP payment link (https://qr.nspk.ru/…)")]
    NotSbp,
}

/// Reads a scanned text as an NSPK link. Surrounding whitespace (scanners add CR/LF) is
/// ignored; scheme and host compare case-insensitively; the QR id is upper-cased; parameter
/// order does not matter; the `crc` is checked over the text as scanned.
pub fn parse_link(text: &str) -> Result<NspkLink, LinkError> {
    let text = text.trim();
    let (scheme, rest) = text.split_once("://").ok_or(LinkError::NotALink)?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        return Err(LinkError::NotALink);
    }
    // Drop a fragment, then split authority / path / query.
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (host, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LinkError::NotALink);
    }
    if !scheme.eq_ignore_ascii_case("https") || !host.eq_ignore_ascii_case(NSPK_HOST) {
        return Err(LinkError::NotSbp);
    }
    let qrc_id = path.strip_suffix('/').unwrap_or(path);
    if qrc_id.len() != QRC_ID_LEN || !qrc_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(LinkError::NotALink);
    }
    let mut link = NspkLink {
        qrc_id: qrc_id.to_ascii_uppercase(),
        link_type: None,
        bank: None,
        sum: None,
        crc_ok: None,
    };
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or(LinkError::NotALink)?;
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                link.link_type = Some(LinkType::from_code(value).ok_or(LinkError::NotALink)?);
            }
            "bank" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(LinkError::NotALink);
                }
                link.bank = Some(value.to_owned());
            }
            "sum" => {
                let kopecks = value
                    .parse::<i64>()
                    .ok()
                    .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| Kopecks::new(v).ok())
                    .ok_or(LinkError::NotALink)?;
                link.sum = Some(kopecks);
            }
            // The crc is checked over the whole text below; other parameters (`cur`, …) and
            // ones NSPK may add later are ignored.
            _ => {}
        }
    }
    link.crc_ok = crc_matches(text);
    Ok(link)
}

/// Why a scanned link is or is not the configured one. Stable snake_case codes (the API's
/// `reason`; serialized as [`LinkCheckReason::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCheckReason {
    /// It is the configured link.
    Match,
    /// The configured link itself is not a valid NSPK link (fix the configuration).
    ConfiguredLinkInvalid,
    /// Not a URL, or a damaged one.
    NotALink,
    /// A URL, but not an SBP payment link (`https://qr.nspk.ru/…`).
    NotSbp,
    /// The link carries a `crc` and it is wrong: damaged or hand-edited.
    BadCrc,
    /// An SBP link of another kind than a cash-register link (`type` present and not `01`),
    /// e.g. a dynamic QR from a screen.
    NotACashLink,
    /// Another bank's link (`bank` present and not the expected member id).
    OtherBank,
    /// A valid cash-register link, but another one (e.g. another register's sticker).
    OtherLink,
}

impl LinkCheckReason {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkCheckReason::Match => "match",
            LinkCheckReason::ConfiguredLinkInvalid => "configured_link_invalid",
            LinkCheckReason::NotALink => "not_a_link",
            LinkCheckReason::NotSbp => "not_sbp",
            LinkCheckReason::BadCrc => "bad_crc",
            LinkCheckReason::NotACashLink => "not_a_cash_link",
            LinkCheckReason::OtherBank => "other_bank",
            LinkCheckReason::OtherLink => "other_link",
        }
    }

    /// A sentence for the cashier.
    pub fn message(self) -> &'static str {
        match self {
            LinkCheckReason::Match => "this is the link configured for this register",
            LinkCheckReason::ConfiguredLinkInvalid => {
                "the link configured for this register is not a valid SBP link"
            }
            LinkCheckReason::NotALink => "not an SBP link, or a damaged one",
            LinkCheckReason::NotSbp => "a link, but not an SBP payment link",
            LinkCheckReason::BadCrc => "the link's checksum is wrong: damaged or altered",
            LinkCheckReason::NotACashLink => "an SBP link, but not a cash-register link",
            LinkCheckReason::OtherBank => "a cash-register link of another bank",
            LinkCheckReason::OtherLink => "another cash-register link (not this register's)",
        }
    }
}

impl Serialize for LinkCheckReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The outcome of [`check_link`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkCheck {
    /// Is it the configured link?
    pub matched: bool,
    /// Why (also when it matched: [`LinkCheckReason::Match`]).
    pub reason: LinkCheckReason,
    /// The scanned link's QR id, when it could be read.
    pub scanned_qr_id: Option<String>,
}

impl LinkCheck {
    fn no(reason: LinkCheckReason, scanned: Option<&NspkLink>) -> LinkCheck {
        LinkCheck {
            matched: false,
            reason,
            scanned_qr_id: scanned.map(|l| l.qrc_id.clone()),
        }
    }
}

/// Is the `scanned` text the cash-register link `configured` for a register? `expected_bank`
/// is the bank's NSPK member id when known; otherwise the configured link's `bank=` (if any)
/// is expected.
///
/// Checked in this order, the first failing check naming the reason: the configured link is
/// valid; the scanned text is a URL (`not_a_link`) of `https://qr.nspk.ru` (`not_sbp`); its
/// `crc`, when present, verifies (`bad_crc`); its `type`, when present, is `01`
/// (`not_a_cash_link`); its `bank`, when present and one is expected, is that bank
/// (`other_bank`); its QR id equals the configured one, upper-cased (`other_link`).
pub fn check_link(scanned: &str, configured: &str, expected_bank: Option<&str>) -> LinkCheck {
    let Ok(configured) = parse_link(configured) else {
        return LinkCheck::no(LinkCheckReason::ConfiguredLinkInvalid, None);
    };
    let link = match parse_link(scanned) {
        Ok(link) => link,
        Err(LinkError::NotALink) => return LinkCheck::no(LinkCheckReason::NotALink, None),
        Err(LinkError::NotSbp) => return LinkCheck::no(LinkCheckReason::NotSbp, None),
    };
    let reason = if link.crc_ok == Some(false) {
        LinkCheckReason::BadCrc
    } else if link.link_type.is_some_and(|t| t != LinkType::Static) {
        LinkCheckReason::NotACashLink
    } else if let (Some(bank), Some(expected)) = (
        link.bank.as_deref(),
        expected_bank.or(configured.bank.as_deref()),
    ) && bank != expected
    {
        LinkCheckReason::OtherBank
    } else if link.qrc_id != configured.qrc_id {
        LinkCheckReason::OtherLink
    } else {
        LinkCheckReason::Match
    };
    LinkCheck {
        matched: reason == LinkCheckReason::Match,
        reason,
        scanned_qr_id: Some(link.qrc_id),
    }
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

    const CONFIGURED: &str =
        "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000014&crc=4478";

    fn reason(scanned: &str) -> &'static str {
        check_link(scanned, CONFIGURED, None).reason.as_str()
    }

    #[test]
    fn parses_a_full_link() {
        let link = parse_link(
            "https://qr.nspk.ru/AD10006PTORDPC5D98HPT12HV37MMQ6G?type=02&bank=100000000284&sum=15590000&cur=RUB&crc=4C8A",
        )
        .unwrap();
        assert_eq!(
            link,
            NspkLink {
                qrc_id: "AD10006PTORDPC5D98HPT12HV37MMQ6G".into(),
                link_type: Some(LinkType::Dynamic),
                bank: Some("100000000284".into()),
                sum: Kopecks::new(15_590_000).ok(),
                crc_ok: Some(true),
            }
        );
        let bare = parse_link("https://qr.nspk.ru/as1r002pg32bg00e812pbfpr38kr02bq").unwrap();
        assert_eq!(bare.qrc_id, "AS1R002PG32BG00E812PBFPR38KR02BQ");
        assert_eq!(
            (bare.link_type, bare.bank, bare.sum, bare.crc_ok),
            (None, None, None, None)
        );
    }

    #[test]
    fn the_configured_link_matches_with_and_without_its_query() {
        for scanned in [
            CONFIGURED,
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST/",
            "https://QR.NSPK.RU/AS1R0000000000000000000000000TST",
            "HTTPS://qr.nspk.ru/as1r0000000000000000000000000tst",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?bank=100000000014&type=01",
            // Scanners end the text with CR/LF or a tab.
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000014&crc=4478\r\n",
            "\thttps://qr.nspk.ru/AS1R0000000000000000000000000TST\n",
        ] {
            let check = check_link(scanned, CONFIGURED, None);
            assert!(check.matched, "{scanned:?}: {check:?}");
            assert_eq!(check.reason, LinkCheckReason::Match);
            assert_eq!(
                check.scanned_qr_id.as_deref(),
                Some("AS1R0000000000000000000000000TST")
            );
        }
        // A printed link without query is a valid configuration too.
        let bare = "https://qr.nspk.ru/AS1R0000000000000000000000000TST";
        assert!(check_link(CONFIGURED, bare, None).matched);
        assert!(check_link(CONFIGURED, bare, Some("100000000014")).matched);
    }

    #[test]
    fn real_static_link_vector() {
        let printed = "https://qr.nspk.ru/BS1A007UU3S1BDQT9GG9P854PISE7R13?type=01&bank=100000000008&crc=E390";
        let configured = "https://qr.nspk.ru/BS1A007UU3S1BDQT9GG9P854PISE7R13";
        assert!(check_link(printed, configured, None).matched);
        assert!(check_link(printed, configured, Some("100000000008")).matched);
        assert_eq!(
            check_link(printed, configured, Some("100000000007")).reason,
            LinkCheckReason::OtherBank
        );
    }

    #[test]
    fn mismatches_say_why() {
        // Wrong crc (a hand-edited or damaged print); the right crc is 4478.
        assert_eq!(
            reason(
                "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000014&crc=4479"
            ),
            "bad_crc"
        );
        // One character of the id changed: the crc catches it.
        assert_eq!(
            reason(
                "https://qr.nspk.ru/AS1R0000000000000000000000000TSU?type=01&bank=100000000014&crc=4478"
            ),
            "bad_crc"
        );
        // Raiffeisen's doc example whose crc does not verify (BANKS.md §2.2).
        assert_eq!(
            reason(
                "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=1&cur=RUB&crc=C08B"
            ),
            "bad_crc"
        );
        // A dynamic QR (e.g. from a screen), with a valid crc.
        assert_eq!(
            reason(
                "https://qr.nspk.ru/AD10000000000000000000000000TEST?type=02&bank=100000000007&sum=12345&cur=RUB&crc=7745"
            ),
            "not_a_cash_link"
        );
        // A cash-register link of another bank, valid crc.
        let other_bank = build_link(
            "AS1R0000000000000000000000000XYZ",
            LinkType::Static,
            "100000000111",
            None,
        );
        assert_eq!(reason(&other_bank), "other_bank");
        // Another register's link at the same bank, with and without query.
        let other_register = build_link(
            "AS1R0000000000000000000000000ABC",
            LinkType::Static,
            "100000000014",
            None,
        );
        assert_eq!(reason(&other_register), "other_link");
        assert_eq!(
            reason("https://qr.nspk.ru/AS1R002PG32BG00E812PBFPR38KR02BQ"),
            "other_link"
        );
        // Not SBP: another host, plain http, subscriptions host.
        for text in [
            "https://example.com/AS1R0000000000000000000000000TST",
            "http://qr.nspk.ru/AS1R0000000000000000000000000TST",
            "https://sub.nspk.ru/AS1R0000000000000000000000000TST?type=03&bank=100000000007&crc=0000",
            "https://qr.nspk.ru.evil.example/AS1R0000000000000000000000000TST",
            "ftp://qr.nspk.ru/AS1R0000000000000000000000000TST",
        ] {
            assert_eq!(reason(text), "not_sbp", "{text}");
        }
        // Garbage and damaged links.
        for text in [
            "",
            "   ",
            "4607036871031",
            "hello",
            "руеезыЖ..йкюты",
            "qr.nspk.ru/AS1R0000000000000000000000000TST",
            "https://qr.nspk.ru/",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TS",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TSTX",
            "https://qr.nspk.ru/AS1R000000000000000000000000-TST",
            "https://qr.nspk.ru/a/AS1R0000000000000000000000000TST",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=99",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?sum=-5",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?sum=1.5",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type",
            "https://qr.nspk.ru/AS1R0000000000000000000000000TST?bank=1 2",
            "://qr.nspk.ru/AS1R0000000000000000000000000TST",
            "https:///AS1R0000000000000000000000000TST",
        ] {
            assert_eq!(reason(text), "not_a_link", "{text:?}");
        }
        // The configured link itself is broken.
        assert_eq!(
            check_link(CONFIGURED, "not a link", None).reason,
            LinkCheckReason::ConfiguredLinkInvalid
        );
    }

    #[test]
    fn reason_codes_are_stable() {
        let all = [
            (LinkCheckReason::Match, "match"),
            (
                LinkCheckReason::ConfiguredLinkInvalid,
                "configured_link_invalid",
            ),
            (LinkCheckReason::NotALink, "not_a_link"),
            (LinkCheckReason::NotSbp, "not_sbp"),
            (LinkCheckReason::BadCrc, "bad_crc"),
            (LinkCheckReason::NotACashLink, "not_a_cash_link"),
            (LinkCheckReason::OtherBank, "other_bank"),
            (LinkCheckReason::OtherLink, "other_link"),
        ];
        for (reason, code) in all {
            assert_eq!(reason.as_str(), code);
            assert!(!reason.message().is_empty());
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,120}") {
            let _ = parse_link(&text);
            let _ = check_link(&text, CONFIGURED, None);
            let _ = check_link(CONFIGURED, &text, Some("100000000014"));
        }

        #[test]
        fn never_panics_on_damaged_links(suffix in "[A-Za-z0-9?&=/#%.:\\-]{0,80}") {
            let text = format!("https://qr.nspk.ru/{suffix}");
            let _ = check_link(&text, CONFIGURED, None);
            let text = format!("https://qr.nspk.ru/AS1R0000000000000000000000000TST?{suffix}");
            let _ = check_link(&text, CONFIGURED, Some("100000000014"));
        }

        #[test]
        fn built_links_parse_back_and_match_themselves(
            id in "[0-9A-V]{32}",
            dynamic in proptest::bool::ANY,
            bank in "[0-9]{12}",
            sum in proptest::option::of(1i64..100_000_000),
        ) {
            let link_type = if dynamic { LinkType::Dynamic } else { LinkType::Static };
            let sum = sum.and_then(|s| Kopecks::new(s).ok());
            let link = build_link(&id, link_type, &bank, sum);
            let parsed = parse_link(&link).unwrap();
            proptest::prop_assert_eq!(&parsed.qrc_id, &id);
            proptest::prop_assert_eq!(parsed.link_type, Some(link_type));
            proptest::prop_assert_eq!(parsed.bank.as_deref(), Some(bank.as_str()));
            proptest::prop_assert_eq!(parsed.sum, sum);
            proptest::prop_assert_eq!(parsed.crc_ok, Some(true));
            let bare = format!("https://qr.nspk.ru/{id}");
            let check = check_link(&link, &bare, None);
            proptest::prop_assert_eq!(check.matched, !dynamic);
        }
    }

    #[test]
    fn crc_verification() {
        let good = "https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=1&cur=RUB&crc=AB75";
        assert_eq!(crc_matches(good), Some(true));
        assert_eq!(crc_matches(&good.replace("AB75", "C08B")), Some(false));
        assert_eq!(crc_matches("https://qr.nspk.ru/AD1"), None);
    }
}
