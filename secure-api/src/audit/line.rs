//! The audit line as one JSON object, written straight into a byte buffer.
//!
//! This is the format of an [`AuditLog`](super::AuditLog): the schema's fields, in its order,
//! nothing else. Request-derived strings are escaped and capped as on every log line
//! ([`LogSafe`]: no control character, line separator or bidi override, even once a reader
//! decodes the JSON), then go through `serde_json`'s escaping, so a path, principal or
//! header value can never break out of its field or forge another line. Numbers, the time and
//! IPv4 addresses are written without `core::fmt`: the line is written on every request, and
//! formatting it through `fmt` cost about as much as the rest of the security layer
//! (BENCHMARKS.md).

use std::cell::Cell;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::escape::needs_log_or_json_escaping;
use super::{AuditRecord, LogSafe, MAX_LOGGED_BYTES, Rfc3339};

/// Appends `record` as one JSON object and a newline to `out`.
pub(crate) fn write_json_line(record: &AuditRecord<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":\"");
    time(out, record.time);
    out.extend_from_slice(b"\",\"request_id\":");
    // A request id is a UUID or a proxy's id of `A-Z a-z 0-9 - _ . : /` (RequestId's
    // constructors), and a method is a token (http's `Method`): neither can need escaping.
    verbatim_string(out, record.request_id);
    out.extend_from_slice(b",\"method\":");
    verbatim_string(out, record.method.as_str());
    out.extend_from_slice(b",\"route\":");
    string_or_dash(out, record.route);
    out.extend_from_slice(b",\"path\":");
    request_string(out, record.path);
    out.extend_from_slice(b",\"status\":");
    number(out, u64::from(record.status.as_u16()));
    out.extend_from_slice(b",\"latency_us\":");
    number(out, u64::try_from(record.latency.as_micros()).unwrap_or(u64::MAX));
    out.extend_from_slice(b",\"client_ip\":\"");
    ip(out, record.client_ip);
    out.extend_from_slice(b"\",\"https\":");
    out.extend_from_slice(if record.https { b"true" } else { b"false" });
    out.extend_from_slice(b",\"principal\":");
    match record.principal {
        Some(principal) => request_string(out, principal),
        None => out.extend_from_slice(b"\"-\""),
    }
    out.extend_from_slice(b",\"outcome\":");
    string(out, record.outcome.as_str());
    out.extend_from_slice(b",\"threat\":");
    string_or_dash(out, record.threat);
    out.extend_from_slice(b",\"query\":");
    // The query and the headers were escaped and capped piece by piece when they were built
    // (`AuditConfig`); escaping them again would double their backslashes.
    string_or_dash(out, record.query);
    out.extend_from_slice(b",\"headers\":");
    string_or_dash(out, record.headers);
    out.extend_from_slice(b"}\n");
}

/// A JSON string literal. Strings without `"`, `\\` or control characters (nearly all of them)
/// are copied as they are; the rest are escaped by `serde_json` (writing to a `Vec` cannot fail).
/// A field the request may not have (most lines have no principal, threat, query or headers):
/// `"-"` written as it is, without the escaping check and the call it costs (four of a public
/// request's seven strings).
fn string_or_dash(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => string(out, value),
        None => out.extend_from_slice(b"\"-\""),
    }
}

/// A value that came from the request (the path, the principal's id): escaped and capped by
/// [`LogSafe`], then a JSON string. One scan finds the values that neither changes (nearly all
/// of them: no control character, `\\`, `"`, possible line separator, and not too long), which
/// are copied as they are; the rest take both steps.
fn request_string(out: &mut Vec<u8>, value: &str) {
    if value.len() <= MAX_LOGGED_BYTES && !needs_log_or_json_escaping(value.as_bytes()) {
        verbatim_string(out, value);
    } else {
        string(out, LogSafe::new(value).as_str());
    }
}

fn string(out: &mut Vec<u8>, value: &str) {
    if needs_escaping(value.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        verbatim_string(out, value);
    }
}

