//! The journal: payments, their history and their durable jobs, in SQL.
//!
//! Every state change goes through [`Store::apply_event`], which runs the domain's transition
//! function inside one write transaction: read the row, decide, update the row, append the
//! history line and reschedule (or delete) the job row, commit. So the database never holds a
//! state the state machine would not allow, and a crash at any point leaves either the old
//! state with its job or the new one with its job.
//!
//! The embedded backend is SQLite (WAL, `BEGIN IMMEDIATE` for writes so two writers queue on
//! the busy timeout instead of failing). The schema in `migrations/sqlite` avoids anything a
//! MariaDB or PostgreSQL port would have to redesign; see its header.

mod events;
mod links;
mod moves;
mod record;
mod refunds;
mod schema;
mod sql;
mod stats;
pub mod test_db;
pub mod test_env;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, QrId, RefundId, RegisterId};
use qrpayd_domain::payment::{IllegalTransition, PaymentEvent, PaymentState, QrType, Transition};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

pub use events::Event;
pub use links::CashLink;
pub use record::{NewPayment, NewRefund, Payment, PaymentFilter, Refund};
pub use refunds::{RefundApplied, RefundInserted, SendClaim};
pub use schema::SchemaStatus;
pub use sql::Backend;
pub use stats::{HistoryLine, JobCounts, OutboxBacklog, PoolStats, ReconciliationRun, StatusCount};

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

/// Extra facts recorded with a state change.
#[derive(Debug, Clone, Default)]
pub struct EventDetails {
    /// The bank's QR id and payload (with `QrIssued`).
    pub qr: Option<(QrId, String)>,
    /// The bank's transaction id (with `BankPaid`).
    pub bank_transaction_id: Option<String>,
    /// Why the payment failed (with `CreationFailed`/`BankDeclined`): stable code and text.
    pub failure: Option<(String, String)>,
    /// Free text for the history line: who or what reported the event.
    pub source: &'static str,
    /// What to do if this event turns out to be a *late* payment (paid after we closed or
    /// failed it): written in the same transaction, so a crash cannot lose the follow-up.
    pub on_late: Option<LateHandling>,
    /// A refund the bank already made of this payment (a cancel it turned into a refund),
    /// recorded in the same transaction as the change, so the two are never seen apart.
    pub bank_made_refund: Option<NewRefund>,
}

/// The late-payment policy's action, prepared by the caller.
#[derive(Debug, Clone)]
pub enum LateHandling {
    /// Refund the whole payment automatically (this refund row is inserted with its job).
    Refund(NewRefund),
    /// Only mark it for a person.
    Flag,
}

/// What [`Store::apply_event`] did.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The state changed; `payment` is the new row.
    Changed {
        /// The payment after the change.
        payment: Payment,
        /// The previous state.
        from: PaymentState,
        /// This change made a closed payment paid: a late payment (the state machine's call),
        /// with the policy's action recorded in the same transaction.
        late: bool,
    },
    /// The event repeated something already recorded; nothing was written.
    Unchanged(Payment),
    /// The event is not allowed in the current state; nothing was written.
    Illegal(Payment, IllegalTransition),
}

impl Applied {
    /// The payment as it is now.
    pub fn payment(&self) -> &Payment {
        match self {
            Applied::Changed { payment, .. }
            | Applied::Unchanged(payment)
            | Applied::Illegal(payment, _) => payment,
        }
    }
}

/// Result of inserting a payment with an idempotency key.
#[derive(Debug, Clone)]
pub enum Inserted {
    /// A new payment row (state `Creating`) and its job row were written.
    New(Payment),
    /// The register already used this key; here is that payment.
    Existing(Payment),
    /// The register's cash-register link already has a live (unfinished) activation.
    LinkBusy(Box<Payment>),
}

/// What a job row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobTarget {
    /// A payment that is not final (`payment_jobs`).
    Payment(PaymentId),
    /// A refund that is not final (`refund_jobs`).
    Refund(RefundId),
}

impl std::fmt::Display for JobTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobTarget::Payment(id) => write!(f, "{id}"),
            JobTarget::Refund(id) => write!(f, "{id}"),
        }
    }
}

