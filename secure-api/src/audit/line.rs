//! The audit line as one JSON object, written straight into a byte buffer.
//!
//! This is the format of an [`AuditLog`](super::AuditLog): the schema's fields, in its order,
//! nothing else. Strings go through `serde_json`'s escaping, so a path, principal or header
//! value can never break out of its field or forge another line (no raw `"`, `\` or control
//! character reaches the file). Numbers, the time and IPv4 addresses are written without
//! `core::fmt`: the line is written on every request, and formatting it through `fmt` cost
//! about as much as the rest of the security layer (BENCHMARKS.md).

use std::net::IpAddr;

use super::{AuditRecord, Rfc3339};

/// Appends `record` as one JSON object and a newline to `out`.
pub(crate) fn write_json_line(record: &AuditRecord<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":\"");
    out.extend_from_slice(&Rfc3339(record.time).to_bytes());
    out.extend_from_slice(b"\",\"request_id\":");
    string(out, record.request_id);
    out.extend_from_slice(b",\"method\":");
    string(out, record.method.as_str());
    out.extend_from_slice(b",\"route\":");
    string(out, record.route.unwrap_or("-"));
    out.extend_from_slice(b",\"path\":");
    string(out, record.path);
    out.extend_from_slice(b",\"status\":");
    number(out, u64::from(record.status.as_u16()));
    out.extend_from_slice(b",\"latency_us\":");
    number(out, u64::try_from(record.latency.as_micros()).unwrap_or(u64::MAX));
    out.extend_from_slice(b",\"client_ip\":\"");
    ip(out, record.client_ip);
    out.extend_from_slice(b"\",\"https\":");
    out.extend_from_slice(if record.https { b"true" } else { b"false" });
    out.extend_from_slice(b",\"principal\":");
    string(out, record.principal.unwrap_or("-"));
    out.extend_from_slice(b",\"outcome\":");
    string(out, record.outcome.as_str());
    out.extend_from_slice(b",\"threat\":");
    string(out, record.threat.unwrap_or("-"));
    out.extend_from_slice(b",\"query\":");
    string(out, record.query.unwrap_or("-"));
    out.extend_from_slice(b",\"headers\":");
    string(out, record.headers.unwrap_or("-"));
    out.extend_from_slice(b"}\n");
}

/// A JSON string literal. Strings without `"`, `\\` or control characters (nearly all of them)
/// are copied as they are, after one branch-free check; the rest are escaped by `serde_json`
/// (writing to a `Vec` cannot fail).
fn string(out: &mut Vec<u8>, value: &str) {
    let plain =
        value.as_bytes().iter().fold(true, |plain, &byte| plain & (byte >= 0x20) & (byte != b'"') & (byte != b'\\'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, value);
    }
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
    use crate::Outcome;

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
        let forged = "x\",\"outcome\":\"allowed\"}\n{\"principal\":\"root";
        let text = line(&record("/a\"b\\c\u{1b}[2J", Some(forged), "::1".parse().unwrap()));
        assert_eq!(text.matches('\n').count(), 1, "one line, whatever the input: {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["principal"], forged);
        assert_eq!(value["path"], "/a\"b\\c\u{1b}[2J");
        assert_eq!(value["client_ip"], "::1");
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
