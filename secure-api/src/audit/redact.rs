//! What the audit line may show of a request besides its path: selected headers and the query
//! string, with credentials and configured fields replaced by `[redacted]`, every piece escaped
//! and capped ([`LogSafe`]). Bodies are never logged (the token endpoint's body holds client
//! secrets).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::{AuditLog, LogSafe, MAX_LOGGED_BYTES};

/// The text that replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Headers whose values are always redacted, whatever the configuration says.
const SECRET_HEADERS: [&str; 6] =
    ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-amz-security-token"];

/// A query parameter, form field, JSON member or logged header is a secret when its
/// [normalized](normalize) name contains one of these...
const SECRET_NAME_PARTS: [&str; 12] = [
    "token",
    "secret",
    "passw",
    "pwd",
    "signature",
    "session",
    "jwt",
    "apikey",
    "authorization",
    "credential",
    "assertion",
    "cookie",
];

/// ...or ends with one of these (`key`, `api_key`, `X-Api-Key`, `code`, `device_code`, `sig`).
const SECRET_NAME_ENDINGS: [&str; 5] = ["key", "code", "sig", "pass", "auth"];

/// Decodes the start of a base64url segment, padded or not (only its first bytes are looked at).
const LENIENT_BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Audit line options: which request headers to show, whether to show the query string, and
/// which extra field names to redact.
///
/// By default the audit line shows neither headers nor the query (`"-"`). Whatever is shown is
/// redacted, escaped and capped:
///
/// - **By name.** Names are compared normalized: lower case, only letters and digits
///   (`X-Api-Key`, `api_key`, `apiKey` and `API.KEY` are all `apikey`). Redacted: the headers
///   `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-API-Key`,
///   `X-Amz-Security-Token`; the app's API-key header, as a header or as a query parameter
///   (`?x-api-key=...`); any name containing `token`, `secret`, `passw`, `pwd`, `signature`,
///   `session`, `jwt`, `apikey`, `authorization`, `credential`, `assertion` or `cookie`
///   (`accessToken`, `client_secret`, `session_id`), or ending with `key`, `code`, `sig`, `pass`
///   or `auth`; and the names given to [`redact_field`](Self::redact_field). This errs on the
///   side of hiding (`zipcode`, `monkey` are hidden too).
/// - **By value.** Whatever its name, a query value or logged header value shaped like a JWT
///   (three or five dot-separated base64url segments, the first decoding to a JSON object) or
///   equal to one of the app's API keys.
/// - **Escaped and capped.** Every value is escaped like every log value ([`LogSafe`]). The
///   query as a whole, and each logged header (its `name=value` pairs together: a request may
///   repeat a header), is cut at [`MAX_LOGGED_BYTES`] (1024) bytes with a `…(truncated, N
///   bytes)` marker, N being the length received; the path and the principal are capped the
///   same way.
///
/// # Examples
/// ```
/// use secure_api::audit::AuditConfig;
/// use http::HeaderMap;
///
/// let audit = AuditConfig::new().log_header("user-agent").log_header("authorization").log_query().redact_field("card");
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", "Bearer eyJ...".parse().unwrap());
/// headers.insert("user-agent", "curl/8.5".parse().unwrap());
/// assert_eq!(audit.redact_headers(&headers), "user-agent=curl/8.5 authorization=[redacted]");
/// assert_eq!(audit.redact_query("page=2&card=4111111111111111&access_token=abc"), "page=2&card=[redacted]&access_token=[redacted]");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct AuditConfig {
    headers: Vec<HeaderName>,
    query: bool,
    fields: Vec<String>,
    extra_secret_headers: Vec<HeaderName>,
    api_keys: Option<RegisteredKeys>,
    log: Option<AuditLog>,
}

/// Recognises one of the app's API keys sent where it should not be (`?key=...`). A matcher
/// handed in by [`SecurityBuilder::build`](crate::SecurityBuilder::build), not the key set
/// itself: the audit log sits below authentication and knows nothing of its types.
#[derive(Clone)]
struct RegisteredKeys {
    matches: Arc<KeyMatcher>,
    /// What `Debug` shows: the key set's own `Debug` (the header and the number of keys, never a
    /// digest).
    description: Arc<str>,
}

/// Whether a value is one of the app's API keys.
type KeyMatcher = dyn Fn(&[u8]) -> bool + Send + Sync;

/// Two configurations are equal when they look at the same key set.
impl PartialEq for RegisteredKeys {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.matches, &other.matches)
    }
}

impl Eq for RegisteredKeys {}

