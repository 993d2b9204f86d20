//! What the audit line may show of a request besides its path: selected headers and the query
//! string, with credentials and configured fields replaced by `[redacted]`. Bodies are never
//! logged (the token endpoint's body holds client secrets).

use http::{HeaderMap, HeaderName};
use serde_json::Value;

use crate::audit::AuditLog;

/// The text that replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Headers whose values are always redacted, whatever the configuration says.
const SECRET_HEADERS: [&str; 6] =
    ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-amz-security-token"];

/// Query, form and JSON field names whose values are always redacted (compared without case).
const SECRET_FIELDS: [&str; 16] = [
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "code",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "key",
    "authorization",
    "session",
];

/// Audit line options: which request headers to show, whether to show the query string, and
/// which extra field names to redact.
///
/// By default the audit line shows neither headers nor the query (`"-"`). Whatever is shown,
/// `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-API-Key`, the configured
/// API-key header, and fields such as `access_token`, `client_secret`, `password` are redacted.
///
/// # Examples
/// ```
/// use secure_api::AuditConfig;
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
    log: Option<AuditLog>,
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
    /// use secure_api::{AuditConfig, audit::AuditLog};
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

    /// Also redacts query parameters, form fields and JSON members with this name.
    pub fn redact_field(mut self, name: &str) -> Self {
        self.fields.push(name.to_ascii_lowercase());
        self
    }

    /// Also redacts this header (the app's API-key header is added automatically).
    pub fn redact_header(mut self, name: HeaderName) -> Self {
        self.extra_secret_headers.push(name);
        self
    }

    pub(crate) fn logs_headers(&self) -> bool {
        !self.headers.is_empty()
    }

    pub(crate) fn logs_query(&self) -> bool {
        self.query
    }

    fn is_secret_header(&self, name: &HeaderName) -> bool {
        SECRET_HEADERS.contains(&name.as_str()) || self.extra_secret_headers.contains(name)
    }

    fn is_secret_field(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        SECRET_FIELDS.contains(&name.as_str()) || self.fields.contains(&name)
    }

    /// The configured headers as `name=value` pairs separated by spaces; credentials redacted,
    /// non-printable bytes dropped (no line can be forged into the log).
    pub fn redact_headers(&self, headers: &HeaderMap) -> String {
        let mut out = Vec::new();
        for name in &self.headers {
            for value in headers.get_all(name) {
                let shown = if self.is_secret_header(name) {
                    REDACTED.to_owned()
                } else {
                    printable(&String::from_utf8_lossy(value.as_bytes()))
                };
                out.push(format!("{name}={shown}"));
            }
        }
        out.join(" ")
    }

    /// The query with the values of secret parameters redacted (names kept, encoding kept).
    pub fn redact_query(&self, query: &str) -> String {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded_name: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("{name}="))
                    .ok()
                    .and_then(|pairs| pairs.into_iter().next())
                    .map(|(name, _)| name)
                    .unwrap_or_else(|| name.to_owned());
                if self.is_secret_field(&decoded_name) && !value.is_empty() {
                    format!("{}={REDACTED}", printable(name))
                } else if pair.contains('=') {
                    format!("{}={}", printable(name), printable(value))
                } else {
                    printable(name)
                }
            })
            .collect();
        pairs.join("&")
    }

    /// A copy of `value` with the members named like secrets (anywhere in the document)
    /// replaced by `"[redacted]"`; for applications that log request or response bodies.
    ///
    /// # Examples
    /// ```
    /// use secure_api::AuditConfig;
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

/// Drops control characters so a value can never break a log line.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
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
}
