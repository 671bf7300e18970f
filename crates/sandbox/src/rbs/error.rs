//! Why an RBS gateway call was refused: `errorCode` and `errorMessage`, answered with HTTP 200
//! as the gateway does (BANKS.md §3.6).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why an RBS call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RbsError {
    /// `1`: an order with this `orderNumber` exists already.
    #[error("Заказ с таким номером уже обработан")]
    DuplicateOrderNumber,
    /// `3`: a currency other than `643`.
    #[error("Неизвестная валюта")]
    UnknownCurrency,
    /// `4`: a mandatory parameter is missing.
    #[error("{0}")]
    Missing(&'static str),
    /// `5`: wrong login, password or token.
    #[error("Доступ запрещён")]
    AccessDenied,
    /// `5`: a parameter has a wrong value.
    #[error("Неверное значение параметра {0}")]
    Invalid(String),
    /// `6`: no such order (or QR of it).
    #[error("Заказ не найден")]
    UnknownOrder,
    /// `7`: the operation is impossible in the order's state.
    #[error("Платёж должен быть в корректном состоянии ({0})")]
    WrongState(&'static str),
    /// `7`: the refund exceeds what is left of the payment.
    #[error("Сумма возврата превышает сумму списания")]
    RefundTooLarge,
    /// `7`: the injected business error.
    #[error("Системная ошибка (имитация сбоя песочницы)")]
    Injected,
}

impl RbsError {
    /// `errorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            RbsError::DuplicateOrderNumber => "1",
            RbsError::UnknownCurrency => "3",
            RbsError::Missing(_) => "4",
            RbsError::AccessDenied | RbsError::Invalid(_) => "5",
            RbsError::UnknownOrder => "6",
            RbsError::WrongState(_) | RbsError::RefundTooLarge | RbsError::Injected => "7",
        }
    }
}

impl IntoResponse for RbsError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "errorCode": self.code(),
            "errorMessage": self.to_string(),
        });
        (StatusCode::OK, Json(body)).into_response()
    }
}
