//! Threat detection: inspects the path, the query, selected headers and JSON string values for
//! SQL injection, cross-site scripting, path traversal, command injection, LDAP filter injection
//! and CRLF / header injection, with the confidence model of OWASP CRS.
//!
//! Each input is bounded in length and normalised once as browsers and servers would read it
//! (repeated percent-decoding, overlong UTF-8, HTML character references with any number of
//! leading zeros and the legacy ones without `;`, JS escapes, full-width ASCII, case folding,
//! SQL comments, blank runs). Then three engines look at it:
//! - libinjection's SQL and HTML5 tokenizers (`tokenize.rs`), which recognise an injection by
//!   the shape of its tokens, not by keywords;
//! - context-aware regex rules (`rules/`), one `RegexSet` pass in time linear in the input:
//!   a lone `&` or `|` between words is text, a shell metacharacter followed by a command-like
//!   token is not; they run once more on the input's *shell view*, where quotes and
//!   backslashes inside words are gone, as the shell removes them (`;w'h'o'a'm'i`);
//! - an anomaly score (`score.rs`): each matching rule adds its severity (critical 5, error 4,
//!   warning 3, notice 2), and the input is refused only when its score reaches the threshold
//!   (default 5: one critical rule). Rules run up to the detector's [`ParanoiaLevel`] (default 1).
//!
//! Evidence below the threshold is logged (`secure_api::threat`, action `scored`) and its rule
//! written to the audit line's `threat` field; it never refuses a request. So ordinary text that
//! looks a little like code ("Confirm (2)", "x' or") is served and visible to the operator. See the crate README for the measured rates on outside corpora.
//!
//! Modes: [`ThreatMode::Block`] answers 403 problem+json with the rule id in a `rule` member
//! and the outcome `denied:threat:<rule>`; [`ThreatMode::LogOnly`] lets the request through
//! and logs the finding (rule and location, never the input, which may hold secrets).
//!
//! Enable it app-wide with [`SecurityBuilder::threat_detection`](crate::SecurityBuilder::threat_detection);
//! a route opts out with `#[secure(..., threat = false)]`, or exempts one field from some rule
//! families with `#[secure(..., threat(exempt(xss = ["body.description"])))]` (see
//! [`FieldExemption`]). Request bodies are scanned by the body extractor through [`check_json`].

mod exempt;
mod memory;
mod normalize;
mod rules;
mod score;
mod tokenize;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderName, StatusCode};
use regex::bytes::{RegexSet, RegexSetBuilder};
use serde_json::Value;

use crate::audit::Outcome;
use crate::config::ConfigError;
use crate::context::RequestContext;
use crate::problem::Problem;

use exempt::FamilySet;
pub use exempt::FieldExemption;
use memory::{Memory, ScanContext};
pub use rules::ThreatFamily;
use rules::{BODY, HEADER, OVERSIZED, PATH, QUERY, Rule};
use score::Score;
pub use score::{DEFAULT_BLOCK_THRESHOLD, ParanoiaLevel, Severity};

/// What the detector does with a finding that reaches the threshold.
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

/// The evidence found in one input: the most severe rule that matched, the input's anomaly
/// score, and whether that score reaches the detector's threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    rule: &'static Rule,
    location: Location,
    score: u16,
    blocks: bool,
}

impl Finding {
    /// The stable id of the most severe rule that matched, e.g. `sqli-libinjection`.
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

    /// The input's anomaly score: the sum of the severities of every rule that matched it.
    pub fn score(&self) -> u16 {
        self.score
    }

