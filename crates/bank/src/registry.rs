//! A bank's daily registry (реестр), in one shape for every bank that publishes one: the day,
//! its payments and refunds, and the totals. Each bank's module reads (and, for the sandbox,
//! writes) its own file format into this shape (`raiffeisen::registry`); reconciliation
//! compares it with the journal without knowing which bank wrote it.

use chrono::{DateTime, NaiveDate, Utc};
use qrpayd_domain::money::Kopecks;

/// A parsed registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The title cell, e.g. `Instant Payments C2B Transactions report for 10/12/2020 / Отчет
    /// по СБП C2B транзакциям за 10/12/2020` (empty if the file has none).
    pub title: String,
    /// The first `DD/MM/YYYY` of the title, if there is a valid one.
    pub date: Option<NaiveDate>,
    /// The operations, in file order.
    pub rows: Vec<RegistryRow>,
    /// `Сумма` of the `ИТОГО` row (`None`: no such row, or the cell is empty).
    pub total_amount: Option<Kopecks>,
    /// `Комиссия` of the `ИТОГО` row (`None`: no such row, or the cell is empty).
    pub total_fee: Option<Kopecks>,
}

/// One operation of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// Its line in the file, 1-based (ignored by writers).
    pub line: usize,
    /// `Мерчант`: the SBP merchant id, e.g. `MA0000001234`.
    pub merchant: String,
    /// `Дата операции МСК`, converted from Moscow time to UTC (minute precision as the bank
    /// writes it).
    pub at: DateTime<Utc>,
    /// `Тип`.
    pub kind: RegistryKind,
    /// `id заказа`: the `order` the QR was registered with.
    pub order: String,
    /// `id возврата`: the `refundId` of a refund.
    pub refund_id: Option<String>,
    /// `Комментарий`.
    pub comment: String,
    /// `Способ оплаты`, e.g. `Instant Payment QR`.
    pub method: String,
    /// `Данные оплаты`: the QR id.
    pub qr_id: Option<String>,
    /// `id клиента`: the payer, masked (`0079******12`).
    pub payer: String,
    /// `Сумма`, always non-negative (a refund's `-` is dropped; [`RegistryRow::kind`] says
    /// which way the money went).
    pub amount: Kopecks,
    /// `Комиссия`, the bank's fee (non-negative, like the amount).
    pub fee: Kopecks,
    /// `Дополнительные поля`.
    pub extra: String,
}

/// `Тип` of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryKind {
    /// `Payment` (or `Оплата`): money from a payer.
    Payment,
    /// `Refund` (or `Возврат`): money back to a payer.
    Refund,
    /// Any other text, kept as written.
    Other(String),
}

impl RegistryKind {
    /// Reads a `Тип` cell (case-insensitive, Russian names accepted).
    pub(crate) fn parse(text: &str) -> RegistryKind {
        match text.to_lowercase().as_str() {
            "payment" | "оплата" => RegistryKind::Payment,
            "refund" | "возврат" => RegistryKind::Refund,
            _ => RegistryKind::Other(text.to_owned()),
        }
    }

    /// The text a registry writer puts in `Тип`.
    pub fn as_str(&self) -> &str {
        match self {
            RegistryKind::Payment => "Payment",
            RegistryKind::Refund => "Refund",
            RegistryKind::Other(text) => text,
        }
    }
}
