//! The audit log: one line per request with who asked, what was decided and why.
//!
//! The [`SecurityLayer`](crate::layer::SecurityLayer) writes the line after the response is known; the
//! guard and the rejections fill in the principal and the [`Outcome`]. Tokens, keys and secrets
//! are never part of a line: only the principal's id is.
//!
//! # The audit line (stable schema)
//!
//! One line per request with exactly these fields, always present, in this order. By default
//! the line is a `tracing` event (level `INFO`, target `secure_api::audit`, message `request`);
//! with an [`AuditLog`] ([`AuditConfig::log_to`](crate::audit::AuditConfig::log_to)) it is one JSON
//! object per line in a file, with these fields and no others:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `time` | string | request start, RFC 3339 UTC with milliseconds (`2026-11-27T21:04:05.123Z`) |
//! | `request_id` | string | `X-Request-Id` from a trusted proxy, else a UUID v4; echoed in the response |
//! | `method` | string | HTTP method |
//! | `route` | string | the matched route pattern (`/api/items/{id}`), `-` when no route matched |
//! | `path` | string | the request path, without the query; escaped and capped (see below) |
//! | `status` | number | response status |
//! | `latency_us` | number | microseconds from the request to the response head |
//! | `client_ip` | string | the trusted client address (see [`ClientIdentity`](crate::client::ClientIdentity)) |
//! | `https` | bool | the request came over HTTPS (directly, or per a trusted proxy) |
//! | `principal` | string | the authenticated principal's id, `-` when none; escaped and capped |
//! | `outcome` | string | `family[:reason[:detail]]`, e.g. `allowed`, `denied:invalid_token`, `denied:insufficient_scope`, `denied:insufficient_user_authentication`, `denied:ip_rule`, `denied:threat:sqli-tautology`, `limited`, `invalid:body`, `not_found`, `error` |
//! | `threat` | string | a threat rule that matched in log-only mode, `-` otherwise |
//! | `query` | string | the query with secrets redacted, escaped and capped, when [`AuditConfig::log_query`](crate::audit::AuditConfig::log_query) is on; `-` otherwise |
//! | `headers` | string | the configured headers as `name=value`, credentials redacted, each value escaped and capped; `-` when none are configured |
//!
//! # Log safety
//!
//! Every value that came from a request (path, query, header values, principal, OAuth client
//! id, threat location, error texts quoting input) goes through [`LogSafe`] before it reaches
//! any log line of this crate, the audit line and the diagnostic events alike:
//! - **No forged or split lines, no terminal escapes.** Control characters (C0, DEL, C1 with
//!   NEL), the line separators U+2028/U+2029 and the bidi overrides are written escaped
//!   (`\n`, `\u{1b}`, `\u{2028}`), as is `\\`. Fields are recorded as `&str`, which
//!   `tracing-subscriber` quotes in its text format and JSON-encodes in its JSON format, so a
//!   value cannot pose as another field either. A JSON reader decoding a value gets the
//!   escaped text, never a raw control character.
//! - **Bounded.** Each value is capped at [`MAX_LOGGED_BYTES`] (1024) bytes with a
//!   `…(truncated, N bytes)` marker: the path, the principal, the query as a whole, each
//!   logged header (all its values together), each diagnostic field.
//! - **No credentials.** See [`AuditConfig`] for what is redacted: by
//!   name (normalized: `X-Api-Key`, `api_key`, `apiKey` are one name) and by value (anything
//!   shaped like a JWT, or equal to one of the app's API keys).
//!
//! Keep the subscriber's ANSI colours off when its output is not a terminal (the quickstart
//! does): the colour codes the formatter adds are escape sequences of its own.
//!
//! Choosing the sink:
//! - **`tracing`** (the default): the subscriber decides the format and the destination. With
//!   `tracing-subscriber`'s JSON formatter (`.json().flatten_event(true)`) each event is one
//!   JSON object per line, these fields plus the subscriber's `timestamp`, `level`, `target`
//!   and `message`. Give it a non-blocking writer (`tracing-appender`) so a slow sink never
//!   holds up a request.
//! - **[`AuditLog`]**: the audit trail in its own file, written in batches by a background
//!   thread. Several times cheaper per request than a `fmt` subscriber (BENCHMARKS.md): use it
//!   when the audit line is a measurable share of your requests' cost.
//!
//! ```
//! use secure_api::{audit::AuditConfig, Security, audit::AuditLog};
//! # let path = std::env::temp_dir().join(format!("audit-module-doc-{}.log", std::process::id()));
//! let security = Security::builder().audit(AuditConfig::new().log_to(AuditLog::to_file(&path)?)).build();
//! # drop(security); std::fs::remove_file(&path)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::RefCell;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

mod escape;
mod line;
mod log;
mod redact;

