//! Databases for tests: a fresh, empty database on the backend the test run asks for.
//!
//! `QRPAYD_TEST_BACKEND` = `sqlite` (default), `mariadb` or `postgres` picks the backend; the
//! servers are found at `QRPAYD_TEST_MARIADB_URL` (default `mysql://root@127.0.0.1:3306`) and
//! `QRPAYD_TEST_POSTGRES_URL` (default `postgres://root@127.0.0.1:5432`). Each call creates a
//! database named `qrpayd_t_<random>`, so tests and test runs never see each other's data;
//! `.ci/run` drops them afterwards.
//!
//! Choosing a server backend is what requires the server: without `QRPAYD_TEST_BACKEND` a
//! run needs nothing outside the process (SQLite), and with it an unreachable server fails the
//! test, naming the variable, never a skip (see [`crate::test_env`]). An unknown backend name
//! fails too, so a typo never quietly runs the suite on SQLite.

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

/// A database made for one test. Keeps a SQLite file's directory alive while it exists.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to give qrpayd (`database_url`).
    pub url: String,
    /// The backend.
    pub backend: crate::Backend,
    _dir: Option<TempDir>,
}

/// A directory removed on drop (SQLite files), without a dependency on `tempfile`.
#[derive(Debug)]
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which backend this test run uses.
#[expect(
    clippy::panic,
    reason = "a misspelt backend must fail the run, not quietly test SQLite instead"
)]
pub fn backend() -> crate::Backend {
    match std::env::var("QRPAYD_TEST_BACKEND").as_deref() {
        Ok("mariadb" | "mysql") => crate::Backend::MySql,
        Ok("postgres" | "postgresql") => crate::Backend::Postgres,
        Ok("sqlite" | "") | Err(std::env::VarError::NotPresent) => crate::Backend::Sqlite,
        Ok(other) => panic!("QRPAYD_TEST_BACKEND={other:?}: use sqlite, mariadb or postgres"),
        Err(std::env::VarError::NotUnicode(_)) => {
            panic!("QRPAYD_TEST_BACKEND is not UTF-8: use sqlite, mariadb or postgres")
        }
    }
}

/// Creates a fresh empty database on the test run's backend.
pub async fn fresh() -> Result<TestDb, String> {
    let name = format!("qrpayd_t_{}", uuid_like());
    let backend = backend();
    match backend {
        crate::Backend::Sqlite => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            Ok(TestDb {
                url: format!("sqlite://{}?mode=rwc", dir.join("qrpayd.db").display()),
                backend,
                _dir: Some(TempDir(dir)),
            })
        }
        crate::Backend::MySql | crate::Backend::Postgres => {
            let (server, admin_db, url_variable) = match backend {
                crate::Backend::MySql => (
                    std::env::var("QRPAYD_TEST_MARIADB_URL")
                        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
                    "",
                    "QRPAYD_TEST_MARIADB_URL",
                ),
                _ => (
                    std::env::var("QRPAYD_TEST_POSTGRES_URL")
                        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432".into()),
                    "postgres",
                    "QRPAYD_TEST_POSTGRES_URL",
                ),
            };
            let server = server.trim_end_matches('/').to_owned();
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(&format!("{server}/{admin_db}"))
                .await
                .map_err(|e| {
                    format!(
                        "QRPAYD_TEST_BACKEND asks for {name}, but the {name} test server at \
                         {server} ({url_variable}) cannot be reached: {e}. Start it, or unset \
                         QRPAYD_TEST_BACKEND to run on SQLite",
                        name = backend.name()
                    )
                })?;
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot create database {name}: {e}"))?;
            let _ = conn.close().await;
            Ok(TestDb {
                url: format!("{server}/{name}"),
                backend,
                _dir: None,
            })
        }
    }
}

/// 16 hex digits from the clock and a counter: unique enough for test database names, with
/// no randomness crate.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // wall-clock: only to make database names unique, not business time.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{n:x}", nanos, std::process::id())
}
