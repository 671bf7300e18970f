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

mod connection;
mod events;
mod jobs;
mod links;
mod moves;
mod payments;
mod record;
mod refunds;
mod schema;
mod sql;
mod stats;
pub mod test_db;
pub mod test_env;

pub(crate) use connection::is_unique_violation;
pub use connection::{Store, StoreError, from_ms, to_ms};
pub use events::Event;
pub use jobs::{ClaimedJob, JobTarget};
pub use links::CashLink;
pub use payments::{Applied, EventDetails, Inserted, LateHandling};
pub use record::{NewPayment, NewRefund, Payment, PaymentFilter, Refund};
pub use refunds::{RefundApplied, RefundInserted, SendClaim};
pub use schema::SchemaStatus;
pub use sql::Backend;
pub use stats::{HistoryLine, JobCounts, OutboxBacklog, PoolStats, ReconciliationRun, StatusCount};

#[cfg(test)]
mod plans;
#[cfg(test)]
mod tests;
