//! Opening the journal: the connection pools per backend, the write transaction, the
//! single-instance lock on a SQLite file, the storage error and the time format.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::PaymentId;
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, AnyPool, Transaction};

use crate::sql::Backend;

/// Storage failures. None of them is the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names no backend qrpayd supports.
    #[error("{0}")]
    Unsupported(String),
    /// A row holds something our code cannot read (a bug or a hand edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The payment vanished between two statements of one operation.
    #[error("payment {0} not found")]
    NotFound(PaymentId),
}

/// The journal.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// Where write transactions run. SQLite: a pool of its own with one connection, so writers
    /// queue in order inside qrpayd instead of sleeping in SQLite's busy handler (which backs
    /// off up to 100 ms at a time and made creates wait over a second under load). Other
    /// backends: the same pool as reads.
    pub(crate) writer: AnyPool,
    pub(crate) backend: Backend,
    /// The SQLite file's path (None for other backends and in-memory databases).
    pub(crate) sqlite_path: Option<std::path::PathBuf>,
    /// The lock that makes a SQLite file one server's ([`Store::claim_single_instance`]).
    instance_lock: Arc<std::sync::Mutex<Option<std::fs::File>>>,
}

/// Milliseconds since the epoch, the storage form of a time.
pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Back from storage form.
pub fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}
impl Store {
    /// Opens (creating if needed) the database at `url` and applies its backend's migrations,
    /// refusing a database written by a newer qrpayd (see [`Store::migrate`]).
    ///
    /// `url` is `sqlite://path?mode=rwc` (or `sqlite::memory:`), `mysql://user:pass@host/db`
    /// (MariaDB) or `postgres://user:pass@host/db`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let store = Store::open_unmigrated(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `url` without touching its schema (`qrpayd migrate --check`).
    pub async fn open_unmigrated(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Unsupported(format!(
                "database_url {:?}: use sqlite://, mysql:// (MariaDB) or postgres://",
                url.split('@').next_back().unwrap_or_default()
            ))
        })?;
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                if !in_memory {
                    // WAL is a property of the file. Switching to it needs an exclusive lock
                    // that the busy timeout cannot wait for, so do it once, alone, before the
                    // pool opens connections in parallel.
                    switch_to_wal(&SqliteConnectOptions::from_str(url)?).await?;
                }
                let sqlite_pool = |connections: u32| {
                    AnyPoolOptions::new()
                        .max_connections(connections)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                // FULL: a payment acknowledged to a register survives power loss.
                                sqlx::raw_sql(
                                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                                )
                                .execute(conn)
                                .await
                                .map(drop)
                            })
                        })
                };
                // An in-memory database exists per connection: keep exactly one, for both.
                let pool = sqlite_pool(if in_memory { 1 } else { 8 })
                    .connect(url)
                    .await?;
                let writer = if in_memory {
                    pool.clone()
                } else {
                    sqlite_pool(1).connect(url).await?
                };
                (pool, writer)
            }
            Backend::MySql | Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let sqlite_path = (backend == Backend::Sqlite)
            .then(|| sqlite_file(url))
            .flatten();
        Ok(Store {
            pool,
            writer,
            backend,
            sqlite_path,
            instance_lock: Arc::default(),
        })
    }

    /// Makes this process the only server on a SQLite file: takes an exclusive lock on
    /// `<file>.lock`, held until the store is dropped (the OS releases it if the process dies).
    /// A second server on the same file gets a clear error. Other backends share the database
    /// between instances by design; command-line tools (reconcile, export) never call this.
    pub fn claim_single_instance(&self) -> Result<(), StoreError> {
        let Some(path) = &self.sqlite_path else {
            return Ok(());
        };
        let lock_path = path.with_extension("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Unsupported(format!("cannot open {}: {e}", lock_path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => {
                if let Ok(mut held) = self.instance_lock.lock() {
                    *held = Some(file);
                }
                Ok(())
            }
            Err(_) => Err(StoreError::Unsupported(format!(
                "another qrpayd is already serving {}: SQLite allows one instance per file. \
                 Stop the other one, or move to MariaDB or PostgreSQL to run several",
                path.display()
            ))),
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite (writers queue on the busy timeout
    /// instead of failing), a plain one elsewhere (rows are locked with `FOR UPDATE`).
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::MySql | Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.backend.q("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The file behind a `sqlite://path?…` URL (None for in-memory databases).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// Did the statement break a unique constraint?
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Puts the database file in WAL mode from a single connection, retrying briefly while
/// another process (a previous instance still exiting) holds its lock.
async fn switch_to_wal(options: &SqliteConnectOptions) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    let wal = options.clone().journal_mode(SqliteJournalMode::Wal);
    let mut attempt = 0;
    loop {
        match wal.connect().await {
            Ok(conn) => return Ok(conn.close().await?),
            Err(e) if attempt < 20 && e.to_string().contains("database is locked") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
