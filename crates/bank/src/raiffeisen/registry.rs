//! Raiffeisen's daily SBP registry ("Отчет по СБП C2B транзакциям", `SBPreport.csv`): a parser
//! and a writer of the same format (BANKS.md §1.10, sample in `tests/data/SBPreport.csv`).
//!
//! The file is Windows-1251 text, `;`-separated, CRLF line ends:
//!
//! ```text
//! Instant Payments C2B Transactions report for 10/12/2020 / Отчет по СБП C2B транзакциям за 10/12/2020;;;;;;;;;;;
//! ;;;;;;;;;;;
//! Мерчант;Дата операции МСК;Тип;id заказа;id возврата;Комментарий;Способ оплаты;Данные оплаты;id клиента;Сумма;Комиссия;Дополнительные поля
//! MA0000001234;10.12.2020 0:23;Payment;123594;;;Instant Payment QR;AD10006CNPC123VU91QOFVNA560V6G37;0079******12;3806.00;15.22;
//! ИТОГО;;;;;;;;;7729.00;30.91;
//! ```
//!
//! [`parse`] is lenient where banks and spreadsheets differ and strict where money is at stake:
//!
//! * it also reads UTF-8 (with or without BOM) when the bytes are valid UTF-8 containing
//!   Cyrillic, and LF line ends;
//! * the header row is the first row whose first cell is `Мерчант`; columns are found by their
//!   header names (case-insensitive), so their order does not matter; `Мерчант`, `Дата операции
//!   МСК`, `Тип`, `id заказа`, `Сумма` and `Комиссия` are required, the others may be absent;
//! * empty rows (`;;;;`) are skipped; the title is the first cell of the first non-empty row
//!   above the header, and its first `DD/MM/YYYY` is the registry's date;
//! * amounts are exact ruble text, `3806.00`, `3806,00` or `3 806,00` (spaces, no-break spaces
//!   as thousands separators); a leading `-` is accepted on refund rows only, and the stored
//!   amount is its absolute value; an empty fee is zero;
//! * times are `DD.MM.YYYY H:MM` (or `H:MM:SS`) in Moscow time (UTC+3, no DST);
//! * a cell may be quoted (`"a;b"`, `""` for a quote) and is then taken verbatim;
//! * the `ИТОГО` row gives the totals; a data row after it is an error.
//!
//! Every error names its line (1-based) and, for a cell, its column (1-based) and header name.
//! Money is [`Kopecks`] throughout; no amount passes through floating point.
//!
//! [`write`] produces the sample's exact layout (`write(&parse(sample)?) == sample`): title row,
//! empty row, the twelve-column header, the rows and the `ИТОГО` row, in Windows-1251 with CRLF.
//! Refund rows carry `Refund` in `Тип` and an unsigned amount (the type says which way money
//! went). Characters Windows-1251 cannot hold become `?`; line breaks inside a cell become
//! spaces; a cell with `;`, `"` or surrounding spaces is quoted.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use encoding_rs::{EncoderResult, WINDOWS_1251};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::moscow;

pub use crate::registry::{Registry, RegistryKind, RegistryRow};

/// The first cell of the header row.
const HEADER_FIRST: &str = "Мерчант";
/// The first cell of the totals row.
const TOTAL_FIRST: &str = "ИТОГО";
/// Line end of the bank's file.
const CRLF: &str = "\r\n";
/// Time format of `Дата операции МСК` as written (`10.12.2020 0:23`).
const WRITE_TIME_FORMAT: &str = "%d.%m.%Y %-H:%M";
/// Time formats accepted when reading.
const READ_TIME_FORMATS: [&str; 2] = ["%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"];

/// One column of the registry, in the bank's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Merchant,
    At,
    Kind,
    Order,
    RefundId,
    Comment,
    Method,
    QrId,
    Payer,
    Amount,
    Fee,
    Extra,
}

impl Column {
    /// Every column, in the order the bank writes them.
    const ALL: [Column; 12] = [
        Column::Merchant,
        Column::At,
        Column::Kind,
        Column::Order,
        Column::RefundId,
        Column::Comment,
        Column::Method,
        Column::QrId,
        Column::Payer,
        Column::Amount,
        Column::Fee,
        Column::Extra,
    ];

