//! The timeouts and limits every listener applies: [`ServeOptions`].

use std::time::Duration;

use super::limits::ConnectionLimits;

/// The shortest timeout accepted: a zero would mean "no time at all" to some timers and "no
/// limit" to others, so it is raised to this instead.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Timeouts and connection caps for [`serve_with`](crate::serve::serve_with),
/// [`serve_tls_with`](crate::tls::serve_tls_with) and
/// [`redirect_http_to_https_with`](crate::serve::redirect_http_to_https_with).
///
/// Every listener applies all of them, to HTTP/1.1 and HTTP/2 alike; none can be switched off
/// (a zero duration is raised to 1 ms). The defaults suit a public API:
///
/// | setting | default | what happens when it runs out |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s | a connection that has not sent a complete request head (a new one, or a keep-alive one waiting for its next request: hyper's HTTP/1.1 timer; the first request on HTTP/2 or before the protocol is known) is closed |
/// | [`idle_timeout`](Self::idle_timeout) | 60 s | a connection with no request in flight is closed (GOAWAY on HTTP/2) |
/// | [`body_read_timeout`](Self::body_read_timeout) | 30 s | a request body not received in full within this time of its head fails to read; the connection is then closed |
/// | [`response_write_timeout`](Self::response_write_timeout) | 60 s | a connection whose writes make no progress while a response is in flight (the client stopped reading) is closed |
/// | [`tls_handshake_timeout`](Self::tls_handshake_timeout) | 10 s | a TLS handshake not finished is dropped |
/// | [`http2_keep_alive`](Self::http2_keep_alive) | ping every 20 s, 10 s to answer | an HTTP/2 peer that does not answer a ping is gone: closed |
/// | [`http2_max_concurrent_streams`](Self::http2_max_concurrent_streams) | 100 | more streams are refused by HTTP/2 itself |
/// | [`shutdown_grace`](Self::shutdown_grace) | 30 s | on shutdown, connections still busy after this are closed |
/// | [`connection_limits`](Self::connection_limits) | 10 000 in total, 100 per client address | a connection over a cap is closed at once, before a byte is read |
///
/// On HTTP/1.1, hyper's header timer also runs while a keep-alive connection waits for its
/// next request, so such a connection idles for at most the shorter of the two timeouts.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use secure_api::{serve::ConnectionLimits, serve::ServeOptions};
///
/// let options = ServeOptions::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .body_read_timeout(Duration::from_secs(15))
///     .connection_limits(ConnectionLimits::default().max_connections(2_000).max_per_client(20));
/// assert_eq!(options.header_read_timeout_value(), Duration::from_secs(5));
/// assert_eq!(options.limits().per_client(), 20);
/// ```
#[derive(Clone, Debug)]
pub struct ServeOptions {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    body_read_timeout: Duration,
    #[cfg(feature = "tls")]
    tls_handshake_timeout: Duration,
    http2_keep_alive_interval: Duration,
    http2_keep_alive_timeout: Duration,
    http2_max_concurrent_streams: u32,
    shutdown_grace: Duration,
    response_write_timeout: Duration,
    limits: ConnectionLimits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            #[cfg(feature = "tls")]
            tls_handshake_timeout: Duration::from_secs(10),
            http2_keep_alive_interval: Duration::from_secs(20),
            http2_keep_alive_timeout: Duration::from_secs(10),
            http2_max_concurrent_streams: 100,
            shutdown_grace: Duration::from_secs(30),
            response_write_timeout: Duration::from_secs(60),
            limits: ConnectionLimits::default(),
        }
    }
}

/// The longest timeout taken: a year, "never" in practice. Longer ones (`Duration::MAX`) would
/// overflow the clock's arithmetic when a deadline is set on a connection.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A timeout between [`MIN_TIMEOUT`] and [`MAX_TIMEOUT`].
fn bounded(timeout: Duration) -> Duration {
    timeout.clamp(MIN_TIMEOUT, MAX_TIMEOUT)
}