impl fmt::Debug for RegisteredKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl AuditConfig {
    /// Shows no header and no query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the audit lines as JSON to `log` (usually a file) instead of emitting them as
    /// `tracing` events. The cheaper of the two on the request path; see [`AuditLog`].
    ///
    /// # Examples
    /// ```
    /// use secure_api::{audit::AuditConfig, audit::AuditLog};
    ///
    /// let audit = AuditConfig::new().log_to(AuditLog::to_writer(std::io::stdout())?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn log_to(mut self, log: AuditLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The log the lines go to, if not to `tracing`.
    pub(crate) fn log(&self) -> Option<&AuditLog> {
        self.log.as_ref()
    }

    /// Shows this request header in the `headers` field (redacted if it carries credentials).
    /// Names that are not valid header names are ignored.
    pub fn log_header(mut self, name: &str) -> Self {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes())
            && !self.headers.contains(&name)
        {
            self.headers.push(name);
        }
        self
    }

    /// Shows the query string in the `query` field, with secret parameters redacted.
    pub fn log_query(mut self) -> Self {
        self.query = true;
        self
    }

    /// Also redacts query parameters, form fields and JSON members with this name (compared
    /// normalized: `card_number` also hides `Card-Number` and `cardNumber`).
    pub fn redact_field(mut self, name: &str) -> Self {
        self.fields.push(normalize(name));
        self
    }

    /// Also redacts this header, and query parameters of the same name (the app's API-key
    /// header is added automatically).
    pub fn redact_header(mut self, name: HeaderName) -> Self {
        self.fields.push(normalize(name.as_str()));
        self.extra_secret_headers.push(name);
        self
    }

    /// Also redacts any logged value that `matches` (set by
    /// [`SecurityBuilder::build`](crate::SecurityBuilder::build) from the app's API keys, which
    /// `description` names in `Debug`).
    pub(crate) fn redact_api_keys(
        mut self,
        description: String,
        matches: impl Fn(&[u8]) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.api_keys = Some(RegisteredKeys { matches: Arc::new(matches), description: description.into() });
        self
    }

    pub(crate) fn logs_headers(&self) -> bool {
        !self.headers.is_empty()
    }

    pub(crate) fn logs_query(&self) -> bool {
        self.query
    }

    fn is_secret_header(&self, name: &HeaderName) -> bool {
        SECRET_HEADERS.contains(&name.as_str())
            || self.extra_secret_headers.contains(name)
            || self.is_secret_field(name.as_str())
    }

    fn is_secret_field(&self, name: &str) -> bool {
        let name = normalize(name);
        // Names are short: comparing every window is cheaper than setting up a substring
        // searcher per part (`str::contains`), which cost ~200 instructions each.
        let contains = |part: &str| name.as_bytes().windows(part.len()).any(|window| window == part.as_bytes());
        SECRET_NAME_PARTS.iter().any(|part| contains(part))
            || SECRET_NAME_ENDINGS.iter().any(|ending| name.ends_with(ending))
            || self.fields.contains(&name)
    }

    /// Whether `value` is a credential whatever it is called: a JWT or one of the app's keys.
    fn is_secret_value(&self, value: &str) -> bool {
        looks_like_jwt(value) || self.api_keys.as_ref().is_some_and(|keys| (keys.matches)(value.trim().as_bytes()))
    }

    /// The configured headers as `name=value` pairs separated by spaces; credentials redacted,
    /// each value escaped, and each header (all its values together: a request may repeat a
    /// header) capped at [`MAX_LOGGED_BYTES`], so no line can be forged into the log, nor
    /// grown without bound.
    pub fn redact_headers(&self, headers: &HeaderMap) -> String {
        let mut out = String::new();
        for name in &self.headers {
            let secret_name = self.is_secret_header(name);
            let start = out.len();
            let mut received = 0;
            for value in headers.get_all(name) {
                received += value.len();
                if out.len() - start > MAX_LOGGED_BYTES {
                    // Past the cap nothing more is shown; only count what was sent.
                    continue;
                }
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(name.as_str());
                out.push('=');
                let value = String::from_utf8_lossy(value.as_bytes());
                if secret_name || self.is_secret_value(&value) {
                    out.push_str(REDACTED);
                } else {
                    // Escaped whole up to just past the cap; the cap below cuts the rest.
                    out.push_str(LogSafe::with_limit(&value, MAX_LOGGED_BYTES + 1).as_str());
                }
            }
            if out.len() - start > MAX_LOGGED_BYTES {
                let shown = capped(out.get(start..).unwrap_or_default(), received);
                out.truncate(start);
                out.push_str(&shown);
            }
        }
        out
    }

    /// The query with the values of secret parameters redacted (names kept, encoding kept),
    /// escaped, and capped at [`MAX_LOGGED_BYTES`] as a whole.
    pub fn redact_query(&self, query: &str) -> String {
        let mut out = String::new();
        for pair in query.split('&') {
            if !out.is_empty() {
                out.push('&');
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Judged decoded (`pass%77ord`, `%65yJ...`), shown as sent.
            let (decoded_name, decoded_value) = form_urlencoded::parse(pair.as_bytes()).next().unwrap_or_default();
            let secret = self.is_secret_field(&decoded_name)
                || self.is_secret_value(&decoded_value)
                || (decoded_value != value && self.is_secret_value(value));
            if secret && !value.is_empty() {
                out.push_str(LogSafe::new(name).as_str());
                out.push('=');
                out.push_str(REDACTED);
            } else {
                out.push_str(LogSafe::new(pair).as_str());
            }
            if out.len() > MAX_LOGGED_BYTES {
                // Nothing past the cap is shown: stop judging (and hashing) the rest.
                break;
            }
        }
        if out.len() > MAX_LOGGED_BYTES {
            return capped(&out, query.len());
        }
        out
    }

    /// A copy of `value` with the members named like secrets (anywhere in the document)
    /// replaced by `"[redacted]"`; for applications that log request or response bodies.
    ///
    /// # Examples
    /// ```
    /// use secure_api::audit::AuditConfig;
    /// use serde_json::json;
    ///
    /// let audit = AuditConfig::new().redact_field("card_number");
    /// let shown = audit.redact_json(&json!({"user": "ann", "password": "hunter2", "pay": {"card_number": "4111"}}));
    /// assert_eq!(shown, json!({"user": "ann", "password": "[redacted]", "pay": {"card_number": "[redacted]"}}));
    /// ```
    pub fn redact_json(&self, value: &Value) -> Value {
        match value {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(name, member)| {
                        let shown = if self.is_secret_field(name) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.redact_json(member)
                        };
                        (name.clone(), shown)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|item| self.redact_json(item)).collect()),
            other => other.clone(),
        }
    }
}

