//! `quickstart_plain`: the compile-time twin of the `quickstart` binary (see the crate docs).
//! It builds the app and stops before serving it: the twin enforces no authentication.

use secure_api_bench_twin::quickstart::{self, Config, LogFormat};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let loaded = match Config::from_lookup(|name| std::env::var(name).ok()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("quickstart: configuration error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    init_logging(loaded.config.log_format);
    println!("quickstart configuration:");
    for line in &loaded.report {
        println!("  {line}");
    }
    let app = match quickstart::app(&loaded.config) {
        Ok(app) => app,
        Err(error) => {
            eprintln!("quickstart: configuration error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(loaded.config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("quickstart: cannot listen on {}: {error}", loaded.config.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    // The twin exists to be compiled; serving an app without guards would be serving it open.
    drop((listener, app));
    eprintln!("quickstart_plain: compile-time twin, not serving");
    std::process::ExitCode::SUCCESS
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(std::io::stdout);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