    /// Whether the score reaches the detector's threshold: a block in [`ThreatMode::Block`].
    /// Below it, the finding is only logged.
    pub fn blocks(&self) -> bool {
        self.blocks
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

    /// Keeps the stronger of two findings: a blocking one over one that is not, then the higher
    /// score; on a tie, the first.
    fn stronger(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if (other.blocks, other.score) > (self.blocks, self.score) => other,
            _ => self,
        }
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
/// let finding = detector.scan_uri(&uri).unwrap();
/// assert!(finding.blocks());
/// assert_eq!(finding.rule(), "sqli-tautology");
/// assert!(detector.scan_uri(&"/api/items?q=O%27Brien&sort=price".parse().unwrap()).is_none());
///
/// let body = serde_json::json!({"name": "<script>alert(1)</script>", "price": 5});
/// assert_eq!(detector.scan_json(&body).unwrap().location().to_string(), "body:/name");
///
/// // Text that might be a call is evidence below the threshold, not a block.
/// let weak = detector.scan_json(&serde_json::json!({"label": "Confirm (2)"})).unwrap();
/// assert_eq!((weak.rule(), weak.score(), weak.blocks()), ("xss-spaced-sink", 3, false));
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ThreatDetector {
    inner: Arc<Inner>,
}

struct Inner {
    set: RegexSet,
    /// The rule of each pattern in `set`, by index.
    rules: Vec<&'static Rule>,
    mode: ThreatMode,
    paranoia: ParanoiaLevel,
    threshold: u16,
    max_input_bytes: usize,
    headers: Vec<HeaderName>,
    /// The scores of paths, query parameters and header values seen before.
    memory: Memory,
}

impl fmt::Debug for ThreatDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreatDetector")
            .field("mode", &self.inner.mode)
            .field("paranoia", &self.inner.paranoia.get())
            .field("threshold", &self.inner.threshold)
            .field("rules", &self.inner.rules.len())
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
    paranoia: ParanoiaLevel,
    threshold: u16,
    max_input_bytes: usize,
    headers: Vec<HeaderName>,
}

impl ThreatDetectorBuilder {
    /// Block (default) or log only.
    pub fn mode(mut self, mode: ThreatMode) -> Self {
        self.mode = mode;
        self
    }

    /// Which rules run (default level 1: the rules ordinary text does not trigger).
    pub fn paranoia_level(mut self, level: ParanoiaLevel) -> Self {
        self.paranoia = level;
        self
    }

    /// The anomaly score at which an input is refused (default [`DEFAULT_BLOCK_THRESHOLD`], 5:
    /// one critical rule). A lower value also refuses warnings (3); a higher one needs several
    /// rules to agree. Values below 1 are read as 1. An input longer than
    /// [`max_input_bytes`](Self::max_input_bytes) (or JSON nested deeper than 64 levels) is
    /// refused whatever the threshold: it was not read.
    ///
    /// # Examples
    /// ```
    /// use secure_api::threat::{ThreatDetector, Location};
    ///
    /// let strict = ThreatDetector::builder().block_threshold(3).build()?;
    /// assert!(strict.scan_str("Confirm (2)", Location::Body("/label".into())).unwrap().blocks());
    ///
    /// let lenient = ThreatDetector::builder().block_threshold(10).max_input_bytes(64).build()?;
    /// assert!(!lenient.scan_str("Confirm (2)", Location::Body("/label".into())).unwrap().blocks());
    /// assert!(lenient.scan_str(&"a".repeat(65), Location::Body("/label".into())).unwrap().blocks());
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
    pub fn block_threshold(mut self, points: u16) -> Self {
        self.threshold = points.max(1);
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

    /// Compiles the rules of the paranoia level (once; clones share them).
    pub fn build(self) -> Result<ThreatDetector, ConfigError> {
        let rules: Vec<&'static Rule> =
            rules::regex_rules().filter(|rule| rule.paranoia <= self.paranoia.get()).collect();
        let set = RegexSetBuilder::new(rules.iter().map(|rule| rule.pattern))
            // ASCII classes over bytes: the normalised text is matched byte-wise, and `\w`,
            // `\s`, `\b` mean their ASCII selves, which keeps the automaton small.
            .unicode(false)
            .size_limit(32 * 1024 * 1024)
            .build()
            .map_err(|error| ConfigError::new(format!("threat detection rules do not compile: {error}")))?;
        Ok(ThreatDetector {
            inner: Arc::new(Inner {
                set,
                rules,
                mode: self.mode,
                paranoia: self.paranoia,
                threshold: self.threshold,
                max_input_bytes: self.max_input_bytes,
                headers: self.headers,
                memory: Memory::new(),
            }),
        })
    }
}

impl ThreatDetector {
    /// A detector with the default settings in `mode`.
    pub fn new(mode: ThreatMode) -> Result<Self, ConfigError> {
        Self::builder().mode(mode).build()
    }

    /// Starts a configuration: block mode, paranoia level 1, threshold 5, 16 KiB inputs, the
    /// [`DEFAULT_SCANNED_HEADERS`].
    pub fn builder() -> ThreatDetectorBuilder {
        ThreatDetectorBuilder {
            mode: ThreatMode::Block,
            paranoia: ParanoiaLevel::DEFAULT,
            threshold: DEFAULT_BLOCK_THRESHOLD,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            headers: DEFAULT_SCANNED_HEADERS.iter().map(|name| HeaderName::from_static(name)).collect(),
        }
    }