pub use escape::{LogSafe, MAX_LOGGED_BYTES};
pub use log::AuditLog;
pub use redact::{AuditConfig, REDACTED};

/// The audit line's fields, in the order every line has them (the schema above).
///
/// # Examples
/// ```
/// assert_eq!(secure_api::audit::FIELDS.first(), Some(&"time"));
/// assert_eq!(secure_api::audit::FIELDS.len(), 14);
/// ```
pub const FIELDS: [&str; 14] = [
    "time",
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "latency_us",
    "client_ip",
    "https",
    "principal",
    "outcome",
    "threat",
    "query",
    "headers",
];

/// The decision recorded for a request, e.g. `allowed`, `denied:invalid_token`, `limited`.
///
/// Rejections carry their outcome in the response extensions; responses without one are
/// classified by status code.
///
/// # Examples
/// ```
/// use secure_api::audit::Outcome;
/// use http::StatusCode;
///
/// assert_eq!(Outcome::DENIED_INVALID_TOKEN.as_str(), "denied:invalid_token");
/// assert_eq!(Outcome::from_status(StatusCode::OK), Outcome::ALLOWED);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome(&'static str);

impl Outcome {
    /// The request passed every check and the handler answered with a success or redirect.
    pub const ALLOWED: Self = Self("allowed");
    /// No credentials were sent to a route that needs them.
    pub const DENIED_MISSING_CREDENTIALS: Self = Self("denied:missing_credentials");
    /// A bearer token was sent but is not valid (signature, algorithm, claims, expiry).
    pub const DENIED_INVALID_TOKEN: Self = Self("denied:invalid_token");
    /// The `Authorization` header was malformed (RFC 6750 `invalid_request`).
    pub const DENIED_INVALID_REQUEST: Self = Self("denied:invalid_request");
    /// An API key was sent but is not registered.
    pub const DENIED_INVALID_API_KEY: Self = Self("denied:invalid_api_key");
    /// The caller is authenticated but lacks a required scope.
    pub const DENIED_INSUFFICIENT_SCOPE: Self = Self("denied:insufficient_scope");
    /// The caller's token is valid but its authentication is not strong or recent enough for
    /// the route (`acr` / `max_age`, RFC 9470 `insufficient_user_authentication`).
    pub const DENIED_INSUFFICIENT_USER_AUTHENTICATION: Self = Self("denied:insufficient_user_authentication");
    /// The object-level check (`authorize = ...`) refused the authenticated caller.
    pub const DENIED_FORBIDDEN: Self = Self("denied:forbidden");
    /// The identity provider (JWKS or introspection endpoint) could not be reached, so the
    /// token could not be checked (503, fail closed).
    pub const DENIED_IDP_UNAVAILABLE: Self = Self("denied:idp_unavailable");
    /// The route needs an authentication scheme the application did not configure (fail closed).
    pub const DENIED_UNCONFIGURED: Self = Self("denied:unconfigured");
    /// The client's address is outside the route's or the app's IP allow/deny lists.
    pub const DENIED_IP_RULE: Self = Self("denied:ip_rule");
    /// The audit log's sink is not keeping up: refused before routing, so that nothing runs
    /// without its line (see [`AuditLog`]).
    pub const DENIED_AUDIT_UNAVAILABLE: Self = Self("denied:audit_unavailable");
    /// OAuth client authentication at the token endpoint failed.
    pub const DENIED_INVALID_CLIENT: Self = Self("denied:invalid_client");
    /// The request was rejected by a rate limiter.
    pub const LIMITED: Self = Self("limited");
    /// The client's address is in the [penalty box](crate::rate::PenaltyBox): refused on
    /// every route until its ban ends (429).
    pub const DENIED_BANNED: Self = Self("denied:banned");
    /// The request body or parameters were rejected.
    pub const INVALID_BODY: Self = Self("invalid:body");
    /// The request was malformed in another way (4xx chosen by the handler or an extractor).
    pub const INVALID_REQUEST: Self = Self("invalid:request");
    /// No route matched.
    pub const NOT_FOUND: Self = Self("not_found");
    /// The route exists but not for this method.
    pub const METHOD_NOT_ALLOWED: Self = Self("method_not_allowed");
    /// The server failed (5xx), or the handler panicked (then the line's status is 500).
    pub const ERROR: Self = Self("error");
    /// The client went away before the response was ready (an HTTP/2 stream reset, a closed
    /// connection): the line's status is 499, as nginx logs it. The handler may have run.
    pub const CANCELLED: Self = Self("cancelled");

    /// An outcome with a custom code; use `family:reason` like the built-in ones.
    pub const fn new(code: &'static str) -> Self {
        Self(code)
    }

