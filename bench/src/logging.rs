//! The audit log of both benchmark servers: one line per request, formatted on the request's
//! thread and handed to `tracing-appender`'s non-blocking writer, whose own thread writes the
//! file (the cheap way to log, measured in the design notes).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Installs a `fmt` subscriber (level `info`, or `RUST_LOG`) writing to `path` (truncated)
/// through a non-blocking writer, buffered and flushed whenever the queue runs empty. Keep the
/// guard alive until the end of `main`: dropping it
/// flushes the lines still queued.
///
/// The writer is not lossy: an audit log must not drop lines, so when the file cannot keep up
/// the request threads wait instead.
pub fn audit_log_to_file(path: &Path) -> std::io::Result<WorkerGuard> {
    // Buffered: the writer thread drains every queued line, then flushes, so a busy server
    // writes the file in large chunks instead of one system call per line.
    let file = BufWriter::with_capacity(64 * 1024, File::create(path)?);
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).thread_name("audit-log").finish(file);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(writer).init();
    Ok(guard)
}

/// Installs a `fmt` subscriber for diagnostics only (level `warn`, or `RUST_LOG`) on standard
/// error: for `bench_server` when its audit lines go to secure-api's own audit file, or nowhere.
pub fn diagnostics_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
