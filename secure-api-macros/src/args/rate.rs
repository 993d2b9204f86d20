//! `rate = "N/WINDOW"`: at most `N` requests per window, e.g. `"100/15m"`, `"10/1s"`,
//! `"5000/1d"`, `"60/m"` (the window count defaults to 1). Units: `s`, `m`, `h`, `d`.
//! `rate = ["10/1s", "1000/1h"]`: several limits, all of which must pass; each is checked like
//! a single one, and the list may be neither empty nor name one rate twice.
//!
//! Parsed here, at compile time, into a count and a window in seconds; every mistake is an
//! error on the literal. The runtime's `RateSpec` documents the GCRA semantics.

use syn::{Expr, Meta};

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateArg, Spanned};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "rate",
    // Unchanged by the list form (which the module docs and its own errors explain), so the
    // argument list in other errors stays short and the UI cases' expected output holds.
    usage: "rate = \"N/WINDOW\" (e.g. \"100/15m\") | rate = [\"10/1s\", \"1000/1h\"]",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse,
};

/// The longest window, as in the runtime's `RateSpec::MAX_WINDOW_SECS`.
const MAX_WINDOW_SECS: u64 = 365 * 86_400;

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    let key_span = syn::spanned::Spanned::span(meta.path());
    let Expr::Array(array) = expr else {
        let Some(lit) = string_literal(expr, &SPEC, cx) else {
            return;
        };
        match parse_rate(&lit.value()) {
            Ok(rate) => args.rate = Some(Spanned { key_span, value: rate }),
            Err(message) => cx.error_spanned_by(lit, message),
        }
        return;
    };
    if array.elems.is_empty() {
        cx.error_spanned_by(array, "`rate` is empty; name at least one rate, e.g. `rate = [\"10/1s\", \"1000/1h\"]`");
        return;
    }
    let mut rates: Vec<RateArg> = Vec::new();
    let mut ok = true;
    for element in &array.elems {
        let Some(lit) = string_literal(element, &SPEC, cx) else {
            ok = false;
            continue;
        };
        match parse_rate(&lit.value()) {
            // Two rates with one count and window (`"60/m"`, `"60/1m"`) are one policy twice: the
            // `RateLimit-Policy` names would clash and the second adds nothing.
            Ok(rate) if rates.iter().any(|seen| (seen.count, seen.window_secs) == (rate.count, rate.window_secs)) => {
                cx.error_spanned_by(lit, format_args!("the rate `{}` is listed twice", lit.value()));
                ok = false;
            }
            Ok(rate) => rates.push(rate),
            Err(message) => {
                cx.error_spanned_by(lit, message);
                ok = false;
            }
        }
    }
    if !ok {
        return;
    }
    let mut rates = rates.into_iter();
    if let Some(first) = rates.next() {
        args.rate = Some(Spanned { key_span, value: first });
        args.more_rates = rates.collect();
    }
}

