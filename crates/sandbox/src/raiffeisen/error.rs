//! Errors of the emulated bank, each with the Raiffeisen error code and HTTP status it is
//! answered with (BANKS.md §1.8).
//!
//! Raiffeisen answers some business errors with HTTP 200 (`ERROR.DYNAMIC_QR_WITHOUT_AMOUNT`,
//! `ERROR.REFUND_INSUFFICIENT_FUNDS`) and the others with 4xx; every error body is the envelope
//! `{"code":"ERROR.X","message":"..."}`. The Display text of a variant is that `message`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The error body: `{"code":"ERROR.X","message":"..."}`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    /// Error code, e.g. `ERROR.NOT_FOUND`.
    pub(crate) code: &'static str,
    /// Human-readable (Russian) explanation.
    pub(crate) message: String,
}

/// A request the emulated bank refused, or a fault it was told to inject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// Missing or wrong `Authorization: Bearer <secretKey>` (HTTP 401).
    #[error("Неверный или отсутствующий ключ авторизации (Authorization: Bearer <secretKey>)")]
    Unauthorized,
    /// The request body or a parameter is malformed (`ERROR.INVALID_REQUEST`, HTTP 400).
    #[error("{0}")]
    InvalidRequest(String),
    /// The request carries no `sbpMerchantId` (`ERROR.SBP_MERCHANT_ID_IS_MISSING`, HTTP 400).
    #[error("Не передан sbpMerchantId")]
    SbpMerchantIdMissing,
    /// `sbpMerchantId` is not the one this sandbox emulates (`ERROR.MERCHANT_NOT_REGISTERED`, HTTP 400).
    #[error("Мерчант {0} не зарегистрирован в СБП")]
    MerchantNotRegistered(String),
    /// An `account` was passed; the sandbox, like the bank's, has no accounts (`ERROR.ACCOUNT_IS_NOT_REGISTERED`, HTTP 400).
    #[error("Счёт не зарегистрирован для данного партнера (в песочнице не передавайте account)")]
    AccountNotRegistered,
    /// A `QRDynamic` registration without `amount` (`ERROR.DYNAMIC_QR_WITHOUT_AMOUNT`, HTTP 200).
    #[error("Для динамического QR-кода необходимо указать сумму (amount)")]
    DynamicQrWithoutAmount,
    /// `order` does not match `[A-Za-z0-9_.-]{1,40}` (`ERROR.INVALID_ORDER`, HTTP 400).
    #[error("Некорректный номер заказа (order): допустимы 1..40 символов A-Z a-z 0-9 _ . -")]
    InvalidOrder,
    /// `qrExpirationDate` is unparsable or not in the future (`ERROR.QR_EXPIRATION_DATE_NOT_VALID`, HTTP 400).
    #[error("Некорректная дата окончания действия QR-кода (qrExpirationDate): {0}")]
    QrExpirationDateNotValid(String),
    /// An earlier QR with this `order` has a successful payment (`ERROR.ORDER_NUMBER_ALREADY_REGISTERED`, HTTP 400).
    #[error("Заказ {0} уже оплачен, используйте другой номер заказа")]
    OrderNumberAlreadyRegistered(String),
    /// No QR with this id (`ERROR.NOT_FOUND`, HTTP 404).
    #[error("QR-код не найден у данного партнера")]
    QrNotFound,
    /// A refund names an order (and transaction) with no successful payment (`ERROR.NOT_FOUND`, HTTP 404).
    #[error("Оплаченный платёж по заказу {0} не найден у данного партнера")]
    PaymentNotFound(String),
    /// A paid QR cannot be cancelled (`ERROR.QR_ALREADY_PAID`, HTTP 400).
    #[error("QR-код уже оплачен, отмена невозможна")]
    QrAlreadyPaid,
    /// The QR cannot take a payment now: it is paid, cancelled or expired (`ERROR.QR_NOT_PAYABLE`, HTTP 400).
    #[error("QR-код {qr_id} в статусе {status} не может быть оплачен")]
    QrNotPayable {
        /// The QR.
        qr_id: String,
        /// Its `qrStatus` (`PAID`, `CANCELLED`, `EXPIRED`, ...).
        status: &'static str,
    },
    /// The paid amount differs from the amount encoded in the QR (`ERROR.INVALID_REQUEST`, HTTP 400).
    #[error("Сумма оплаты {given} не совпадает с суммой QR-кода {expected}")]
    AmountMismatch {
        /// The QR's amount in canonical ruble text.
        expected: String,
        /// The offered amount in canonical ruble text.
        given: String,
    },
    /// The refund would exceed what is left of the payment (`ERROR.REFUND_INSUFFICIENT_FUNDS`, HTTP 200).
    #[error("Недостаточно средств для возврата: доступно {available}")]
    RefundInsufficientFunds {
        /// What may still be refunded, canonical ruble text.
        available: String,
    },
    /// No refund with this `refundId` (`ERROR.REFUND_NOT_FOUND`, HTTP 404).
    #[error("Возврат с refundId {0} не найден")]
    RefundNotFound(String),
    /// Sandbox control: only an `IN_PROGRESS` refund can be declined (`ERROR.REFUND_NOT_IN_PROGRESS`, HTTP 400).
    #[error(
        "Возврат с refundId {refund_id} в статусе {status}, отклонить можно только IN_PROGRESS"
    )]
    RefundNotInProgress {
        /// The refund.
        refund_id: String,
        /// Its current `refundStatus`.
        status: &'static str,
    },
    /// No order with this id (`ORDER_NOT_FOUND`, HTTP 404).
    #[error("Заказ с идентификатором {0} не найден у данного партнера")]
    OrderNotFound(String),
    /// The order is paid, cancelled or expired and cannot be cancelled (`ORDER_HAS_FINAL_STATUS`, HTTP 400).
    #[error("Заказ с идентификатором {order_id} имеет статус {status}")]
    OrderHasFinalStatus {
        /// The order.
        order_id: String,
        /// Its `status.value`.
        status: &'static str,
    },
    /// The cash-register link already has a live (unpaid, unexpired) order (`ERROR.ORDER_ALREADY_ACTIVE`, HTTP 400).
    #[error(
        "QR-код {qr_id} уже активирован заказом {order_id}: дождитесь оплаты или отмените заказ"
    )]
    OrderAlreadyActive {
        /// The link.
        qr_id: String,
        /// Its live order.
        order_id: String,
    },
    /// An order with this id exists with other parameters (`ORDER_ALREADY_EXISTS`, HTTP 400).
    #[error("Заказ с идентификатором {0} уже существует с другими параметрами")]
    OrderAlreadyExists(String),
    /// The payload is not a customer QR the sandbox minted (`ERROR.CUSTOMER_QR_NOT_FOUND`, HTTP 404).
    #[error("QR-код покупателя не найден или недействителен")]
    CustomerQrNotFound,
    /// The customer QR was already charged for another order (`ERROR.CUSTOMER_QR_ALREADY_USED`, HTTP 400).
    #[error("QR-код покупателя уже использован для заказа {0}")]
    CustomerQrUsed(String),
    /// Injected fault: an HTTP 200 business error (`ERROR.INTERNAL`).
    #[error("Внутренняя ошибка (имитация сбоя песочницы)")]
    InjectedBusinessError,
    /// Injected fault: HTTP 500 (`ERROR.INTERNAL`).
    #[error("Internal Server Error (sandbox fault injection)")]
    InjectedHttp500,
    /// Something inside the sandbox went wrong (`ERROR.INTERNAL`, HTTP 500).
    #[error("Внутренняя ошибка песочницы: {0}")]
    Internal(String),
}