    /// The header text.
    fn name(self) -> &'static str {
        match self {
            Column::Merchant => HEADER_FIRST,
            Column::At => "Дата операции МСК",
            Column::Kind => "Тип",
            Column::Order => "id заказа",
            Column::RefundId => "id возврата",
            Column::Comment => "Комментарий",
            Column::Method => "Способ оплаты",
            Column::QrId => "Данные оплаты",
            Column::Payer => "id клиента",
            Column::Amount => "Сумма",
            Column::Fee => "Комиссия",
            Column::Extra => "Дополнительные поля",
        }
    }

    /// Must the header have this column?
    fn required(self) -> bool {
        matches!(
            self,
            Column::Merchant
                | Column::At
                | Column::Kind
                | Column::Order
                | Column::Amount
                | Column::Fee
        )
    }
}

/// Why a registry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A whole line is wrong (bad quoting, too many cells, a row after `ИТОГО`).
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// One cell is wrong.
    #[error("line {line}, column {column} ({name}): {message}")]
    Cell {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The column's header name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The header row lacks a required column.
    #[error("line {line}: the header has no column `{name}`")]
    MissingColumn {
        /// The header's line.
        line: usize,
        /// The missing column's name.
        name: String,
    },
    /// No row starts with `Мерчант`.
    #[error("no header row (a row whose first cell is `Мерчант`)")]
    NoHeader,
}

impl RegistryError {
    /// The 1-based line the error is on, if it is on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            RegistryError::Line { line, .. }
            | RegistryError::Cell { line, .. }
            | RegistryError::MissingColumn { line, .. } => Some(*line),
            RegistryError::NoHeader => None,
        }
    }
}

/// Does `text` contain a Cyrillic letter?
fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// The file's text: UTF-8 after a BOM, UTF-8 with Cyrillic in it, else Windows-1251 (which,
/// as the WHATWG Encoding Standard defines it, maps every byte, so this cannot fail).
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        && let Ok(text) = std::str::from_utf8(rest)
    {
        return Cow::Borrowed(text);
    }
    if let Ok(text) = std::str::from_utf8(bytes)
        && has_cyrillic(text)
    {
        return Cow::Borrowed(text);
    }
    WINDOWS_1251.decode_without_bom_handling(bytes).0
}

/// One cell as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    /// Its text: trimmed if unquoted, verbatim if quoted.
    text: String,
    /// Was it quoted?
    quoted: bool,
}

/// Reads up to the next `;` (consumed) or the end; says whether a `;` was found.
fn until_separator(chars: &mut impl Iterator<Item = char>) -> (String, bool) {
    let mut text = String::new();
    for c in chars {
        if c == ';' {
            return (text, true);
        }
        text.push(c);
    }
    (text, false)
}

/// Splits a line into cells (`;`-separated; a cell starting with `"` is quoted, `""` inside
/// it is a quote).
fn split_cells(line: &str) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let number = cells.len() + 1;
        let (cell, more) = if chars.next_if_eq(&'"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => text.push('"'),
                    Some('"') => break,
                    Some(c) => text.push(c),
                    None => return Err(format!("cell {number} has no closing quote")),
                }
            }
            let (trailing, more) = until_separator(&mut chars);
            if !trailing.trim().is_empty() {
                return Err(format!("cell {number} has text after its closing quote"));
            }
            (Cell { text, quoted: true }, more)
        } else {
            let (text, more) = until_separator(&mut chars);
            let text = text.trim().to_owned();
            (
                Cell {
                    text,
                    quoted: false,
                },
                more,
            )
        };
        cells.push(cell);
        if !more {
            return Ok(cells);
        }
    }
}

/// Is every cell empty?
fn is_blank(cells: &[Cell]) -> bool {
    cells.iter().all(|c| !c.quoted && c.text.is_empty())
}

/// Is `text` a marker (`Мерчант`, `ИТОГО`), as an unquoted first cell would be compared?
fn is_marker_text(text: &str, marker: &str) -> bool {
    text.trim().to_lowercase() == marker.to_lowercase()
}

/// Does the row start with an unquoted marker cell?
fn is_marker(cells: &[Cell], marker: &str) -> bool {
    cells
        .first()
        .is_some_and(|c| !c.quoted && is_marker_text(&c.text, marker))
}

/// The first valid `DD/MM/YYYY` in `title`.
fn title_date(title: &str) -> Option<NaiveDate> {
    let chars: Vec<char> = title.chars().collect();
    chars.windows(10).find_map(|w| {
        let shaped = w.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == '/',
            _ => c.is_ascii_digit(),
        });
        if !shaped {
            return None;
        }
        let text: String = w.iter().collect();
        NaiveDate::parse_from_str(&text, "%d/%m/%Y").ok()
    })
}

/// Where each column is in the file (index into the cells), from the header row.
struct Layout {
    /// `(column, index)` of the columns present.
    positions: Vec<(Column, usize)>,
    /// How many cells the header has (up to its last non-empty one).
    width: usize,
}

