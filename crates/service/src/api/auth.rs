//! Register authentication: `Authorization: Bearer <register api key>`.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use qrpayd_domain::ids::{ProviderName, RegisterId};
use qrpayd_domain::secret::Secret;

use super::{ApiError, AppState};

/// The configured registers.
#[derive(Debug, Default)]
pub struct Registers(Vec<(Secret, Register)>);

/// The register making the request.
#[derive(Debug, Clone)]
pub struct Register {
    /// Its id.
    pub id: RegisterId,
    /// Its default provider.
    pub provider: Option<ProviderName>,
}

impl Registers {
    /// From `(key, register)` pairs.
    pub fn new(entries: Vec<(Secret, Register)>) -> Self {
        Registers(entries)
    }

    /// The register owning `key`. Compares every key in constant time, so the answer time
    /// does not tell how much of a guess was right.
    pub fn find(&self, key: &str) -> Option<&Register> {
        let mut found = None;
        for (secret, register) in &self.0 {
            if constant_time_eq(secret.expose().as_bytes(), key.as_bytes()) {
                found = Some(register);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Register {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |message: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned())
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                unauthorized("send the register's key as `Authorization: Bearer <key>`")
            })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| {
                // The scheme name is case-insensitive (RFC 9110).
                let (scheme, key) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
            })
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <key>`"))?;
        state
            .registers
            .find(key)
            .cloned()
            .ok_or_else(|| unauthorized("unknown register key"))
    }
}
