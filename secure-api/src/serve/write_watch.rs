//! Whether a connection's writes make progress: the connection's I/O wrapped so the driver can
//! close a connection whose client stopped reading (the response-write timeout).
//!
//! hyper has no such timer: a response it cannot write waits in `poll_write` for as long as
//! the client keeps the connection open, and the connection counts as busy (a request in
//! flight), so neither the idle timer nor the caps would ever free its place.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::driver::Activity;

pin_project! {
    /// `io`, with every write that could not proceed (and every one that did) told to the
    /// connection's [`Activity`]. One relaxed atomic read per write, a store only on a change.
    pub(crate) struct WriteWatched<I> {
        #[pin]
        io: I,
        activity: Arc<Activity>,
    }
}

impl<I> WriteWatched<I> {
    pub(crate) fn new(io: I, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }

    /// Records what a write (or flush) came to: `Pending` starts a stall, bytes written end it.
    fn observe<T>(
        activity: &Activity,
        poll: Poll<io::Result<T>>,
        progressed: impl Fn(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        match &poll {
            Poll::Pending => activity.write_blocked(),
            Poll::Ready(Ok(value)) if progressed(value) => activity.write_progressed(),
            Poll::Ready(_) => {}
        }
        poll
    }
}

impl<I: AsyncRead> AsyncRead for WriteWatched<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> AsyncWrite for WriteWatched<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        Self::observe(this.activity, this.io.poll_write(cx, buf), |written| *written > 0)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        Self::observe(this.activity, this.io.poll_write_vectored(cx, bufs), |written| *written > 0)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        // A flush that completes moved the buffered bytes on (TLS records to the socket).
        Self::observe(this.activity, this.io.poll_flush(cx), |()| true)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
