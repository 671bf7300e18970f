//! qrpayd's service layer: everything between the bank adapters and the binary.
//!
//! * [`config`] — the TOML file, environment overrides and startup validation;
//! * [`payments`] — the orchestration of create / wait / cancel / notifications / jobs;
//! * [`links`] — registering and binding registers' printed cash-register links;
//! * [`worker`] — the loop that runs due jobs (polling, expiry, recovery);
//! * [`reconcile`] and [`export`] — the bank's registry against the journal; the journal as CSV;
//! * [`journal`] — the journal as the store admin reads it (the `/admin` page, `qrpayd payments`);
//! * [`api`] — the POS API v1 over HTTP, the customer display and the demo page;
//! * [`media`] — QR pictures (SVG, PNG, text) and receipt slips (ESC/POS, text);
//! * [`display`] — what a customer display shows, and the pages' embedded HTML/CSS/JS;
//! * [`startup`] — wiring it together; `main` and the tests start qrpayd through it;
//! * [`events`] and [`outbox`] — the event feed for registers, and publishing events to RabbitMQ;
//! * [`clock`] and [`hub`] — business time and in-process change notifications;
//! * [`health`] — the providers' health (circuit breakers) that fallback, `/readyz` and metrics use;
//! * [`metrics`] — Prometheus metrics;
//! * [`serve`] — the HTTP server loop (header-read and idle timeouts, the connection cap);
//! * [`limits`] — rate limits, per-register caps on long-polls and displays, the render pool;
//! * [`screens`] — one shared display screen per register, fanned out to its streams.

pub mod api;
pub mod clock;
pub mod config;
pub mod display;
pub mod events;
pub mod export;
pub mod health;
pub mod hub;
pub mod journal;
pub mod limits;
pub mod links;
pub mod media;
pub mod metrics;
pub mod outbox;
pub mod payments;
pub mod reconcile;
pub mod screens;
pub mod serve;
pub mod startup;
pub mod worker;