/// A JSON string literal of a value that never needs escaping (checked in debug builds).
fn verbatim_string(out: &mut Vec<u8>, value: &str) {
    debug_assert!(!needs_escaping(value.as_bytes()), "{value:?}");
    out.reserve(value.len() + 2);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// Whether `bytes` hold a control character, `"` or `\\`, eight bytes at a time (the fields are
/// short, where a vectorized loop spent most of its time in its set-up and scalar tail).
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Nonzero iff some byte of `word` is below `n` (n <= 0x80): the classic `haszero` test.
    let has_byte_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH != 0;
    let has_byte = |word: u64, byte: u8| has_byte_below(word ^ (ONES * u64::from(byte)), 1);
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|chunk| {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        has_byte_below(word, 0x20) | has_byte(word, b'"') | has_byte(word, b'\\')
    });
    found || words.remainder().iter().any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

/// The `time` field's 24 bytes. The date and time of day are those of every line in the same
/// second, so each thread formats them once per second and only writes the milliseconds.
fn time(out: &mut Vec<u8>, time: SystemTime) {
    thread_local! {
        static SECOND: Cell<(u64, [u8; 24])> = const { Cell::new((u64::MAX, [0; 24])) };
    }
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (second, mut text) = SECOND.get();
    if second != since_epoch.as_secs() {
        text = Rfc3339(time).to_bytes();
        SECOND.set((since_epoch.as_secs(), text));
    }
    let millis = since_epoch.subsec_millis();
    for (slot, digit) in text.iter_mut().skip(20).zip([millis / 100, millis / 10 % 10, millis % 10]) {
        *slot = b'0' + digit as u8;
    }
    out.extend_from_slice(&text);
}

