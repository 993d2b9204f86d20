//! The rule set, one file per attack family. Each regex rule reads the normalised form of one
//! input (see `normalize.rs`: decoded, lower-cased, SQL comments as spaces, blanks squeezed)
//! and is written to need the *shape* of an attack, not a keyword: `select` or `drop` in a
//! sentence passes, `' or '1'='1` does not. Each rule has a severity and a paranoia level (see
//! `score.rs`). The regex rules of a detector's paranoia level are compiled into one
//! `regex::bytes::RegexSet` at start-up; the regex crate runs in time linear in the input.
//!
//! The tokenizer rules (`TOKENIZER`) have no pattern: they name the verdicts of libinjection's
//! SQL and HTML tokenizers (`tokenize.rs`), so a finding, a log line and the audit outcome read
//! the same whichever engine made it.
//!
//! Changing a rule: add attack payloads and benign text to `corpus/` first, then run
//! `cargo test -p secure-api --lib threat` and the outside corpora
//! (`cargo test -p secure-api-tests --test suite threat_corpora -- --nocapture`).

mod cmd;
mod header;
mod sqli;
mod traversal;
mod xss;

use super::score::Severity;

/// Where an input came from; a rule applies to the locations in its mask.
pub(crate) const PATH: u8 = 1;
pub(crate) const QUERY: u8 = 2;
pub(crate) const HEADER: u8 = 4;
pub(crate) const BODY: u8 = 8;
pub(crate) const ANYWHERE: u8 = PATH | QUERY | HEADER | BODY;
/// Line breaks are legitimate in body text; they are an attack where they end up in headers.
pub(crate) const URL_AND_HEADERS: u8 = PATH | QUERY | HEADER;

/// The attack class a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreatFamily {
    /// SQL injection.
    SqlInjection,
    /// Cross-site scripting.
    Xss,
    /// Path traversal and local file inclusion.
    PathTraversal,
    /// OS command injection (including JNDI lookups and Shellshock).
    CommandInjection,
    /// CRLF / HTTP header injection.
    HeaderInjection,
    /// LDAP filter injection (`*)(|(uid=*))`).
    LdapInjection,
    /// printf format strings (`%8.8x|%8.8x|%8.8x`), a probe for format-string bugs.
    FormatString,
    /// An input longer than the detector reads (fail closed).
    Oversized,
}

impl ThreatFamily {
    /// A short stable name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SqlInjection => "sql_injection",
            Self::Xss => "xss",
            Self::PathTraversal => "path_traversal",
            Self::CommandInjection => "command_injection",
            Self::HeaderInjection => "header_injection",
            Self::LdapInjection => "ldap_injection",
            Self::FormatString => "format_string",
            Self::Oversized => "oversized",
        }
    }
}

pub(crate) struct Rule {
    pub(crate) id: &'static str,
    /// `denied:threat:<id>`, spelled out at compile time because outcomes are `&'static str`.
    pub(crate) outcome: &'static str,
    pub(crate) family: ThreatFamily,
    pub(crate) locations: u8,
    pub(crate) severity: Severity,
    /// The lowest paranoia level that runs this rule (1 to 4).
    pub(crate) paranoia: u8,
    pub(crate) pattern: &'static str,
}

macro_rules! rule {
    ($id:literal, $family:ident, $locations:expr, $severity:ident, $paranoia:literal, $pattern:expr) => {
        $crate::threat::rules::Rule {
            id: $id,
            outcome: concat!("denied:threat:", $id),
            family: $crate::threat::rules::ThreatFamily::$family,
            locations: $locations,
            severity: $crate::threat::score::Severity::$severity,
            paranoia: $paranoia,
            pattern: $pattern,
        }
    };
}
pub(crate) use rule;

/// The id and outcome of the finding for an input longer than the detector reads.
pub(crate) const OVERSIZED: Rule = rule!("input-too-long", Oversized, ANYWHERE, Critical, 1, "");

/// libinjection's SQL tokenizer recognised an injection whose fingerprint breaks out of a
/// string, unions, stacks a statement or reads a server variable.
pub(crate) const SQLI_TOKENIZER: Rule = rule!("sqli-libinjection", SqlInjection, ANYWHERE, Critical, 1, "");
/// libinjection's SQL tokenizer recognised only numbers, operators, words and functions
/// (`1 or 2>1`, but also "5 < 10 and 10 > 5" and "Choose (1) option"): evidence, not proof.
pub(crate) const SQLI_TOKENIZER_WEAK: Rule = rule!("sqli-libinjection-weak", SqlInjection, ANYWHERE, Warning, 1, "");
/// libinjection's HTML5 tokenizer found a tag, attribute or URL that runs script.
pub(crate) const XSS_TOKENIZER: Rule = rule!("xss-libinjection", Xss, ANYWHERE, Critical, 1, "");

/// Every regex rule, families in reporting order: when several rules of the same severity
/// match, the first is reported.
pub(crate) fn regex_rules() -> impl Iterator<Item = &'static Rule> {
    [sqli::RULES, xss::RULES, traversal::RULES, cmd::RULES, header::RULES].into_iter().flatten()
}

/// Every rule id, regex rules first, then the tokenizer rules and `input-too-long`.
pub(crate) fn all_rules() -> impl Iterator<Item = &'static Rule> {
    regex_rules().chain([&SQLI_TOKENIZER, &SQLI_TOKENIZER_WEAK, &XSS_TOKENIZER, &OVERSIZED])
}

#[cfg(test)]
pub(crate) fn rule_by_id(id: &str) -> Option<&'static Rule> {
    all_rules().find(|rule| rule.id == id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_levels_in_range() {
        let mut seen = HashSet::new();
        for rule in all_rules() {
            assert!(seen.insert(rule.id), "duplicate rule id {}", rule.id);
            assert!((1..=4).contains(&rule.paranoia), "{}", rule.id);
            assert!(rule.outcome.ends_with(rule.id));
        }
    }
}
