//! The journal's schema version, upgrades and backups: what `qrpayd migrate` and `qrpayd
//! backup` do, and the check every start makes.
//!
//! The schema is the list of sqlx migrations embedded in the binary (one folder per backend);
//! the database records the versions applied in `_sqlx_migrations`. A database holding a
//! version this binary does not embed was written by a newer qrpayd: it is refused with a
//! message saying so, before anything is written (an older binary would otherwise misread
//! newer rows, and sqlx's own error does not say what to do).

use sqlx::migrate::Migrator;

use crate::{Backend, Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL: Migrator = sqlx::migrate!("migrations/mysql");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::MySql => &MYSQL,
        Backend::Postgres => &POSTGRES,
    }
}

/// Where the database's schema stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions recorded as applied in the database, ascending.
    pub applied: Vec<i64>,
    /// The newest version this binary knows.
    pub latest_known: i64,
    /// Migrations this binary would apply: `(version, description)`.
    pub pending: Vec<(i64, String)>,
    /// Applied versions this binary does not know (a newer qrpayd wrote the database).
    pub unknown: Vec<i64>,
}

impl SchemaStatus {
    /// The database's version: the newest applied migration (0 for an empty database).
    pub fn current(&self) -> i64 {
        self.applied.last().copied().unwrap_or(0)
    }

    /// Nothing pending and nothing unknown.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty()
    }

    /// The refusal for a database newer than this binary, if it is one.
    pub fn too_new(&self) -> Option<String> {
        let newest = self.unknown.last()?;
        Some(format!(
            "the journal's schema is at version {newest}, newer than this qrpayd {} knows (up to \
             {}): it was written by a newer qrpayd. Run that version again, or restore the backup \
             taken before the upgrade (see README, \"Upgrade and rollback\"); qrpayd changed nothing",
            env!("CARGO_PKG_VERSION"),
            self.latest_known
        ))
    }
}

impl Store {
    /// Reads the applied migrations and compares them with this binary's (writes nothing).
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let migrator = migrator(self.backend);
        let applied: Vec<i64> = match self
            .backend
            .scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
            .fetch_all(&self.pool)
            .await
        {
            Ok(versions) => versions,
            // No `_sqlx_migrations` table: a new, empty database.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        let pending = migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| (m.version, m.description.to_string()))
            .collect();
        let unknown = applied
            .iter()
            .copied()
            .filter(|v| !known.contains(v))
            .collect();
        Ok(SchemaStatus {
            applied,
            latest_known: known.iter().copied().max().unwrap_or(0),
            pending,
            unknown,
        })
    }

    /// Applies pending migrations, after refusing a database written by a newer qrpayd.
    /// Returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let before = self.schema_status().await?;
        if let Some(refusal) = before.too_new() {
            return Err(StoreError::Unsupported(refusal));
        }
        migrator(self.backend).run(&self.pool).await?;
        let applied: Vec<i64> = before.pending.iter().map(|(v, _)| *v).collect();
        if !applied.is_empty() {
            tracing::info!(
                from = before.current(),
                to = before.latest_known,
                "journal schema upgraded"
            );
        }
        Ok(applied)
    }

    /// Writes a consistent copy of a SQLite journal to `output` while qrpayd runs (`VACUUM
    /// INTO`: one read transaction, so the copy is the journal at one moment, with every
    /// committed payment). `output` must not exist. MariaDB and PostgreSQL have their own
    /// tools (`mariadb-dump --single-transaction`, `pg_dump`).
    pub async fn backup(&self, output: &std::path::Path) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {}
            Backend::MySql => {
                return Err(StoreError::Unsupported(
                    "qrpayd backup copies SQLite journals; for MariaDB use \
                     mariadb-dump --single-transaction qrpayd > backup.sql"
                        .into(),
                ));
            }
            Backend::Postgres => {
                return Err(StoreError::Unsupported(
                    "qrpayd backup copies SQLite journals; for PostgreSQL use \
                     pg_dump -Fc qrpayd > backup.dump"
                        .into(),
                ));
            }
        }
        if self.sqlite_path.is_none() {
            return Err(StoreError::Unsupported(
                "an in-memory database has nothing to back up".into(),
            ));
        }
        if output.exists() {
            return Err(StoreError::Unsupported(format!(
                "{} already exists; qrpayd never overwrites a backup",
                output.display()
            )));
        }
        let target = output.to_str().ok_or_else(|| {
            StoreError::Unsupported(format!("{} is not a UTF-8 path", output.display()))
        })?;
        self.backend
            .q("VACUUM INTO ?")
            .bind(target.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[tokio::test]
    async fn a_fresh_database_is_migrated_and_current() {
        let db = crate::test_db::fresh().await.unwrap();
        let store = Store::open_unmigrated(&db.url).await.unwrap();
        let before = store.schema_status().await.unwrap();
        assert!(before.applied.is_empty() && !before.pending.is_empty());
        assert!(!before.is_current());
        let applied = store.migrate().await.unwrap();
        assert_eq!(applied.len(), before.pending.len());
        let after = store.schema_status().await.unwrap();
        assert!(after.is_current(), "{after:?}");
        assert_eq!(after.current(), after.latest_known);
        // Applying again changes nothing.
        assert!(store.migrate().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_database_from_a_newer_qrpayd_is_refused_with_a_clear_message() {
        let db = crate::test_db::fresh().await.unwrap();
        let store = Store::connect(&db.url).await.unwrap();
        // A newer release applied a migration this binary does not have.
        store
            .backend
            .q("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                VALUES (?, 'from the future', TRUE, ?, 0)")
            .bind(99_990_i64)
            .bind(vec![0_u8; 48])
            .execute(&store.pool)
            .await
            .unwrap();
        let status = store.schema_status().await.unwrap();
        assert_eq!(status.unknown, [99_990]);
        let err = Store::connect(&db.url).await.unwrap_err().to_string();
        assert!(
            err.contains("version 99990") && err.contains("newer than this qrpayd"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_backup_is_a_working_journal_and_never_overwrites() {
        if crate::test_db::backend() != Backend::Sqlite {
            return; // `qrpayd backup` is for SQLite; the others have their dump tools.
        }
        let db = crate::test_db::fresh().await.unwrap();
        let store = Store::connect(&db.url).await.unwrap();
        let dir = std::env::temp_dir().join(format!("qrpayd-backup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("copy.db");
        let _ = std::fs::remove_file(&output);
        store.backup(&output).await.unwrap();
        let copy = Store::open_unmigrated(&format!("sqlite://{}", output.display()))
            .await
            .unwrap();
        assert!(copy.schema_status().await.unwrap().is_current());
        let again = store.backup(&output).await.unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
