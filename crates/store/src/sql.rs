//! The SQL dialects qrpayd speaks: SQLite (embedded), MariaDB/MySQL and PostgreSQL.
//!
//! All queries go through sqlx's `Any` driver with the same statements on every backend
//! (text ids as VARCHAR — never CHAR, which the Any driver cannot read on PostgreSQL —, BIGINT integers; no backend-specific types). Where the dialects differ, the
//! difference lives here or in a `match` on [`Backend`] next to the statement:
//!
//! * placeholders are written `?` and become `$1, $2, …` on PostgreSQL ([`Backend::q`]);
//! * write transactions are `BEGIN IMMEDIATE` on SQLite (it has no row locks: the whole file
//!   is the lock), and `BEGIN` + `SELECT … FOR UPDATE` on the rows at stake elsewhere;
//! * claiming jobs is `UPDATE … RETURNING` on SQLite and `SELECT … FOR UPDATE SKIP LOCKED`
//!   then `UPDATE` on MariaDB (which has no `UPDATE … RETURNING`) and PostgreSQL.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, AssertSqlSafe};

/// Which database a [`crate::Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://…`: embedded, one qrpayd instance per file.
    Sqlite,
    /// `mysql://…` or `mariadb://…`: MariaDB 10.6+ (MySQL 8 should work too).
    MySql,
    /// `postgres://…` or `postgresql://…`: PostgreSQL 12+.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::MySql => "MariaDB",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// Rewrites `?` placeholders for this backend.
    pub(crate) fn sql(self, sql: &str) -> String {
        match self {
            Backend::Sqlite | Backend::MySql => sql.to_owned(),
            Backend::Postgres => {
                // Our statements have no `?` inside string literals, so a plain scan is enough.
                let mut out = String::with_capacity(sql.len() + 8);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// A query for this backend.
    pub(crate) fn q(self, sql: &str) -> Query<'static, Any, AnyArguments> {
        #[cfg(test)]
        record(sql);
        sqlx::query(AssertSqlSafe(self.sql(sql)))
    }

    /// A query returning one scalar.
    pub(crate) fn scalar<O>(self, sql: &str) -> QueryScalar<'static, Any, O, AnyArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        #[cfg(test)]
        record(sql);
        sqlx::query_scalar(AssertSqlSafe(self.sql(sql)))
    }

    /// `sql` with a row lock for the rest of the transaction (nothing on SQLite, whose write
    /// transactions already hold the whole file).
    pub(crate) fn q_locked(self, sql: &str) -> Query<'static, Any, AnyArguments> {
        match self {
            Backend::Sqlite => self.q(sql),
            Backend::MySql | Backend::Postgres => self.q(&format!("{sql} FOR UPDATE")),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Every statement this thread prepared, in the order first seen (for the query plan test:
    /// a `#[tokio::test]` runs on its own thread).
    static SEEN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
fn record(sql: &str) {
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if !seen.iter().any(|s| s == sql) {
            seen.push(sql.to_owned());
        }
    });
}

/// The statements this thread prepared so far (SQLite dialect), and forgets them.
#[cfg(test)]
pub(crate) fn take_seen() -> Vec<String> {
    SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            Backend::Postgres.sql("a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(Backend::MySql.sql("a = ?"), "a = ?");
        assert_eq!(Backend::from_url("mariadb://x"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("postgresql://x"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("oracle://x"), None);
    }
}
