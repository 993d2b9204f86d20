//! `baseline_server`: the same routes as `bench_server`, assembled by hand from axum middleware,
//! `jsonwebtoken`, `tower_governor` and `validator` (see `secure_api_bench::baseline_app`), on ONE
//! tokio worker thread, with its access log written through the same non-blocking file writer.
//!
//! Prints `baseline_server listening on http://ADDR`; stops on Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use secure_api_bench::settings::Settings;
use secure_api_bench::{baseline_app, exit_code, logging, serve_on_one_thread};

fn main() -> ExitCode {
    exit_code("baseline_server", run())
}

fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let _flush_on_exit = logging::audit_log_to_file(&settings.audit_log)
        .map_err(|error| format!("cannot open the access log {}: {error}", settings.audit_log.display()))?;
    let app = baseline_app::app(&settings)?;
    let details = format!("access log {}", settings.audit_log.display());
    serve_on_one_thread("baseline_server", settings.addr, &details, |listener| async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(secure_api::serve::shutdown_signal())
            .await
    })
}
