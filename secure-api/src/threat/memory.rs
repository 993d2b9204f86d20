//! The scores of request inputs seen before.
//!
//! Requests repeat their inputs: a client sends the same `User-Agent` (and mostly the same
//! `Referer`) every time, and the same paths and query parameters (`/api/items`, `page=2`). Scoring one costs normalisation, the rule set and, for text like a
//! browser's `User-Agent` ("(X11; Linux x86_64) ... (KHTML, like Gecko)"), libinjection's
//! tokenizer: 45k instructions for that one header. A score depends only on the input, where it
//! was found (which rules apply, whether `+` is a space), the families it is exempt from and the
//! detector's rules, which never change once built; so the score remembered for the same input
//! in the same context is the one a scan would give.
//!
//! Scores are remembered per client address. A remembered input answers faster than a scanned
//! one, and paths, queries and `Referer`s can hold secrets (a reset code, a token someone put in
//! a URL); shared across clients, the memory would let one client time whether another had sent
//! a given value. Per client, a client can only learn what it sent itself (clients behind one
//! NAT address share one memory).
//!
//! Clients choose the inputs, so the memory is bounded (entries, and the length of an input
//! remembered) and can only be churned, never made to answer differently: S3-FIFO eviction keeps
//! inputs seen again over one-off ones, and an input not remembered is scanned. The strings of
//! JSON bodies read by the pipeline are remembered too: an API's bodies repeat their keys on
//! every request (`name`, `price`) and often their values (`"brown"`, a currency, a status); a
//! one-off value passes through S3-FIFO's small queue without evicting the inputs a client
//! repeats.

use std::hash::Hash;
use std::net::IpAddr;

use quick_cache::Equivalent;
use quick_cache::sync::Cache;

use super::exempt::FamilySet;
use super::score::Score;

/// Inputs up to this long are remembered; longer ones are scanned every time.
pub(super) const REMEMBERED_INPUT_BYTES: usize = 512;
/// How many scores are remembered: with the input bound, at most 2 MiB of inputs.
pub(super) const REMEMBERED_INPUTS: usize = 4096;

/// Who sent an input and where it was found, as far as its score depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct ScanContext {
    /// The client address the request was resolved to: memories are not shared across clients.
    pub(super) client: IpAddr,
    /// The location bit the rules are filtered by (`PATH`, `QUERY`, `HEADER`).
    pub(super) mask: u8,
    pub(super) plus_is_space: bool,
    pub(super) exempt: FamilySet,
}

/// A remembered input. Hashes as a [`Probe`] with the same fields does (`Box<[u8]>` and
/// `&[u8]` both hash as the slice), so a lookup needs no copy of the input.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    context: ScanContext,
    input: Box<[u8]>,
}

#[derive(Hash)]
struct Probe<'a> {
    context: ScanContext,
    input: &'a [u8],
}

impl Equivalent<Key> for Probe<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.context == key.context && *self.input == *key.input
    }
}

/// The remembered scores of one detector.
pub(super) struct Memory(Cache<Key, Score>);

impl Memory {
    pub(super) fn new() -> Self {
        Self(Cache::new(REMEMBERED_INPUTS))
    }

    /// The score of `input` in `context`: remembered, or `scan()`ned (and remembered when the
    /// input is short enough).
    pub(super) fn score(&self, context: ScanContext, input: &[u8], scan: impl FnOnce() -> Score) -> Score {
        if input.len() > REMEMBERED_INPUT_BYTES {
            return scan();
        }
        if let Some(score) = self.0.get(&Probe { context, input }) {
            return score;
        }
        let score = scan();
        self.0.insert(Key { context, input: input.into() }, score);
        score
    }

    /// How many scores are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::threat::rules::rule_by_id;

    const ALICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const HEADER: ScanContext = ScanContext { client: ALICE, mask: 4, plus_is_space: false, exempt: FamilySet::EMPTY };
    const QUERY: ScanContext = ScanContext { client: ALICE, mask: 2, plus_is_space: true, exempt: FamilySet::EMPTY };

    /// A score of 0, 3 (one warning) or 5 (one critical rule).
    fn scored(points: u16) -> Score {
        let mut score = Score::default();
        match points {
            0 => {}
            3 => score.add(rule_by_id("sqli-libinjection-weak").unwrap()),
            5 => score.add(rule_by_id("sqli-libinjection").unwrap()),
            other => unreachable!("{other}"),
        }
        score
    }

    #[test]
    fn an_input_is_scanned_once_per_context_and_remembered_after() {
        let memory = Memory::new();
        let scans = Cell::new(0);
        let scan = |points| {
            scans.set(scans.get() + 1);
            scored(points)
        };
        assert_eq!(memory.score(HEADER, b"curl/8.5", || scan(0)).points(), 0);
        assert_eq!(memory.score(HEADER, b"curl/8.5", || scan(5)).points(), 0, "remembered, not scanned");
        // The same text where other rules apply is another input.
        assert_eq!(memory.score(QUERY, b"curl/8.5", || scan(5)).points(), 5);
        assert_eq!(memory.score(HEADER, b"curl/8.6", || scan(3)).points(), 3);
        // Another client's identical input is scanned: no client learns what another sent.
        let bob = ScanContext { client: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)), ..HEADER };
        assert_eq!(memory.score(bob, b"curl/8.5", || scan(5)).points(), 5);
        assert_eq!(scans.get(), 4);
        assert_eq!(memory.len(), 4);
    }

    #[test]
    fn long_inputs_are_scanned_every_time() {
        let memory = Memory::new();
        let long = vec![b'a'; REMEMBERED_INPUT_BYTES + 1];
        assert_eq!(memory.score(HEADER, &long, || scored(5)).points(), 5);
        assert_eq!(memory.score(HEADER, &long, || scored(3)).points(), 3);
        assert_eq!(memory.len(), 0);
    }
}
