//! Fuzz targets for everything qrpayd reads from outside, and the stable-Rust driver that runs
//! them (`cargo run -p qrpayd-fuzz -- run all`, see README "Fuzzing").
//!
//! Each target takes arbitrary bytes and checks, besides "no panic, no hang, no unbounded
//! allocation" (the driver's watchdog and [`alloc`]), what must hold for every input: a
//! notification without the bank's signature is never accepted and one with it is never
//! refused as unsigned; a link that reads back rebuilds to the same link; a registry that reads
//! writes back to the same registry; the POS API never answers 5xx and answers every 4xx with
//! its JSON error envelope. Targets reach the code through its public interface only (the POS
//! API through the real router on a socket), so refactors behind it do not break them.

pub mod alloc;
pub mod engine;
pub mod targets;

pub use engine::Target;