/// `"N/WINDOW"` -> count and window seconds, or the message for the literal.
pub(crate) fn parse_rate(text: &str) -> Result<RateArg, String> {
    let usage = "expected `rate = \"N/WINDOW\"` with a window in `s`, `m`, `h` or `d`, e.g. `\"100/15m\"`";
    let Some((count_text, window_text)) = text.split_once('/') else {
        return Err(format!("`{text}` is not a rate: {usage}"));
    };
    if count_text.is_empty() || !count_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{count_text}` is not a request count: {usage}"));
    }
    let count: u32 = count_text
        .parse()
        .map_err(|_| format!("the request count `{count_text}` overflows: at most {} requests per window", u32::MAX))?;
    if count == 0 {
        return Err("a rate of zero requests lets nothing through: allow at least 1 request per window".to_owned());
    }
    let Some(unit) = window_text.chars().last() else {
        return Err(format!("the window is missing: {usage}"));
    };
    let amount_text = &window_text[..window_text.len() - unit.len_utf8()];
    let unit_secs: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => {
            return Err(format!(
                "unknown window unit in `{window_text}`: expected `s`, `m`, `h` or `d` (seconds, minutes, hours, days)"
            ));
        }
    };
    let amount: u64 = if amount_text.is_empty() {
        1
    } else if amount_text.bytes().all(|b| b.is_ascii_digit()) {
        amount_text.parse().unwrap_or(u64::MAX)
    } else {
        return Err(format!("`{window_text}` is not a window: {usage}"));
    };
    if amount == 0 {
        return Err(format!("the window `{window_text}` is empty: use at least `1{unit}`"));
    }
    let window_secs = amount.checked_mul(unit_secs).filter(|secs| *secs <= MAX_WINDOW_SECS).ok_or_else(|| {
        format!("the window `{window_text}` overflows: at most 365 days (`365d`); a longer one is a quota, not a rate")
    })?;
    if u64::from(count) > window_secs * 1_000_000 {
        return Err(format!(
            "`{text}` overflows the limiter's resolution: at most one request per microsecond ({} per `{window_text}`)",
            window_secs * 1_000_000
        ));
    }
    Ok(RateArg { count, window_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (u32, u64) {
        let rate = parse_rate(text).unwrap();
        (rate.count, rate.window_secs)
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(ok("100/15m"), (100, 900));
        assert_eq!(ok("10/1s"), (10, 1));
        assert_eq!(ok("5000/1d"), (5000, 86_400));
        assert_eq!(ok("60/m"), (60, 60));
        assert_eq!(ok("1/365d"), (1, 365 * 86_400));
        assert_eq!(ok("1000000/1s"), (1_000_000, 1));
    }

    #[test]
    fn rejected_forms() {
        for (text, needle) in [
            ("0/1m", "zero"),
            ("10/0s", "empty"),
            ("99999999999/1m", "overflows"),
            ("1/366d", "overflows"),
            ("1/99999999999999999999999d", "overflows"),
            ("1000001/1s", "microsecond"),
            ("100/15x", "unit"),
            ("100/15", "unit"),
            ("100", "not a rate"),
            ("/1m", "count"),
            ("-1/1m", "count"),
            ("10/", "missing"),
            ("10/ 1m", "not a window"),
            ("10/é", "unit"),
        ] {
            let error = parse_rate(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;
    use crate::args::parse_for_test;

    #[test]
    fn a_list_of_rates_keeps_every_rate_in_order() {
        let (args, failed) = parse_for_test(parse, r#"rate = ["10/1s", "1000/1h"]"#);
        assert!(!failed);
        let first = args.rate.unwrap().value;
        assert_eq!((first.count, first.window_secs), (10, 1));
        let more: Vec<(u32, u64)> = args.more_rates.iter().map(|rate| (rate.count, rate.window_secs)).collect();
        assert_eq!(more, [(1000, 3600)]);
    }

    #[test]
    fn a_single_string_still_works() {
        let (args, failed) = parse_for_test(parse, r#"rate = "100/15m""#);
        assert!(!failed);
        assert_eq!(args.rate.unwrap().value.window_secs, 900);
        assert!(args.more_rates.is_empty());
    }

    #[test]
    fn each_rate_of_a_list_is_compile_checked() {
        for src in [
            r#"rate = ["10/1s", "0/1h"]"#,
            r#"rate = ["10/1s", "1000/1x"]"#,
            r#"rate = ["10/1s", 1000]"#,
            r#"rate = []"#,
            r#"rate = ["60/m", "60/1m"]"#,
            r#"rate = 10"#,
        ] {
            let (args, failed) = parse_for_test(parse, src);
            assert!(failed, "{src} was accepted");
            assert!(args.rate.is_none() && args.more_rates.is_empty(), "{src} left a rate behind");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::parse_rate;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any literal gets an answer (a rate or a message), never a panic.
        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_rate(&text);
        }

        /// Near-misses of the grammar too.
        #[test]
        fn near_misses_never_panic(text in "[0-9]{0,12}/[0-9]{0,22}[smhdé/x]?") {
            let _ = parse_rate(&text);
        }

        /// `N/AU` reads back as N requests per A units, within the documented bounds.
        #[test]
        fn well_formed_rates_round_trip(count in 1u32..=1_000_000, amount in 1u64..=365, unit in 0usize..4) {
            let (letter, secs) = [('s', 1), ('m', 60), ('h', 3_600), ('d', 86_400)][unit];
            let window = amount * secs;
            prop_assume!(window <= 365 * 86_400 && u64::from(count) <= window * 1_000_000);
            let rate = parse_rate(&format!("{count}/{amount}{letter}")).unwrap();
            prop_assert_eq!((rate.count, rate.window_secs), (count, window));
        }
    }
}
