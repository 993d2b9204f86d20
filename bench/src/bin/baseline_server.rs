//! `baseline_server`: the same routes as `bench_server`, assembled by hand from axum middleware,
//! `jsonwebtoken`, `tower_governor` and `validator` (see `secure_api_bench::baseline_app`), on ONE
//! tokio worker thread, with its access log written through the same non-blocking file writer.
//!
//! Prints `baseline_server listening on http://ADDR`; stops on Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use secure_api_bench::settings::Settings;
use secure_api_bench::{baseline_app, logging, single_thread_runtime};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("baseline_server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let _flush_on_exit = logging::audit_log_to_file(&settings.audit_log)
        .map_err(|error| format!("cannot open the access log {}: {error}", settings.audit_log.display()))?;
    let app = baseline_app::app(&settings)?;
    let runtime = single_thread_runtime().map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.addr)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", settings.addr))?;
        let addr = listener.local_addr().map_err(|error| error.to_string())?;
        println!("baseline_server listening on http://{addr} (access log {})", settings.audit_log.display());
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(secure_api::shutdown_signal())
            .await
            .map_err(|error| format!("server error: {error}"))
    })
}
