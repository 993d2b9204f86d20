//! `bench_server`: the load benchmark's secure-api server on ONE tokio worker thread, with the
//! audit log written to a file (`BENCH_AUDIT`: secure-api's `AuditLog` by default, or `tracing`). See `secure_api_bench::secure_app`
//! for the routes and `secure_api_bench::settings` for the environment variables.
//!
//! Prints `bench_server listening on http://ADDR` once it accepts connections (use
//! `SECURE_API_ADDR=127.0.0.1:0` for a free port); stops on Ctrl-C / SIGTERM.

use std::process::ExitCode;

use secure_api_bench::settings::{AuditSink, ServeShape, Settings};
use secure_api_bench::{exit_code, logging, secure_app, serve_on_one_thread};

fn main() -> ExitCode {
    exit_code("bench_server", run())
}

fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    // With the `file` sink the app writes its own audit file; `tracing` routes audit events
    // through a subscriber into the same file, the way the baseline writes its access log.
    let _flush_on_exit = match settings.audit {
        AuditSink::Tracing => Some(
            logging::audit_log_to_file(&settings.audit_log)
                .map_err(|error| format!("cannot open the audit log {}: {error}", settings.audit_log.display()))?,
        ),
        AuditSink::File | AuditSink::Off => {
            logging::diagnostics_to_stderr();
            None
        }
    };
    let details = format!(
        "token cache {}, audit {:?} {}, metrics {}",
        if settings.token_cache { "on" } else { "off" },
        settings.audit,
        settings.audit_log.display(),
        if settings.metrics { "on" } else { "off" },
    ) + if settings.threat { ", threat detection on" } else { "" }
        + match settings.serve {
            ServeShape::Router => "",
            ServeShape::App => ", serving the SecureApp (no /axum routes)",
            ServeShape::Quickstart => ", serving the quickstart's app (its own settings)",
        };
    match settings.serve {
        ServeShape::Router => {
            let app = secure_app::app(&settings).map_err(|error| error.to_string())?;
            serve_on_one_thread("bench_server", settings.addr, &details, |listener| secure_api::serve(listener, app))
        }
        ServeShape::App => {
            let app = secure_app::secure_app(&settings).map_err(|error| error.to_string())?;
            serve_on_one_thread("bench_server", settings.addr, &details, |listener| secure_api::serve(listener, app))
        }
        ServeShape::Quickstart => {
            let app = quickstart_app(&settings)?;
            serve_on_one_thread("bench_server", settings.addr, &details, |listener| secure_api::serve(listener, app))
        }
    }
}

/// The quickstart's app from the quickstart's variables; its audit lines go to the bench's
/// audit log unless `SECURE_API_AUDIT_FILE` names another file.
fn quickstart_app(settings: &Settings) -> Result<secure_api::SecureApp, String> {
    use secure_api_examples::quickstart::{self, Config};
    let audit_log = settings.audit_log.display().to_string();
    let lookup = |name: &str| match (name, std::env::var(name)) {
        (_, Ok(value)) => Some(value),
        ("SECURE_API_AUDIT_FILE", Err(_)) => Some(audit_log.clone()),
        (_, Err(_)) => None,
    };
    let config = Config::from_lookup(lookup).map_err(|error| error.to_string())?.config;
    quickstart::app(&config).map_err(|error| error.to_string())
}
