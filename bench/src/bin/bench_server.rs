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
    }
}
