//! Tokenizing detection of SQL injection and XSS with libinjection (the Rust port
//! `libinjectionrs`, BSD-3): the engine ModSecurity and OWASP CRS use for their rules 942100
//! and 941100. Instead of matching patterns, it tokenizes the input as SQL (as-is, after a
//! single quote and after a double quote, the three places user text lands in a query) and
//! looks the token fingerprint up in a list of known injection shapes; for XSS it runs an HTML5
//! tokenizer in each attribute and text context and flags script tags, event handlers and
//! script URLs.
//!
//! Its SQL fingerprints are split by strength. A fingerprint with a string token that closes a
//! quote (`s`), a `union` (`U`), a statement break (`;`), a server variable (`v`) or a T-SQL
//! statement (`T`) is an injection (critical). One made only of numbers, operators, words and
//! functions is also what "5 < 10 and 10 > 5", "Choose (1) option" or "2020--2024 annual report"
//! tokenize to: it is a warning, which blocks only with other evidence.

use super::rules::{Rule, SQLI_TOKENIZER, SQLI_TOKENIZER_WEAK, XSS_TOKENIZER};

/// Token types that only an injection puts in a fingerprint.
const STRONG_SQL_TOKENS: &[u8] = b"sU;vT";

/// How far past the first quote libinjection reads (see [`sql_window`]).
const SQL_WINDOW_BYTES: usize = 160;
/// How far before it.
const SQL_CONTEXT_BYTES: usize = 32;

/// The SQL verdict on a normalised input: the critical or the weak tokenizer rule, or `None`.
///
/// Cost bounds. The Rust port tokenizes a whole input, at about 1 µs per 30 bytes of words,
/// where the C library stops after five tokens; two things keep it off the common path:
/// - an input without a quote, a backtick, a `;`, an `@` or the word `union` cannot produce a
///   critical fingerprint (those need a string, a statement break or a union), nor can one
///   whose text after that quote or `;` has no operator, parenthesis, comment or SQL word, so
///   libinjection does not read it; what its weak fingerprints would flag there (`1 or 2>1`)
///   and `@@version`-style variables the regex rules read;
/// - libinjection decides on the first tokens of each context, and in the quoted contexts the
///   text up to the first quote is one string token: it reads from a word boundary shortly
///   before the first quote to `SQL_WINDOW_BYTES` past it.
pub(crate) fn sql_injection(normalized: &str) -> Option<&'static Rule> {
    let bytes = normalized.as_bytes();
    let first_marker = bytes.iter().position(|byte| matches!(byte, b'\'' | b'"' | b'`' | b';'));
    let start = match first_marker {
        Some(position) => position,
        None if contains_word(bytes, b"union") => 0,
        None => return None,
    };
    if !sql_follows(bytes.get(start..).unwrap_or_default()) {
        return None;
    }
    let result = libinjectionrs::detect_sqli(sql_window(bytes, start));
    if !result.is_injection() {
        return None;
    }
    Some(strength(result.fingerprint.as_ref().map_or(&[][..], |fingerprint| fingerprint.as_bytes())))
}

/// What libinjection reads: from a word boundary at most `SQL_CONTEXT_BYTES` before `marker`
/// (the text before the first quote is one string token in the quoted contexts, so its length
/// does not matter) to `SQL_WINDOW_BYTES` past it. libinjection reads bytes; a cut character
/// is one more unknown byte.
fn sql_window(bytes: &[u8], marker: usize) -> &[u8] {
    let end = marker.saturating_add(SQL_WINDOW_BYTES).min(bytes.len());
    let mut start = marker.saturating_sub(SQL_CONTEXT_BYTES);
    if start > 0 {
        let before = bytes.get(start..marker).unwrap_or_default();
        start = before.iter().position(u8::is_ascii_whitespace).map_or(marker, |offset| start + offset + 1);
    }
    bytes.get(start..end).unwrap_or(bytes)
}

/// The tokenizer rule for an injection fingerprint: critical with a token only an injection
/// has, a warning otherwise.
fn strength(fingerprint: &[u8]) -> &'static Rule {
    if fingerprint.iter().any(|token| STRONG_SQL_TOKENS.contains(token)) {
        &SQLI_TOKENIZER
    } else {
        &SQLI_TOKENIZER_WEAK
    }
}

/// The XSS verdict on a normalised input.
pub(crate) fn xss(normalized: &str) -> Option<&'static Rule> {
    // Every XSS libinjection flags needs a tag (`<`), an attribute (`=`) or a script URL
    // (`javascript:`, `vbscript:`, `livescript:`, `data:`); a colon or a quote alone is text
    // ("Note: 10:30", "Men's").
    let bytes = normalized.as_bytes();
    let url = |scheme: &[u8]| bytes.windows(scheme.len()).any(|window| window == scheme);
    if !bytes.iter().any(|byte| matches!(byte, b'<' | b'=')) && !url(b"script:") && !url(b"data:") {
        return None;
    }
    libinjectionrs::detect_xss(normalized.as_bytes()).is_injection().then_some(&XSS_TOKENIZER)
}

