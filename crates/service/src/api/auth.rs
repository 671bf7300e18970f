//! Register authentication: `Authorization: Bearer <register api key>`; and the customer
//! displays' keys ([`Displays`]), which only read one register's current payment.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use qrpayd_domain::ids::{ProviderName, RegisterId};
use qrpayd_domain::secret::Secret;

use super::ErrorCode;
use super::{ApiError, AppState};

/// The configured registers and the admin key.
#[derive(Debug, Default)]
pub struct Registers {
    registers: Vec<(Secret, Register)>,
    admin: Option<Secret>,
}

/// Who is reading: a register (its own payments only) or the store admin (everything,
/// read-only).
#[derive(Debug, Clone)]
pub enum Viewer {
    /// A register.
    Register(Register),
    /// The admin key.
    Admin,
}

impl Viewer {
    /// The register to restrict to; `None` for the admin.
    pub fn register_id(&self) -> Option<&RegisterId> {
        match self {
            Viewer::Register(r) => Some(&r.id),
            Viewer::Admin => None,
        }
    }
}

/// The register making the request.
#[derive(Debug, Clone)]
pub struct Register {
    /// Its id.
    pub id: RegisterId,
    /// Its default provider.
    pub providers: Vec<ProviderName>,
    /// Its default QR type.
    pub qr_type: qrpayd_domain::payment::QrType,
}

impl Registers {
    /// From `(key, register)` pairs and the admin key.
    pub fn new(registers: Vec<(Secret, Register)>, admin: Option<Secret>) -> Self {
        Registers { registers, admin }
    }

    /// Who owns `key`. Compares every key in constant time, so the answer time does not tell
    /// how much of a guess was right.
    pub fn find(&self, key: &str) -> Option<Viewer> {
        let mut found = None;
        for (secret, register) in &self.registers {
            if constant_time_eq(secret.expose().as_bytes(), key.as_bytes()) {
                found = Some(Viewer::Register(register.clone()));
            }
        }
        if let Some(admin) = &self.admin
            && constant_time_eq(admin.expose().as_bytes(), key.as_bytes())
        {
            found = Some(Viewer::Admin);
        }
        found
    }
}

/// The registers' customer-display keys (`display_key`). A display key is not an API key:
/// it opens `/display/<register>` and its event stream, which show that register's current
/// payment only, and nothing else.
#[derive(Debug, Default)]
pub struct Displays {
    displays: Vec<(RegisterId, Secret)>,
}

impl Displays {
    /// From `(register, display key)` pairs.
    pub fn new(displays: Vec<(RegisterId, Secret)>) -> Self {
        Displays { displays }
    }

    /// The register whose display `key` opens, when `register` names it. Unknown register,
    /// a register without a display and a wrong key all look the same. Compares in constant
    /// time.
    pub fn find(&self, register: &str, key: &str) -> Option<RegisterId> {
        let mut found = None;
        for (id, secret) in &self.displays {
            if constant_time_eq(secret.expose().as_bytes(), key.as_bytes())
                && id.as_str() == register
            {
                found = Some(id.clone());
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

/// The store admin (`admin_api_key`): the journal page's endpoints and `/metrics`. A
/// register's key answers `403 admin_only`.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

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