fn number(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn ip(out: &mut Vec<u8>, address: IpAddr) {
    match address {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
        }
        // IPv6's text form (RFC 5952 compression) is `Display`'s job; it only has hex digits
        // and colons, so it needs no escaping.
        IpAddr::V6(v6) => {
            use std::io::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use http::{Method, StatusCode};
    use serde_json::{Value, json};

    use super::*;
    use crate::audit::Outcome;

    fn record<'a>(path: &'a str, principal: Option<&'a str>, client_ip: IpAddr) -> AuditRecord<'a> {
        AuditRecord {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_900_000_123),
            request_id: "5f1c2a4e-0000-4000-8000-000000000001",
            method: &Method::POST,
            route: Some("/api/items/{id}"),
            path,
            status: StatusCode::CREATED,
            latency: Duration::from_micros(1_234),
            client_ip,
            https: true,
            principal,
            outcome: Outcome::ALLOWED,
            threat: None,
            query: None,
            headers: Some("user-agent=curl"),
        }
    }

    fn line(record: &AuditRecord<'_>) -> String {
        let mut out = Vec::new();
        write_json_line(record, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_field_in_schema_order() {
        let text = line(&record("/api/items/7", Some("alice"), "203.0.113.9".parse().unwrap()));
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({
                "time": "2026-11-28T21:06:40.123Z", "request_id": "5f1c2a4e-0000-4000-8000-000000000001",
                "method": "POST", "route": "/api/items/{id}", "path": "/api/items/7", "status": 201,
                "latency_us": 1234, "client_ip": "203.0.113.9", "https": true, "principal": "alice",
                "outcome": "allowed", "threat": "-", "query": "-", "headers": "user-agent=curl"
            })
        );
        let keys: Vec<&str> = text.split("\":").filter_map(|part| part.rsplit('"').next()).collect();
        assert_eq!(&keys[..super::super::FIELDS.len()], super::super::FIELDS, "the schema's order");
    }

    #[test]
    fn hostile_strings_stay_inside_their_field() {
        let forged = "x\",\"outcome\":\"allowed\"}\n{\"principal\":\"root\u{2028}\u{85}";
        let text = line(&record("/a\"b\\c\u{1b}[2J\u{7f}", Some(forged), "::1".parse().unwrap()));
        assert_eq!(text.matches('\n').count(), 1, "one line, whatever the input: {text}");
        assert!(!text.trim_end().chars().any(|c| c.is_control() || c == '\u{2028}'), "{text:?}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["principal"], "x\",\"outcome\":\"allowed\"}\\n{\"principal\":\"root\\u{2028}\\u{85}");
        assert_eq!(value["path"], "/a\"b\\\\c\\u{1b}[2J\\u{7f}", "decoded, still nothing raw");
        assert_eq!(value["client_ip"], "::1");
    }

    #[test]
    fn long_request_values_are_capped() {
        let long_path = format!("/{}", "p".repeat(20_000));
        let text = line(&record(&long_path, Some("alice"), "::1".parse().unwrap()));
        assert!(text.len() < 2_000, "{}", text.len());
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(value["path"].as_str().unwrap().ends_with("…(truncated, 20001 bytes)"));
    }

    #[test]
    fn escaping_is_needed_exactly_for_controls_quotes_and_backslashes() {
        for byte in 0..=255u8 {
            let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
            for at in 0..20 {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = byte;
                assert_eq!(needs_escaping(&bytes), expected, "byte {byte:#04x} at {at}");
            }
        }
        assert!(!needs_escaping("caf\u{e9} \u{1F600} /api/items/7".as_bytes()), "UTF-8 is copied as is");
        assert!(!needs_escaping(b""));
        // Mixed words (a borrow across bytes must not hide or invent a match): against the
        // byte-by-byte rule on pseudo-random strings of every length up to 40.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 41) as usize;
            // Mostly harmless bytes, with the ones next to each boundary now and then.
            const EDGES: [u8; 16] =
                [0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff, b'a', b'z'];
            let bytes: Vec<u8> = (0..len)
                .map(|i| state.rotate_left(i as u32 * 5))
                .map(
                    |bits| {
                        if bits % 7 == 0 { EDGES[(bits >> 8) as usize % 16] } else { b'a' + (bits >> 16) as u8 % 26 }
                    },
                )
                .collect();
            let naive = bytes.iter().any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\');
            assert_eq!(needs_escaping(&bytes), naive, "{bytes:?}");
        }
    }

    #[test]
    fn request_strings_are_written_as_log_safe_then_json_would_write_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut inputs: Vec<String> =
            ["", "/api/items/7", "a\"b", "a\\b", "caf\u{e9}", "\u{20ac}5", "x\u{2028}y", "\u{85}"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        inputs.push("p".repeat(MAX_LOGGED_BYTES));
        inputs.push("p".repeat(MAX_LOGGED_BYTES + 1));
        const PIECES: [&str; 12] =
            ["a", "/", "\"", "\\", "\n", "\u{7f}", "\u{85}", "\u{a3}", "\u{2028}", "\u{20ac}", "\u{1b}", "\u{1f600}"];
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let text: String = (0..len)
                .map(|i| state.rotate_left(i as u32 * 7))
                .map(|bits| if bits % 5 == 0 { PIECES[(bits >> 8) as usize % PIECES.len()] } else { "b" })
                .collect();
            inputs.push(text);
        }
        for input in &inputs {
            let mut fused = Vec::new();
            request_string(&mut fused, input);
            let mut two_steps = Vec::new();
            string(&mut two_steps, LogSafe::new(input).as_str());
            assert_eq!(fused, two_steps, "{input:?}");
        }
    }

    #[test]
    fn the_time_of_consecutive_lines_is_exact() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_900_000_000);
        for millis in [0u64, 7, 999, 1_000, 1_001, 59_999, 60_000, 86_400_123, 5] {
            let time = start + Duration::from_millis(millis);
            let mut out = Vec::new();
            super::time(&mut out, time);
            assert_eq!(out, Rfc3339(time).to_bytes(), "+{millis} ms");
        }
    }

    #[test]
    fn absent_values_are_dashes() {
        let mut record = record("/", None, "0.0.0.0".parse().unwrap());
        record.route = None;
        record.headers = None;
        let value: Value = serde_json::from_str(&line(&record)).unwrap();
        for field in ["route", "principal", "threat", "query", "headers"] {
            assert_eq!(value[field], "-", "{field}");
        }
        assert_eq!(value["client_ip"], "0.0.0.0");
    }
}