impl JobTarget {
    fn id(&self) -> &str {
        match self {
            JobTarget::Payment(id) => id.as_str(),
            JobTarget::Refund(id) => id.as_str(),
        }
    }
}

/// A due job, claimed with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The payment or refund to look at.
    pub target: JobTarget,
    /// How many times this job already failed in a row (for backoff).
    pub attempts: i64,
}

/// The journal.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. SQLite: a pool of its own with one connection, so writers
    /// queue in order inside qrpayd instead of sleeping in SQLite's busy handler (which backs
    /// off up to 100 ms at a time and made creates wait over a second under load). Other
    /// backends: the same pool as reads.
    writer: AnyPool,
    backend: Backend,
    /// The SQLite file's path (None for other backends and in-memory databases).
    sqlite_path: Option<std::path::PathBuf>,
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
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
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

    /// Saves a new payment in state `Creating` with its job row (due at `job_due_at`, when a
    /// worker should conclude that the bank call was interrupted), unless the register already
    /// used `idempotency_key`: then returns that payment and writes nothing.
    pub async fn insert_payment(
        &self,
        new: &NewPayment,
        job_due_at: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(existing) = select_by_key(
            self.backend,
            &mut tx,
            &new.register_id,
            &new.idempotency_key,
        )
        .await?
        {
            return Ok(Inserted::Existing(existing));
        }
        if new.qr_type == QrType::CashRegister
            && let Some(live) =
                links::live_activation(self.backend, &mut tx, &new.register_id).await?
        {
            // One live activation per link: the link's row lock makes this check and the
            // insert atomic across connections and instances.
            return Ok(Inserted::LinkBusy(Box::new(live)));
        }
        let now = to_ms(new.created_at);
        let inserted = self.backend.q(
            "INSERT INTO payments (id, register_id, idempotency_key, request_hash, amount, \
             currency, provider, order_ref, description, status, created_at, expires_at, updated_at, \
             qr_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.id.as_str())
        .bind(new.register_id.as_str())
        .bind(new.idempotency_key.as_str())
        .bind(&new.request_hash)
        .bind(new.amount.get())
        .bind(new.currency.code())
        .bind(new.provider.as_str())
        .bind(new.order.as_ref().map(|o| o.as_str()))
        .bind(new.description.as_deref())
        .bind(PaymentState::Creating.as_db_str())
        .bind(now)
        .bind(to_ms(new.expires_at))
        .bind(now)
        .bind(new.qr_type.as_str())
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if is_unique_violation(&e) {
                // A concurrent request with the same key won the race (MariaDB/PostgreSQL; on
                // SQLite the immediate transaction already serialised us).
                drop(tx);
                let mut conn = self.pool.acquire().await?;
                if let Some(existing) = select_by_key(
                    self.backend,
                    &mut conn,
                    &new.register_id,
                    &new.idempotency_key,
                )
                .await?
                {
                    return Ok(Inserted::Existing(existing));
                }
            }
            return Err(e.into());
        }
        self.backend.q(
            "INSERT INTO payment_history (payment_id, seq, at, from_status, to_status, event, detail) \
             VALUES (?, 0, ?, NULL, ?, 'Created', NULL)",
        )
        .bind(new.id.as_str())
        .bind(now)
        .bind(PaymentState::Creating.as_db_str())
        .execute(&mut *tx)
        .await?;
        self.backend
            .q("INSERT INTO payment_jobs (payment_id, due_at) VALUES (?, ?)")
            .bind(new.id.as_str())
            .bind(to_ms(job_due_at))
            .execute(&mut *tx)
            .await?;
        let payment = select_by_id(self.backend, &mut tx, &new.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(new.id.clone()))?;
        tx.commit().await?;
        Ok(Inserted::New(payment))
    }

    /// A payment by id.
    pub async fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        select_by_id(self.backend, &mut conn, id).await
    }

    /// A payment by the bank's QR id (for notifications).
    pub async fn payment_by_qr(&self, qr_id: &QrId) -> Result<Option<Payment>, StoreError> {
        let row = self
            .backend
            .q("SELECT * FROM payments WHERE qr_id = ?")
            .bind(qr_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record::from_row).transpose()
    }

    /// Applies `event` to the payment in one transaction (see the module doc). When the new
    /// state is final the job row is deleted; otherwise it is due at `next_job_at` with a
    /// fresh attempt count.
    pub async fn apply_event(
        &self,
        id: &PaymentId,
        event: PaymentEvent,
        details: &EventDetails,
        now: DateTime<Utc>,
        next_job_at: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.begin().await?;
        // Locked for the rest of the transaction: concurrent events on one payment serialise.
        let row = self
            .backend
            .q_locked("SELECT * FROM payments WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let current = row
            .as_ref()
            .map(record::from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let (to, late) = match current.state.apply(event) {
            Ok(Transition::To { to, late }) => (to, late),
            Ok(Transition::Unchanged) => return Ok(Applied::Unchanged(current)),
            Err(illegal) => return Ok(Applied::Illegal(current, illegal)),
        };
        let now_ms = to_ms(now);
        let (qr_id, qr_payload) = details
            .qr
            .as_ref()
            .map(|(id, payload)| (Some(id.as_str()), Some(payload.as_str())))
            .unwrap_or((None, None));
        let (failure_code, failure_message) = details
            .failure
            .as_ref()
            .map(|(c, m)| (Some(c.as_str()), Some(m.as_str())))
            .unwrap_or((None, None));
        let paid_at = (to == PaymentState::Paid).then_some(now_ms);
        let updated = self.backend.q(
            "UPDATE payments SET status = ?, late = CASE WHEN ? THEN 1 ELSE late END, \
             qr_id = COALESCE(?, qr_id), qr_payload = COALESCE(?, qr_payload), \
             bank_transaction_id = COALESCE(?, bank_transaction_id), \
             failure_code = COALESCE(?, failure_code), failure_message = COALESCE(?, failure_message), \
             paid_at = COALESCE(?, paid_at), updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(to.as_db_str())
        .bind(late)
        .bind(qr_id)
        .bind(qr_payload)
        .bind(details.bank_transaction_id.as_deref())
        .bind(failure_code)
        .bind(failure_message)
        .bind(paid_at)
        .bind(now_ms)
        .bind(id.as_str())
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            // Cannot happen under BEGIN IMMEDIATE; refuse rather than write a stale decision.
            return Err(StoreError::Corrupt(format!(
                "{id} changed during its own update"
            )));
        }
        let detail = failure_message.map(str::to_owned).or_else(|| {
            details
                .bank_transaction_id
                .clone()
                .map(|t| format!("transaction {t}"))
        });
        self.backend.q(
            "INSERT INTO payment_history (payment_id, seq, at, from_status, to_status, event, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(current.version + 1)
        .bind(now_ms)
        .bind(current.state.as_db_str())
        .bind(to.as_db_str())
        .bind(format!("{event:?} via {}", details.source))
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        if let Some(refund) = &details.bank_made_refund {
            refunds::insert_in(self.backend, &mut tx, refund, now).await?;
        }
        if late {
            let action = match &details.on_late {
                Some(LateHandling::Refund(refund)) => {
                    refunds::insert_in(self.backend, &mut tx, refund, now).await?;
                    "refund"
                }
                Some(LateHandling::Flag) | None => "flag",
            };
            self.backend
                .q("UPDATE payments SET late_action = ? WHERE id = ?")
                .bind(action)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        // A payment closed unpaid keeps its job: the late watch asks the bank a little longer,
        // since a QR can be paid a moment after it was closed. Paid, or never given a QR:
        // there is nothing left to ask.
        let watched = to != PaymentState::Paid && (current.qr.is_some() || details.qr.is_some());
        if to.is_final() && !watched {
            self.backend
                .q("DELETE FROM payment_jobs WHERE payment_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            // Delete and insert (a portable upsert): a payment without a job row (a hand edit,
            // a bug) must not become unwatched.
            self.backend
                .q("DELETE FROM payment_jobs WHERE payment_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            self.backend
                .q("INSERT INTO payment_jobs (payment_id, due_at, attempts, lease_until) VALUES (?, ?, 0, 0)")
                .bind(id.as_str())
                .bind(to_ms(next_job_at))
                .execute(&mut *tx)
                .await?;
        }
        let payment = select_by_id(self.backend, &mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        if let Some(kind) = events::payment_event_kind(current.state, &payment) {
            events::record_payment(self.backend, &mut tx, kind, &payment, now).await?;
        }
        tx.commit().await?;
        Ok(Applied::Changed {
            payment,
            from: current.state,
            late,
        })
    }

    /// Claims up to `limit` jobs of each kind due at `now` whose lease has run out, leasing
    /// them until `now + lease`. A claimed job is invisible to other claims until the lease
    /// ends.
    pub async fn claim_due_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let now_ms = to_ms(now);
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut claimed = Vec::new();
        for (table, key, refund) in [
            ("payment_jobs", "payment_id", false),
            ("refund_jobs", "refund_id", true),
        ] {
            let rows: Vec<(String, i64)> = match self.backend {
                Backend::Sqlite => {
                    let sql = format!(
                        "UPDATE {table} SET lease_until = ? WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE due_at <= ? AND lease_until <= ? \
                          ORDER BY due_at LIMIT ?) RETURNING {key} AS id, attempts"
                    );
                    let rows = self
                        .backend
                        .q(&sql)
                        .bind(until)
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .fetch_all(&self.writer)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("id")?, r.try_get("attempts")?)))
                        .collect::<Result<_, sqlx::Error>>()?
                }
                Backend::MySql | Backend::Postgres => {
                    // MariaDB has no UPDATE … RETURNING: lock the due rows others have not
                    // locked (SKIP LOCKED: instances never wait for each other), lease them,
                    // commit.
                    let mut tx = self.pool.begin().await?;
                    let sql = format!(
                        "SELECT {key} AS id, attempts FROM {table} WHERE due_at <= ? AND lease_until <= ? \
                         ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED"
                    );
                    let rows = self
                        .backend
                        .q(&sql)
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    let rows: Vec<(String, i64)> = rows
                        .iter()
                        .map(|r| Ok((r.try_get("id")?, r.try_get("attempts")?)))
                        .collect::<Result<_, sqlx::Error>>()?;
                    let update = format!("UPDATE {table} SET lease_until = ? WHERE {key} = ?");
                    for (id, _) in &rows {
                        self.backend
                            .q(&update)
                            .bind(until)
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    rows
                }
            };
            for (id, attempts) in rows {
                let bad = |e: qrpayd_domain::ids::IdError| {
                    StoreError::Corrupt(format!("job id {id:?}: {e}"))
                };
                let target = if refund {
                    JobTarget::Refund(RefundId::parse(&id).map_err(bad)?)
                } else {
                    JobTarget::Payment(PaymentId::parse(&id).map_err(bad)?)
                };
                claimed.push(ClaimedJob { target, attempts });
            }
        }
        Ok(claimed)
    }

    /// Puts a job back, due at `due_at`. With an `error` the attempt counts towards backoff and
    /// the error is remembered; without one (a routine poll) the count starts over.
    pub async fn reschedule_job(
        &self,
        target: &JobTarget,
        due_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => {
                "UPDATE payment_jobs SET due_at = ?, lease_until = 0, \
                 attempts = CASE WHEN ? IS NULL THEN 0 ELSE attempts + 1 END, \
                 last_error = ? WHERE payment_id = ?"
            }
            JobTarget::Refund(_) => {
                "UPDATE refund_jobs SET due_at = ?, lease_until = 0, \
                 attempts = CASE WHEN ? IS NULL THEN 0 ELSE attempts + 1 END, \
                 last_error = ? WHERE refund_id = ?"
            }
        };
        self.backend
            .q(sql)
            .bind(to_ms(due_at))
            .bind(error)
            .bind(error)
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Makes a job due at once (a cancel whose bank call failed, a doubtful notification):
    /// the worker takes it on its next round.
    pub async fn job_due_now(
        &self,
        target: &JobTarget,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => {
                "UPDATE payment_jobs SET due_at = ?, lease_until = 0 WHERE payment_id = ?"
            }
            JobTarget::Refund(_) => {
                "UPDATE refund_jobs SET due_at = ?, lease_until = 0 WHERE refund_id = ?"
            }
        };
        self.backend
            .q(sql)
            .bind(to_ms(now))
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes the job row of something already final (left over by a crash between two
    /// versions of the code, or a hand edit).
    pub async fn delete_job(&self, target: &JobTarget) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => "DELETE FROM payment_jobs WHERE payment_id = ?",
            JobTarget::Refund(_) => "DELETE FROM refund_jobs WHERE refund_id = ?",
        };
        self.backend
            .q(sql)
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The earliest due time among jobs (to know how long a worker may sleep).
    pub async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = self.backend.scalar(
            "SELECT MIN(due_at) FROM (SELECT due_at FROM payment_jobs UNION ALL SELECT due_at FROM refund_jobs) AS jobs",
        )
            .fetch_one(&self.pool)
            .await?;
        due.map(from_ms).transpose()
    }

    /// Payments matching `filter`, newest first.
    pub async fn list_payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, StoreError> {
        // Only the filters given become conditions, so every combination can use its index
        // (an `(? IS NULL OR column = ?)` condition cannot).
        let mut query = self.backend.q(&list_payments_sql(filter));
        if let Some(register) = &filter.register {
            query = query.bind(register.as_str().to_owned());
        }
        if let Some(order) = &filter.order {
            query = query.bind(order.clone());
        }
        if let Some(status) = filter.status {
            query = query.bind(status.as_db_str());
        }
        if let Some(late) = filter.late {
            query = query.bind(i64::from(late));
        }
        if let Some(from) = filter.from {
            query = query.bind(to_ms(from));
        }
        if let Some(to) = filter.to {
            query = query.bind(to_ms(to));
        }
        let rows = query.bind(filter.limit).fetch_all(&self.pool).await?;
        rows.iter().map(record::from_row).collect()
    }

    /// Payments that became paid in `[from, to)`, oldest first (reconciliation).
    pub async fn payments_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Payment>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM payments WHERE paid_at >= ? AND paid_at < ? ORDER BY paid_at, id")
            .bind(to_ms(from))
            .bind(to_ms(to))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record::from_row).collect()
    }

    /// The history lines of a payment, oldest first: `(from, to, event)`.
    pub async fn history(
        &self,
        id: &PaymentId,
    ) -> Result<Vec<(Option<String>, String, String)>, StoreError> {
        let rows = self.backend.q(
            "SELECT from_status, to_status, event FROM payment_history WHERE payment_id = ? ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}

/// The statement of [`Store::list_payments`] for the filters `filter` uses, in bind order.
fn list_payments_sql(filter: &PaymentFilter) -> String {
    let conditions: Vec<&str> = [
        (filter.register.is_some(), "register_id = ?"),
        (filter.order.is_some(), "order_ref = ?"),
        (filter.status.is_some(), "status = ?"),
        (filter.late.is_some(), "late = ?"),
        (filter.from.is_some(), "created_at >= ?"),
        (filter.to.is_some(), "created_at < ?"),
    ]
    .into_iter()
    .filter_map(|(given, condition)| given.then_some(condition))
    .collect();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!("SELECT * FROM payments{filter} ORDER BY created_at DESC, id DESC LIMIT ?")
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

pub(crate) async fn select_by_id(
    backend: Backend,
    conn: &mut AnyConnection,
    id: &PaymentId,
) -> Result<Option<Payment>, StoreError> {
    let row = backend
        .q("SELECT * FROM payments WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(record::from_row).transpose()
}

async fn select_by_key(
    backend: Backend,
    conn: &mut AnyConnection,
    register: &RegisterId,
    key: &IdempotencyKey,
) -> Result<Option<Payment>, StoreError> {
    let row = backend
        .q("SELECT * FROM payments WHERE register_id = ? AND idempotency_key = ?")
        .bind(register.as_str())
        .bind(key.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(record::from_row).transpose()
}

#[cfg(test)]
mod plans;
#[cfg(test)]
mod tests;
