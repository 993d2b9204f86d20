//! Threat detection: inspects the path, the query, selected headers and JSON string values for
//! SQL injection, cross-site scripting, path traversal, command injection and CRLF / header
//! injection.
//!
//! Each input is bounded in length, normalised once (repeated percent-decoding, overlong UTF-8,
//! HTML entities and JS escapes, full-width ASCII, case folding, SQL comments, blank runs) and
//! matched against every rule in one pass of a `RegexSet` compiled at start-up; the regex crate
//! runs in time linear in the input. The rules need the *shape* of an attack (a quote closing
//! a string before `or 1=1`, a shell separator before `cat /etc/passwd`), so ordinary text with
//! "select", "drop", "union", "script", "or 1" or an apostrophe passes. The corpora in
//! `threat/corpus/` measure that: see the crate README for the current rates.
//!
//! Modes: [`ThreatMode::Block`] answers 403 problem+json with the rule id in a `rule` member
//! and the outcome `denied:threat:<rule>`; [`ThreatMode::LogOnly`] lets the request through
//! and logs the finding (rule and location, never the input, which may hold secrets).
//!
//! Enable it app-wide with [`SecurityBuilder::threat_detection`](crate::SecurityBuilder::threat_detection);
//! a route opts out with `#[secure(..., threat = false)]`. Request bodies are scanned by the
//! body extractor through [`check_json`].

mod normalize;
mod rules;

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderName, StatusCode};
use regex::bytes::{RegexSet, RegexSetBuilder};
use serde_json::Value;

use crate::audit::Outcome;
use crate::config::ConfigError;
use crate::context::RequestContext;
use crate::problem::Problem;
use crate::state::Security;

pub use rules::ThreatFamily;
use rules::{BODY, HEADER, OVERSIZED, PATH, QUERY, RULES, Rule};

/// What the detector does with a finding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreatMode {
    /// Reject the request: 403 problem+json, outcome `denied:threat:<rule>`.
    #[default]
    Block,
    /// Let the request through; log the finding and note the rule in the audit line.
    LogOnly,
}

/// Where a finding was made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The URL path.
    Path,
    /// A query parameter's name or value (the parameter name is given).
    Query(String),
    /// A request header.
    Header(HeaderName),
    /// A JSON body value, as an RFC 6901 JSON pointer (`/items/0/name`).
    Body(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path => f.write_str("path"),
            Self::Query(name) => write!(f, "query:{name}"),
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Body(pointer) => write!(f, "body:{pointer}"),
        }
    }
}

/// A rule that matched an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    rule: &'static Rule,
    location: Location,
}

impl Finding {
    /// The rule's stable id, e.g. `sqli-tautology`.
    pub fn rule(&self) -> &'static str {
        self.rule.id
    }

    /// The attack class.
    pub fn family(&self) -> ThreatFamily {
        self.rule.family
    }

    /// Where the input was.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The audit outcome, `denied:threat:<rule>`.
    pub fn outcome(&self) -> Outcome {
        Outcome::new(self.rule.outcome)
    }

    /// The 403 problem for this finding, with the rule id in the `rule` member. The input is
    /// not echoed.
    pub fn problem(&self) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "threat-detected", "Forbidden")
            .with_detail("The request was rejected by a security rule.")
            .with_extension("rule", self.rule.id)
            .with_outcome(self.outcome())
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// Headers inspected by default: the ones clients fill with free text that applications log
/// or reflect. Credentials (`Authorization`, `Cookie`, `X-API-Key`) are not scanned.
pub const DEFAULT_SCANNED_HEADERS: [&str; 4] = ["user-agent", "referer", "origin", "x-forwarded-host"];
/// Default bound on one input, in bytes; a longer input is itself a finding (`input-too-long`).
pub const DEFAULT_MAX_INPUT_BYTES: usize = 16 * 1024;
/// JSON nesting deeper than this is a finding rather than a deeper walk.
const MAX_JSON_DEPTH: usize = 64;

/// The compiled rule set and its settings; cheap to clone (shared).
///
/// # Examples
/// ```
/// use secure_api::threat::{ThreatDetector, ThreatMode};
///
/// let detector = ThreatDetector::new(ThreatMode::Block)?;
/// let uri: http::Uri = "/api/items?q=1%27%20OR%20%271%27%3D%271".parse().unwrap();
/// assert_eq!(detector.scan_uri(&uri).unwrap().rule(), "sqli-tautology");
/// assert!(detector.scan_uri(&"/api/items?q=O%27Brien&sort=price".parse().unwrap()).is_none());
///
/// let body = serde_json::json!({"name": "<script>alert(1)</script>", "price": 5});
/// assert_eq!(detector.scan_json(&body).unwrap().location().to_string(), "body:/name");
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ThreatDetector {
    inner: Arc<Inner>,
}

struct Inner {
    set: RegexSet,
    mode: ThreatMode,
    max_input_bytes: usize,
    headers: Vec<HeaderName>,
}