/// Whether the text after the first quote or `;` holds what a query needs to go on: an
/// operator or parenthesis, a comment, or an SQL word. "What's the return policy?" and
/// "Men's \"Classic\" Edition" have none, and are not tokenized.
fn sql_follows(rest: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"union",
        b"select",
        b"like",
        b"having",
        b"order",
        b"group",
        b"exec",
        b"execute",
        b"xor",
        b"true",
        b"false",
        b"null",
        b"sleep",
        b"benchmark",
        b"waitfor",
        b"rlike",
        b"regexp",
        b"between",
        b"insert",
        b"update",
        b"delete",
        b"drop",
        b"declare",
        b"is",
        b"in",
        b"limit",
        b"procedure",
    ];
    if rest.iter().any(|byte| matches!(byte, b'=' | b'<' | b'>' | b'(' | b')' | b'#' | b'|' | b'&' | b'*' | b'@'))
        || rest.windows(2).any(|pair| pair == b"--" || pair == b"/*")
    {
        return true;
    }
    rest.split(|byte| !byte.is_ascii_alphanumeric() && *byte != b'_').any(|word| WORDS.contains(&word))
}

fn contains_word(haystack: &[u8], word: &[u8]) -> bool {
    haystack.windows(word.len()).enumerate().any(|(start, window)| {
        window == word
            && (start == 0 || haystack.get(start - 1).is_some_and(|byte| !byte.is_ascii_alphanumeric()))
            && haystack.get(start + word.len()).is_none_or(|byte| !byte.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sql(text: &str) -> Option<&'static str> {
        sql_injection(text).map(|rule| rule.id)
    }

    #[test]
    fn sql_fingerprints_are_split_by_strength() {
        assert_eq!(sql("admin' or true-- -"), Some("sqli-libinjection"));
        assert_eq!(sql("1' union select null,null--"), Some("sqli-libinjection"));
        assert_eq!(sql("1 union select null,null"), Some("sqli-libinjection"));
        assert_eq!(sql("o'brien"), None);
        assert_eq!(strength(b"s&1c").id, "sqli-libinjection");
        assert_eq!(strength(b"1&1").id, "sqli-libinjection-weak");
        assert_eq!(strength(b"f(1)k").id, "sqli-libinjection-weak");
    }

    #[test]
    fn inputs_without_quote_semicolon_at_or_union_are_not_tokenized() {
        // libinjection alone calls these injections (weak fingerprints); the regex rules read them.
        assert!(libinjectionrs::detect_sqli(b"1 or 2>1").is_injection());
        assert_eq!(sql("1 or 2>1"), None);
        assert_eq!(sql("5 < 10 and 10 > 5"), None);
        assert_eq!(sql("plain words"), None);
        assert_eq!(sql("what's the return policy?"), None);
        assert!(!sql_follows(b"s \"classic\" edition") && sql_follows(b"' or 'a'='a") && sql_follows(b"' union all"));
    }

    #[test]
    fn the_window_keeps_the_text_after_the_first_quote() {
        let long = format!("{} x' or 1=1--", "word ".repeat(100));
        assert_eq!(sql(&long), Some("sqli-libinjection"));
        let bytes = long.as_bytes();
        let quote = long.find('\'').unwrap();
        let window = sql_window(bytes, quote);
        assert!(window.starts_with(b"word ") && window.ends_with(b"x' or 1=1--"), "{window:?}");
        assert!(window.len() <= SQL_CONTEXT_BYTES + SQL_WINDOW_BYTES);
        assert_eq!(sql_window(&[b'a'; 1000], 0).len(), SQL_WINDOW_BYTES);
        assert_eq!(sql_window(&[b'a'; 1000], 500), &[b'a'; SQL_WINDOW_BYTES][..]);
    }

    #[test]
    fn xss_needs_markup_or_an_attribute_context() {
        assert_eq!(xss("<img src=x onerror=alert(1)>").map(|rule| rule.id), Some("xss-libinjection"));
        assert_eq!(xss("\"><svg onload=alert(1)>").map(|rule| rule.id), Some("xss-libinjection"));
        assert!(xss("i <3 ny").is_none());
        assert!(xss("tom's diner -- \"suzanne vega\" (1987)").is_none());
    }

    #[test]
    fn the_word_scan_respects_word_boundaries() {
        assert!(contains_word(b"1 or 2", b"or") && contains_word(b"or", b"or"));
        assert!(!contains_word(b"order", b"or") && !contains_word(b"color", b"or"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// libinjection never panics, whatever the bytes: SQL and HTML punctuation, unbalanced
        /// quotes and comments, long runs, non-ASCII text.
        #[test]
        fn libinjection_never_panics(text in "([-'\"`<>=()/*#;|&$\\\\ \\t\\n.,@!%{}\\[\\]:a-z0-9]|union|select|or|and|script|on[a-z]+|\\PC){0,120}") {
            let _ = sql_injection(&text);
            let _ = xss(&text);
            let _ = libinjectionrs::detect_sqli(text.as_bytes());
            let _ = libinjectionrs::detect_xss(text.as_bytes());
        }

        #[test]
        fn libinjection_never_panics_on_raw_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = libinjectionrs::detect_sqli(&bytes);
            let _ = libinjectionrs::detect_xss(&bytes);
        }
    }
}
