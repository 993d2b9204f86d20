//! `GET /floor`: the bare handler behind the smallest hand-written layer that does the work
//! issue 18 counts as "the layer" — a random request id, the five security headers and the id
//! on the response, and a JSON audit line queued for a writer thread — and nothing else (no
//! trusted proxies, no limits, no problem bodies, no redaction, no escaping: the path is
//! written as it came). Not a design to use: a measuring stick for how little that work can
//! cost, so the framework's layer is judged against it (`bash bench/run-callgrind.sh floor`).

use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderName, HeaderValue, header};
use tower::{Layer, Service};

/// `GET /floor` answering as [`crate::bare::get_item`], with [`FloorLayer`] around it; the
/// audit lines go to `audit_file`.
///
/// # Errors
/// When `audit_file` cannot be created.
///
/// # Examples
/// ```no_run
/// let router: axum::Router = secure_api_bench::floor::router(std::path::Path::new("/tmp/floor.log")).unwrap();
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(audit_file: &Path) -> std::io::Result<Router<S>> {
    let file = File::create(audit_file)?;
    let queue = Arc::new(Mutex::new(Vec::<u8>::with_capacity(64 * 1024)));
    let writer_queue = Arc::clone(&queue);
    // The writer takes the queued lines every 20 ms, as a non-blocking log writer does, until
    // the router is dropped.
    std::thread::spawn(move || {
        let mut file = file;
        let mut batch = Vec::with_capacity(64 * 1024);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            if let Ok(mut queued) = writer_queue.lock() {
                std::mem::swap(&mut *queued, &mut batch);
            }
            if file.write_all(&batch).is_err() {
                return;
            }
            batch.clear();
            // The router is gone and its last lines are written.
            if Arc::strong_count(&writer_queue) == 1 {
                return;
            }
        }
    });
    Ok(Router::new().route("/floor", get(crate::bare::get_item)).layer(FloorLayer { queue }))
}

/// The floor's layer (see the module).
#[derive(Clone, Debug)]
pub struct FloorLayer {
    queue: Arc<Mutex<Vec<u8>>>,
}

impl<S> Layer<S> for FloorLayer {
    type Service = FloorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FloorService { inner, queue: Arc::clone(&self.queue) }
    }
}

/// The service made by [`FloorLayer`].
#[derive(Clone, Debug)]
pub struct FloorService<S> {
    inner: S,
    queue: Arc<Mutex<Vec<u8>>>,
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl<S> Service<Request> for FloorService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let time = SystemTime::now();
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let uuid = uuid::Builder::from_random_bytes(rand::random::<u128>().to_ne_bytes()).into_uuid();
        let mut id = uuid::Uuid::encode_buffer();
        let id =
            HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut id)).unwrap_or(HeaderValue::from_static("-"));
        let method = request.method().clone();
        let uri = request.uri().clone();
        let queue = Arc::clone(&self.queue);
        let future = self.inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = future.await;
            let headers = response.headers_mut();
            headers.reserve(6);
            for (name, value) in [
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
            ] {
                headers.entry(name).or_insert(HeaderValue::from_static(value));
            }
            headers.insert(X_REQUEST_ID, id.clone());
            let since_epoch = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            thread_local! {
                static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            LINE.with_borrow_mut(|line| {
                line.clear();
                let _ = writeln!(
                    line,
                    r#"{{"time_ms":{},"request_id":"{}","method":"{}","path":"{}","status":{},"latency_us":{},"client_ip":"{}"}}"#,
                    since_epoch.as_millis(),
                    id.to_str().unwrap_or("-"),
                    method,
                    uri.path(),
                    response.status().as_u16(),
                    started.elapsed().as_micros(),
                    peer.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                );
                if let Ok(mut queued) = queue.lock() {
                    queued.extend_from_slice(line);
                }
            });
            Ok(response)
        })
    }
}
