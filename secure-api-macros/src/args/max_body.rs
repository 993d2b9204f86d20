//! `max_body = "16KiB"`: the largest request body a validated input reads.

use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "max_body",
    usage: "max_body = \"16KiB\"",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse,
};

/// Bodies are buffered in memory before parsing; above this, stream the upload yourself.
const LARGEST: usize = 64 * 1024 * 1024;

/// `"512B"`, `"16KiB"`, `"1 MiB"` or a plain byte count into bytes. Binary units only: `KB`
/// means 1000 to some and 1024 to others, and a limit should not be ambiguous.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let digits = digits.replace('_', "");
    let Ok(number) = digits.parse::<usize>() else {
        return Err(format!("`{text}` is not a size; expected a size like \"16KiB\", \"1MiB\" or \"512B\""));
    };
    let multiplier = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        "KB" | "kB" | "MB" | "K" | "M" | "k" | "m" | "kb" | "mb" => {
            return Err(format!("`{}` is ambiguous; use binary units: `KiB` or `MiB`", unit.trim()));
        }
        other => return Err(format!("unknown size unit `{other}`; expected `B`, `KiB` or `MiB`")),
    };
    let bytes = number.checked_mul(multiplier).filter(|bytes| *bytes <= LARGEST).ok_or_else(|| {
        format!("`{text}` is larger than 64MiB; bodies are buffered in memory, so stream larger uploads yourself")
    })?;
    if bytes == 0 {
        return Err("a body limit of 0 bytes refuses every body; give at least 1 byte".to_owned());
    }
    Ok(bytes)
}

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    let Some(lit) = string_literal(expr, &SPEC, cx) else {
        return;
    };
    match parse_size(&lit.value()) {
        Ok(bytes) => {
            args.max_body = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: bytes });
        }
        Err(message) => cx.error_spanned_by(lit, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16KiB"), Ok(16 * 1024));
        assert_eq!(parse_size("1 MiB"), Ok(1024 * 1024));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("65_536"), Ok(65536));
        assert_eq!(parse_size("64MiB"), Ok(64 * 1024 * 1024));
    }

    #[test]
    fn refuses_ambiguous_zero_huge_and_garbage() {
        assert!(parse_size("16KB").unwrap_err().contains("ambiguous"));
        assert!(parse_size("0B").unwrap_err().contains("0 bytes"));
        assert!(parse_size("65MiB").unwrap_err().contains("64MiB"));
        assert!(parse_size("99999999999999999999999MiB").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1GiB").unwrap_err().contains("unknown size unit"));
    }
}