/// `text` (already escaped) cut at [`MAX_LOGGED_BYTES`] at a character boundary, with the
/// marker naming the length of the value it came from.
fn capped(text: &str, original_len: usize) -> String {
    let mut end = MAX_LOGGED_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(truncated, {original_len} bytes)", text.get(..end).unwrap_or_default())
}

/// A name as compared with the secret names: lower case, letters and digits only.
fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Whether `value`, or a word of it (`Bearer eyJ...`), is shaped like a compact JWS or JWE:
/// three or five base64url segments separated by dots (the last may be empty: `alg: none`),
/// the first decoding to a JSON object.
fn looks_like_jwt(value: &str) -> bool {
    value.split(|c: char| c.is_ascii_whitespace() || c == ',').any(|word| {
        // Most words of a logged value have another number of dots: nothing else to look at.
        let dots = word.bytes().filter(|&byte| byte == b'.').count();
        if dots != 2 && dots != 4 {
            return false;
        }
        let base64url =
            |segment: &str| segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
        let mut segments = word.split('.');
        let header = segments.next().unwrap_or_default();
        // Eight characters decode to the six bytes that show a JSON object's start.
        let start = header.get(..header.len().min(8)).unwrap_or_default().trim_end_matches('=');
        let start = if start.len() % 4 == 1 { start.get(..start.len() - 1).unwrap_or_default() } else { start };
        !header.is_empty()
            && word.split('.').all(base64url)
            && LENIENT_BASE64URL
                .decode(start)
                .is_ok_and(|bytes| bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_always_redacted() {
        let audit = AuditConfig::new()
            .log_header("authorization")
            .log_header("cookie")
            .log_header("x-api-key")
            .log_header("x-custom-key")
            .log_header("user-agent")
            .redact_header(HeaderName::from_static("x-custom-key"));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Basic ZGVtbzpzZWNyZXQ=".parse().unwrap());
        headers.insert("cookie", "session=abc".parse().unwrap());
        headers.insert("x-api-key", "k-123".parse().unwrap());
        headers.insert("x-custom-key", "c-456".parse().unwrap());
        headers.insert("user-agent", "agent/1".parse().unwrap());
        let shown = audit.redact_headers(&headers);
        assert_eq!(
            shown,
            "authorization=[redacted] cookie=[redacted] x-api-key=[redacted] x-custom-key=[redacted] user-agent=agent/1"
        );
    }

    #[test]
    fn secret_query_fields_are_redacted_case_insensitively_and_encoded_names_too() {
        let audit = AuditConfig::new().log_query().redact_field("SSN");
        assert_eq!(
            audit.redact_query("a=1&Access_Token=xyz&ssn=123&pass%77ord=p&flag"),
            "a=1&Access_Token=[redacted]&ssn=[redacted]&pass%77ord=[redacted]&flag"
        );
    }

    const KEY: &str = "rk-0123456789abcdef0123456789abcdef";
    /// A JWT's shape (the header is `{"alg":"HS256","typ":"JWT"}`); the signature is not checked.
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

    fn keyed() -> AuditConfig {
        AuditConfig::new()
            .log_query()
            .redact_header(HeaderName::from_static("x-report-key"))
            .redact_api_keys("ApiKeys".to_owned(), |value| value == KEY.as_bytes())
    }

    #[test]
    fn query_names_are_compared_normalized() {
        let audit = keyed();
        for name in [
            "x-api-key",
            "X_API_KEY",
            "api-key",
            "apiKey",
            "key",
            "accessToken",
            "access_token",
            "jwt",
            "id_token",
            "client_secret",
            "Password",
            "passwd",
            "signature",
            "X-Amz-Signature",
            "sig",
            "session",
            "sessionId",
            "code",
            "device_code",
            "auth",
            "x-report-key",
            "xReportKey",
            "credentials",
        ] {
            assert_eq!(
                audit.redact_query(&format!("{name}=s3cr3t&page=2")),
                format!("{name}=[redacted]&page=2"),
                "{name}"
            );
        }
        for name in ["page", "sort", "q", "author", "name", "limit"] {
            assert_eq!(audit.redact_query(&format!("{name}=v")), format!("{name}=v"), "{name}");
        }
    }

    #[test]
    fn jwts_and_api_keys_are_redacted_whatever_their_name() {
        let audit = keyed();
        assert_eq!(audit.redact_query(&format!("q={JWT}&next=1")), "q=[redacted]&next=1");
        assert_eq!(audit.redact_query(&format!("q=Bearer%20{JWT}")), "q=[redacted]");
        assert_eq!(audit.redact_query(&format!("q={JWT}.YWJj.ZGVm")), "q=[redacted]", "a JWE's five segments");
        assert_eq!(audit.redact_query("q=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."), "q=[redacted]", "alg none");
        assert_eq!(audit.redact_query(&format!("q={KEY}")), "q=[redacted]");
        assert_eq!(
            audit.redact_query("q=rk-0123456789abcdef0123456789abcdef%20"),
            "q=[redacted]",
            "decoded and trimmed"
        );
        // Look-alikes stay: dotted words that are not base64url JSON, another 32-character value.
        assert_eq!(
            audit.redact_query("v=1.2.3&host=a.b.c&other=rk-0123456789abcdef0123456789abcdeX"),
            "v=1.2.3&host=a.b.c&other=rk-0123456789abcdef0123456789abcdeX"
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-trace", JWT.parse().unwrap());
        headers.insert("user-agent", KEY.parse().unwrap());
        let audit = keyed().log_header("x-trace").log_header("user-agent");
        assert_eq!(audit.redact_headers(&headers), "x-trace=[redacted] user-agent=[redacted]");
    }

    #[test]
    fn logged_values_are_escaped_and_capped() {
        let audit = AuditConfig::new().log_query().log_header("user-agent");
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", http::HeaderValue::from_bytes(b"agent\t\xe2\x80\xa8\xc2\x85x").unwrap());
        assert_eq!(audit.redact_headers(&headers), "user-agent=agent\\t\\u{2028}\\u{85}x");
        assert_eq!(audit.redact_query("q=a\u{2028}b\u{9b}"), "q=a\\u{2028}b\\u{9b}");

        headers.insert("user-agent", "u".repeat(16 * 1024).parse().unwrap());
        let shown = audit.redact_headers(&headers);
        let kept = MAX_LOGGED_BYTES - "user-agent=".len();
        assert_eq!(shown, format!("user-agent={}…(truncated, 16384 bytes)", "u".repeat(kept)));
        let query = format!("a={}&access_token=zzz", "q".repeat(8 * 1024));
        let shown = audit.redact_query(&query);
        assert!(shown.len() <= MAX_LOGGED_BYTES + 32, "{}", shown.len());
        assert!(shown.ends_with(&format!("…(truncated, {} bytes)", query.len())), "{shown}");
        assert!(!shown.contains("zzz"));
        // A repeated header is capped as a whole.
        let mut headers = HeaderMap::new();
        for _ in 0..50 {
            headers.append("user-agent", "v".repeat(1000).parse().unwrap());
        }
        let shown = audit.redact_headers(&headers);
        assert!(shown.len() <= MAX_LOGGED_BYTES + 32, "{}", shown.len());
        assert!(shown.starts_with("user-agent=vvv") && shown.ends_with("…(truncated, 50000 bytes)"), "{shown}");
        // A secret past the cap is never shown, and one before it is redacted.
        let query = format!("access_token=zzz&a={}", "q".repeat(8 * 1024));
        assert!(audit.redact_query(&query).starts_with("access_token=[redacted]&a=qqq"));
    }
}
