//! Why a Sber call was refused. Business errors are the spec's `error_code` classes (six
//! digits, the first two the class: `10XXXX` order not found, `08XXXX` requests out of
//! sequence, …) with `error_description`, answered with HTTP 200 next to the request's
//! `rq_uid`; the gateway's own refusals (token, scope, `RqUID` header) are
//! `{httpCode, httpMessage, moreInformation}` with the HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A business error of the order API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SberError {
    /// `01XXXX` general refusal (the injected business error).
    #[error("Общий отказ (имитация сбоя песочницы)")]
    Injected,
    /// `04XXXX` the operation is not allowed to the partner.
    #[error("Операция не разрешена Партнеру: {0}")]
    NotAllowed(&'static str),
    /// `05XXXX` a malformed request.
    #[error("Некорректный формат запроса или данные не найдены: {0}")]
    Invalid(String),
    /// `07XXXX` the refund exceeds what is left (kopecks left).
    #[error(
        "Сумма отмены/возврата в рамках заказа больше суммы оригинальной операции (доступно {0} коп.)"
    )]
    RefundTooLarge(i64),
    /// `08XXXX` not allowed in the order's state.
    #[error("Нарушена последовательность запросов: заказ в статусе {0}")]
    Sequence(&'static str),
    /// `09XXXX` no order to refund.
    #[error("Оригинальный заказ для отмены/возврата не найден: {0}")]
    OriginalNotFound(String),
    /// `10XXXX` no such order.
    #[error("Указанный заказ не найден: {0}")]
    OrderNotFound(String),
    /// `11XXXX` an amount the bank does not take.
    #[error("Недопустимая сумма в заказе: {0}")]
    Amount(i64),
    /// `12XXXX` unknown `member_id`.
    #[error("Партнер не найден в системе: {0}")]
    PartnerNotFound(String),
    /// `14XXXX` unknown `id_qr` / `tid`.
    #[error("Номер наклейки QR не найден в системе: {0}")]
    QrNotFound(String),
    /// `15XXXX` no such operation.
    #[error("Операция не найдена в системе: {0}")]
    OperationNotFound(String),
    /// `16XXXX` not roubles.
    #[error("Некорректный Код валюты (Currency): {0}")]
    Currency(String),
    /// No refund with the SBP to decline (sandbox control; `08XXXX`).
    #[error("Нет возврата в обработке по заказу {0}")]
    NoRefundInProgress(String),
}

impl SberError {
    /// `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            SberError::Injected => "010000",
            SberError::NotAllowed(_) => "040000",
            SberError::Invalid(_) => "050000",
            SberError::RefundTooLarge(_) => "070000",
            SberError::Sequence(_) | SberError::NoRefundInProgress(_) => "080000",
            SberError::OriginalNotFound(_) => "090000",
            SberError::OrderNotFound(_) => "100000",
            SberError::Amount(_) => "110000",
            SberError::PartnerNotFound(_) => "120000",
            SberError::QrNotFound(_) => "140000",
            SberError::OperationNotFound(_) => "150000",
            SberError::Currency(_) => "160000",
        }
    }

    /// The answer: HTTP 200 with `rq_uid`, `rq_tm`, `error_code`, `error_description`.
    pub(crate) fn answer(&self, rq_uid: &str, rq_tm: &str) -> Response {
        let body = serde_json::json!({
            "rq_uid": rq_uid,
            "rq_tm": rq_tm,
            "error_code": self.code(),
            "error_description": self.to_string(),
        });
        (StatusCode::OK, Json(body)).into_response()
    }
}

/// A refusal by the API gateway, before the order API sees the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GatewayError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// `moreInformation`.
    pub(crate) more: String,
}

impl GatewayError {
    pub(crate) fn new(status: StatusCode, more: impl Into<String>) -> GatewayError {
        GatewayError {
            status,
            more: more.into(),
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "httpCode": self.status.as_u16().to_string(),
            "httpMessage": self.status.canonical_reason().unwrap_or_default(),
            "moreInformation": self.more,
        });
        (self.status, Json(body)).into_response()
    }
}
