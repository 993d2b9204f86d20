//! Anomaly scoring, as OWASP CRS does it: every rule carries a severity and a paranoia level;
//! a detector runs the rules up to its paranoia level, adds up the severities of the rules that
//! match one input, and blocks only when the sum reaches the threshold. A single critical rule
//! (a tokenizer that recognised SQL or markup, `; cat /etc/passwd`) reaches the default
//! threshold by itself; weaker evidence (a numeric comparison libinjection calls SQL, `alert (2)`
//! with a space) is logged, and blocks only together with other evidence in the same input.
//!
//! One difference from CRS: each input (a query parameter, a header, a JSON string) is scored on
//! its own rather than the whole request, so a long form of ordinary text cannot add up to a
//! block, and the finding names the field at fault.

use std::fmt;

use super::rules::Rule;

/// How much one matching rule adds to an input's anomaly score (the CRS values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// 2: a weak signal, never decisive alone.
    Notice = 2,
    /// 3: suspicious; logged below the default threshold.
    Warning = 3,
    /// 4: likely an attack.
    Error = 4,
    /// 5: the shape of an attack; reaches the default threshold alone.
    Critical = 5,
}

impl Severity {
    /// The points this severity adds to an anomaly score.
    pub const fn points(self) -> u16 {
        self as u16
    }
}

/// Which rules run: level 1 (the default) runs only the rules that ordinary text does not
/// trigger; levels 2 to 4 add stricter rules that catch more attack variants and refuse more
/// unusual but legitimate input, as OWASP CRS's paranoia levels do.
///
/// # Examples
/// ```
/// use secure_api::threat::ParanoiaLevel;
///
/// assert_eq!(ParanoiaLevel::default().get(), 1);
/// assert_eq!(ParanoiaLevel::new(3).unwrap().get(), 3);
/// assert!(ParanoiaLevel::new(0).is_none() && ParanoiaLevel::new(5).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParanoiaLevel(u8);

impl ParanoiaLevel {
    /// Level 1: high-confidence rules only.
    pub const DEFAULT: Self = Self(1);

    /// A level from 1 to 4; `None` outside that range.
    pub const fn new(level: u8) -> Option<Self> {
        match level {
            1..=4 => Some(Self(level)),
            _ => None,
        }
    }

    /// The level, 1 to 4.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for ParanoiaLevel {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for ParanoiaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The default anomaly threshold: one critical rule (5 points) blocks, a warning (3) alone does
/// not. CRS's default inbound threshold is also 5.
pub const DEFAULT_BLOCK_THRESHOLD: u16 = 5;

/// The evidence gathered on one input: the sum of the severities of the distinct rules that
/// matched, and the rule to report (the most severe; the first in rule order on a tie).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Score {
    points: u16,
    top: Option<&'static Rule>,
}

impl Score {
    /// Adds one matching rule. The caller adds each rule at most once per input.
    pub(crate) fn add(&mut self, rule: &'static Rule) {
        self.points = self.points.saturating_add(rule.severity.points());
        if self.top.is_none_or(|top| rule.severity > top.severity) {
            self.top = Some(rule);
        }
    }

    pub(crate) fn points(&self) -> u16 {
        self.points
    }

    pub(crate) fn top(&self) -> Option<&'static Rule> {
        self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::rules::{ThreatFamily, rule_by_id};

    #[test]
    fn severities_add_up_and_the_most_severe_rule_is_reported() {
        let mut score = Score::default();
        assert_eq!((score.points(), score.top().map(|rule| rule.id)), (0, None));
        let weak = rule_by_id("sqli-libinjection-weak").unwrap();
        let strong = rule_by_id("sqli-libinjection").unwrap();
        score.add(weak);
        assert_eq!((score.points(), score.top().map(|rule| rule.id)), (3, Some(weak.id)));
        score.add(strong);
        assert_eq!((score.points(), score.top().map(|rule| rule.id)), (8, Some(strong.id)));
        assert_eq!(strong.family, ThreatFamily::SqlInjection);
    }

    #[test]
    fn paranoia_levels_are_one_to_four() {
        assert_eq!(ParanoiaLevel::default(), ParanoiaLevel::DEFAULT);
        assert!((1..=4).all(|level| ParanoiaLevel::new(level).is_some_and(|pl| pl.get() == level)));
        assert_eq!(ParanoiaLevel::new(2).unwrap().to_string(), "2");
    }
}
