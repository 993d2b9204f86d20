//! The one accept loop and connection driver behind every listener (plain, TLS, redirect).
//!
//! Per connection: admission against the caps, the TLS handshake within its timeout (TLS
//! listeners), then hyper-util's automatic HTTP/1.1 / HTTP/2 server with hyper's own timers
//! (header read, HTTP/2 keep-alive pings), the request body deadline, and two timers that
//! hyper does not have: a connection with no request in flight is closed (idle), and so is one
//! whose writes make no progress while a response is in flight (the client stopped reading).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use http::Request;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
#[cfg(feature = "tls")]
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

use super::body::{TimedBody, TrackedBody};
use super::limits::{Admission, Admitted, LOG_INTERVAL, Throttle};
use super::options::ServeOptions;
use super::write_watch::WriteWatched;
use crate::auth::ClientCertificate;
use crate::layer::TlsConnection;

/// After the idle timer has asked a connection to close, how long it may take to do so (HTTP/2
/// sends GOAWAY and waits for nothing in flight) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A failing `accept` (out of descriptors, ...) is retried after this pause, so a persistent
/// error does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What the accept loop serves: plain connections, or TLS ones through `acceptor`.
pub(crate) enum Transport {
    Plain,
    #[cfg(feature = "tls")]
    Tls(TlsAcceptor),
}

/// Accepts connections on `listener` and serves each with `app` until `signal` resolves, then
/// lets the open connections finish for at most the shutdown grace.
pub(crate) async fn run<S, F>(
    listener: TcpListener,
    app: S,
    options: ServeOptions,
    transport: Transport,
    signal: F,
) -> std::io::Result<()>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    let name = match transport {
        Transport::Plain => "HTTP",
        #[cfg(feature = "tls")]
        Transport::Tls(_) => "HTTPS",
    };
    let connection = Arc::new(ConnectionConfig::new(options, transport));
    let admission = Admission::new(*connection.options.limits());
    let accept_errors = Throttle::new(LOG_INTERVAL);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (reset before accept, out of descriptors) must not
                    // stop the server, nor write a line per failure.
                    if accept_errors.ready() {
                        tracing::warn!(target: "secure_api::serve", %error, "accept failed (logged at most every 10 s)");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            // Reap finished connection tasks so the set does not grow with the server's age.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut signal => break,
        };
        let Ok(permit) = admission.admit(peer.ip()) else {
            // Over a cap: closed now, before any byte is read (the refusal is counted and
            // logged by the admission, once per interval).
            drop(stream);
            continue;
        };
        let connection = Arc::clone(&connection);
        let app = app.clone();
        let stopping = stopping.clone();
        // The place goes with the socket, not the task: see `Admitted`.
        let stream = Admitted::new(stream, permit);
        connections.spawn(async move {
            connection.serve(stream, peer, app, stopping).await;
        });
    }
    drop(listener);
    tracing::info!(target: "secure_api::serve", open = admission.open(), "{name} listener closed; closing connections gracefully");
    let _ = stop.send(true);
    let drained = tokio::time::timeout(connection.options.shutdown_grace_value(), async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!(target: "secure_api::serve", "connections still open after the grace period; closing them");
        connections.shutdown().await;
    }
    Ok(())
}

/// Everything a connection task needs, built once per listener.
struct ConnectionConfig {
    options: ServeOptions,
    transport: Transport,
    http: auto::Builder<TokioExecutor>,
}

/// The most header fields hyper parses on HTTP/1.1: above the framework's default limit, so a
/// request a few fields over it gets the framework's 431, but not far above: hyper fills an
/// array of this many slots twice per request head (`SmallVec::from_elem`, on the heap past its
/// inline 100), which at 200 slots cost 2.6k instructions per request, more than the whole
/// audit line (BENCHMARKS.md).
const PARSER_MAX_HEADERS: usize = crate::request_limits::DEFAULT_MAX_HEADERS + 28;
/// The largest HTTP/2 header list hyper accepts: twice the framework's default header section.
const PARSER_MAX_HEADER_LIST_BYTES: u32 = 2 * crate::request_limits::DEFAULT_MAX_HEADER_BYTES as u32;

impl ConnectionConfig {
    fn new(options: ServeOptions, transport: Transport) -> Self {
        let mut http = auto::Builder::new(TokioExecutor::new());
        // hyper's own head limits sit above the framework's `RequestLimits` defaults (100 fields,
        // 32 KiB), so a request just over those gets the framework's 431 problem+json with the
        // security headers and an audit line; only far larger heads get hyper's bare answer.
        http.http1()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(options.header_read_timeout_value())
            .max_headers(PARSER_MAX_HEADERS);
        let (ping_interval, ping_timeout) = options.http2_keep_alive_value();
        http.http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(ping_interval)
            .keep_alive_timeout(ping_timeout)
            .max_concurrent_streams(options.http2_max_concurrent_streams_value())
            .max_header_list_size(PARSER_MAX_HEADER_LIST_BYTES);
        Self { options, transport, http }
    }

