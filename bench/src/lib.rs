//! The load benchmark's servers, as libraries so their behaviour is tested with real requests
//! before anyone trusts a figure measured on them.
//!
//! - [`secure_app`]: the `bench_server` routes written with secure-api (`#[public]`, `#[secure]`).
//! - [`baseline_app`]: the same routes written the way a user assembles them by hand today:
//!   an axum `from_fn` middleware calling `jsonwebtoken`, `tower_governor`, `validator`.
//! - [`bare`]: a plain axum handler with no security layer at all, the ratio's denominator.
//! - [`settings`], [`logging`]: environment configuration and the audit log file both servers
//!   write through a non-blocking writer.
//!
//! `bench/run-load.sh` builds the binaries, starts them on loopback and drives them with wrk.

pub mod bare;
pub mod baseline_app;
pub mod logging;
pub mod secure_app;
pub mod settings;

use serde::{Deserialize, Serialize};

/// The small JSON every route answers with: `{"id":1,"name":"widget","price":9.5}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Always 1 for `GET`; the created item's id for `POST`.
    pub id: u64,
    /// The item's name.
    pub name: String,
    /// The item's price.
    pub price: f64,
}

impl Item {
    /// The fixed item of the `GET` routes.
    pub fn sample() -> Self {
        Self { id: 1, name: "widget".to_owned(), price: 9.5 }
    }
}

/// The body of the `POST` routes, the quickstart's new item: unknown fields refused, and the
/// rules checked where `validate` is declared (bare axum only deserializes it).
#[secure_api::request]
#[derive(Clone, Debug)]
pub struct NewItem {
    /// 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Greater than 0, at most 1 000 000.
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    pub price: f64,
}

/// A tokio runtime with exactly one thread that runs every task: the benchmark's "one worker
/// thread" condition. The audit log's writer thread is the only other thread of the process.
pub fn single_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

#[cfg(test)]
mod tests;
