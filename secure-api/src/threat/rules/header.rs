//! CRLF / header injection: a decoded line break followed by a header line, a status line or
//! markup (`%0d%0aSet-Cookie: ...`), in the URL and headers only (body text has line breaks);
//! control characters no text has, which break log lines, headers and parsers; and printf
//! format strings.

use super::{ANYWHERE, Rule, URL_AND_HEADERS, rule};

pub(super) const RULES: &[Rule] = &[
    rule!(
        "crlf-header-injection",
        HeaderInjection,
        URL_AND_HEADERS,
        Critical,
        1,
        r"[\r\n]\s*(?:[a-z0-9_-]{2,40}\s*:|http/\d|<)"
    ),
    // C0 controls other than tab, line feed, vertical tab, form feed and carriage return, and
    // DEL (the null byte is `traversal-null-byte`).
    rule!("control-characters", HeaderInjection, ANYWHERE, Critical, 1, r"[\x01-\x08\x0e-\x1f\x7f]"),
    // ---- Format strings ----------------------------------------------------------------------
    // Three or more printf conversions in a row (`%8.8x|%8.8x|%8.8x`, `%s%s%s`, `%n%n%n`): a
    // probe for a format-string bug in whatever logs or formats the input. One `%s` is text.
    rule!("format-string", FormatString, ANYWHERE, Critical, 1, r"(?:%[-+#0]*\d*(?:\.\d+)?[nxsp][^%\s]{0,3}){3}"),
];
