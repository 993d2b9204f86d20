//! `key = "ip" | "principal" | "api_key" | "header:NAME" | "claim:NAME"`: what a route's rate
//! limit counts requests against (default: the principal on `auth` routes, the client IP
//! otherwise). `claim:NAME` is a top-level string claim of the verified token (per-tenant
//! quotas); a token without it is counted by its principal.

use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateKeyArg, Spanned};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "key",
    usage: "key = \"ip\" | \"principal\" | \"api_key\" | \"header:NAME\" | \"claim:NAME\"",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse,
};

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    let Some(lit) = string_literal(expr, &SPEC, cx) else {
        return;
    };
    match parse_key(&lit.value()) {
        Ok(key) => args.rate_key = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: key }),
        Err(message) => cx.error_spanned_by(lit, message),
    }
}

pub(crate) fn parse_key(text: &str) -> Result<RateKeyArg, String> {
    match text {
        "ip" => Ok(RateKeyArg::Ip),
        "principal" => Ok(RateKeyArg::Principal),
        "api_key" => Ok(RateKeyArg::ApiKey),
        _ => match text.strip_prefix("header:") {
            Some(name) if is_token(name) => Ok(RateKeyArg::Header(name.to_ascii_lowercase())),
            Some(name) => Err(format!(
                "`{name}` is not a header name: use letters, digits and `-` (RFC 9110 token), e.g. `\"header:x-tenant\"`"
            )),
            None => match text.strip_prefix("claim:") {
                Some(name) if is_claim_name(name) => Ok(RateKeyArg::Claim(name.to_owned())),
                Some(name) => Err(format!(
                    "`{name}` is not a claim name: use 1 to 64 letters, digits, `_`, `-`, `.` or `:`, e.g. `\"claim:tenant_id\"`"
                )),
                None => Err(format!(
                    "unknown rate key `{text}`; expected `\"ip\"`, `\"principal\"`, `\"api_key\"`, `\"header:NAME\"` or `\"claim:NAME\"`"
                )),
            },
        },
    }
}

/// A top-level claim name as tokens use them (`tenant_id`, `org.id`, `https://...` excluded):
/// short, printable, no quoting needed in the route inventory.
fn is_claim_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

/// RFC 9110 §5.6.2 `token`: the characters a field name may have.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(parse_key("ip").unwrap(), RateKeyArg::Ip);
        assert_eq!(parse_key("api_key").unwrap(), RateKeyArg::ApiKey);
        assert_eq!(parse_key("header:X-Tenant").unwrap(), RateKeyArg::Header("x-tenant".to_owned()));
        assert!(parse_key("header:").is_err());
        assert!(parse_key("header:x tenant").is_err());
        assert!(parse_key("user").is_err());
        assert_eq!(parse_key("claim:tenant_id").unwrap(), RateKeyArg::Claim("tenant_id".to_owned()));
        assert!(parse_key("claim:").is_err());
        assert!(parse_key("claim:tenant id").is_err());
        assert!(parse_key(&format!("claim:{}", "t".repeat(65))).is_err());
    }
}
