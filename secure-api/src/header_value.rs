//! Header values made on every request (the request id, the `RateLimit` field), written into
//! one buffer per thread instead of each into its own allocation.
//!
//! A value is a slice of a shared 4 KiB chunk, reference-counted by `bytes`: making one costs
//! no allocation (one per ~100 values, when a chunk is full), and cloning one into the
//! response and the audit line costs a reference count. A chunk is freed when the last value
//! cut from it is dropped, so a handler that keeps a [`RequestId`](crate::request_id::RequestId) keeps at
//! most one chunk alive.

use std::cell::RefCell;

use bytes::BytesMut;
use http::HeaderValue;

/// Bytes per chunk: about a hundred request ids.
const CHUNK: usize = 4096;

thread_local! {
    static BUFFER: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// The header value `write` appends to an empty buffer, or `None` if it is not a valid header
/// value (a byte below 0x20 other than tab, or DEL). `write` may append at most `max_len`
/// bytes.
pub(crate) fn shared_header_value(max_len: usize, write: impl FnOnce(&mut BytesMut)) -> Option<HeaderValue> {
    BUFFER.with_borrow_mut(|buffer| {
        // After `split` the buffer is empty and its capacity is what is left of the chunk.
        if buffer.capacity() < max_len {
            *buffer = BytesMut::with_capacity(CHUNK.max(max_len));
        }
        write(buffer);
        HeaderValue::from_maybe_shared(buffer.split().freeze()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_independent_slices() {
        let values: Vec<HeaderValue> = (0..300)
            .map(|n| shared_header_value(8, |buffer| buffer.extend_from_slice(format!("v{n}").as_bytes())).unwrap())
            .collect();
        for (n, value) in values.iter().enumerate() {
            assert_eq!(value, format!("v{n}").as_str());
        }
    }

    #[test]
    fn invalid_bytes_give_none_and_leave_the_next_value_clean() {
        assert!(shared_header_value(4, |buffer| buffer.extend_from_slice(b"a\nb")).is_none());
        assert_eq!(shared_header_value(4, |buffer| buffer.extend_from_slice(b"ok")).unwrap(), "ok");
    }

    #[test]
    fn a_value_longer_than_a_chunk_gets_its_own() {
        let long = "x".repeat(CHUNK + 10);
        let value = shared_header_value(long.len(), |buffer| buffer.extend_from_slice(long.as_bytes())).unwrap();
        assert_eq!(value.len(), CHUNK + 10);
    }
}