impl Layout {
    fn new(line: usize, header: &[Cell]) -> Result<Layout, RegistryError> {
        let mut positions = Vec::new();
        for column in Column::ALL {
            let wanted = column.name().to_lowercase();
            match header.iter().position(|c| c.text.to_lowercase() == wanted) {
                Some(index) => positions.push((column, index)),
                None if column.required() => {
                    return Err(RegistryError::MissingColumn {
                        line,
                        name: column.name().to_owned(),
                    });
                }
                None => {}
            }
        }
        let width = header
            .iter()
            .rposition(|c| !c.text.is_empty())
            .map_or(0, |last| last + 1);
        Ok(Layout { positions, width })
    }

    fn index(&self, column: Column) -> Option<usize> {
        self.positions
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, index)| *index)
    }

    /// The text of `column` in `cells` (empty if the column or the cell is absent).
    fn text<'a>(&self, cells: &'a [Cell], column: Column) -> &'a str {
        self.index(column)
            .and_then(|index| cells.get(index))
            .map_or("", |c| c.text.as_str())
    }

    /// An error about `column` on `line`.
    fn cell_error(&self, line: usize, column: Column, message: String) -> RegistryError {
        RegistryError::Cell {
            line,
            column: self.index(column).map_or(0, |index| index + 1),
            name: column.name().to_owned(),
            message,
        }
    }
}

/// An amount as read: its absolute value and whether it had a `-`.
struct Signed {
    value: Kopecks,
    negative: bool,
}

/// Reads `3806.00`, `3806,00`, `3 806,00`, `-3806.00`.
fn parse_amount(text: &str) -> Result<Signed, String> {
    let (negative, digits) = match text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('\u{2212}'))
    {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits: String = digits
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{00A0}' | '\u{202F}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if digits.is_empty() {
        return Err(format!("`{text}` is not an amount"));
    }
    let value = Kopecks::parse_rubles(&digits).map_err(|e| format!("`{text}`: {e}"))?;
    Ok(Signed { value, negative })
}

/// Reads `10.12.2020 0:23` (Moscow) as UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    READ_TIME_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|naive| moscow::offset().from_local_datetime(&naive).single())
        .map(|at| at.to_utc())
}

/// Reads one data row.
fn parse_row(layout: &Layout, line: usize, cells: &[Cell]) -> Result<RegistryRow, RegistryError> {
    if let Some((index, _)) = cells
        .iter()
        .enumerate()
        .skip(layout.width)
        .find(|(_, c)| c.quoted || !c.text.is_empty())
    {
        return Err(RegistryError::Line {
            line,
            message: format!(
                "cell {} is beyond the header's {} columns",
                index + 1,
                layout.width
            ),
        });
    }
    let text = |column| layout.text(cells, column);
    let optional = |column| Some(text(column).to_owned()).filter(|s: &String| !s.is_empty());
    let at_text = text(Column::At);
    let at = parse_time(at_text).ok_or_else(|| {
        let message = if at_text.is_empty() {
            "empty; expected DD.MM.YYYY H:MM".to_owned()
        } else {
            format!("`{at_text}` is not a time DD.MM.YYYY H:MM")
        };
        layout.cell_error(line, Column::At, message)
    })?;
    let kind_text = text(Column::Kind);
    if kind_text.is_empty() {
        return Err(layout.cell_error(line, Column::Kind, "empty".to_owned()));
    }
    let kind = RegistryKind::parse(kind_text);
    let money = |column| -> Result<Kopecks, RegistryError> {
        let cell = text(column);
        if cell.is_empty() {
            return if column == Column::Fee {
                Ok(Kopecks::ZERO)
            } else {
                Err(layout.cell_error(line, column, "empty".to_owned()))
            };
        }
        let signed = parse_amount(cell).map_err(|m| layout.cell_error(line, column, m))?;
        if signed.negative && kind != RegistryKind::Refund {
            return Err(layout.cell_error(
                line,
                column,
                format!("`{cell}`: a negative amount on a row that is not a refund"),
            ));
        }
        Ok(signed.value)
    };
    Ok(RegistryRow {
        line,
        merchant: text(Column::Merchant).to_owned(),
        at,
        order: text(Column::Order).to_owned(),
        refund_id: optional(Column::RefundId),
        comment: text(Column::Comment).to_owned(),
        method: text(Column::Method).to_owned(),
        qr_id: optional(Column::QrId),
        payer: text(Column::Payer).to_owned(),
        amount: money(Column::Amount)?,
        fee: money(Column::Fee)?,
        extra: text(Column::Extra).to_owned(),
        kind,
    })
}