impl ServeOptions {
    /// How long a client has to send a complete request head (slowloris), counted from the
    /// connection's start (after the TLS handshake) or, on a keep-alive HTTP/1.1 connection,
    /// from the end of the previous response.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = bounded(timeout);
        self
    }

    /// How long a connection may stay open with no request in flight.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = bounded(timeout);
        self
    }

    /// How long a request body may take to arrive in full, counted from its head. A slower
    /// body fails to read (the body extractors answer it) and its connection is then closed.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = bounded(timeout);
        self
    }

    /// How long a TLS handshake may take.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = bounded(timeout);
        self
    }

    /// HTTP/2 keep-alive: a PING every `interval`, and the connection closed when one is not
    /// acknowledged within `timeout` (the peer is gone).
    pub fn http2_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.http2_keep_alive_interval = bounded(interval);
        self.http2_keep_alive_timeout = bounded(timeout);
        self
    }

    /// The most HTTP/2 streams one connection may have open at once (at least 1).
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.http2_max_concurrent_streams = streams.max(1);
        self
    }

    /// How long a response may wait for the client to take more of it: a connection whose
    /// socket writes make no progress for this long (a client that stopped reading,
    /// slowhttptest's "slow read"), or where a response body with data to give is not asked
    /// for it (an HTTP/2 client granting no flow-control window), is closed, as nginx's
    /// `send_timeout` does. Found between one and two timeouts after the stall began. A body
    /// waiting for its own next chunk (a stream) is not a stall.
    pub fn response_write_timeout(mut self, timeout: Duration) -> Self {
        self.response_write_timeout = bounded(timeout);
        self
    }

    /// How long a shutdown waits for in-flight requests before closing what is left.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace.min(MAX_TIMEOUT);
        self
    }

    /// The caps on concurrent connections.
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The configured header-read timeout.
    pub fn header_read_timeout_value(&self) -> Duration {
        self.header_read_timeout
    }

    /// The configured idle timeout.
    pub fn idle_timeout_value(&self) -> Duration {
        self.idle_timeout
    }

    /// The configured body-read timeout.
    pub fn body_read_timeout_value(&self) -> Duration {
        self.body_read_timeout
    }

    /// The configured TLS handshake timeout.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_handshake_timeout_value(&self) -> Duration {
        self.tls_handshake_timeout
    }

    /// The configured HTTP/2 keep-alive `(interval, timeout)`.
    pub fn http2_keep_alive_value(&self) -> (Duration, Duration) {
        (self.http2_keep_alive_interval, self.http2_keep_alive_timeout)
    }

    /// The configured HTTP/2 stream cap.
    pub fn http2_max_concurrent_streams_value(&self) -> u32 {
        self.http2_max_concurrent_streams
    }

    /// The configured response-write timeout.
    pub fn response_write_timeout_value(&self) -> Duration {
        self.response_write_timeout
    }

    /// The configured shutdown grace.
    pub fn shutdown_grace_value(&self) -> Duration {
        self.shutdown_grace
    }

    /// The configured connection caps.
    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Duration::MAX` ("no timeout") is a year: a deadline set from it on a connection must
    /// not overflow the clock's arithmetic.
    #[test]
    fn timeouts_are_at_most_a_year() {
        let options = ServeOptions::default()
            .header_read_timeout(Duration::MAX)
            .idle_timeout(Duration::MAX)
            .body_read_timeout(Duration::MAX)
            .response_write_timeout(Duration::MAX)
            .http2_keep_alive(Duration::MAX, Duration::MAX)
            .shutdown_grace(Duration::MAX);
        for timeout in [
            options.header_read_timeout_value(),
            options.idle_timeout_value(),
            options.body_read_timeout_value(),
            options.response_write_timeout_value(),
            options.http2_keep_alive_value().0,
            options.http2_keep_alive_value().1,
            options.shutdown_grace_value(),
        ] {
            assert_eq!(timeout, MAX_TIMEOUT);
            assert!(std::time::Instant::now().checked_add(timeout).is_some());
        }
    }

    #[test]
    fn zero_timeouts_are_raised_not_turned_off() {
        let options = ServeOptions::default()
            .header_read_timeout(Duration::ZERO)
            .idle_timeout(Duration::ZERO)
            .body_read_timeout(Duration::ZERO)
            .http2_keep_alive(Duration::ZERO, Duration::ZERO)
            .http2_max_concurrent_streams(0);
        assert_eq!(options.header_read_timeout_value(), MIN_TIMEOUT);
        assert_eq!(options.idle_timeout_value(), MIN_TIMEOUT);
        assert_eq!(options.body_read_timeout_value(), MIN_TIMEOUT);
        assert_eq!(options.http2_keep_alive_value(), (MIN_TIMEOUT, MIN_TIMEOUT));
        assert_eq!(options.http2_max_concurrent_streams_value(), 1);
    }

    #[cfg(feature = "tls")]
    #[test]
    fn a_zero_tls_handshake_timeout_is_raised_not_turned_off() {
        let options = ServeOptions::default().tls_handshake_timeout(Duration::ZERO);
        assert_eq!(options.tls_handshake_timeout_value(), MIN_TIMEOUT);
    }
}
