//! Cash-register links (one printed static QR per register, activated with each payment's
//! amount): registering a new link at the register's bank, binding one already printed, and
//! which provider a register's link belongs to. `qrpayd links` is a thin shell around these.

use chrono::{DateTime, Utc};
use qrpayd_bank::BankError;
use qrpayd_domain::ids::{IdError, ProviderName, QrId, RegisterId};
use qrpayd_store::{CashLink, StoreError};

use crate::config::Config;
use crate::payments::Payments;

/// Why a link could not be registered or bound.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The register is not in the configuration.
    #[error("register {0:?} is not in the configuration")]
    UnknownRegister(String),
    /// The register names no provider and several are configured.
    #[error("register {0:?} has no `provider` and several are configured")]
    ProviderRequired(String),
    /// The register's provider is not configured.
    #[error("provider {0} is not configured")]
    UnknownProvider(ProviderName),
    /// The text is not an SBP link.
    #[error("{0:?} is not an SBP link")]
    NotALink(String),
    /// The link's check digits do not verify.
    #[error("the link's crc does not verify: it is damaged or mistyped")]
    BadCrc,
    /// An id in the configuration or link is malformed.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The bank did not register the link.
    #[error("the bank did not register the link: {0}")]
    Bank(#[from] BankError),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a link is printed: the store and legal entity of a chain's register.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The store the register stands in.
    pub store_id: Option<String>,
    /// Whose account the link pays into.
    pub legal_entity: Option<String>,
}

/// The register's id and the provider its link belongs to (its `provider`, or the only one
/// configured).
pub fn register_provider(
    config: &Config,
    register: &str,
) -> Result<(RegisterId, ProviderName), LinkError> {
    let entry = config
        .registers
        .iter()
        .find(|r| r.id == register)
        .ok_or_else(|| LinkError::UnknownRegister(register.to_owned()))?;
    // A printed link belongs to one bank: the register's first provider.
    let name = config
        .register_providers(entry)
        .into_iter()
        .next()
        .ok_or_else(|| LinkError::ProviderRequired(register.to_owned()))?;
    Ok((RegisterId::parse(register)?, ProviderName::parse(&name)?))
}

/// Registers a new link at the register's bank and binds it to the register.
pub async fn register_new(
    payments: &Payments,
    config: &Config,
    register: &str,
    placement: Placement,
    now: DateTime<Utc>,
) -> Result<CashLink, LinkError> {
    let (register_id, provider) = register_provider(config, register)?;
    let adapter = &payments
        .provider(provider.as_str())
        .ok_or_else(|| LinkError::UnknownProvider(provider.clone()))?
        .adapter;
    let issued = adapter.register_cash_link().await?;
    let link = CashLink {
        register_id,
        provider,
        qr_id: issued.qr_id,
        payload: issued.payload,
        store_id: placement.store_id,
        legal_entity: placement.legal_entity,
        created_at: now,
    };
    payments.store().bind_link(&link).await?;
    Ok(link)
}

/// Binds a link already printed (`payload` as scanned) to the register.
pub async fn bind_printed(
    payments: &Payments,
    config: &Config,
    register: &str,
    payload: &str,
    placement: Placement,
    now: DateTime<Utc>,
) -> Result<CashLink, LinkError> {
    let (register_id, provider) = register_provider(config, register)?;
    let parsed = qrpayd_domain::nspk::parse_link(payload)
        .map_err(|_| LinkError::NotALink(payload.to_owned()))?;
    if parsed.crc_ok == Some(false) {
        return Err(LinkError::BadCrc);
    }
    let link = CashLink {
        register_id,
        provider,
        qr_id: QrId::parse(&parsed.qrc_id)?,
        payload: payload.trim().to_owned(),
        store_id: placement.store_id,
        legal_entity: placement.legal_entity,
        created_at: now,
    };
    payments.store().bind_link(&link).await?;
    Ok(link)
}
