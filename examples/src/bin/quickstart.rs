//! `quickstart`: the seed's example API, secured end to end. Configuration comes from the
//! environment (see the README); every setting is printed at start-up.

use secure_api_examples::quickstart::{self, Config, LogFormat, Transport};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `--routes`: the security inventory of every route, then exit.
    if std::env::args().any(|arg| arg == "--routes") {
        print!("{}", secure_api::report::inventory(quickstart::routes().routes()));
        return std::process::ExitCode::SUCCESS;
    }
    // `--openapi`: the OpenAPI 3.1 document, then exit.
    if std::env::args().any(|arg| arg == "--openapi") {
        match serde_json::to_string_pretty(&quickstart::openapi()) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("quickstart: cannot render the OpenAPI document: {error}");
                return std::process::ExitCode::FAILURE;
            }
        }
        return std::process::ExitCode::SUCCESS;
    }
    let loaded = match Config::from_lookup(|name| std::env::var(name).ok()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("quickstart: configuration error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Flushes the buffered log lines when `main` returns.
    let _log_guard = init_logging(loaded.config.log_format);
    println!("quickstart configuration:");
    for line in &loaded.report {
        println!("  {line}");
    }
    let config = &loaded.config;
    let built = match quickstart::load(config).await {
        Ok(app) => Transport::from_config(config).map(|transport| (app, transport)),
        Err(error) => Err(error),
    };
    let (app, transport) = match built {
        Ok(built) => built,
        Err(error) => {
            eprintln!("quickstart: configuration error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("quickstart: cannot listen on {}: {error}", config.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    let redirect = match config.http_redirect_addr {
        None => None,
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                println!("quickstart redirecting http://{addr} to HTTPS");
                Some(listener)
            }
            Err(error) => {
                eprintln!("quickstart: cannot listen on {addr}: {error}");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    match listener.local_addr() {
        Ok(addr) => println!("quickstart listening on {}://{addr}", transport.scheme()),
        Err(_) => println!("quickstart listening"),
    }
    // Every connection is a file descriptor: raise the soft limit to the hard one, and say so.
    match secure_api::serve::raise_open_file_limit() {
        Ok(Some(limit)) => {
            println!("quickstart open-file limit: {limit}");
            let cap = config.serve_options.limits().total() as u64;
            if cap.saturating_add(64) > limit {
                eprintln!(
                    "quickstart: warning: SECURE_API_MAX_CONNECTIONS={cap} is not below the open-file limit {limit}; \
                     the kernel, not the cap, will refuse connections first"
                );
            }
        }
        Ok(None) => {}
        Err(error) => eprintln!("quickstart: cannot raise the open-file limit: {error}"),
    }
    let serving =
        quickstart::serve_with(config, transport, app, listener, redirect, secure_api::serve::shutdown_signal());
    if let Err(error) = serving.await {
        eprintln!("quickstart: server error: {error}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

/// Audit lines are formatted once by the subscriber and handed to a background writer thread
/// (`tracing-appender`), so a slow stdout never holds up a request.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(writer);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}
