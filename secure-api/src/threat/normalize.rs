//! Turning an input into the one canonical form the rules read: percent-decoded (repeatedly, so
//! `%252e` is `.`), overlong UTF-8 folded, HTML entities and `\uXXXX` escapes decoded,
//! full-width ASCII folded, lower-cased, SQL comments replaced by a space and runs of blanks
//! squeezed. Every step is one linear pass over an input whose length the caller bounds.

use std::borrow::Cow;

/// At most this many rounds of percent-decoding: enough for double and triple encoding, and a
/// fixed bound on work.
const DECODE_ROUNDS: usize = 4;

/// The canonical form of `input`. `plus_is_space` for query strings and form values.
pub(crate) fn normalize(input: &str, plus_is_space: bool) -> String {
    if let Some(plain) = plain_ascii(input, plus_is_space) {
        return plain;
    }
    if !has_escapes(input) {
        // Text (`Müller & Söhne`, `東京`) with nothing to decode: the decoding steps would
        // change nothing (a `&str` holds no overlong UTF-8; that appears only when percent
        // decoding makes bytes), so only the folding and squeezing are left.
        let text =
            if plus_is_space && input.contains('+') { input.replace('+', " ").into() } else { Cow::Borrowed(input) };
        return squeeze(&fold_case_and_width(&text));
    }
    decode_and_fold(input, plus_is_space)
}

/// Whether `input` has a `%`, or an `&` or `\` that starts an escape the decoder decodes.
fn has_escapes(input: &str) -> bool {
    let bytes = input.as_bytes();
    bytes.iter().enumerate().any(|(at, byte)| {
        let rest = bytes.get(at..).unwrap_or_default();
        match byte {
            b'%' => true,
            b'&' => entity_at(rest).is_some(),
            b'\\' => js_escape_at(rest).is_some(),
            _ => false,
        }
    })
}

/// The canonical form of an input that none of the decoding steps would change: ASCII, no `%`,
/// no `&` or `\` that starts an escape, no SQL comment opener. Such an input's canonical form
/// is itself in lower case with its runs of blanks squeezed, made here in one pass and one
/// allocation instead of the seven passes of [`decode_and_fold`]. Most header values (a
/// browser's `User-Agent`), paths and query parameters are such inputs. `None` otherwise.
/// The two give the same string for every input this accepts (property test below).
fn plain_ascii(input: &str, plus_is_space: bool) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut blank = false;
    for (at, &byte) in bytes.iter().enumerate() {
        let rest = bytes.get(at..).unwrap_or_default();
        let changes = match byte {
            b'%' | 0x80.. => true,
            b'&' => entity_at(rest).is_some(),
            b'\\' => js_escape_at(rest).is_some(),
            b'/' => bytes.get(at + 1) == Some(&b'*'),
            _ => false,
        };
        if changes {
            return None;
        }
        let byte = if plus_is_space && byte == b'+' { b' ' } else { byte };
        let is_blank = matches!(byte, b' ' | b'\t' | 0x0b | 0x0c);
        if !is_blank {
            out.push(char::from(byte.to_ascii_lowercase()));
        } else if !blank {
            out.push(' ');
        }
        blank = is_blank;
    }
    Some(out)
}

/// Every step of [`normalize`], for an input [`plain_ascii`] does not take.
fn decode_and_fold(input: &str, plus_is_space: bool) -> String {
    let mut bytes = input.as_bytes().to_vec();
    if plus_is_space {
        for byte in &mut bytes {
            if *byte == b'+' {
                *byte = b' ';
            }
        }
    }
    for _ in 0..DECODE_ROUNDS {
        match percent_decode(&bytes) {
            Some(decoded) => bytes = decoded,
            None => break,
        }
    }
    let bytes = fold_overlong_utf8(&bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut text = decode_escapes(&text);
    // `&amp;lt;` is `<` to a browser that decodes twice; a second round is cheap.
    if text.contains('&') || text.contains('\\') {
        text = decode_escapes(&text);
    }
    squeeze(&fold_case_and_width(&text))
}

fn hex(byte: u8) -> Option<u32> {
    (byte as char).to_digit(16)
}

/// One round of `%XX` and `%uXXXX` decoding; `None` when there was nothing to decode.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    if !input.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&byte) = input.get(i) {
        if byte == b'%' {
            if let (Some(high), Some(low)) =
                (input.get(i + 1).copied().and_then(hex), input.get(i + 2).copied().and_then(hex))
            {
                out.push((high * 16 + low) as u8);
                i += 3;
                changed = true;
                continue;
            }
            // IIS-style `%u0027`.
            if matches!(input.get(i + 1), Some(b'u' | b'U')) {
                let digits: Option<Vec<u32>> = (2..6).map(|k| input.get(i + k).copied().and_then(hex)).collect();
                if let Some(digits) = digits {
                    let code = digits.iter().fold(0, |acc, digit| acc * 16 + digit);
                    let mut buffer = [0u8; 4];
                    let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                    out.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
                    i += 6;
                    changed = true;
                    continue;
                }
            }
        }
        out.push(byte);
        i += 1;
    }
    changed.then_some(out)
}

