//! Who holds which key: the registers' API keys and the admin key ([`Registers`]), the
//! customer displays' keys ([`Displays`]), and who a request turns out to be ([`Viewer`],
//! [`Register`], [`Admin`]). Pure look-ups in constant time; the extractors that read the
//! `Authorization` header are in `auth.rs`.

use qrpayd_domain::ids::{ProviderName, RegisterId};
use qrpayd_domain::secret::Secret;

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

/// The store admin (`admin_api_key`): the journal page's endpoints and `/metrics`. A
/// register's key answers `403 admin_only`.
#[derive(Debug, Clone, Copy)]
pub struct Admin;
