//! The load benchmark's servers, as libraries so their behaviour is tested with real requests
//! before anyone trusts a figure measured on them.
//!
//! - [`secure_app`]: the `bench_server` routes written with secure-api (`#[public]`, `#[secure]`).
//! - [`baseline_app`]: the same routes written the way a user assembles them by hand today:
//!   an axum `from_fn` middleware calling `jsonwebtoken`, `tower_governor`, `validator`.
//! - [`bare`]: a plain axum handler with no security layer at all, the ratio's denominator.
//! - [`floor`]: the bare handler behind the smallest hand-written layer doing the audit line,
//!   the security headers and the request id: what that work costs at least.
//! - [`settings`], [`logging`]: environment configuration and the audit log file both servers
//!   write through a non-blocking writer.
//!
//! `bench/run-load.sh` builds the binaries, starts them on loopback and drives them with wrk.

pub mod bare;
pub mod baseline_app;
pub mod floor;
pub mod logging;
pub mod secure_app;
pub mod settings;

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

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

/// Serves a benchmark server under the benchmark's conditions: a tokio runtime with exactly
/// one thread that runs every task (the audit log's writer thread is the only other thread of
/// the process), a listener on `addr`, and the line `NAME listening on http://ADDR (DETAILS)`
/// on standard output once it accepts connections, which the scripts wait for. `serve` runs
/// the app on the listener until it stops.
pub fn serve_on_one_thread<F, Fut>(name: &str, addr: SocketAddr, details: &str, serve: F) -> Result<(), String>
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await.map_err(|error| format!("cannot listen on {addr}: {error}"))?;
        let bound = listener.local_addr().map_err(|error| error.to_string())?;
        println!("{name} listening on http://{bound} ({details})");
        serve(listener).await.map_err(|error| format!("server error: {error}"))
    })
}

/// A server binary's exit: success, or its error on standard error after its name.
pub fn exit_code(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
