//! Caps on concurrent connections, in total and per client address: [`ConnectionLimits`], and
//! the admission bookkeeping the accept loop does with them.
//!
//! A connection over a cap is closed the moment it is accepted, before a byte is read or a TLS
//! handshake started: it costs the server one `accept` and one `close`. Refusals are counted
//! and logged at most once per [`LOG_INTERVAL`], so a flood cannot flood the log too.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Refusals (and accept errors) are summed up in one log line at most this often.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The caps on concurrent connections a listener accepts.
///
/// A *client* is the peer's IP address; IPv6 peers are grouped by their /64 prefix, since one
/// host usually holds a whole /64 and could otherwise open the per-client cap once per
/// address. Behind a reverse proxy every connection comes from the proxy: raise
/// [`max_per_client`](Self::max_per_client) to at least the proxy's connection pool.
///
/// Defaults: 10 000 connections in total, 100 per client. Keep the total below the process's
/// open-file limit (see [`raise_open_file_limit`](crate::serve::raise_open_file_limit)) so that the
/// cap, not the kernel, refuses the excess.
///
/// # Examples
/// ```
/// use secure_api::serve::ConnectionLimits;
///
/// let limits = ConnectionLimits::default().max_connections(500).max_per_client(10);
/// assert_eq!((limits.total(), limits.per_client()), (500, 10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    total: usize,
    per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { total: 10_000, per_client: 100 }
    }
}

impl ConnectionLimits {
    /// The most connections open at once (at least 1).
    pub fn max_connections(mut self, total: usize) -> Self {
        self.total = total.max(1);
        self
    }

    /// The most connections open at once from one client address (at least 1).
    pub fn max_per_client(mut self, per_client: usize) -> Self {
        self.per_client = per_client.max(1);
        self
    }

    /// The total cap.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The per-client cap.
    pub fn per_client(&self) -> usize {
        self.per_client
    }
}

/// The key a connection counts under: the IPv4 address, or the IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            for segment in segments.iter_mut().skip(4) {
                *segment = 0;
            }
            IpAddr::V6(Ipv6Addr::from(segments))
        }
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Total,
    PerClient,
}

/// The open connections of one listener, counted against its [`ConnectionLimits`].
#[derive(Debug)]
pub(crate) struct Admission {
    limits: ConnectionLimits,
    total: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    refused_total: AtomicU64,
    refused_per_client: AtomicU64,
    log: Throttle,
}

impl Admission {
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            total: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            refused_total: AtomicU64::new(0),
            refused_per_client: AtomicU64::new(0),
            log: Throttle::new(LOG_INTERVAL),
        })
    }

    /// Admits a connection from `ip`, or says which cap refuses it. The permit gives the place
    /// back when dropped (when the connection's task ends, however it ends).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let key = client_key(ip);
        // One lock covers both counts, so two racing accepts cannot both take the last place.
        let mut per_client = self.per_client.lock().unwrap_or_else(PoisonError::into_inner);
        if self.total.load(Ordering::Relaxed) >= self.limits.total {
            drop(per_client);
            self.refused(Refusal::Total);
            return Err(Refusal::Total);
        }
        let count = per_client.entry(key).or_insert(0);
        if *count >= self.limits.per_client {
            drop(per_client);
            self.refused(Refusal::PerClient);
            return Err(Refusal::PerClient);
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(Permit { admission: Arc::clone(self), key })
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    fn release(&self, key: IpAddr) {
        let mut per_client = self.per_client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = per_client.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // No entry outlives its connections: the map holds only clients connected now.
                per_client.remove(&key);
            }
        }
        self.total.fetch_sub(1, Ordering::Relaxed);
    }

    fn refused(&self, why: Refusal) {
        match why {
            Refusal::Total => self.refused_total.fetch_add(1, Ordering::Relaxed),
            Refusal::PerClient => self.refused_per_client.fetch_add(1, Ordering::Relaxed),
        };
        if self.log.ready() {
            let total = self.refused_total.swap(0, Ordering::Relaxed);
            let per_client = self.refused_per_client.swap(0, Ordering::Relaxed);
            tracing::warn!(
                target: "secure_api::serve",
                refused_over_total_cap = total,
                refused_over_per_client_cap = per_client,
                max_connections = self.limits.total,
                max_per_client = self.limits.per_client,
                open = self.open(),
                "connections refused (connection caps); counts since the last such line"
            );
        }
    }
}

/// A place taken by one open connection.
#[derive(Debug)]
pub(crate) struct Permit {
    admission: Arc<Admission>,
    key: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(self.key);
    }
}

/// An accepted socket with the place it took under the caps: the place is given back when the
/// socket is closed, wherever the socket went. A connection the application took over (an
/// HTTP/1.1 upgrade: WebSockets) outlives the connection task in the application's own task;
/// it is still an open socket from its client, and a permit dropped with the task would let a
/// client hold any number of them.
#[derive(Debug)]
pub(crate) struct Admitted<I> {
    io: I,
    _place: Permit,
}

impl<I> Admitted<I> {
    pub(crate) fn new(io: I, place: Permit) -> Self {
        Self { io, _place: place }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Admitted<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Admitted<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Says yes at most once per interval: for log lines that would otherwise be written once per
/// connection of a flood.
#[derive(Debug)]
pub(crate) struct Throttle {
    start: Instant,
    interval_ms: u64,
    /// Milliseconds since `start` when the next line may be written.
    next_ms: AtomicU64,
}

impl Throttle {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            start: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            next_ms: AtomicU64::new(0),
        }
    }

    /// `true` when a line may be written now (and then not again for one interval).
    pub(crate) fn ready(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ms
                .compare_exchange(next, now.saturating_add(self.interval_ms), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_per_client_and_in_total_and_gives_places_back() {
        let admission = Admission::new(ConnectionLimits::default().max_connections(3).max_per_client(2));
        let a1 = admission.admit(ip("10.0.0.1")).unwrap();
        let _a2 = admission.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(admission.admit(ip("10.0.0.1")).unwrap_err(), Refusal::PerClient);
        let _b1 = admission.admit(ip("10.0.0.2")).unwrap();
        assert_eq!(admission.admit(ip("10.0.0.3")).unwrap_err(), Refusal::Total);
        drop(a1);
        assert_eq!(admission.open(), 2);
        let _c1 = admission.admit(ip("10.0.0.3")).unwrap();
    }

    #[test]
    fn an_ipv6_64_is_one_client_and_mapped_ipv4_is_its_ipv4() {
        let admission = Admission::new(ConnectionLimits::default().max_per_client(1));
        let _first = admission.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(admission.admit(ip("2001:db8:1:2:ffff::9")).is_err(), "same /64");
        let _other = admission.admit(ip("2001:db8:1:3::1")).unwrap();
        let _v4 = admission.admit(ip("192.0.2.1")).unwrap();
        assert!(admission.admit(ip("::ffff:192.0.2.1")).is_err(), "IPv4-mapped counts as the IPv4 address");
    }

    #[test]
    fn the_map_holds_only_connected_clients() {
        let admission = Admission::new(ConnectionLimits::default());
        let permits: Vec<_> = (0..50).map(|i| admission.admit(ip(&format!("10.0.1.{i}"))).unwrap()).collect();
        drop(permits);
        assert_eq!(admission.open(), 0);
        assert!(admission.per_client.lock().unwrap().is_empty());
    }

    #[test]
    fn throttle_says_yes_once_per_interval() {
        let throttle = Throttle::new(Duration::from_secs(3600));
        assert!(throttle.ready());
        assert!(!(0..1000).any(|_| throttle.ready()));
    }
}
