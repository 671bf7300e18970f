//! Register authentication: the extractors that read `Authorization: Bearer <key>` and find
//! whose key it is (a register, or the admin for the journal's endpoints), with the keys of
//! `keys.rs`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::ErrorCode;
use super::keys::{Admin, Register, Viewer};
use super::{ApiError, AppState};

fn bearer_key(parts: &Parts) -> Result<&str, ApiError> {
    let unauthorized = |message: &str| ApiError::new(ErrorCode::Unauthorized, message.to_owned());
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("send the register's key as `Authorization: Bearer <key>`"))?;
    header
        .to_str()
        .ok()
        .and_then(|h| {
            // The scheme name is case-insensitive (RFC 9110).
            let (scheme, key) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
        })
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <key>`"))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer_key(parts)?;
        state
            .registers
            .find(key)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "unknown register key"))
    }
}

impl FromRequestParts<AppState> for Register {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Viewer::from_request_parts(parts, state).await? {
            Viewer::Register(register) => Ok(register),
            Viewer::Admin => Err(ApiError::new(
                ErrorCode::AdminReadOnly,
                "the admin key only reads payments, refunds and events; changing them, checking links, QR pictures and slips need a register's key",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Viewer::from_request_parts(parts, state).await? {
            Viewer::Admin => Ok(Admin),
            Viewer::Register(_) => Err(ApiError::new(
                ErrorCode::AdminOnly,
                "this needs the admin key (admin_api_key), not a register's",
            )),
        }
    }
}