    /// Block or log only.
    pub fn mode(&self) -> ThreatMode {
        self.inner.mode
    }

    /// The paranoia level the rules were chosen for.
    pub fn paranoia_level(&self) -> ParanoiaLevel {
        self.inner.paranoia
    }

    /// The anomaly score at which an input is refused.
    pub fn block_threshold(&self) -> u16 {
        self.inner.threshold
    }

    /// The ids of every rule, in reporting order.
    pub fn rule_ids() -> impl Iterator<Item = &'static str> {
        rules::all_rules().map(|rule| rule.id)
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
    /// assert!(detector.scan_str("Photo & ID", Location::Body("/name".into())).is_none());
    /// assert!(detector.scan_str(";w'h'o'a'm'i", Location::Query("q".into())).unwrap().blocks());
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
    pub fn scan_str(&self, input: &str, location: Location) -> Option<Finding> {
        self.scan_str_except(input, location, FamilySet::EMPTY)
    }

    fn scan_str_except(&self, input: &str, location: Location, exempt: FamilySet) -> Option<Finding> {
        let (mask, plus_is_space) = match location {
            Location::Path => (PATH, false),
            Location::Query(_) => (QUERY, true),
            Location::Header(_) => (HEADER, false),
            Location::Body(_) => (BODY, false),
        };
        let score = self.assess(input, mask, plus_is_space, exempt);
        self.finding(score, location)
    }

    fn finding(&self, score: Score, location: Location) -> Option<Finding> {
        let rule = score.top()?;
        // An input too long (or a body nested too deep) to read was not inspected at all: it
        // blocks whatever the threshold, or padding a payload would be a way past every rule
        // for an app that raised the threshold.
        let unread = rule.family == ThreatFamily::Oversized;
        Some(Finding {
            rule,
            location,
            score: score.points(),
            blocks: unread || score.points() >= self.inner.threshold,
        })
    }

    /// The anomaly score of one input: every rule of the paranoia level that matches it, the
    /// tokenizers' verdicts, and the command rules on its shell view, minus exempt families.
    fn assess(&self, input: &str, mask: u8, plus_is_space: bool, exempt: FamilySet) -> Score {
        let mut score = Score::default();
        if input.len() > self.inner.max_input_bytes {
            score.add(&OVERSIZED);
            return score;
        }
        let normalized = normalize::normalize(input, plus_is_space);
        let applies = |rule: &Rule| rule.locations & mask != 0 && !exempt.contains(rule.family);
        let matches = self.inner.set.matches(normalized.as_bytes());
        for index in matches.iter() {
            if let Some(rule) = self.inner.rules.get(index).copied().filter(|rule| applies(rule)) {
                score.add(rule);
            }
        }
        if let Some(view) = normalize::shell_view(&normalized) {
            for index in self.inner.set.matches(view.as_bytes()).iter() {
                if let Some(rule) = self.inner.rules.get(index).copied().filter(|rule| {
                    rule.family == ThreatFamily::CommandInjection && !matches.matched(index) && applies(rule)
                }) {
                    score.add(rule);
                }
            }
        }
        if !exempt.contains(ThreatFamily::SqlInjection)
            && let Some(rule) = tokenize::sql_injection(&normalized)
        {
            score.add(rule);
        }
        if !exempt.contains(ThreatFamily::Xss)
            && let Some(rule) = tokenize::xss(&normalized)
        {
            score.add(rule);
        }
        score
    }

    /// Scans the path and every query parameter (name and value, decoded separately so one
    /// parameter's `&` is never read as a shell operator in another).
    pub fn scan_uri(&self, uri: &http::Uri) -> Option<Finding> {
        self.scan_uri_except(uri, &[], None)
    }

