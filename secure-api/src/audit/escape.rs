//! [`LogSafe`]: a request-derived value made fit for one log line (escaped and capped).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// The most bytes of one request-derived value a log line shows (the path, the query, each
/// header value, a client id...). A longer value is cut at a character boundary and ends with
/// `…(truncated, N bytes)`, N being its full length, so one request writes a bounded line
/// whatever it sends (an 8 KB query and a 16 KB `User-Agent` included).
///
/// # Examples
/// ```
/// use secure_api::audit::{LogSafe, MAX_LOGGED_BYTES};
///
/// let shown = LogSafe::new(&"a".repeat(16 * 1024)).to_string();
/// assert!(shown.len() < MAX_LOGGED_BYTES + 32);
/// assert!(shown.ends_with("…(truncated, 16384 bytes)"));
/// ```
pub const MAX_LOGGED_BYTES: usize = 1024;

/// A value that came from a request, escaped so it cannot break or forge a log line, and
/// capped at [`MAX_LOGGED_BYTES`].
///
/// Escaped as Rust writes them: `\n`, `\r`, `\t`, `\\`, and `\u{..}` for every other control
/// character (C0, DEL, C1 including NEL), the line and paragraph separators (U+2028, U+2029)
/// and the bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069), which a
/// terminal or a log viewer would otherwise obey. What is left is one line of printable text,
/// in the text and the JSON formats alike (a JSON reader decoding the value gets the escaped
/// text, never a raw control character it could print to a terminal).
///
/// Every `tracing` event of this crate passes request-derived fields through it, as `&str`
/// fields (`client_id = LogSafe::new(id).as_str()`): `tracing-subscriber` quotes those in the
/// text format, so a value cannot pose as another `key=value` pair either. A value that needs
/// nothing is borrowed, not copied.
///
/// # Examples
/// ```
/// use secure_api::audit::LogSafe;
///
/// let forged = "evil\r\nstatus=200 outcome=\"allowed\"\u{1b}[2J\u{2028}";
/// assert_eq!(LogSafe::new(forged).as_str(), r#"evil\r\nstatus=200 outcome="allowed"\u{1b}[2J\u{2028}"#);
/// assert_eq!(LogSafe::new("/api/items/7").as_str(), "/api/items/7");
/// tracing::info!(client_id = LogSafe::new(forged).as_str(), "client authentication failed");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LogSafe<'a>(Cow<'a, str>);

impl<'a> LogSafe<'a> {
    /// `text` escaped and capped at [`MAX_LOGGED_BYTES`].
    pub fn new(text: &'a str) -> Self {
        Self::with_limit(text, MAX_LOGGED_BYTES)
    }

    /// `text` escaped and capped at `limit` bytes of escaped text (plus the truncation marker).
    ///
    /// # Examples
    /// ```
    /// use secure_api::audit::LogSafe;
    ///
    /// assert_eq!(LogSafe::with_limit("a\nbcdef", 4).as_str(), "a\\nb…(truncated, 7 bytes)");
    /// ```
    pub fn with_limit(text: &'a str, limit: usize) -> Self {
        if text.len() <= limit && !needs_escaping(text.as_bytes()) {
            return Self(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len().min(limit) + 32);
        for character in text.chars() {
            let before = out.len();
            escape_into(character, &mut out);
            if out.len() > limit {
                out.truncate(before);
                // Infallible: writing to a `String`.
                let _ = write!(out, "…(truncated, {} bytes)", text.len());
                break;
            }
        }
        Self(Cow::Owned(out))
    }

    /// The `Display` text of `value` (an error that may quote request data), escaped and capped.
    ///
    /// # Examples
    /// ```
    /// use secure_api::audit::LogSafe;
    ///
    /// let error = std::io::Error::other("unknown variant `a\nb`");
    /// assert_eq!(LogSafe::display(&error).as_str(), "unknown variant `a\\nb`");
    /// ```
    pub fn display(value: &dyn fmt::Display) -> LogSafe<'static> {
        LogSafe(Cow::Owned(LogSafe::new(&value.to_string()).0.into_owned()))
    }

    /// The escaped text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The escaped text, borrowed from the input when nothing needed escaping.
    pub fn into_cow(self) -> Cow<'a, str> {
        self.0
    }
}

impl fmt::Display for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LogSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Whether `character` is written escaped (see [`LogSafe`]).
fn is_escaped(character: char) -> bool {
    matches!(character, '\\' | '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
        || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `character` as it is written: itself, or its escape.
fn escape_into(character: char, out: &mut String) {
    match character {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        // Infallible: writing to a `String`.
        other if is_escaped(other) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(other));
        }
        other => out.push(other),
    }
}

/// Whether `bytes` may hold a character [`LogSafe`] escapes: a byte below 0x20, DEL, `\\`, or
/// the lead byte of C1 controls (0xC2) and of U+2028-class characters (0xE2). Eight bytes at a
/// time: it runs on every audit line's fields, nearly all of which need nothing. A `true` for
/// an innocent 0xC2/0xE2 character (`£`, `€`) only costs the careful path.
pub(crate) fn needs_escaping(bytes: &[u8]) -> bool {
    has_suspect_byte::<false>(bytes)
}

