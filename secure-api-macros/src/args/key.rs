//! `key = "ip" | "principal" | "api_key" | "header:NAME"`: what a route's rate limit counts
//! requests against (default: the principal on `auth` routes, the client IP otherwise).

use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, RateKeyArg, Spanned};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "key",
    usage: "key = \"ip\" | \"principal\" | \"api_key\" | \"header:NAME\"",
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
            None => Err(format!(
                "unknown rate key `{text}`; expected `\"ip\"`, `\"principal\"`, `\"api_key\"` or `\"header:NAME\"`"
            )),
        },
    }
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
    }
}