/// Reads a total cell (empty → `None`; negative totals are refused).
fn parse_total(
    layout: &Layout,
    line: usize,
    cells: &[Cell],
    column: Column,
) -> Result<Option<Kopecks>, RegistryError> {
    let cell = layout.text(cells, column);
    if cell.is_empty() {
        return Ok(None);
    }
    let signed = parse_amount(cell).map_err(|m| layout.cell_error(line, column, m))?;
    if signed.negative && !signed.value.is_zero() {
        return Err(layout.cell_error(
            line,
            column,
            format!("`{cell}`: negative totals are not supported"),
        ));
    }
    Ok(Some(signed.value))
}

/// Parses a registry file (Windows-1251, or UTF-8 as described in the module docs).
pub fn parse(bytes: &[u8]) -> Result<Registry, RegistryError> {
    let text = decode(bytes);
    let mut title: Option<String> = None;
    let mut layout: Option<Layout> = None;
    let mut rows = Vec::new();
    let mut totals: Option<(usize, Option<Kopecks>, Option<Kopecks>)> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let cells = split_cells(raw).map_err(|message| RegistryError::Line { line, message })?;
        if is_blank(&cells) {
            continue;
        }
        let Some(layout) = &layout else {
            if is_marker(&cells, HEADER_FIRST) {
                layout = Some(Layout::new(line, &cells)?);
            } else if title.is_none() {
                title = cells.first().map(|c| c.text.clone());
            }
            continue;
        };
        if let Some((total_line, _, _)) = totals {
            return Err(RegistryError::Line {
                line,
                message: format!("a row after the {TOTAL_FIRST} row (line {total_line})"),
            });
        }
        if is_marker(&cells, TOTAL_FIRST) {
            totals = Some((
                line,
                parse_total(layout, line, &cells, Column::Amount)?,
                parse_total(layout, line, &cells, Column::Fee)?,
            ));
            continue;
        }
        rows.push(parse_row(layout, line, &cells)?);
    }
    if layout.is_none() {
        return Err(RegistryError::NoHeader);
    }
    let title = title.unwrap_or_default();
    let (total_amount, total_fee) = totals.map_or((None, None), |(_, a, f)| (a, f));
    Ok(Registry {
        date: title_date(&title),
        title,
        rows,
        total_amount,
        total_fee,
    })
}

/// A cell as written: line breaks become spaces; quoted if `;`, `"` or surrounding spaces
/// would otherwise change it on reading, or if `first` and it would read back as a marker.
fn write_cell(out: &mut String, text: &str, first: bool) {
    let text: Cow<'_, str> = if text.contains(['\r', '\n']) {
        Cow::Owned(text.replace(['\r', '\n'], " "))
    } else {
        Cow::Borrowed(text)
    };
    let needs_quotes = text.contains([';', '"'])
        || text.trim() != text
        || (first && (is_marker_text(&text, HEADER_FIRST) || is_marker_text(&text, TOTAL_FIRST)));
    if needs_quotes {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

/// A line of twelve cells (missing ones empty), CRLF-terminated. `plain` lines (header,
/// totals) are written as they are; in the others a first cell that reads like a marker is
/// quoted.
fn write_line(out: &mut String, cells: &[&str], plain: bool) {
    for index in 0..Column::ALL.len() {
        if index > 0 {
            out.push(';');
        }
        let text = cells.get(index).copied().unwrap_or_default();
        if plain {
            out.push_str(text);
        } else {
            write_cell(out, text, index == 0);
        }
    }
    out.push_str(CRLF);
}

/// Windows-1251 bytes of `text`; characters it cannot hold become `?`.
fn encode_cp1251(text: &str) -> Vec<u8> {
    let mut encoder = WINDOWS_1251.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 1024];
    let mut rest = text;
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buffer, true);
        out.extend_from_slice(buffer.get(..written).unwrap_or_default());
        rest = rest.get(read..).unwrap_or_default();
        match result {
            EncoderResult::InputEmpty => break,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
    out
}

