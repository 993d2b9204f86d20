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

/// The SQL verdict on a normalised input: the critical or the weak tokenizer rule, or `None`.
pub(crate) fn sql_injection(normalized: &str) -> Option<&'static Rule> {
    // Inputs without any SQL punctuation or operator word cannot tokenize to an injection;
    // skipping them keeps the common case (a plain word or number) cheap.
    if !might_be_sql(normalized.as_bytes()) {
        return None;
    }
    let result = libinjectionrs::detect_sqli(normalized.as_bytes());
    if !result.is_injection() {
        return None;
    }
    let strong = result
        .fingerprint
        .is_some_and(|fingerprint| fingerprint.as_bytes().iter().any(|token| STRONG_SQL_TOKENS.contains(token)));
    Some(if strong { &SQLI_TOKENIZER } else { &SQLI_TOKENIZER_WEAK })
}

/// The XSS verdict on a normalised input.
pub(crate) fn xss(normalized: &str) -> Option<&'static Rule> {
    // Every XSS libinjection flags needs a tag (`<`) or an attribute or URL context (`=`, `:`,
    // a quote or a backtick).
    if !normalized.bytes().any(|byte| matches!(byte, b'<' | b'=' | b':' | b'"' | b'\'' | b'`')) {
        return None;
    }
    libinjectionrs::detect_xss(normalized.as_bytes()).is_injection().then_some(&XSS_TOKENIZER)
}

/// Whether the input has anything SQL tokenizes as an operator, a string, a comment or a
/// statement break; pure letters, digits, blanks and common sentence punctuation do not.
fn might_be_sql(bytes: &[u8]) -> bool {
    bytes.iter().any(|byte| {
        !(byte.is_ascii_alphanumeric() || matches!(byte, b' ' | b'.' | b',' | b'?' | b'!' | b'_') || *byte >= 0x80)
    }) || contains_word(bytes, b"or")
        || contains_word(bytes, b"and")
        || contains_word(bytes, b"union")
        || contains_word(bytes, b"xor")
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
        assert_eq!(sql("1 or 2>1"), Some("sqli-libinjection-weak"));
        assert_eq!(sql("5 < 10 and 10 > 5"), Some("sqli-libinjection-weak"));
        assert_eq!(sql("o'brien"), None);
        assert_eq!(sql("plain words"), None);
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