/// [`needs_escaping`] or a `"` (which a JSON string escapes): `false` means the value goes
/// into a JSON log line as it is, neither [`LogSafe`] nor JSON changing a byte (for a value no
/// longer than [`MAX_LOGGED_BYTES`]). One scan where the audit line made two.
pub(crate) fn needs_log_or_json_escaping(bytes: &[u8]) -> bool {
    has_suspect_byte::<true>(bytes)
}

fn has_suspect_byte<const QUOTE: bool>(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Nonzero iff some byte of `word` is below `n` (n <= 0x80): the classic `haszero` test.
    let has_byte_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH != 0;
    let has_byte = |word: u64, byte: u8| has_byte_below(word ^ (ONES * u64::from(byte)), 1);
    let suspect = |byte: u8| byte < 0x20 || matches!(byte, 0x7f | b'\\' | 0xc2 | 0xe2) || (QUOTE && byte == b'"');
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|chunk| {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        has_byte_below(word, 0x20)
            | has_byte(word, 0x7f)
            | has_byte(word, b'\\')
            | has_byte(word, 0xc2)
            | has_byte(word, 0xe2)
            | (QUOTE && has_byte(word, b'"'))
    });
    found || words.remainder().iter().any(|&byte| suspect(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters no log line may hold raw (besides its own final newline).
    fn is_dangerous(character: char) -> bool {
        character.is_control() || matches!(character, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}')
    }

    #[test]
    fn every_control_and_separator_is_escaped() {
        for code in (0..=0x3000u32).chain([0x1_f600, 0x10_ffff]) {
            let Some(character) = char::from_u32(code) else { continue };
            let text = format!("a{character}b");
            let shown = LogSafe::new(&text).to_string();
            assert!(!shown.chars().any(is_dangerous), "U+{code:04X} reaches the log raw: {shown:?}");
            if is_escaped(character) {
                assert!(shown.starts_with("a\\") && shown.ends_with('b'), "U+{code:04X}: {shown:?}");
            } else {
                assert_eq!(shown, text, "U+{code:04X} needs no escape");
            }
        }
    }

    #[test]
    fn escapes_are_the_rust_ones_and_unambiguous() {
        assert_eq!(LogSafe::new("a\r\nb\tc").as_str(), "a\\r\\nb\\tc");
        assert_eq!(LogSafe::new("\u{1b}[2J\u{7f}\u{85}\u{9b}").as_str(), "\\u{1b}[2J\\u{7f}\\u{85}\\u{9b}");
        assert_eq!(LogSafe::new("\u{2028}\u{2029}\u{202e}\u{2066}").as_str(), "\\u{2028}\\u{2029}\\u{202e}\\u{2066}");
        // A literal backslash-n is not a newline in the log.
        assert_eq!(LogSafe::new("a\\nb").as_str(), "a\\\\nb");
        assert_eq!(LogSafe::new("caf\u{e9} \u{20ac} \u{a3} \u{1f600}").as_str(), "caf\u{e9} \u{20ac} \u{a3} \u{1f600}");
    }

    #[test]
    fn clean_values_are_borrowed() {
        assert!(matches!(LogSafe::new("/api/items/7?page=2").into_cow(), Cow::Borrowed(_)));
        assert!(matches!(LogSafe::new("a\nb").into_cow(), Cow::Owned(_)));
    }

    #[test]
    fn long_values_are_capped_with_a_marker() {
        let shown = LogSafe::new(&"x".repeat(8 * 1024)).to_string();
        assert_eq!(shown, format!("{}…(truncated, 8192 bytes)", "x".repeat(MAX_LOGGED_BYTES)));
        assert_eq!(LogSafe::new(&"x".repeat(MAX_LOGGED_BYTES)).as_str().len(), MAX_LOGGED_BYTES, "at the cap: whole");
        // The cap counts escaped bytes, and never splits an escape or a character.
        let shown = LogSafe::new(&"\u{1b}".repeat(1000)).to_string();
        assert!(shown.len() <= MAX_LOGGED_BYTES + 30, "{}", shown.len());
        assert!(shown.ends_with("\\u{1b}…(truncated, 1000 bytes)"), "{shown}");
        let shown = LogSafe::with_limit("ééé", 5).to_string();
        assert_eq!(shown, "éé…(truncated, 6 bytes)");
    }

    #[test]
    fn display_values_are_escaped_too() {
        assert_eq!(LogSafe::display(&format_args!("bad {}", "x\ny")).as_str(), "bad x\\ny");
    }

    #[test]
    fn the_fast_check_never_misses() {
        for code in (0..=0x3000u32).chain([0xfeff, 0x1_f600]) {
            let Some(character) = char::from_u32(code) else { continue };
            if !is_escaped(character) {
                continue;
            }
            for at in 0..12 {
                let mut text = "a".repeat(12);
                text.insert(at, character);
                assert!(needs_escaping(text.as_bytes()), "U+{code:04X} at {at}");
            }
        }
        assert!(!needs_escaping(b"/api/items/7?page=2&sort=name"));
    }
}