/// Overlong UTF-8 encodings of ASCII (`%c0%ae` for `.`, `%e0%80%af` for `/`) are invalid UTF-8
/// that some decoders still accept; read them as the character they spell.
fn fold_overlong_utf8(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let continuation = |byte: Option<&u8>| byte.is_some_and(|byte| (0x80..=0xbf).contains(byte));
    while let Some(&byte) = input.get(i) {
        let second = input.get(i + 1).copied().unwrap_or(0);
        let third = input.get(i + 2).copied().unwrap_or(0);
        if (byte == 0xc0 || byte == 0xc1) && continuation(input.get(i + 1)) {
            out.push(((byte & 0x01) << 6) | (second & 0x3f));
            i += 2;
            continue;
        }
        if byte == 0xe0 && continuation(input.get(i + 1)) && continuation(input.get(i + 2)) && second < 0xa0 {
            let code = (u32::from(second & 0x3f) << 6) | u32::from(third & 0x3f);
            if code < 0x80 {
                out.push(code as u8);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    out
}

/// HTML character references (`&lt;`, `&#60;`, `&#x3c;`) and JavaScript escapes (`\u003c`,
/// `\x3c`), the encodings that reach a browser or an interpreter as the plain character.
fn decode_escapes(input: &str) -> String {
    if !input.contains('&') && !input.contains('\\') {
        return input.to_owned();
    }
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while let Some(&first) = bytes.get(i) {
        let rest = bytes.get(i..).unwrap_or_default();
        if let Some((ch, used)) = entity_at(rest).or_else(|| js_escape_at(rest)) {
            out.push(ch);
            i += used;
            continue;
        }
        // Copy one whole UTF-8 character.
        let width = utf8_width(first);
        out.push_str(input.get(i..i + width).unwrap_or("\u{fffd}"));
        i += width;
    }
    out
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

fn entity_at(bytes: &[u8]) -> Option<(char, usize)> {
    if bytes.first() != Some(&b'&') {
        return None;
    }
    const NAMED: &[(&str, char)] = &[
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&apos;", '\''),
        ("&amp;", '&'),
        ("&sol;", '/'),
        ("&bsol;", '\\'),
        ("&lpar;", '('),
        ("&rpar;", ')'),
        ("&colon;", ':'),
        ("&semi;", ';'),
        ("&equals;", '='),
        ("&newline;", '\n'),
        ("&tab;", '\t'),
    ];
    for (name, ch) in NAMED {
        if bytes.get(..name.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(name.as_bytes())) {
            return Some((*ch, name.len()));
        }
    }
    // The four references HTML still decodes without the `;` (`&ltscript&gt`), when no letter
    // follows (so "&amplifier" stays text, as it does in a browser's attribute values).
    const LEGACY: &[(&str, char)] = &[("&lt", '<'), ("&gt", '>'), ("&quot", '"'), ("&amp", '&')];
    for (name, ch) in LEGACY {
        if bytes.get(..name.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(name.as_bytes()))
            && !bytes.get(name.len()).is_some_and(|next| next.is_ascii_alphanumeric() && *ch != '<' && *ch != '>')
        {
            return Some((*ch, name.len()));
        }
    }
    // `&#60;` / `&#x3c;`, the `;` optional as browsers allow. Browsers accept any number of
    // leading zeros (`&#x00000006a;`), so they are skipped before the (at most 8) digits that
    // count.
    if bytes.get(1) != Some(&b'#') {
        return None;
    }
    let (radix, mut start) = if matches!(bytes.get(2), Some(b'x' | b'X')) { (16, 3) } else { (10, 2) };
    let zeros_from = start;
    while bytes.get(start) == Some(&b'0') {
        start += 1;
    }
    let mut end = start;
    while end - start < 8 && bytes.get(end).is_some_and(|byte| (*byte as char).is_digit(radix)) {
        end += 1;
    }
    if end == zeros_from {
        return None;
    }
    // All zeros: U+0000, which a browser reads as U+FFFD.
    let digits = if end == start { "0" } else { std::str::from_utf8(bytes.get(start..end)?).ok()? };
    let ch = u32::from_str_radix(digits, radix)
        .ok()
        .filter(|code| *code != 0)
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}');
    let used = if bytes.get(end) == Some(&b';') { end + 1 } else { end };
    Some((ch, used))
}

fn js_escape_at(bytes: &[u8]) -> Option<(char, usize)> {
    if bytes.first() != Some(&b'\\') {
        return None;
    }
    let (digits, used) = match bytes.get(1) {
        Some(b'u') => (bytes.get(2..6)?, 6),
        Some(b'x') => (bytes.get(2..4)?, 4),
        // The line-break escapes payload lists write for a newline (`\nnetstat -a`).
        Some(b'n') => return Some(('\n', 2)),
        Some(b'r') => return Some(('\r', 2)),
        _ => return None,
    };
    let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
    Some((char::from_u32(code).unwrap_or('\u{fffd}'), used))
}

/// The input as a shell reads its words: quotes and backslashes inside a word are removed
/// (`w'h'o'a'm'i` is `whoami`, `c\at` is `cat`), and so are the empty expansions `$@` and `$*`.
/// `None` when the input has none of these, so the caller scans it only once.
pub(crate) fn shell_view(normalized: &str) -> Option<String> {
    if !normalized.bytes().any(|byte| matches!(byte, b'\'' | b'"' | b'\\' | b'$')) {
        return None;
    }
    let mut out = String::with_capacity(normalized.len());
    let mut chars = normalized.chars().peekable();
    let mut changed = false;
    while let Some(ch) = chars.next() {
        match ch {
            '\'' | '"' | '\\' => changed = true,
            '$' if matches!(chars.peek(), Some('@' | '*')) => {
                chars.next();
                changed = true;
            }
            _ => out.push(ch),
        }
    }
    changed.then_some(out)
}

/// Lower case, and full-width ASCII (`＜ｓｃｒｉｐｔ＞`) as ASCII.
fn fold_case_and_width(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for ch in input.chars() {
        let ch = match ch {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(ch as u32 - 0xfee0).unwrap_or(ch),
            // Look-alike slashes that some file APIs treat as separators.
            '\u{2215}' | '\u{2044}' => '/',
            '\u{2216}' => '\\',
            // U+560A / U+560D: their low bytes are LF / CR, and servers that truncate code points
            // to bytes turn them into a line break (the "嘊嘍" header-injection trick).
            '\u{560a}' => '\n',
            '\u{560d}' => '\r',
            _ => ch,
        };
        if ch.is_ascii() {
            out.push(ch.to_ascii_lowercase());
        } else {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// SQL block comments become one space (`union/**/select` is `union select`), except MySQL's
/// executable `/*!50000 ... */`, whose content runs and so is kept; runs of spaces and tabs
/// become one space. Line breaks are kept: the CRLF rules need them.
fn squeeze(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(body) = after.strip_prefix('!') {
            let body = body.trim_start_matches(|c: char| c.is_ascii_digit());
            let end = body.find("*/").unwrap_or(body.len());
            out.push(' ');
            out.push_str(&body[..end]);
            out.push(' ');
            rest = body.get(end + 2..).unwrap_or("");
        } else {
            match after.find("*/") {
                Some(end) => {
                    out.push(' ');
                    rest = &after[end + 2..];
                }
                None => {
                    // An unterminated comment still hides the rest from a naive reader; keep
                    // the opener visible to the comment rules.
                    out.push_str("/* ");
                    rest = after;
                }
            }
        }
    }
    out.push_str(rest);
    let mut squeezed = String::with_capacity(out.len());
    let mut blank = false;
    for ch in out.chars() {
        let is_blank = matches!(ch, ' ' | '\t' | '\u{0b}' | '\u{0c}' | '\u{a0}');
        if is_blank {
            if !blank {
                squeezed.push(' ');
            }
        } else {
            squeezed.push(ch);
        }
        blank = is_blank;
    }
    squeezed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_percent_decoding() {
        assert_eq!(normalize("%2e%2e%2f", false), "../");
        assert_eq!(normalize("%252e%252e%252f", false), "../");
        assert_eq!(normalize("%25252e", false), ".");
        assert_eq!(normalize("%u0027", false), "'");
        assert_eq!(normalize("100%", false), "100%");
        assert_eq!(normalize("a+b", true), "a b");
        assert_eq!(normalize("a+b", false), "a+b");
    }

    #[test]
    fn overlong_utf8_and_escapes() {
        assert_eq!(normalize("%c0%ae%c0%ae%c0%af", false), "../");
        assert_eq!(normalize("%e0%80%ae", false), ".");
        assert_eq!(normalize("&lt;SCRIPT&gt;", false), "<script>");
        assert_eq!(normalize("&#60;&#x3C;&#0000060", false), "<<<");
        assert_eq!(normalize("&amp;lt;", false), "<");
        assert_eq!(normalize("\\u003cimg\\x3e", false), "<img>");
        assert_eq!(normalize("\\nnetstat -a\\r", false), "\nnetstat -a\r");
    }

    #[test]
    fn character_references_with_any_number_of_leading_zeros() {
        assert_eq!(normalize("&#x00000006a;avascript:", false), "javascript:");
        assert_eq!(normalize("&#0000000000106;&#x0000000000000000061", false), "ja");
        assert_eq!(normalize("&#000000;", false), "\u{fffd}");
        assert_eq!(normalize("&#;&#x;", false), "&#;&#x;");
    }

    #[test]
    fn legacy_references_without_semicolon() {
        assert_eq!(normalize("&ltscript&gtalert(1)", false), "<script>alert(1)");
        assert_eq!(normalize("&quot;x&quot", false), "\"x\"");
        assert_eq!(normalize("AT&T &amplifier", false), "at&t &amplifier");
    }

    #[test]
    fn the_shell_view_drops_quotes_and_backslashes_inside_words() {
        assert_eq!(shell_view(";w'h'o'a'm'i").as_deref(), Some(";whoami"));
        assert_eq!(shell_view(";c\\at /e\\tc/pa\\sswd").as_deref(), Some(";cat /etc/passwd"));
        assert_eq!(shell_view("who$@ami").as_deref(), Some("whoami"));
        assert_eq!(shell_view("plain words; no quotes"), None);
    }

    #[test]
    fn case_width_comments_and_blanks() {
        assert_eq!(normalize("UNION/**/SELECT", false), "union select");
        assert_eq!(normalize("/*!50000UNION*/ SELECT", false), " union select");
        assert_eq!(normalize("＜ｓｃｒｉｐｔ＞", false), "<script>");
        assert_eq!(normalize("a \t\t b\r\nc", false), "a b\r\nc");
        assert_eq!(normalize("Crème Brûlée", false), "crème brûlée");
        assert_eq!(normalize("東京タワー", false), "東京タワー");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn percent_encode(text: &str) -> String {
        text.bytes().map(|byte| format!("%{byte:02X}")).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any input, including broken escapes and invalid UTF-8 once decoded, normalizes without
        /// a panic to text without ASCII capitals.
        #[test]
        fn never_panics(text in "\\PC{0,80}", escapes in "(%[0-9a-fA-F]{0,2}|&#?[a-z0-9]{0,6};?|\\\\u[0-9a-f]{0,4}|[%&;\\\\<>'\"a-zA-Z+])*", plus in any::<bool>()) {
            for input in [&text, &escapes] {
                let out = normalize(input, plus);
                prop_assert!(!out.bytes().any(|b| b.is_ascii_uppercase()), "{:?}", out);
            }
        }

        /// The one-pass form of plain ASCII inputs, and the folding alone for text without
        /// escapes, are exactly what every step gives them (`normalize` picks among the three).
        #[test]
        fn the_short_paths_agree_with_every_step(
            ascii in "[ -~\t\x0b\x0c]{0,80}",
            tricky in "([a-zA-Z0-9 +/*&#;\\\\%\t]|&lt;?|&#x?[0-9a-f]{1,4};?|\\\\[uxnr][0-9a-f]{0,4}|/\\*|%[0-9a-f]{2}|é)*",
            unicode in "([a-zA-Z +&;]|[ÀÉÖßéü東京ΣΑ]|[\u{ff01}-\u{ff5e}]|\u{2215}|\u{2044}|\u{2216}|\u{560a}|\u{560d}|\u{a0}|&amp;|%41)*",
            plus in any::<bool>(),
        ) {
            for input in [&ascii, &tricky, &unicode] {
                let full = decode_and_fold(input, plus);
                if let Some(fast) = plain_ascii(input, plus) {
                    prop_assert_eq!(&fast, &full, "input {:?}", input);
                }
                prop_assert_eq!(normalize(input, plus), full);
            }
        }

        /// Percent-encoding an input hides nothing: it normalizes to the same text.
        #[test]
        fn percent_encoding_is_seen_through(text in "[^%+]{0,40}") {
            prop_assert_eq!(normalize(&percent_encode(&text), false), normalize(&text, false));
        }
    }
}
