//! Scopes: the RFC 6749 §3.3 grammar every scope is read with (token claims, introspection
//! answers, token requests), and authorization by scope (every scope a route declares must be
//! held).

use crate::auth::AuthConfig;
use crate::auth::challenge;
use crate::principal::Principal;
use crate::problem::Problem;

/// Passes when `principal` holds all of `required`; otherwise 403 `insufficient_scope` naming
/// every required scope (RFC 6750 §3.1).
/// A token presented with the `DPoP` scheme (`presented_dpop`, asked only on a refusal) is
/// challenged with `DPoP` (RFC 9449 §7.1).
pub(crate) fn require_scopes(
    config: &AuthConfig,
    principal: &Principal,
    required: &[&str],
    presented_dpop: impl FnOnce() -> bool,
) -> Result<(), Problem> {
    if required.iter().all(|scope| principal.has_scope(scope)) {
        return Ok(());
    }
    if presented_dpop() {
        return Err(challenge::insufficient_scope_dpop(config.dpop.algorithms_parameter(), &config.realm, required));
    }
    Err(challenge::insufficient_scope(principal.method(), &config.realm, required))
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: visible ASCII but `"` and
/// `\`; no space, TAB or other control character.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The scopes of a token's `scope` claim (or a string `scp`), split on SP only (RFC 6749 §3.3:
/// `scope = scope-token *( SP scope-token )`). Runs of spaces are tolerated; anything else that
/// is not a scope token (a TAB, LF or FF "separator", a quote, a non-ASCII character) makes the
/// whole claim invalid: `None`, and the token is refused. Splitting on other whitespace would
/// let `"items:read\titems:write"` grant `items:write`; keeping such a piece as one scope would
/// hide an issuer's error behind a silently narrower grant.
pub(crate) fn parse_scope_claim(claim: &str) -> Option<Vec<String>> {
    claim
        .split(' ')
        .filter(|piece| !piece.is_empty())
        .map(|piece| is_scope_token(piece).then(|| piece.to_owned()))
        .collect()
}

/// The scopes of an `scp` array: every item a string that is one scope token, else `None`.
pub(crate) fn parse_scope_array(items: &[serde_json::Value]) -> Option<Vec<String>> {
    items.iter().map(|item| item.as_str().filter(|scope| is_scope_token(scope)).map(str::to_owned)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scope_token_grammar() {
        assert!(is_scope_token("items:read"));
        assert!(is_scope_token("!#[]~"));
        for bad in ["", "a b", "a\"b", "a\\b", "a\tb", "a\nb", "a\u{c}b", "caf\u{e9}", "a\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_scope_claim_is_split_on_spaces_only() {
        assert_eq!(parse_scope_claim("items:read items:write").unwrap(), ["items:read", "items:write"]);
        assert_eq!(parse_scope_claim(" items:read  items:write ").unwrap(), ["items:read", "items:write"]);
        assert_eq!(parse_scope_claim("").unwrap(), Vec::<String>::new());
        for bad in ["items:read\titems:write", "items:read\nitems:write", "items:read\u{c}items:write", "a \"b\""] {
            assert_eq!(parse_scope_claim(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_scp_array_holds_one_scope_token_per_item() {
        assert_eq!(parse_scope_array(&[json!("a"), json!("b")]).unwrap(), ["a", "b"]);
        assert_eq!(parse_scope_array(&[json!("a b")]), None);
        assert_eq!(parse_scope_array(&[json!("a\tb")]), None);
        assert_eq!(parse_scope_array(&[json!(1)]), None);
    }
}