impl fmt::Debug for ThreatDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreatDetector")
            .field("mode", &self.inner.mode)
            .field("rules", &RULES.len())
            .field("max_input_bytes", &self.inner.max_input_bytes)
            .field("headers", &self.inner.headers)
            .finish()
    }
}

/// Builds a [`ThreatDetector`]; see [`ThreatDetector::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ThreatDetectorBuilder {
    mode: ThreatMode,
    max_input_bytes: usize,
    headers: Vec<HeaderName>,
}

impl ThreatDetectorBuilder {
    /// Block (default) or log only.
    pub fn mode(mut self, mode: ThreatMode) -> Self {
        self.mode = mode;
        self
    }

    /// The longest input read; longer inputs are findings (`input-too-long`). Default 16 KiB.
    pub fn max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = bytes;
        self
    }

    /// Also inspects this header.
    pub fn scan_header(mut self, name: HeaderName) -> Self {
        if !self.headers.contains(&name) {
            self.headers.push(name);
        }
        self
    }

    /// Inspects no header at all (only path, query and bodies).
    pub fn no_headers(mut self) -> Self {
        self.headers.clear();
        self
    }

    /// Compiles the rules (once; clones share them).
    pub fn build(self) -> Result<ThreatDetector, ConfigError> {
        let set = RegexSetBuilder::new(RULES.iter().map(|rule| rule.pattern))
            // ASCII classes over bytes: the normalised text is matched byte-wise, and `\w`,
            // `\s`, `\b` mean their ASCII selves, which keeps the automaton small.
            .unicode(false)
            .size_limit(32 * 1024 * 1024)
            .build()
            .map_err(|error| ConfigError::new(format!("threat detection rules do not compile: {error}")))?;
        Ok(ThreatDetector {
            inner: Arc::new(Inner {
                set,
                mode: self.mode,
                max_input_bytes: self.max_input_bytes,
                headers: self.headers,
            }),
        })
    }
}

impl ThreatDetector {
    /// A detector with the default settings in `mode`.
    pub fn new(mode: ThreatMode) -> Result<Self, ConfigError> {
        Self::builder().mode(mode).build()
    }

    /// Starts a configuration: block mode, 16 KiB inputs, the [`DEFAULT_SCANNED_HEADERS`].
    pub fn builder() -> ThreatDetectorBuilder {
        ThreatDetectorBuilder {
            mode: ThreatMode::Block,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            headers: DEFAULT_SCANNED_HEADERS.iter().map(|name| HeaderName::from_static(name)).collect(),
        }
    }

    /// Block or log only.
    pub fn mode(&self) -> ThreatMode {
        self.inner.mode
    }

