//! Cash-register links: one printed static QR per register, bound once, activated per
//! purchase. At most one live activation per link, checked under the link row's lock.

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{ProviderName, QrId, RegisterId};
use sqlx::{AnyConnection, Row};

use crate::record::Payment;
use crate::{Backend, Store, StoreError, from_ms, to_ms};

/// A register's cash-register link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashLink {
    /// The register it is printed for.
    pub register_id: RegisterId,
    /// The provider whose link it is.
    pub provider: ProviderName,
    /// The link's QR id (NSPK `qrcId`).
    pub qr_id: QrId,
    /// The link as printed (`https://qr.nspk.ru/…`).
    pub payload: String,
    /// Chains: the store the register stands in.
    pub store_id: Option<String>,
    /// Chains: whose account the link pays into.
    pub legal_entity: Option<String>,
    /// When it was bound.
    pub created_at: DateTime<Utc>,
}

fn link_from_row(row: &sqlx::any::AnyRow) -> Result<CashLink, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v:?}"));
    let register: String = row.try_get("register_id")?;
    let provider: String = row.try_get("provider")?;
    let qr: String = row.try_get("qr_id")?;
    Ok(CashLink {
        register_id: RegisterId::parse(&register).map_err(|_| corrupt("register_id", &register))?,
        provider: ProviderName::parse(&provider).map_err(|_| corrupt("provider", &provider))?,
        qr_id: QrId::parse(&qr).map_err(|_| corrupt("qr_id", &qr))?,
        payload: row.try_get("payload")?,
        store_id: row.try_get("store_id")?,
        legal_entity: row.try_get("legal_entity")?,
        created_at: from_ms(row.try_get("created_at")?)?,
    })
}

/// The register's unfinished cash-register payment, if any, with the link row locked for the
/// rest of the transaction.
pub(crate) async fn live_activation(
    backend: Backend,
    conn: &mut AnyConnection,
    register: &RegisterId,
) -> Result<Option<Payment>, StoreError> {
    backend
        .q_locked("SELECT register_id FROM cash_links WHERE register_id = ?")
        .bind(register.as_str().to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let row = backend
        .q("SELECT * FROM payments WHERE register_id = ? AND qr_type = 'cash_register' \
            AND status NOT IN ('paid', 'failed', 'expired', 'cancelled') ORDER BY created_at LIMIT 1")
        .bind(register.as_str().to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(crate::record::from_row).transpose()
}

impl Store {
    /// Binds `link` to its register, replacing the register's previous link.
    pub async fn bind_link(&self, link: &CashLink) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        self.backend
            .q("DELETE FROM cash_links WHERE register_id = ?")
            .bind(link.register_id.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        self.backend
            .q("INSERT INTO cash_links (register_id, provider, qr_id, payload, store_id, legal_entity, created_at) \
                VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(link.register_id.as_str().to_owned())
            .bind(link.provider.as_str().to_owned())
            .bind(link.qr_id.as_str().to_owned())
            .bind(link.payload.clone())
            .bind(link.store_id.clone())
            .bind(link.legal_entity.clone())
            .bind(to_ms(link.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The register's link.
    pub async fn link_of(&self, register: &RegisterId) -> Result<Option<CashLink>, StoreError> {
        let row = self
            .backend
            .q("SELECT * FROM cash_links WHERE register_id = ?")
            .bind(register.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// Every bound link.
    pub async fn links(&self) -> Result<Vec<CashLink>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM cash_links ORDER BY register_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(link_from_row).collect()
    }
}
