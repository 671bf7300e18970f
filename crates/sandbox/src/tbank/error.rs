//! Why a T-Bank call was refused: `ErrorCode` and `Message`, answered with HTTP 200 as T-Bank
//! does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a T-Bank call was refused: `ErrorCode` and `Message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TbankError {
    /// `Token` missing or wrong (`204`).
    #[error("Неверный токен. Проверьте пару TerminalKey и Password.")]
    BadToken,
    /// Not this sandbox's terminal (`501`).
    #[error("Терминал не найден")]
    UnknownTerminal,
    /// A missing or malformed parameter (`8`).
    #[error("Неверные параметры: {0}")]
    Invalid(String),
    /// No payment with this `PaymentId` (`255`).
    #[error("Платеж {0} не найден")]
    PaymentNotFound(String),
    /// The operation is not allowed in the payment's status (`4`).
    #[error("Изменение статуса не разрешено: платеж в статусе {0}")]
    WrongStatus(&'static str),
    /// The refund exceeds what is left of the payment (`14`).
    #[error("Сумма возврата больше остатка платежа ({0} коп.)")]
    RefundTooLarge(i64),
    /// No refund in progress to decline (sandbox control).
    #[error("Нет возврата в обработке по платежу {0}")]
    NoRefundInProgress(String),
    /// The SBP amount range (`3016`).
    #[error(
        "Невозможно создать QR: сумма операции по СБП вне диапазона от 10 до 1 000 000 рублей ({0} коп.)"
    )]
    QrAmountOutOfRange(i64),
    /// `RedirectDueDate` out of range (`3017`).
    #[error(
        "Переданное значение RedirectDueDate вне допустимого диапазона (от 1 минуты до 90 дней): {0}"
    )]
    DueDateOutOfRange(String),
    /// Injected fault (`9999`).
    #[error("Внутренняя ошибка (имитация сбоя песочницы)")]
    Injected,
}

impl TbankError {
    /// `ErrorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            TbankError::BadToken => "204",
            TbankError::UnknownTerminal => "501",
            TbankError::Invalid(_) => "8",
            TbankError::PaymentNotFound(_) => "255",
            TbankError::WrongStatus(_) => "4",
            TbankError::RefundTooLarge(_) => "14",
            TbankError::NoRefundInProgress(_) => "4",
            TbankError::QrAmountOutOfRange(_) => "3016",
            TbankError::DueDateOutOfRange(_) => "3017",
            TbankError::Injected => "9999",
        }
    }
}

impl IntoResponse for TbankError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "Success": false,
            "ErrorCode": self.code(),
            "Message": self.to_string(),
            "Details": "",
        });
        (StatusCode::OK, Json(body)).into_response()
    }
}