    /// Completes the TLS handshake (TLS listeners), then serves HTTP on the connection.
    async fn serve<S>(&self, stream: Admitted<TcpStream>, peer: SocketAddr, app: S, stopping: watch::Receiver<bool>)
    where
        S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Future: Send,
    {
        match &self.transport {
            Transport::Plain => self.serve_http(stream, peer, false, None, app, stopping).await,
            #[cfg(feature = "tls")]
            Transport::Tls(acceptor) => {
                let timeout = self.options.tls_handshake_timeout_value();
                match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        // The end-entity certificate the verifier accepted (only with a client
                        // CA configured); only its thumbprint is kept.
                        let certificate = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .map(|leaf| ClientCertificate::from_der(leaf));
                        self.serve_http(stream, peer, true, certificate, app, stopping).await
                    }
                    // Scanners and plain-HTTP clients on the HTTPS port end here; not worth a warning.
                    Ok(Err(error)) => {
                        tracing::debug!(target: "secure_api::serve", %peer, %error, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(target: "secure_api::serve", %peer, "TLS handshake timed out"),
                }
            }
        }
    }

    /// Serves HTTP/1.1 or HTTP/2 on one connection until it ends, it idles too long, or the
    /// server shuts down.
    async fn serve_http<I, S>(
        &self,
        io: I,
        peer: SocketAddr,
        tls: bool,
        certificate: Option<ClientCertificate>,
        app: S,
        mut stopping: watch::Receiver<bool>,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Future: Send,
    {
        let activity = Activity::new();
        let body_timeout = self.options.body_read_timeout_value();
        let service = {
            let activity = Arc::clone(&activity);
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let in_flight = activity.begin();
                // A request with no body (most GETs) gets the empty body, which needs no
                // allocation and no deadline: nothing is left to read.
                let mut request = request.map(|body| {
                    if body.is_end_stream() {
                        Body::empty()
                    } else {
                        Body::new(TimedBody::new(body, Instant::now() + body_timeout))
                    }
                });
                request.extensions_mut().insert(ConnectInfo(peer));
                if tls {
                    request.extensions_mut().insert(TlsConnection);
                }
                if let Some(certificate) = &certificate {
                    request.extensions_mut().insert(certificate.clone());
                }
                let response = app.clone().oneshot(request);
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(response.map(|inner| TrackedBody::new(inner, in_flight)))
                }
            })
        };
        let io = WriteWatched::new(io, Arc::clone(&activity));
        let connection = self.http.serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut connection = std::pin::pin!(connection);
        let idle = activity.expired(
            self.options.header_read_timeout_value(),
            self.options.idle_timeout_value(),
            self.options.response_write_timeout_value(),
        );
        let mut idle = std::pin::pin!(idle);
        let mut close_by: Option<Instant> = None;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(target: "secure_api::serve", %peer, %error, "connection ended with an error");
                    }
                    return;
                }
                expiry = &mut idle, if close_by.is_none() => match expiry {
                    Expiry::Idle => {
                        tracing::debug!(target: "secure_api::serve", %peer, "closing an idle connection");
                        connection.as_mut().graceful_shutdown();
                        close_by = Some(Instant::now() + CLOSE_GRACE);
                    }
                    // A graceful close would wait for the response the client does not take.
                    Expiry::WriteStalled => {
                        tracing::debug!(target: "secure_api::serve", %peer, "closing a connection whose client stopped reading");
                        return;
                    }
                },
                // The server is shutting down: finish what is in flight (the listener bounds
                // the wait with its grace period), accept nothing new.
                Ok(_) = stopping.wait_for(|stop| *stop), if close_by.is_none() => {
                    connection.as_mut().graceful_shutdown();
                    close_by = Some(Instant::now() + self.options.shutdown_grace_value());
                }
                () = sleep_until_some(close_by) => return,
            }
        }
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The requests in flight on one connection and when that last changed: what the idle timer
/// reads. Two atomic updates per request, no wake-up of the connection task.
pub(crate) struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Requests seen so far (only whether it is zero matters).
    requests: AtomicUsize,
    /// Milliseconds from `start` to the last request start or end.
    last_change_ms: AtomicU64,
    /// 1 + milliseconds from `start` to when a write first could not proceed, since the last
    /// one that did; 0 while writes proceed.
    write_blocked_since_ms: AtomicU64,
    /// Response bodies that have data to give (or were never asked): hyper not asking one of
    /// them for a whole write timeout means it cannot send (HTTP/2 flow control, a full socket).
    bodies_ready: AtomicUsize,
    /// Polls of any response body so far: what the timer compares between two checks.
    body_polls: AtomicU64,
}

