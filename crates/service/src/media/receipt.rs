//! The QR slip for the receipt tape, for registers without a customer screen: ESC/POS bytes
//! ready for the printer, and the same slip as plain text.
//!
//! ESC/POS is written here directly (a dozen commands, no dependency): `ESC @` (reset),
//! `ESC t 17` (code page PC866, the Cyrillic page Russian receipt printers have), `ESC a`
//! (alignment), `ESC E` / `GS !` (bold, double size), the QR either by the printer's own
//! QR command (`GS ( k`: model 2, level M, module size, store, print) or as a raster image
//! (`GS v 0`, for printers without QR firmware), `ESC d` (feed) and `GS V 66` (feed and
//! partial cut; printers without a cutter ignore it).
//!
//! Paper: 58 mm rolls print 384 dots (48 mm, 32 characters of font A), 80 mm rolls 576 dots
//! (72 mm, 48 characters), at 203 dpi (8 dots per mm).

use chrono::{DateTime, Utc};
use qrpayd_domain::money::Kopecks;

use super::Lang;
use super::qr::{self, QrError, QrMatrix};

/// Receipt paper width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 58 mm roll: 384 dots, 32 characters.
    Mm58,
    /// 80 mm roll: 576 dots, 48 characters.
    Mm80,
}

impl Paper {
    /// `58` or `80` (millimetres).
    pub fn parse(text: &str) -> Option<Paper> {
        match text {
            "58" => Some(Paper::Mm58),
            "80" => Some(Paper::Mm80),
            _ => None,
        }
    }

    /// Printable dots per line.
    pub fn dots(self) -> usize {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// Characters per line in the printer's standard font (12×24 dots).
    pub fn columns(self) -> usize {
        self.dots() / 12
    }
}

/// How the printer gets the QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrPrint {
    /// The printer's own QR command (`GS ( k`): small, sharp; most printers since ~2012.
    Native,
    /// A bitmap (`GS v 0`): works on every printer that prints images.
    Raster,
}

impl QrPrint {
    /// `native` or `raster`.
    pub fn parse(text: &str) -> Option<QrPrint> {
        match text {
            "native" => Some(QrPrint::Native),
            "raster" => Some(QrPrint::Raster),
            _ => None,
        }
    }
}

/// What the slip says.
#[derive(Debug, Clone, Copy)]
pub struct Slip<'a> {
    /// The bill.
    pub amount: Kopecks,
    /// The register's sale receipt reference.
    pub order: Option<&'a str>,
    /// When the QR stops being payable.
    pub expires_at: DateTime<Utc>,
    /// The NSPK link the QR encodes.
    pub payload: &'a str,
}

/// Dots per module: as large as fits the paper with its quiet zone, at most 8 (1 mm).
fn module_dots(matrix: &QrMatrix, paper: Paper) -> usize {
    (paper.dots() / matrix.side().max(1)).clamp(1, 8)
}

struct Texts {
    title: &'static str,
    amount: &'static str,
    currency: &'static str,
    order: &'static str,
    until: &'static str,
    zone: &'static str,
    scan: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Ru => Texts {
            title: "ОПЛАТА ПО СБП",
            amount: "Сумма:",
            currency: "руб.",
            order: "Чек:",
            until: "Оплатить до:",
            zone: "МСК",
            scan: "Отсканируйте QR-код камерой телефона или в приложении банка",
        },
        Lang::En => Texts {
            title: "PAY BY SBP",
            amount: "Amount:",
            currency: "RUB",
            order: "Receipt:",
            until: "Pay before:",
            zone: "MSK",
            scan: "Scan the QR code with your phone's camera or your bank's app",
        },
    }
}

/// The QR's end in Moscow time, `HH:MM` (a QR lives minutes; the date goes without saying).
fn moscow_time(t: DateTime<Utc>) -> String {
    qrpayd_domain::moscow::time(t).format("%H:%M").to_string()
}

fn width_of(text: &str) -> usize {
    text.chars().count()
}

/// `label` left, `value` right on one line, or on two when they do not fit.
fn two_columns(label: &str, value: &str, columns: usize) -> Vec<String> {
    let used = width_of(label) + width_of(value);
    if used < columns {
        vec![format!("{label}{}{value}", " ".repeat(columns - used))]
    } else {
        let mut lines = vec![label.to_owned()];
        lines.extend(wrap(value, columns).into_iter().map(|line| {
            let pad = columns.saturating_sub(width_of(&line));
            format!("{}{line}", " ".repeat(pad))
        }));
        lines
    }
}