    /// The ids of every rule, in reporting order.
    pub fn rule_ids() -> impl Iterator<Item = &'static str> {
        RULES.iter().map(|rule| rule.id).chain(std::iter::once(OVERSIZED.id))
    }

    /// Scans one input as found at `location` (text as received, still percent-encoded or not).
    ///
    /// # Examples
    /// ```
    /// use secure_api::threat::{Location, ThreatDetector, ThreatMode};
    ///
    /// let detector = ThreatDetector::new(ThreatMode::Block)?;
    /// let finding = detector.scan_str("..%252f..%252fetc%252fpasswd", Location::Path).unwrap();
    /// assert_eq!(finding.rule(), "traversal-dot-dot");
    /// assert!(detector.scan_str("Let's drop by the union hall and select a table", Location::Body("/note".into())).is_none());
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
    pub fn scan_str(&self, input: &str, location: Location) -> Option<Finding> {
        let (mask, plus_is_space) = match location {
            Location::Path => (PATH, false),
            Location::Query(_) => (QUERY, true),
            Location::Header(_) => (HEADER, false),
            Location::Body(_) => (BODY, false),
        };
        self.scan_bounded(input, mask, plus_is_space).map(|rule| Finding { rule, location })
    }

    fn scan_bounded(&self, input: &str, mask: u8, plus_is_space: bool) -> Option<&'static Rule> {
        if input.len() > self.inner.max_input_bytes {
            return Some(&OVERSIZED);
        }
        // Plain words, digits and spaces can match no rule shape that needs punctuation, but
        // `union select` and `information_schema` need none: always run the set.
        let normalized = normalize::normalize(input, plus_is_space);
        self.inner
            .set
            .matches(normalized.as_bytes())
            .iter()
            .filter_map(|index| RULES.get(index))
            .find(|rule| rule.locations & mask != 0)
    }

    /// Scans the path and every query parameter (name and value, decoded separately so one
    /// parameter's `&` is never read as a shell operator in another).
    pub fn scan_uri(&self, uri: &http::Uri) -> Option<Finding> {
        if let Some(finding) = self.scan_str(uri.path(), Location::Path) {
            return Some(finding);
        }
        let query = uri.query()?;
        if query.len() > self.inner.max_input_bytes {
            return Some(Finding { rule: &OVERSIZED, location: Location::Query(String::new()) });
        }
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(rule) = self.scan_bounded(name, QUERY, true).or_else(|| self.scan_bounded(value, QUERY, true)) {
                let shown = normalize::normalize(name, true);
                // The parameter name goes to the log; keep it short and printable.
                let shown: String = shown.chars().filter(|c| !c.is_control()).take(64).collect();
                return Some(Finding { rule, location: Location::Query(shown) });
            }
        }
        None
    }

    /// Scans the configured headers (every value of each).
    pub fn scan_headers(&self, headers: &HeaderMap) -> Option<Finding> {
        for name in &self.inner.headers {
            for value in headers.get_all(name) {
                // A header value that is not visible ASCII/UTF-8 is read lossily: the bytes
                // still reach whatever logs or reflects it.
                let text = String::from_utf8_lossy(value.as_bytes());
                if let Some(rule) = self.scan_bounded(&text, HEADER, false) {
                    return Some(Finding { rule, location: Location::Header(name.clone()) });
                }
            }
        }
        None
    }

    /// Scans a request's path, query and configured headers.
    pub fn scan_request(&self, parts: &Parts) -> Option<Finding> {
        self.scan_uri(&parts.uri).or_else(|| self.scan_headers(&parts.headers))
    }

    /// Scans every string of a JSON document, object keys included, depth first. Nesting
    /// deeper than 64 levels is a finding (`input-too-long`) rather than a deeper walk.
    pub fn scan_json(&self, value: &Value) -> Option<Finding> {
        let mut path: Vec<String> = Vec::new();
        self.walk_json(value, &mut path)
    }

    fn walk_json(&self, value: &Value, path: &mut Vec<String>) -> Option<Finding> {
        if path.len() > MAX_JSON_DEPTH {
            return Some(Finding { rule: &OVERSIZED, location: Location::Body(json_pointer(path)) });
        }
        match value {
            Value::String(text) => self
                .scan_bounded(text, BODY, false)
                .map(|rule| Finding { rule, location: Location::Body(json_pointer(path)) }),
            Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                path.push(index.to_string());
                let found = self.walk_json(item, path);
                path.pop();
                found
            }),
            Value::Object(members) => members.iter().find_map(|(key, item)| {
                path.push(key.clone());
                let found = match self.scan_bounded(key, BODY, false) {
                    Some(rule) => Some(Finding { rule, location: Location::Body(json_pointer(path)) }),
                    None => self.walk_json(item, path),
                };
                path.pop();
                found
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => None,
        }
    }

    /// Applies the mode to a finding: `Err(problem)` to block, `Ok` (after logging) otherwise.
    pub(crate) fn enforce(&self, finding: Option<Finding>, context: Option<&RequestContext>) -> Result<(), Problem> {
        let Some(finding) = finding else {
            return Ok(());
        };
        let location = finding.location().to_string();
        match self.inner.mode {
            ThreatMode::Block => {
                tracing::warn!(
                    target: "secure_api::threat",
                    rule = finding.rule(),
                    family = finding.family().as_str(),
                    location = crate::audit::LogSafe::new(&location).as_str(),
                    action = "blocked",
                    "request matched a threat rule"
                );
                Err(finding.problem())
            }
            ThreatMode::LogOnly => {
                tracing::warn!(
                    target: "secure_api::threat",
                    rule = finding.rule(),
                    family = finding.family().as_str(),
                    location = crate::audit::LogSafe::new(&location).as_str(),
                    action = "logged",
                    "request matched a threat rule"
                );
                if let Some(context) = context {
                    context.set_threat_rule(finding.rule());
                }
                Ok(())
            }
        }
    }
}

/// `/a/0/b`, with `~` and `/` escaped as RFC 6901 says.
fn json_pointer(path: &[String]) -> String {
    let mut pointer = String::new();
    for segment in path {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    pointer
}

/// Scans a parsed JSON body with the app's detector and applies its mode: `Err` with the 403
/// problem in block mode, `Ok` after logging in log-only mode, `Ok` when the app has no
/// detector. Body extractors call it after parsing and before validation; a route that opted
/// out (`threat = false`, see [`RoutePolicy::threat_detection`](crate::RoutePolicy::threat_detection))
/// should skip it.
///
/// # Examples
/// ```
/// use secure_api::{Security, threat::{self, ThreatDetector, ThreatMode}};
/// use serde_json::json;
///
/// let security = Security::builder().threat_detection(ThreatDetector::new(ThreatMode::Block)?).build();
/// assert!(threat::check_json(&security, &json!({"name": "Crème brûlée", "price": 7.5})).is_ok());
/// let problem = threat::check_json(&security, &json!({"name": "x' OR '1'='1"})).unwrap_err();
/// assert_eq!(problem.status(), 403);
/// assert_eq!(problem.body()["rule"], "sqli-tautology");
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
pub fn check_json(security: &Security, value: &Value) -> Result<(), Problem> {
    match security.threat_detector() {
        Some(detector) => detector.enforce(detector.scan_json(value), None),
        None => Ok(()),
    }
}

/// Step 2 for one routed request: path, query and headers, in the app's mode.
pub(crate) fn check_request(detector: &ThreatDetector, parts: &Parts) -> Result<(), Problem> {
    detector.enforce(detector.scan_request(parts), RequestContext::of(parts))
}

#[cfg(test)]
mod tests;