    /// [`scan_uri`](Self::scan_uri) with a route's exemptions, for a request from `client`
    /// (whose scores are remembered; see [`memory`]).
    fn scan_uri_except(
        &self,
        uri: &http::Uri,
        exemptions: &[FieldExemption],
        client: Option<IpAddr>,
    ) -> Option<Finding> {
        let path = self.remembered(client, uri.path(), PATH, false, FamilySet::EMPTY);
        let mut worst = self.finding(path, Location::Path);
        if worst.as_ref().is_some_and(Finding::blocks) {
            return worst;
        }
        let Some(query) = uri.query() else {
            return worst;
        };
        if query.len() > self.inner.max_input_bytes {
            return self.finding(oversized(), Location::Query(String::new()));
        }
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // The parameter as the log and the exemptions name it, made only when needed.
            let location = || {
                // Short and printable: it goes to the log.
                let shown = normalize::normalize(name, true);
                Location::Query(shown.chars().filter(|c| !c.is_control()).take(64).collect())
            };
            let exempt =
                if exemptions.is_empty() { FamilySet::EMPTY } else { FamilySet::for_location(exemptions, &location()) };
            let mut score = self.remembered(client, name, QUERY, true, FamilySet::EMPTY);
            if score.points() < self.inner.threshold {
                let value_score = self.remembered(client, value, QUERY, true, exempt);
                if value_score.points() > score.points() {
                    score = value_score;
                }
            }
            if let Some(finding) = score.top().and_then(|_| self.finding(score, location())) {
                let finding = finding.stronger(worst);
                if finding.blocks() {
                    return Some(finding);
                }
                worst = Some(finding);
            }
        }
        worst
    }

    /// Scans the configured headers (every value of each).
    pub fn scan_headers(&self, headers: &HeaderMap) -> Option<Finding> {
        self.scan_headers_from(headers, None)
    }

    /// [`scan_headers`](Self::scan_headers) for a request from `client`.
    fn scan_headers_from(&self, headers: &HeaderMap, client: Option<IpAddr>) -> Option<Finding> {
        let mut worst: Option<Finding> = None;
        for name in &self.inner.headers {
            for value in headers.get_all(name) {
                // A value that is not visible ASCII/UTF-8 is read lossily: the bytes still
                // reach whatever logs or reflects it. (Lossy conversion of valid text borrows.)
                let text = String::from_utf8_lossy(value.as_bytes());
                let score = self.remembered(client, &text, HEADER, false, FamilySet::EMPTY);
                if let Some(finding) = self.finding(score, Location::Header(name.clone())) {
                    let finding = finding.stronger(worst);
                    if finding.blocks() {
                        return Some(finding);
                    }
                    worst = Some(finding);
                }
            }
        }
        worst
    }

    /// [`assess`](Self::assess), remembered per client for inputs it sends again (see
    /// [`memory`]); without a client (the public `scan_*` methods), scanned.
    fn remembered(
        &self,
        client: Option<IpAddr>,
        input: &str,
        mask: u8,
        plus_is_space: bool,
        exempt: FamilySet,
    ) -> Score {
        let scan = || self.assess(input, mask, plus_is_space, exempt);
        match client {
            Some(client) => {
                let context = ScanContext { client, mask, plus_is_space, exempt };
                self.inner.memory.score(context, input.as_bytes(), scan)
            }
            None => scan(),
        }
    }

    /// Scans a request's path, query and configured headers. A finding that blocks is returned
    /// as soon as it is found; otherwise the strongest evidence below the threshold, if any.
    pub fn scan_request(&self, parts: &Parts) -> Option<Finding> {
        self.scan_request_except(parts, &[], None)
    }

    fn scan_request_except(
        &self,
        parts: &Parts,
        exemptions: &[FieldExemption],
        client: Option<IpAddr>,
    ) -> Option<Finding> {
        let uri = self.scan_uri_except(&parts.uri, exemptions, client);
        if uri.as_ref().is_some_and(Finding::blocks) {
            return uri;
        }
        match self.scan_headers_from(&parts.headers, client) {
            Some(finding) => Some(finding.stronger(uri)),
            None => uri,
        }
    }

    /// Scans every string of a JSON document, object keys included, depth first. Nesting
    /// deeper than 64 levels is a finding (`input-too-long`) rather than a deeper walk.
    pub fn scan_json(&self, value: &Value) -> Option<Finding> {
        self.scan_json_except(value, &[])
    }