/// Words onto lines of at most `columns` characters (a longer word is cut).
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > columns {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let rest = word.split_off(columns);
            lines.push(word.into_iter().collect());
            word = rest;
        }
        let word: String = word.into_iter().collect();
        if line.is_empty() {
            line = word;
        } else if width_of(&line) + 1 + width_of(&word) <= columns {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn centre(text: &str, columns: usize) -> String {
    let pad = columns.saturating_sub(width_of(text)) / 2;
    format!("{}{text}", " ".repeat(pad))
}

/// The slip's lines before the QR and after it.
fn lines(slip: &Slip<'_>, paper: Paper, lang: Lang) -> (Vec<String>, Vec<String>) {
    let t = texts(lang);
    let columns = paper.columns();
    let mut before = two_columns(
        t.amount,
        &format!("{} {}", slip.amount.to_rubles_fixed(), t.currency),
        columns,
    );
    if let Some(order) = slip.order {
        before.extend(two_columns(t.order, order, columns));
    }
    before.extend(two_columns(
        t.until,
        &format!("{} {}", moscow_time(slip.expires_at), t.zone),
        columns,
    ));
    let after = wrap(t.scan, columns)
        .iter()
        .map(|l| centre(l, columns))
        .collect();
    (before, after)
}

/// The slip as plain UTF-8 text, `paper.columns()` characters wide, without the QR (print the
/// QR from the payload, `qr.png` or the ESC/POS slip).
pub fn text(slip: &Slip<'_>, paper: Paper, lang: Lang) -> String {
    let columns = paper.columns();
    let (before, after) = lines(slip, paper, lang);
    let rule = "-".repeat(columns);
    let mut out = vec![
        rule.clone(),
        centre(texts(lang).title, columns),
        rule.clone(),
    ];
    out.extend(before);
    out.push(rule.clone());
    out.extend(after);
    out.push(rule);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// ESC/POS command bytes.
mod cmd {
    pub(super) const INIT: [u8; 2] = [0x1B, b'@'];
    /// `ESC t 17`: code page PC866 (Cyrillic #2).
    pub(super) const CODE_PAGE_PC866: [u8; 3] = [0x1B, b't', 17];
    pub(super) const LF: u8 = 0x0A;

    pub(super) fn align(centre: bool) -> [u8; 3] {
        [0x1B, b'a', u8::from(centre)]
    }

    pub(super) fn bold(on: bool) -> [u8; 3] {
        [0x1B, b'E', u8::from(on)]
    }

    /// `GS !`: double width and height, or normal.
    pub(super) fn double(on: bool) -> [u8; 3] {
        [0x1D, b'!', if on { 0x11 } else { 0x00 }]
    }

    /// `ESC J n`: feed n dots.
    pub(super) fn feed_dots(n: u8) -> [u8; 3] {
        [0x1B, b'J', n]
    }

    /// `ESC d n`: feed n lines.
    pub(super) fn feed_lines(n: u8) -> [u8; 3] {
        [0x1B, b'd', n]
    }

    /// `GS V 66 0`: feed to the cutter and cut partially.
    pub(super) const CUT: [u8; 4] = [0x1D, b'V', 66, 0];

    /// `GS ( k pL pH cn fn …`: one function of the QR symbol (cn = 49).
    pub(super) fn qr_function(function: u8, params: &[u8]) -> Vec<u8> {
        let len = params.len() + 2;
        let [low, high, ..] = len.to_le_bytes();
        let mut out = vec![0x1D, b'(', b'k', low, high, 49, function];
        out.extend_from_slice(params);
        out
    }
}

/// Text in code page 866; a character the page lacks prints as `?`.
fn cp866(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::IBM866.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

fn line(out: &mut Vec<u8>, text: &str) {
    out.extend(cp866(text));
    out.push(cmd::LF);
}

/// The printer's own QR: model 2, level M, `dots` per module.
fn qr_native(out: &mut Vec<u8>, payload: &str, dots: usize) -> Result<(), QrError> {
    let data = payload.as_bytes();
    // Store: pL pH count the 3 bytes cn fn m and the data; at most 7089 bytes.
    if data.len() > 7089 {
        return Err(QrError::TooLong);
    }
    let size = u8::try_from(dots.clamp(1, 16)).unwrap_or(8);
    out.extend(cmd::qr_function(65, &[50, 0])); // model 2
    out.extend(cmd::qr_function(67, &[size])); // module size
    out.extend(cmd::qr_function(69, &[49])); // error correction M
    let mut store = vec![48];
    store.extend_from_slice(data);
    out.extend(cmd::qr_function(80, &store));
    out.extend(cmd::qr_function(81, &[48])); // print
    Ok(())
}

/// Rows per `GS v 0` command: small enough for the input buffer of cheap printers.
const RASTER_BAND_ROWS: usize = 240;

fn qr_raster(out: &mut Vec<u8>, bitmap: &qr::Bitmap) {
    let [xl, xh, ..] = bitmap.row_bytes.to_le_bytes();
    for band in bitmap
        .data
        .chunks(RASTER_BAND_ROWS * bitmap.row_bytes.max(1))
    {
        let rows = band.len() / bitmap.row_bytes.max(1);
        let [yl, yh, ..] = rows.to_le_bytes();
        out.extend([0x1D, b'v', b'0', 0, xl, xh, yl, yh]);
        out.extend_from_slice(band);
    }
}

/// The slip as ESC/POS bytes: reset, code page 866, title, amount, receipt, deadline, the QR
/// (printer's own command or a bitmap), what to do, feed, and a partial cut if `cut`.
pub fn escpos(
    slip: &Slip<'_>,
    paper: Paper,
    mode: QrPrint,
    lang: Lang,
    cut: bool,
) -> Result<Vec<u8>, QrError> {
    let matrix = QrMatrix::encode(slip.payload)?;
    let dots = module_dots(&matrix, paper);
    let (before, after) = lines(slip, paper, lang);
    let mut out = Vec::new();
    out.extend(cmd::INIT);
    out.extend(cmd::CODE_PAGE_PC866);
    out.extend(cmd::align(true));
    out.extend(cmd::double(true));
    out.extend(cmd::bold(true));
    line(&mut out, texts(lang).title);
    out.extend(cmd::double(false));
    out.extend(cmd::bold(false));
    out.extend(cmd::align(false));
    out.push(cmd::LF);
    for (i, text) in before.iter().enumerate() {
        // The amount (the first line or two) in bold.
        out.extend(cmd::bold(i == 0));
        line(&mut out, text);
    }
    out.extend(cmd::bold(false));
    out.extend(cmd::align(true));
    match mode {
        QrPrint::Native => {
            // The printer adds no quiet zone: feed it.
            let zone = u8::try_from(qr::QUIET_ZONE * dots).unwrap_or(u8::MAX);
            out.extend(cmd::feed_dots(zone));
            qr_native(&mut out, slip.payload, dots)?;
            out.extend(cmd::feed_dots(zone));
        }
        QrPrint::Raster => {
            qr_raster(&mut out, &qr::bitmap(&matrix, dots, paper.dots() / 8));
        }
    }
    for text in &after {
        line(&mut out, text.trim_start());
    }
    out.extend(cmd::align(false));
    out.extend(cmd::feed_lines(3));
    if cut {
        out.extend(cmd::CUT);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use chrono::TimeZone;

    const PAYLOAD: &str = "https://qr.nspk.ru/AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1?type=02&bank=100000000007&sum=12345&cur=RUB&crc=A667";

    fn slip() -> Slip<'static> {
        Slip {
            amount: Kopecks::new(12345).unwrap(),
            order: Some("receipt-1"),
            expires_at: Utc.with_ymd_and_hms(2026, 11, 28, 9, 5, 0).unwrap(),
            payload: PAYLOAD,
        }
    }

    #[test]
    fn cyrillic_is_code_page_866() {
        assert_eq!(cp866("Сумма"), [0x91, 0xE3, 0xAC, 0xAC, 0xA0]);
        assert_eq!(cp866("Ёё№"), [0xF0, 0xF1, 0xFC]);
        assert_eq!(cp866("₽ a"), b"? a");
    }

    #[test]
    fn the_text_slip_fits_the_paper() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            for lang in [Lang::Ru, Lang::En] {
                let text = text(&slip(), paper, lang);
                for line in text.lines() {
                    assert!(width_of(line) <= paper.columns(), "{line:?}");
                }
            }
        }
        let ru = text(&slip(), Paper::Mm58, Lang::Ru);
        assert!(ru.contains("Сумма:               123.45 руб."), "{ru}");
        // 09:05 UTC is 12:05 in Moscow.
        assert!(ru.contains("Оплатить до:           12:05 МСК"), "{ru}");
    }

    #[test]
    fn a_long_receipt_reference_goes_to_its_own_lines() {
        let long = "x".repeat(40);
        let lines = two_columns("Чек:", &long, 32);
        assert_eq!(lines[0], "Чек:");
        assert_eq!(lines[1], "x".repeat(32));
        assert_eq!(lines[2], format!("{}{}", " ".repeat(24), "x".repeat(8)));
    }

    #[test]
    fn wrap_keeps_words_together() {
        assert_eq!(
            wrap(
                "Отсканируйте QR-код камерой телефона или в приложении банка",
                32
            ),
            [
                "Отсканируйте QR-код камерой",
                "телефона или в приложении банка"
            ]
        );
    }

    #[test]
    fn native_qr_command_carries_the_payload() {
        let bytes = escpos(&slip(), Paper::Mm58, QrPrint::Native, Lang::Ru, true).unwrap();
        let mut store = vec![0x1D, b'(', b'k'];
        let len = PAYLOAD.len() + 3;
        store.extend([
            u8::try_from(len % 256).unwrap(),
            u8::try_from(len / 256).unwrap(),
            49,
            80,
            48,
        ]);
        store.extend(PAYLOAD.as_bytes());
        assert!(bytes.windows(store.len()).any(|w| w == store));
        assert!(bytes.starts_with(&[0x1B, b'@', 0x1B, b't', 17]));
        assert!(bytes.ends_with(&cmd::CUT));
        let no_cut = escpos(&slip(), Paper::Mm58, QrPrint::Native, Lang::Ru, false).unwrap();
        assert!(!no_cut.ends_with(&cmd::CUT));
    }
}