    /// The code as written to the log.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// Classifies a response that carries no explicit outcome.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            100..=399 => Self::ALLOWED,
            401 => Self::DENIED_MISSING_CREDENTIALS,
            404 => Self::NOT_FOUND,
            405 => Self::METHOD_NOT_ALLOWED,
            413 | 415 | 422 => Self::INVALID_BODY,
            429 => Self::LIMITED,
            400..=499 => Self::INVALID_REQUEST,
            _ => Self::ERROR,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One audit line's fields; see the module docs for the schema.
pub(crate) struct AuditRecord<'a> {
    pub(crate) time: SystemTime,
    pub(crate) request_id: &'a str,
    pub(crate) method: &'a Method,
    pub(crate) route: Option<&'a str>,
    pub(crate) path: &'a str,
    pub(crate) status: StatusCode,
    pub(crate) latency: Duration,
    pub(crate) client_ip: IpAddr,
    pub(crate) https: bool,
    pub(crate) principal: Option<&'a str>,
    pub(crate) outcome: Outcome,
    pub(crate) threat: Option<&'a str>,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: Option<&'a str>,
}

impl AuditRecord<'_> {
    /// Writes the line: to the configured [`AuditLog`] as JSON, or else as one `tracing` event
    /// with target `secure_api::audit`, so subscribers can route audit lines apart from
    /// diagnostics.
    pub(crate) fn emit(&self, config: &AuditConfig) {
        if let Some(log) = config.log() {
            thread_local! {
                // One buffer per thread, reused: formatting a line allocates nothing.
                static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
            }
            LINE.with_borrow_mut(|line| {
                line.clear();
                line::write_json_line(self, line);
                log.push(line);
            });
            return;
        }
        tracing::info!(
            target: "secure_api::audit",
            time = %Rfc3339(self.time),
            request_id = self.request_id,
            method = %self.method,
            route = self.route.unwrap_or("-"),
            path = LogSafe::new(self.path).as_str(),
            status = self.status.as_u16(),
            latency_us = self.latency.as_micros() as u64,
            client_ip = %self.client_ip,
            https = self.https,
            principal = LogSafe::new(self.principal.unwrap_or("-")).as_str(),
            outcome = self.outcome.as_str(),
            threat = self.threat.unwrap_or("-"),
            // Escaped and capped piece by piece when they were built (`AuditConfig`).
            query = self.query.unwrap_or("-"),
            headers = self.headers.unwrap_or("-"),
            "request"
        );
    }
}

/// `SystemTime` as RFC 3339 UTC with milliseconds, without a date-time dependency.
pub(crate) struct Rfc3339(pub(crate) SystemTime);

impl Rfc3339 {
    /// The 24 bytes `YYYY-MM-DDTHH:MM:SS.mmmZ`, digit by digit (no `core::fmt` on the hot path).
    /// Years past 9999 are written as 9999.
    pub(crate) fn to_bytes(&self) -> [u8; 24] {
        let since_epoch = self.0.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let seconds = since_epoch.as_secs();
        let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
        // Howard Hinnant's days-to-civil algorithm.
        let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
        let year = (year_of_era + era * 400 + i64::from(month <= 2)).clamp(0, 9999);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: u32, value: u64| {
            for (offset, slot) in out.iter_mut().skip(at).take(width as usize).enumerate() {
                let place = 10u64.pow(width - 1 - offset as u32);
                *slot = b'0' + (value / place % 10) as u8;
            }
        };
        put(0, 4, year.unsigned_abs());
        put(5, 2, month.unsigned_abs());
        put(8, 2, day.unsigned_abs());
        put(11, 2, second_of_day / 3600);
        put(14, 2, second_of_day / 60 % 60);
        put(17, 2, second_of_day % 60);
        put(20, 3, u64::from(since_epoch.subsec_millis()));
        out
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII digits and separators, so this never fails.
        f.write_str(std::str::from_utf8(&self.to_bytes()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        assert_eq!(Outcome::from_status(StatusCode::CREATED), Outcome::ALLOWED);
        assert_eq!(Outcome::from_status(StatusCode::NOT_FOUND), Outcome::NOT_FOUND);
        assert_eq!(Outcome::from_status(StatusCode::TOO_MANY_REQUESTS), Outcome::LIMITED);
        assert_eq!(Outcome::from_status(StatusCode::UNPROCESSABLE_ENTITY), Outcome::INVALID_BODY);
        assert_eq!(Outcome::from_status(StatusCode::INTERNAL_SERVER_ERROR), Outcome::ERROR);
    }

    #[test]
    fn formats_rfc3339_utc() {
        let at = |secs: u64, millis: u64| {
            Rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)).to_string()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_795_900_000, 123), "2026-11-28T21:06:40.123Z");
        assert_eq!(at(4_102_444_799, 999), "2099-12-31T23:59:59.999Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000Z");
        assert_eq!(at(253_402_300_800 * 2, 0)[..4], *"9999", "clamped, never more than 4 digits");
    }
}