    /// [`scan_json`](Self::scan_json) with a route's field exemptions applied.
    ///
    /// # Examples
    /// ```
    /// use secure_api::threat::{FieldExemption, ThreatDetector, ThreatFamily, ThreatMode};
    ///
    /// let detector = ThreatDetector::new(ThreatMode::Block)?;
    /// let rich_text = [FieldExemption::new("body.description", &[ThreatFamily::Xss])];
    /// let body = serde_json::json!({"name": "Boots", "description": "<p onclick=\"buy()\">Buy</p>"});
    /// assert!(detector.scan_json(&body).unwrap().blocks());
    /// assert!(detector.scan_json_except(&body, &rich_text).is_none());
    /// // Other families still inspect the field; other fields are not exempt.
    /// let sqli = serde_json::json!({"description": "x' OR '1'='1"});
    /// assert!(detector.scan_json_except(&sqli, &rich_text).unwrap().blocks());
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
    pub fn scan_json_except(&self, value: &Value, exemptions: &[FieldExemption]) -> Option<Finding> {
        self.scan_json_from(value, exemptions, None)
    }

    /// [`scan_json_except`](Self::scan_json_except) for a body from `client`, whose scores
    /// are remembered (see [`memory`]): an API's bodies repeat their keys on every request.
    fn scan_json_from(&self, value: &Value, exemptions: &[FieldExemption], client: Option<IpAddr>) -> Option<Finding> {
        let mut walk = JsonWalk { detector: self, exemptions, client, path: Vec::new(), worst: None };
        walk.visit(value);
        walk.worst
    }

    /// Keeps the stronger of `found` and `worst`; `true` when it blocks.
    /// Keeps the stronger of `found` and `worst`; `true` when it blocks.
    fn keep(&self, found: Option<Finding>, worst: &mut Option<Finding>) -> bool {
        if let Some(found) = found {
            *worst = Some(found.stronger(worst.take()));
        }
        worst.as_ref().is_some_and(Finding::blocks)
    }

    /// Applies the mode to a finding: `Err(problem)` to block, `Ok` (after logging) otherwise.
    /// Evidence below the threshold and findings in log-only mode go to the audit line's
    /// `threat` field.
    pub(crate) fn enforce(&self, finding: Option<Finding>, context: Option<&RequestContext>) -> Result<(), Problem> {
        let Some(finding) = finding else {
            return Ok(());
        };
        let location = finding.location().to_string();
        let action = match (finding.blocks(), self.inner.mode) {
            (true, ThreatMode::Block) => "blocked",
            (true, ThreatMode::LogOnly) => "logged",
            (false, _) => "scored",
        };
        tracing::warn!(
            target: "secure_api::threat",
            rule = finding.rule(),
            family = finding.family().as_str(),
            score = finding.score(),
            threshold = self.inner.threshold,
            location = crate::audit::LogSafe::new(&location).as_str(),
            action,
            "request matched a threat rule"
        );
        if action == "blocked" {
            return Err(finding.problem());
        }
        if let Some(context) = context {
            context.set_threat_rule(finding.rule());
        }
        Ok(())
    }
}

/// The score of an input the detector does not read.
fn oversized() -> Score {
    let mut score = Score::default();
    score.add(&OVERSIZED);
    score
}

/// One step from a JSON document's root: a member's key or an array index.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A depth-first walk of one JSON document, keeping the strongest finding.
struct JsonWalk<'a> {
    detector: &'a ThreatDetector,
    exemptions: &'a [FieldExemption],
    client: Option<IpAddr>,
    /// Where the walk is: borrowed keys, so going down a member copies nothing.
    path: Vec<Step<'a>>,
    worst: Option<Finding>,
}

