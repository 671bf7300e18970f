//! The banks' daily registry files (`BankKind::read_registry`, the file `qrpayd reconcile
//! --registry` reads): any bytes, for every bank kind.
//!
//! Oracle: a file Raiffeisen's reader accepts writes back (`registry::write`) into a file that
//! reads as the same registry.

use qrpayd_bank::KINDS;
use qrpayd_bank::raiffeisen::registry;
use qrpayd_bank::registry::Registry;

use crate::Target;

/// The target.
pub(super) const TARGET: Target = Target {
    name: "registry_csv",
    run,
    max_len: 16 * 1024,
    dictionary: &[
        ";",
        "\"",
        "\r\n",
        "\n",
        ";;;;",
        "Refund",
        "Payment",
        "RUB",
        "-",
        ",",
        ".",
        "01/01/2024",
        "12:00:00",
        "\u{feff}",
        "Дата",
        "Сумма",
        "Тип",
        "Итого",
    ],
};

fn run(data: &[u8]) -> Result<String, String> {
    let mut outcomes = Vec::new();
    for name in KINDS {
        let kind = super::bank_kind(name, "http://127.0.0.1:9")
            .ok_or_else(|| format!("cannot build a {name} provider"))?;
        outcomes.push(match kind.read_registry(data) {
            None => "none".to_owned(),
            Some(result) => super::outcome(&result.map(|r| r.rows.len())),
        });
    }
    if let Ok(read) = registry::parse(data) {
        let written = registry::write(&read);
        let again = registry::parse(&written).map_err(|e| {
            format!("a registry that reads writes back into one that does not: {e}")
        })?;
        if as_written(&again) != as_written(&read) {
            return Err(format!(
                "a registry written back reads differently:\nread    {read:?}\nwritten {again:?}"
            ));
        }
    }
    Ok(outcomes.join(" "))
}

/// A registry as the writer can express it: line numbers are where a row stood in its file, a
/// line break inside a cell is written as a space (a cell never breaks a line), and a character
/// Windows-1251 cannot hold as `?` (all as `registry::write` documents).
fn as_written(registry: &Registry) -> Registry {
    let flat = |text: &mut String| {
        *text = text
            .chars()
            .map(|c| match c {
                '\r' | '\n' => ' ',
                c if encoding_rs::WINDOWS_1251
                    .encode(c.encode_utf8(&mut [0; 4]))
                    .2 =>
                {
                    '?'
                }
                c => c,
            })
            .collect();
    };
    let mut registry = registry.clone();
    flat(&mut registry.title);
    for row in &mut registry.rows {
        row.line = 0;
        for text in [
            &mut row.merchant,
            &mut row.order,
            &mut row.comment,
            &mut row.method,
            &mut row.payer,
            &mut row.extra,
        ] {
            flat(text);
        }
        for text in [&mut row.refund_id, &mut row.qr_id].into_iter().flatten() {
            flat(text);
        }
    }
    registry
}