/// Why a connection's timer ran out.
#[derive(Debug, PartialEq, Eq)]
enum Expiry {
    /// No request in flight for the idle timeout (or none yet within the header timeout).
    Idle,
    /// A request in flight, and no write progress for the response-write timeout.
    WriteStalled,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            last_change_ms: AtomicU64::new(0),
            write_blocked_since_ms: AtomicU64::new(0),
            bodies_ready: AtomicUsize::new(0),
            body_polls: AtomicU64::new(0),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A write could not proceed (the client's window and the socket buffer are full).
    pub(crate) fn write_blocked(&self) {
        if self.write_blocked_since_ms.load(Ordering::Relaxed) == 0 {
            self.write_blocked_since_ms.store(self.elapsed_ms().saturating_add(1), Ordering::Relaxed);
        }
    }

    /// A write made progress.
    pub(crate) fn write_progressed(&self) {
        if self.write_blocked_since_ms.load(Ordering::Relaxed) != 0 {
            self.write_blocked_since_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Since when writes have made no progress, if they are stuck.
    fn write_blocked_since(&self) -> Option<Instant> {
        match self.write_blocked_since_ms.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.start + Duration::from_millis(since - 1)),
        }
    }

    fn touch(&self) {
        self.last_change_ms.fetch_max(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight(Arc::clone(self))
    }

    /// Resolves once the connection has had no request in flight for `idle` (or, before its
    /// first request, for `first`: the header-read timeout, which covers an HTTP/2 connection
    /// or one whose protocol is not yet known, where hyper's HTTP/1.1 timer does not run), or
    /// once its writes have made no progress for `write` (found between `write` and twice
    /// `write` after they stopped).
    async fn expired(&self, first: Duration, idle: Duration, write: Duration) -> Expiry {
        // The timer is only ever checked, never reset by a request or a write (no wake-up per
        // request): a check at least every `idle` finds a request that came and went in
        // between, and its end, so the close is never later than the idle timeout after it; a
        // check at least every `write` finds writes that got stuck since the last one.
        let mut deadline = self.start + first.min(idle).min(write);
        // Body polls seen at a check where a body was ready, and since when unchanged.
        let mut unasked: Option<(u64, Instant)> = None;
        loop {
            tokio::time::sleep_until(deadline).await;
            let now = Instant::now();
            // Stuck writes count whether or not a request is in flight: hyper may have the
            // last response in its buffer, its body done, and no socket to flush it to.
            let stalled_until = self.write_blocked_since().map(|since| since + write);
            if stalled_until.is_some_and(|until| until <= now) {
                return Expiry::WriteStalled;
            }
            // A body with data to give that hyper has not asked for since the last check, a
            // write timeout ago: it cannot send (an HTTP/2 client granting no window).
            if self.bodies_ready.load(Ordering::Relaxed) > 0 {
                let polls = self.body_polls.load(Ordering::Relaxed);
                match unasked {
                    Some((seen, since)) if seen == polls => {
                        if since + write <= now {
                            return Expiry::WriteStalled;
                        }
                    }
                    _ => unasked = Some((polls, now)),
                }
            } else {
                unasked = None;
            }
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                deadline = stalled_until.unwrap_or(now + write).min(now + idle);
                continue;
            }
            let expiry = if self.requests.load(Ordering::Relaxed) == 0 {
                self.start + first
            } else {
                self.start + Duration::from_millis(self.last_change_ms.load(Ordering::Relaxed)) + idle
            };
            if expiry <= now {
                return Expiry::Idle;
            }
            deadline = expiry.min(now + idle).min(stalled_until.unwrap_or(now + write));
        }
    }
}

/// One request in flight; dropped when its response has been sent (or abandoned).
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    /// The response body has data to give (or was never asked).
    pub(crate) fn body_ready(&self) {
        self.0.bodies_ready.fetch_add(1, Ordering::Relaxed);
    }

    /// The response body waits for its own data, or is gone.
    pub(crate) fn body_not_ready(&self) {
        self.0.bodies_ready.fetch_sub(1, Ordering::Relaxed);
    }

    /// hyper asked the response body for data.
    pub(crate) fn body_polled(&self) {
        self.0.body_polls.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}