impl<'a> JsonWalk<'a> {
    /// Scans `value` and what it holds; `true` to stop (a finding that blocks).
    fn visit(&mut self, value: &'a Value) -> bool {
        if self.path.len() > MAX_JSON_DEPTH {
            self.worst = self.detector.finding(oversized(), Location::Body(json_pointer(&self.path)));
            return true;
        }
        match value {
            Value::String(text) => {
                // The pointer is built only when an exemption needs it or a rule matched: most
                // strings of most bodies match nothing, and allocating it was a third of the cost.
                let exempt = if self.exemptions.is_empty() {
                    FamilySet::EMPTY
                } else {
                    FamilySet::for_location(self.exemptions, &Location::Body(json_pointer(&self.path)))
                };
                self.score(text, exempt)
            }
            Value::Array(items) => items.iter().enumerate().any(|(index, item)| {
                self.path.push(Step::Index(index));
                let stop = self.visit(item);
                self.path.pop();
                stop
            }),
            Value::Object(members) => members.iter().any(|(key, item)| {
                self.path.push(Step::Key(key));
                // Keys are never exempt: a field exemption names a key, it does not trust one.
                let stop = self.score(key, FamilySet::EMPTY) || self.visit(item);
                self.path.pop();
                stop
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }

    /// Scores one string at the current path; `true` to stop.
    fn score(&mut self, text: &str, exempt: FamilySet) -> bool {
        let score = self.detector.remembered(self.client, text, BODY, false, exempt);
        let found = score.top().and_then(|_| self.detector.finding(score, Location::Body(json_pointer(&self.path))));
        self.detector.keep(found, &mut self.worst)
    }
}

/// `/a/0/b`, with `~` and `/` escaped as RFC 6901 says.
fn json_pointer(path: &[Step<'_>]) -> String {
    let mut pointer = String::new();
    for step in path {
        pointer.push('/');
        match step {
            Step::Key(key) => pointer.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Step::Index(index) => pointer.push_str(&index.to_string()),
        }
    }
    pointer
}

/// Scans a parsed JSON body with the app's detector and applies its mode: `Err` with the 403
/// problem in block mode when the score reaches the threshold, `Ok` after logging otherwise,
/// `Ok` when the app has no detector. The body extractors of `#[secure(validate)]` do the same
/// (with the route's field exemptions) after parsing and before validation; a route that opted
/// out (`threat = false`, see
/// [`RoutePolicy::threat_detection`](crate::policy::RoutePolicy::threat_detection)) should skip it.
///
/// It knows no request, so a finding that does not block is only logged; in a handler, use
/// [`check_request_json`], which also notes it in the request's audit line.
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
pub fn check_json<S: DetectorSource + ?Sized>(security: &S, value: &Value) -> Result<(), Problem> {
    check_json_in(security, value, &[], None)
}

/// [`check_json`] for a body a handler read itself: a finding that does not block (log-only
/// mode, or evidence below the threshold) also goes to the audit line's `threat` field, like
/// the findings of the `#[secure(validate)]` body extractors. `parts` are the request's (take
/// `http::request::Parts` as a handler argument); outside the security layer the answer is the
/// 500 of every reader of the request context (see the [pipeline](crate::pipeline)).
///
/// # Examples
/// ```
/// use secure_api::{public, Problem, Security, threat};
/// use axum::extract::State;
/// use http::request::Parts;
///
/// #[public]
/// async fn import(State(security): State<Security>, parts: Parts, body: String) -> Result<&'static str, Problem> {
///     let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
///     threat::check_request_json(&security, &parts, &value)?;
///     Ok("imported")
/// }
/// ```
pub fn check_request_json<S: DetectorSource + ?Sized>(
    security: &S,
    parts: &Parts,
    value: &Value,
) -> Result<(), Problem> {
    let context = RequestContext::of(parts)?;
    check_json_in(security, value, &[], Some(context))
}

/// Where [`check_json`] and [`check_request_json`] find the app's detector: a
/// [`Security`](crate::Security), the usual argument, or a [`ThreatDetector`] itself. A trait so
/// that threat detection does not depend on the application state that holds it.
pub trait DetectorSource {
    /// The detector to use; `None` when threat detection is off (every check passes).
    fn threat_detector(&self) -> Option<&ThreatDetector>;
}

impl DetectorSource for ThreatDetector {
    fn threat_detector(&self) -> Option<&ThreatDetector> {
        Some(self)
    }
}

/// [`check_json`] with a route's field exemptions, noting evidence in the request's audit line.
pub(crate) fn check_json_in<S: DetectorSource + ?Sized>(
    security: &S,
    value: &Value,
    exemptions: &[FieldExemption],
    context: Option<&RequestContext>,
) -> Result<(), Problem> {
    match security.threat_detector() {
        Some(detector) => {
            let client = context.map(|context| context.client().ip);
            detector.enforce(detector.scan_json_from(value, exemptions, client), context)
        }
        None => Ok(()),
    }
}

/// [Pipeline](crate::pipeline) step 2 for one routed request: path, query and headers, in the
/// app's mode, with the route's field exemptions; evidence that does not block goes to the
/// audit line through `context`.
pub(crate) fn check_request(
    detector: &ThreatDetector,
    parts: &Parts,
    exemptions: &[FieldExemption],
    context: &RequestContext,
) -> Result<(), Problem> {
    let client = Some(context.client().ip);
    detector.enforce(detector.scan_request_except(parts, exemptions, client), Some(context))
}

#[cfg(test)]
mod tests;
