//! The benchmark's baseline: a bare axum + sqlx (SQLite) server doing the least each kind of
//! request needs, so qrpayd's figures can be read as a share of what the machine allows.
//!
//! * `GET /hello` — a constant;
//! * `GET /read/{id}` — one point read of a row by primary key, answered as JSON;
//! * `POST /insert` — one row inserted and committed with `synchronous = FULL` in WAL mode
//!   (what qrpayd promises for a payment), through one writer connection;
//! * `GET /wait` — a long-poll that never returns (what 10,000 waiting registers cost).
//!
//! `bench-baseline <listen address> <sqlite file>`; prints `ready` when it listens.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Clone)]
struct App {
    reads: SqlitePool,
    writer: SqlitePool,
    next: Arc<AtomicU64>,
}

async fn hello() -> &'static str {
    "hello"
}

async fn read(State(app): State<App>, Path(id): Path<String>) -> Result<String, StatusCode> {
    let row = sqlx::query(
        "SELECT id, register_id, amount, status, created_at FROM payments WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&app.reads)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
    .ok_or(StatusCode::NOT_FOUND)?;
    let text = |name: &str| row.try_get::<String, _>(name).unwrap_or_default();
    let number = |name: &str| row.try_get::<i64, _>(name).unwrap_or_default();
    Ok(serde_json::json!({
        "id": text("id"),
        "register_id": text("register_id"),
        "amount": number("amount"),
        "status": text("status"),
        "created_at": number("created_at"),
    })
    .to_string())
}

async fn insert(State(app): State<App>) -> Result<(StatusCode, String), StatusCode> {
    let n = app.next.fetch_add(1, Ordering::Relaxed);
    let id = format!("new_{n:032x}");
    sqlx::query("INSERT INTO payments (id, register_id, amount, status, created_at) VALUES (?, 'pos-1', 100, 'pending', ?)")
        .bind(&id)
        .bind(i64::try_from(n).unwrap_or_default())
        .execute(&app.writer)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((
        StatusCode::CREATED,
        serde_json::json!({ "id": id }).to_string(),
    ))
}

async fn wait() -> &'static str {
    std::future::pending::<()>().await;
    "never"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .context("usage: bench-baseline <listen> <sqlite file>")?;
    let file = args
        .next()
        .context("usage: bench-baseline <listen> <sqlite file>")?;
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{file}?mode=rwc"))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(10));
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, register_id TEXT NOT NULL, \
         amount BIGINT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL); \
         INSERT OR IGNORE INTO payments VALUES ('pay_1', 'pos-1', 12345, 'pending', 0);",
    )
    .execute(&writer)
    .await?;
    let reads = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    let app = App {
        reads,
        writer,
        next: Arc::new(AtomicU64::new(1)),
    };
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/read/{id}", get(read))
        .route("/insert", post(insert))
        .route("/wait", get(wait))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("ready");
    axum::serve(listener, router).await?;
    Ok(())
}