impl SandboxError {
    /// The bank's error code, e.g. `ERROR.NOT_FOUND`.
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::Unauthorized => "ERROR.UNAUTHORIZED",
            SandboxError::InvalidRequest(_) | SandboxError::AmountMismatch { .. } => {
                "ERROR.INVALID_REQUEST"
            }
            SandboxError::SbpMerchantIdMissing => "ERROR.SBP_MERCHANT_ID_IS_MISSING",
            SandboxError::MerchantNotRegistered(_) => "ERROR.MERCHANT_NOT_REGISTERED",
            SandboxError::AccountNotRegistered => "ERROR.ACCOUNT_IS_NOT_REGISTERED",
            SandboxError::DynamicQrWithoutAmount => "ERROR.DYNAMIC_QR_WITHOUT_AMOUNT",
            SandboxError::InvalidOrder => "ERROR.INVALID_ORDER",
            SandboxError::QrExpirationDateNotValid(_) => "ERROR.QR_EXPIRATION_DATE_NOT_VALID",
            SandboxError::OrderNumberAlreadyRegistered(_) => {
                "ERROR.ORDER_NUMBER_ALREADY_REGISTERED"
            }
            SandboxError::QrNotFound | SandboxError::PaymentNotFound(_) => "ERROR.NOT_FOUND",
            SandboxError::QrAlreadyPaid => "ERROR.QR_ALREADY_PAID",
            SandboxError::QrNotPayable { .. } => "ERROR.QR_NOT_PAYABLE",
            SandboxError::RefundInsufficientFunds { .. } => "ERROR.REFUND_INSUFFICIENT_FUNDS",
            SandboxError::RefundNotFound(_) => "ERROR.REFUND_NOT_FOUND",
            SandboxError::RefundNotInProgress { .. } => "ERROR.REFUND_NOT_IN_PROGRESS",
            SandboxError::OrderNotFound(_) => "ORDER_NOT_FOUND",
            SandboxError::OrderHasFinalStatus { .. } => "ORDER_HAS_FINAL_STATUS",
            SandboxError::OrderAlreadyActive { .. } => "ERROR.ORDER_ALREADY_ACTIVE",
            SandboxError::OrderAlreadyExists(_) => "ORDER_ALREADY_EXISTS",
            SandboxError::CustomerQrNotFound => "ERROR.CUSTOMER_QR_NOT_FOUND",
            SandboxError::CustomerQrUsed(_) => "ERROR.CUSTOMER_QR_ALREADY_USED",
            SandboxError::InjectedBusinessError
            | SandboxError::InjectedHttp500
            | SandboxError::Internal(_) => "ERROR.INTERNAL",
        }
    }

    /// The HTTP status the bank answers this error with.
    pub fn http_status(&self) -> StatusCode {
        match self {
            SandboxError::Unauthorized => StatusCode::UNAUTHORIZED,
            SandboxError::DynamicQrWithoutAmount
            | SandboxError::RefundInsufficientFunds { .. }
            | SandboxError::InjectedBusinessError => StatusCode::OK,
            SandboxError::QrNotFound
            | SandboxError::PaymentNotFound(_)
            | SandboxError::RefundNotFound(_)
            | SandboxError::OrderNotFound(_)
            | SandboxError::CustomerQrNotFound => StatusCode::NOT_FOUND,
            SandboxError::InjectedHttp500 | SandboxError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            SandboxError::InvalidRequest(_)
            | SandboxError::SbpMerchantIdMissing
            | SandboxError::MerchantNotRegistered(_)
            | SandboxError::AccountNotRegistered
            | SandboxError::InvalidOrder
            | SandboxError::QrExpirationDateNotValid(_)
            | SandboxError::OrderNumberAlreadyRegistered(_)
            | SandboxError::QrAlreadyPaid
            | SandboxError::QrNotPayable { .. }
            | SandboxError::AmountMismatch { .. }
            | SandboxError::RefundNotInProgress { .. }
            | SandboxError::OrderHasFinalStatus { .. }
            | SandboxError::OrderAlreadyActive { .. }
            | SandboxError::OrderAlreadyExists(_)
            | SandboxError::CustomerQrUsed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        (self.http_status(), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_errors_that_the_bank_answers_with_http_200() {
        assert_eq!(
            SandboxError::DynamicQrWithoutAmount.http_status(),
            StatusCode::OK
        );
        assert_eq!(
            SandboxError::RefundInsufficientFunds {
                available: "1".into()
            }
            .http_status(),
            StatusCode::OK
        );
        assert_eq!(
            SandboxError::QrNotFound.to_string(),
            "QR-код не найден у данного партнера"
        );
        assert_eq!(
            SandboxError::RefundNotFound("r-1".into()).to_string(),
            "Возврат с refundId r-1 не найден"
        );
    }
}
