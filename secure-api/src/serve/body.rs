//! The request body with a deadline: [`TimedBody`] fails the read with [`BodyReadTimeout`] when
//! the whole body has not arrived within the body-read timeout of its head.
//!
//! A deadline for the whole body, not a timer per read: a client trickling one byte just before
//! each timer ran out would otherwise hold the request (and its connection) forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// The error a request body read returns when the body did not arrive in full within the
/// listener's [`body_read_timeout`](crate::serve::ServeOptions::body_read_timeout).
///
/// It reaches the body extractor wrapped in the framework's body error; find it with
/// [`is_body_read_timeout`](crate::serve::is_body_read_timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout;

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body was not received within the body-read timeout")
    }
}

impl std::error::Error for BodyReadTimeout {}

/// Whether `error`, or an error in its `source()` chain, is a [`BodyReadTimeout`]: how a body
/// reader tells a client that sent too slowly (408) from one that sent something malformed.
///
/// # Examples
/// ```
/// use secure_api::{serve::BodyReadTimeout, serve::is_body_read_timeout};
///
/// let error = axum::Error::new(BodyReadTimeout);
/// assert!(is_body_read_timeout(&error));
/// assert!(!is_body_read_timeout(&std::io::Error::other("reset")));
/// ```
pub fn is_body_read_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    // A bounded walk: source chains are short, and a cyclic one must not loop forever.
    for _ in 0..16 {
        match current {
            Some(error) if error.is::<BodyReadTimeout>() => return true,
            Some(error) => current = error.source(),
            None => return false,
        }
    }
    false
}

/// hyper's request body, failing with [`BodyReadTimeout`] once `deadline` has passed while the
/// body is still incomplete. Data that has already arrived is always delivered first, so a
/// handler that starts reading late does not fail a client that sent in time.
pub(crate) struct TimedBody {
    inner: Incoming,
    deadline: Instant,
    /// Made on the first read that has to wait: most bodies are complete by then, and a body
    /// read that never waits costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl TimedBody {
    pub(crate) fn new(inner: Incoming, deadline: Instant) -> Self {
        Self { inner, deadline, sleep: None, timed_out: false }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => return Poll::Ready(frame.map(|frame| frame.map_err(Into::into))),
            Poll::Pending => {}
        }
        let deadline = self.deadline;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timed_out = true;
                Poll::Ready(Some(Err(Box::new(BodyReadTimeout))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as in flight until it is sent in full (or
/// dropped), so the idle timer never closes a connection in the middle of a response.
pub(crate) struct TrackedBody<B> {
    inner: B,
    in_flight: super::driver::InFlight,
    /// The last poll returned `Pending`: the body waits for its own data (a stream), so hyper
    /// not polling it is no stall.
    waiting_on_data: bool,
}

impl<B> TrackedBody<B> {
    /// A response body, counted as ready to give data (never polled yet).
    pub(crate) fn new(inner: B, in_flight: super::driver::InFlight) -> Self {
        in_flight.body_ready();
        Self { inner, in_flight, waiting_on_data: false }
    }
}

impl<B> Drop for TrackedBody<B> {
    fn drop(&mut self) {
        if !self.waiting_on_data {
            self.in_flight.body_not_ready();
        }
    }
}

impl<B> HttpBody for TrackedBody<B>
where
    B: HttpBody + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        // Told to the connection's write timer: hyper asked (progress), and whether the body
        // now waits for its own data or has more to give.
        self.in_flight.body_polled();
        let waiting = poll.is_pending();
        if waiting != self.waiting_on_data {
            self.waiting_on_data = waiting;
            if waiting { self.in_flight.body_not_ready() } else { self.in_flight.body_ready() }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