/// Writes `registry` in the bank's format (module docs): Windows-1251, CRLF, the title row,
/// an empty row, the header, one row per [`RegistryRow`] (its `line` is ignored) and the
/// `ИТОГО` row with the totals as given (empty cells for `None`).
pub fn write(registry: &Registry) -> Vec<u8> {
    let mut out = String::new();
    write_line(&mut out, &[&registry.title], false);
    write_line(&mut out, &[], true);
    let header = Column::ALL.map(Column::name);
    write_line(&mut out, &header, true);
    for row in &registry.rows {
        let at = row
            .at
            .with_timezone(&moscow::offset())
            .format(WRITE_TIME_FORMAT)
            .to_string();
        let (amount, fee) = (row.amount.to_rubles_fixed(), row.fee.to_rubles_fixed());
        let cells = [
            row.merchant.as_str(),
            &at,
            row.kind.as_str(),
            &row.order,
            row.refund_id.as_deref().unwrap_or_default(),
            &row.comment,
            &row.method,
            row.qr_id.as_deref().unwrap_or_default(),
            &row.payer,
            &amount,
            &fee,
            &row.extra,
        ];
        write_line(&mut out, &cells, false);
    }
    let total_amount = registry
        .total_amount
        .map(Kopecks::to_rubles_fixed)
        .unwrap_or_default();
    let total_fee = registry
        .total_fee
        .map(Kopecks::to_rubles_fixed)
        .unwrap_or_default();
    // Column order as in `Column::ALL`: `Сумма` and `Комиссия` are the 10th and 11th.
    let totals = [
        TOTAL_FIRST,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &total_amount,
        &total_fee,
        "",
    ];
    write_line(&mut out, &totals, true);
    encode_cp1251(&out)
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use proptest::prelude::*;

    /// The bank's own sample, byte for byte (copied from `shared/specs/raiffeisen`).
    const SAMPLE: &[u8] = include_bytes!("../../tests/data/SBPreport.csv");

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// The sample as UTF-8 text.
    fn sample_text() -> String {
        WINDOWS_1251
            .decode_without_bom_handling_and_without_replacement(SAMPLE)
            .unwrap()
            .into_owned()
    }

    /// `text` (with `\n` line ends) as Windows-1251 with CRLF.
    fn cp1251(text: &str) -> Vec<u8> {
        encode_cp1251(&text.replace('\n', "\r\n"))
    }

    const HEADER: &str = "Мерчант;Дата операции МСК;Тип;id заказа;id возврата;Комментарий;Способ оплаты;Данные оплаты;id клиента;Сумма;Комиссия;Дополнительные поля";

    /// A file with the sample's header and the given data lines (header on line 3).
    fn with_rows(rows: &[&str]) -> Vec<u8> {
        let mut text = format!("Отчет за 01/02/2024;;;;;;;;;;;\n;;;;;;;;;;;\n{HEADER}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        cp1251(&text)
    }

    #[test]
    fn the_sample_parses_exactly() {
        let registry = parse(SAMPLE).unwrap();
        assert_eq!(
            registry.title,
            "Instant Payments C2B Transactions report for 10/12/2020 / Отчет по СБП C2B транзакциям за 10/12/2020"
        );
        assert_eq!(registry.date, NaiveDate::from_ymd_opt(2020, 12, 10));
        assert_eq!(registry.total_amount, Some(k(772_900)));
        assert_eq!(registry.total_fee, Some(k(3_091)));
        assert_eq!(
            registry.rows,
            vec![
                RegistryRow {
                    line: 4,
                    merchant: "MA0000001234".into(),
                    at: utc("2020-12-09T21:23:00Z"),
                    kind: RegistryKind::Payment,
                    order: "123594".into(),
                    refund_id: None,
                    comment: String::new(),
                    method: "Instant Payment QR".into(),
                    qr_id: Some("AD10006CNPC123VU91QOFVNA560V6G37".into()),
                    payer: "0079******12".into(),
                    amount: k(380_600),
                    fee: k(1_522),
                    extra: String::new()
                },
                RegistryRow {
                    line: 5,
                    merchant: "MA0000001234".into(),
                    at: utc("2020-12-10T07:58:00Z"),
                    kind: RegistryKind::Payment,
                    order: "123781".into(),
                    refund_id: None,
                    comment: String::new(),
                    method: "Instant Payment QR".into(),
                    qr_id: Some("AD100021EILAUH123D7BOFNQH8O1KF1U".into()),
                    payer: "0079******12".into(),
                    amount: k(392_300),
                    fee: k(1_569),
                    extra: String::new()
                },
            ]
        );
        // The sum of the rows is the total, as the bank printed it.
        let sum = registry
            .rows
            .iter()
            .try_fold(Kopecks::ZERO, |s, r| s.checked_add(r.amount));
        assert_eq!(sum, registry.total_amount);
    }

    #[test]
    fn writing_the_parsed_sample_gives_the_sample_back_byte_for_byte() {
        assert!(
            SAMPLE.windows(2).any(|w| w == b"\r\n"),
            "the sample uses CRLF"
        );
        assert_eq!(write(&parse(SAMPLE).unwrap()), SAMPLE);
    }

    #[test]
    fn utf8_with_or_without_bom_and_lf_line_ends() {
        let text = sample_text();
        let lf = text.replace("\r\n", "\n");
        let expected = parse(SAMPLE).unwrap();
        for bytes in [
            text.as_bytes().to_vec(),
            lf.as_bytes().to_vec(),
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        ] {
            assert_eq!(parse(&bytes).unwrap(), expected);
        }
    }

    #[test]
    fn write_then_parse_round_trips_refunds_and_odd_text() {
        let registry = Registry {
            title: "Instant Payments C2B Transactions report for 29/02/2024 / Отчет по СБП C2B транзакциям за 29/02/2024".into(),
            date: NaiveDate::from_ymd_opt(2024, 2, 29),
            rows: vec![
                RegistryRow {
                    line: 4,
                    merchant: "MA0000000552".into(),
                    at: utc("2024-02-28T21:00:00Z"),
                    kind: RegistryKind::Payment,
                    order: "o-1".into(),
                    refund_id: None,
                    comment: "кофе; \"большой\"".into(),
                    method: "Instant Payment QR".into(),
                    qr_id: Some("AD1000000000000000000000000000001".into()),
                    payer: "0079******01".into(),
                    amount: k(123_456_789),
                    fee: k(493_827),
                    extra: " spaced ".into()},
                RegistryRow {
                    line: 5,
                    merchant: "ИТОГО".into(),
                    at: utc("2024-02-29T20:59:00Z"),
                    kind: RegistryKind::Refund,
                    order: "o-1".into(),
                    refund_id: Some("r-1".into()),
                    comment: String::new(),
                    method: String::new(),
                    qr_id: None,
                    payer: String::new(),
                    amount: k(1),
                    fee: Kopecks::ZERO,
                    extra: String::new()},
                RegistryRow {
                    line: 6,
                    merchant: "Мерчант".into(),
                    at: utc("2024-02-29T10:00:00Z"),
                    kind: RegistryKind::Other("Chargeback".into()),
                    order: "o-2".into(),
                    refund_id: None,
                    comment: String::new(),
                    method: String::new(),
                    qr_id: None,
                    payer: String::new(),
                    amount: k(0),
                    fee: k(0),
                    extra: String::new()},
            ],
            total_amount: Some(k(123_456_790)),
            total_fee: None};
        let bytes = write(&registry);
        assert!(bytes.ends_with(b"\r\n"));
        assert_eq!(parse(&bytes).unwrap(), registry);
        let text = WINDOWS_1251.decode(&bytes).0;
        assert!(
            text.contains(";29.02.2024 23:59;Refund;o-1;r-1;;;;;0.01;0.00;\r\n"),
            "{text}"
        );
        assert!(text.contains(";1234567.89;4938.27;"), "{text}");
        assert!(text.ends_with("ИТОГО;;;;;;;;;1234567.90;;\r\n"), "{text}");
    }

    #[test]
    fn characters_outside_windows_1251_become_question_marks() {
        let mut registry = parse(SAMPLE).unwrap();
        registry.rows[0].comment = "日本 ok ₽".into();
        registry.rows[0].extra = "a\r\nb".into();
        let back = parse(&write(&registry)).unwrap();
        assert_eq!(back.rows[0].comment, "?? ok ?");
        assert_eq!(back.rows[0].extra, "a  b");
    }

    #[test]
    fn comma_decimals_thousands_spaces_and_refund_signs() {
        let bytes = with_rows(&[
            "MA1;01.02.2024 9:05;Payment;o1;;;;;;3 806,00;15,22;",
            "MA1;01.02.2024 09:05:30;оплата;o2;;;;;;1\u{a0}000\u{a0}000.5;;",
            "MA1;1.2.2024 23:59;Возврат;o1;r1;;;;;-3806.00;-15.22;",
            "MA1;01.02.2024 10:00;REFUND;o1;r2;;;;;0.01;0;",
            "MA1;01.02.2024 10:00;Reversal;o1;;;;;;7;0;",
            ";;;;;;;;;;;",
            "ИТОГО;;;;;;;;;3 806,01;0,00;",
        ]);
        let registry = parse(&bytes).unwrap();
        assert_eq!(registry.title, "Отчет за 01/02/2024");
        assert_eq!(registry.date, NaiveDate::from_ymd_opt(2024, 2, 1));
        let rows = &registry.rows;
        assert_eq!(rows.len(), 5);
        assert_eq!((rows[0].amount, rows[0].fee), (k(380_600), k(1_522)));
        assert_eq!(rows[0].at, utc("2024-02-01T06:05:00Z"));
        assert_eq!(rows[1].kind, RegistryKind::Payment);
        assert_eq!(
            (rows[1].amount, rows[1].fee),
            (k(100_000_050), Kopecks::ZERO)
        );
        assert_eq!(rows[1].at, utc("2024-02-01T06:05:30Z"));
        assert_eq!(rows[2].kind, RegistryKind::Refund);
        assert_eq!(rows[2].refund_id.as_deref(), Some("r1"));
        assert_eq!((rows[2].amount, rows[2].fee), (k(380_600), k(1_522)));
        assert_eq!(rows[2].at, utc("2024-02-01T20:59:00Z"));
        assert_eq!(rows[3].kind, RegistryKind::Refund);
        assert_eq!(rows[4].kind, RegistryKind::Other("Reversal".into()));
        assert_eq!(rows[4].line, 8);
        assert_eq!(registry.total_amount, Some(k(380_601)));
        assert_eq!(registry.total_fee, Some(Kopecks::ZERO));
    }

    #[test]
    fn columns_are_found_by_name_and_optional_ones_may_be_missing() {
        let text = "мерчант;Сумма;Тип;ID ЗАКАЗА;Дата операции МСК;Комиссия\nMA1;5.00;Payment;o1;01.02.2024 0:00;0.02\n";
        let registry = parse(&cp1251(text)).unwrap();
        assert_eq!(registry.title, "");
        assert_eq!(registry.date, None);
        assert_eq!((registry.total_amount, registry.total_fee), (None, None));
        let row = &registry.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!((row.amount, row.fee), (k(500), k(2)));
        assert_eq!(row.order, "o1");
        assert_eq!((row.qr_id.as_deref(), row.payer.as_str()), (None, ""));
        assert_eq!(row.at, utc("2024-01-31T21:00:00Z"));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let row = |amount: &str, at: &str, kind: &str| {
            format!("MA1;{at};{kind};o1;;;Instant Payment QR;AD1;0079******12;{amount};0.40;")
        };
        let cases = [
            (row("3806.001", "01.02.2024 0:23", "Payment"), 10, "Сумма"),
            (row("abc", "01.02.2024 0:23", "Payment"), 10, "Сумма"),
            (row("", "01.02.2024 0:23", "Payment"), 10, "Сумма"),
            (row("1e3", "01.02.2024 0:23", "Payment"), 10, "Сумма"),
            (row("-5.00", "01.02.2024 0:23", "Payment"), 10, "Сумма"),
            (
                row("5.00", "31.02.2024 0:23", "Payment"),
                2,
                "Дата операции МСК",
            ),
            (
                row("5.00", "2024-02-01 0:23", "Payment"),
                2,
                "Дата операции МСК",
            ),
            (
                row("5.00", "01.02.2024 24:00", "Payment"),
                2,
                "Дата операции МСК",
            ),
            (row("5.00", "", "Payment"), 2, "Дата операции МСК"),
            (row("5.00", "01.02.2024 0:23", ""), 3, "Тип"),
        ];
        for (bad, column, name) in cases {
            let good = row("1.00", "01.02.2024 0:00", "Payment");
            let error = parse(&with_rows(&[&good, &bad])).unwrap_err();
            match &error {
                RegistryError::Cell {
                    line,
                    column: c,
                    name: n,
                    ..
                } => {
                    assert_eq!((*line, *c, n.as_str()), (5, column, name), "{bad}: {error}");
                }
                other => panic!("{bad}: {other:?}"),
            }
            assert_eq!(error.line(), Some(5));
            assert!(error.to_string().starts_with("line 5, column "), "{error}");
        }
        // A negative fee on a payment, a negative total.
        let error = parse(&with_rows(&[
            "MA1;01.02.2024 0:00;Payment;o1;;;;;;1.00;-0.01;",
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                RegistryError::Cell {
                    line: 4,
                    column: 11,
                    ..
                }
            ),
            "{error:?}"
        );
        let error = parse(&with_rows(&["ИТОГО;;;;;;;;;-1.00;;"])).unwrap_err();
        assert!(
            matches!(
                error,
                RegistryError::Cell {
                    line: 4,
                    column: 10,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn line_errors() {
        let good = "MA1;01.02.2024 0:00;Payment;o1;;;;;;1.00;0.00;";
        for (rows, line, fragment) in [
            (
                vec![good, "ИТОГО;;;;;;;;;1.00;0.00;", good],
                6,
                "after the ИТОГО",
            ),
            (
                vec![
                    good,
                    "MA1;01.02.2024 0:00;Payment;o1;;;;;;1.00;0.00;;surplus",
                ],
                5,
                "beyond the header",
            ),
            (vec!["MA1;\"unterminated;Payment"], 4, "no closing quote"),
            (vec!["MA1;\"a\"b;Payment"], 4, "after its closing quote"),
        ] {
            let error = parse(&with_rows(&rows)).unwrap_err();
            assert_eq!(error.line(), Some(line), "{error}");
            assert!(
                matches!(error, RegistryError::Line { .. }) && error.to_string().contains(fragment),
                "{error}"
            );
        }
    }

    #[test]
    fn missing_header_or_columns() {
        assert_eq!(parse(b""), Err(RegistryError::NoHeader));
        assert_eq!(parse(b";;;;\r\n;;;\r\n"), Err(RegistryError::NoHeader));
        let text = sample_text().replace("Мерчант;", "Merchant;");
        assert_eq!(parse(text.as_bytes()), Err(RegistryError::NoHeader));
        let text = sample_text().replace(";Сумма;", ";Итого;");
        assert_eq!(
            parse(&encode_cp1251(&text)),
            Err(RegistryError::MissingColumn {
                line: 3,
                name: "Сумма".into()
            })
        );
        let error = parse(&encode_cp1251(
            &sample_text().replace("Дата операции МСК", "Дата"),
        ))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3: the header has no column `Дата операции МСК`"
        );
    }

    #[test]
    fn title_dates() {
        assert_eq!(
            title_date("report for 10/12/2020 / за 10/12/2020"),
            NaiveDate::from_ymd_opt(2020, 12, 10)
        );
        assert_eq!(
            title_date("за 32/12/2020, за 01/01/2021"),
            NaiveDate::from_ymd_opt(2021, 1, 1)
        );
        assert_eq!(title_date("no date"), None);
        assert_eq!(title_date("1/2/2020"), None);
    }

    /// Text Windows-1251 can hold, without line breaks.
    fn cell_text() -> impl Strategy<Value = String> {
        "[a-zA-Zа-яА-ЯёЁ0-9 ;\"'.,*_-]{0,12}"
    }

    fn arb_kind() -> impl Strategy<Value = RegistryKind> {
        prop_oneof![
            Just(RegistryKind::Payment),
            Just(RegistryKind::Refund),
            "[A-Z][a-z]{1,8}"
                .prop_filter("not a known kind", |s| {
                    !matches!(s.to_lowercase().as_str(), "payment" | "refund")
                })
                .prop_map(RegistryKind::Other),
        ]
    }

    fn arb_row() -> impl Strategy<Value = RegistryRow> {
        (
            cell_text(),
            0i64..4_000_000_000,
            arb_kind(),
            (
                cell_text(),
                proptest::option::of("[a-z0-9-]{1,10}"),
                cell_text(),
            ),
            (
                cell_text(),
                proptest::option::of("[A-Z0-9]{32}"),
                cell_text(),
            ),
            (0i64..10_000_000_000, 0i64..100_000_000, cell_text()),
        )
            .prop_map(
                |(
                    merchant,
                    minutes,
                    kind,
                    (order, refund_id, comment),
                    (method, qr_id, payer),
                    (amount, fee, extra),
                )| {
                    RegistryRow {
                        line: 0,
                        merchant: merchant.trim().to_owned() + "M",
                        at: DateTime::from_timestamp(minutes * 60, 0).unwrap(),
                        kind,
                        order,
                        refund_id,
                        comment,
                        method,
                        qr_id,
                        payer,
                        amount: k(amount),
                        fee: k(fee),
                        extra,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_mangled_samples(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = SAMPLE.to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            let _ = parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_rows_of_random_text(lines in proptest::collection::vec("[;\"\\-0-9.,: a-zа-я]{0,40}", 0..6)) {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let _ = parse(&with_rows(&refs));
        }

        #[test]
        fn write_parse_round_trip(
            title in cell_text(),
            rows in proptest::collection::vec(arb_row(), 0..5),
            total_amount in proptest::option::of(0i64..1_000_000_000_000),
            total_fee in proptest::option::of(0i64..1_000_000_000),
        ) {
            let title = format!("Отчет {} за 01/02/2024", title.trim());
            let registry = Registry {
                date: NaiveDate::from_ymd_opt(2024, 2, 1),
                title,
                rows: rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| RegistryRow { line: i + 4, ..row })
                    .collect(),
                total_amount: total_amount.map(k),
                total_fee: total_fee.map(k)};
            prop_assert_eq!(parse(&write(&registry)), Ok(registry));
        }
    }
}
