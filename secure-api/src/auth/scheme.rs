//! Reading credentials from a request and authenticating with the route's schemes.

use http::request::Parts;
use http::{HeaderMap, StatusCode, header};

use crate::audit::Outcome;
use crate::auth::AuthConfig;
use crate::auth::dpop::request::{self as dpop, Presented};
use crate::auth::mtls;
use crate::auth::{bearer, challenge};
use crate::policy::RoutePolicy;
use crate::policy::TokenBinding;
use crate::principal::Principal;
use crate::problem::Problem;

/// An authentication scheme: the ones a route accepts (written in `#[secure(auth = "...")]` as
/// `"oauth"`, alias `"jwt"`, or `"api_key"`), and the one a [`Principal`] proved itself with
/// ([`Principal::method`]).
///
/// # Examples
/// ```
/// use secure_api::Principal;
/// use secure_api::auth::AuthScheme;
///
/// let principal = Principal::new("reports", ["reports:read"], AuthScheme::ApiKey);
/// assert_eq!(principal.method(), AuthScheme::ApiKey);
/// assert_eq!(principal.method().as_str(), "api_key");
/// assert_eq!(AuthScheme::Bearer.as_str(), "bearer");
/// assert_eq!(AuthScheme::Bearer.attribute_name(), "oauth");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthScheme {
    /// OAuth 2.0 bearer access tokens in `Authorization: Bearer <token>`: JWTs checked by the
    /// [`JwtVerifier`](crate::auth::JwtVerifier), opaque tokens by the
    /// [`Introspector`](crate::auth::Introspector).
    Bearer,
    /// An API key in the configured header (`X-API-Key` by default).
    ApiKey,
}

impl AuthScheme {
    /// The name used in logs and for a principal: `bearer` or `api_key`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
        }
    }

    /// The name written in `#[secure(auth = ...)]` and shown in route reports: `oauth` or
    /// `api_key`.
    pub const fn attribute_name(self) -> &'static str {
        match self {
            Self::Bearer => "oauth",
            Self::ApiKey => "api_key",
        }
    }

    /// The scheme name in a `WWW-Authenticate` challenge.
    pub(crate) const fn challenge_name(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::ApiKey => "ApiKey",
        }
    }
}

/// What the request carries for one scheme.
enum Credential<'a> {
    /// Nothing for this scheme (another scheme's credentials do not count).
    Absent,
    Present(&'a str),
    /// Present but not well-formed (RFC 6750 `invalid_request`).
    Malformed(&'static str),
}

/// A `Bearer` credential as it arrived: the bytes after `Bearer ` (spaces trimmed), not yet
/// checked to be a token, and the whole header value.
struct RawBearer<'a> {
    token: &'a [u8],
    value: &'a http::HeaderValue,
    /// `Bearer` or `DPoP` (RFC 9449 §7.1): the same token grammar, different proof duties.
    presented: Presented,
}

/// `Authorization: Bearer <token>` or `DPoP <token>`, scheme name case-insensitive (RFC 9110 §11.1): `Ok(None)`
/// when the request carries no bearer credential, `Err` with the reason when the header is
/// malformed.
fn bearer_value(headers: &HeaderMap) -> Result<Option<RawBearer<'_>>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("Send exactly one Authorization header.");
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ').and_then(|at| bytes.split_at_checked(at)) {
        Some(parts) => parts,
        None => (bytes, &b""[..]),
    };
    let presented = if scheme.eq_ignore_ascii_case(b"bearer") {
        Presented::Bearer
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        Presented::Dpop
    } else {
        // Another scheme's credentials; a value that is not even text is still refused.
        return match header_text(value) {
            Some(_) => Ok(None),
            None => Err(NOT_TEXT),
        };
    };
    Ok(Some(RawBearer { token: trim_spaces(rest), value, presented }))
}

impl<'a> RawBearer<'a> {
    /// The token, if it is a token68.
    fn checked(&self) -> Credential<'a> {
        // token68 bytes are visible ASCII, so this one pass over the token also proves the value
        // is text (the scheme and the spaces are): no separate pass over the whole header, no
        // UTF-8 validation. Only a refused value is looked at again, to say why.
        if is_token68(self.token)
            && let Ok(token) = std::str::from_utf8(self.token)
        {
            return Credential::Present(token);
        }
        match header_text(self.value) {
            None => Credential::Malformed(NOT_TEXT),
            Some(_) => Credential::Malformed("The Authorization header must be `Bearer <token>` or `DPoP <token>`."),
        }
    }
}

/// What a request carries for the bearer scheme, with the token checked (the request path
/// first asks the token cache; tests look at the parsing alone).
#[cfg(test)]
fn bearer_token(headers: &HeaderMap) -> Credential<'_> {
    match bearer_value(headers) {
        Ok(Some(raw)) => raw.checked(),
        Ok(None) => Credential::Absent,
        Err(description) => Credential::Malformed(description),
    }
}

/// Whether the request's access token came with the `DPoP` scheme, for a refusal after
/// authentication that must challenge with the scheme the token came with.
pub(crate) fn presented_dpop(headers: &HeaderMap) -> bool {
    matches!(bearer_value(headers), Ok(Some(RawBearer { presented: Presented::Dpop, .. })))
}

const NOT_TEXT: &str = "The Authorization header is not valid text.";

/// `value` without leading and trailing spaces.
fn trim_spaces(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value.iter().rposition(|&b| b != b' ').map_or(start, |last| last + 1);
    value.get(start..end).unwrap_or_default()
}

/// RFC 7235 token68: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(value: &[u8]) -> bool {
    let padding = value.iter().rev().take_while(|&&b| b == b'=').count();
    let body = value.get(..value.len() - padding).unwrap_or_default();
    // Every byte is checked without stopping at the first bad one (`fold` with `&`, no `||`):
    // branch-free, the compiler checks 16 bytes at a time. This runs over every bearer token of
    // every request; the early-exit loop took several times longer on a 450-byte token.
    !body.is_empty() && body.iter().fold(true, |valid, &b| valid & is_token68_byte(b))
}

const fn is_token68_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() | matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// The header's value as text under `HeaderValue::to_str`'s rule (visible ASCII or tab), checked
/// branch-free like [`is_token68`]: `to_str`'s early-exit loop cost ~0.3 µs on a typical token.
fn header_text(value: &http::HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let visible = bytes.iter().fold(true, |visible, &b| visible & ((32..127).contains(&b) | (b == b'\t')));
    if visible { std::str::from_utf8(bytes).ok() } else { None }
}

fn api_key<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> Credential<'a> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Credential::Absent;
    };
    if values.next().is_some() {
        return Credential::Malformed("Send exactly one API key header.");
    }
    match header_text(value) {
        Some(key) if !key.trim().is_empty() => Credential::Present(key.trim()),
        _ => Credential::Malformed("The API key header is empty or not valid text."),
    }
}

/// Authenticates with the first of the route's schemes whose credentials the request
/// carries. Credentials of a scheme the route does not accept are never looked at: a bearer
/// token does not open an API-key route, nor a key an OAuth route.
///
/// `Ok(None)` only for a route whose authentication is optional and a request that carries no
/// credentials for any of its schemes; credentials that are present but bad are refused
/// either way.
pub(crate) async fn authenticate(
    config: &AuthConfig,
    policy: &RoutePolicy,
    parts: &Parts,
) -> Result<Option<Principal>, Problem> {
    let headers = &parts.headers;
    let realm = &config.realm;
    let schemes = policy.auth();
    let mut presented = Presented::Bearer;
    for &scheme in schemes {
        let credential = match scheme {
            AuthScheme::Bearer => match bearer_value(headers) {
                Ok(Some(raw)) => {
                    presented = raw.presented;
                    // A token the verified-token cache holds passed every check below when it
                    // was stored (its form, its signature, its claims): the same bytes get the
                    // cache's decision without a pass over each of them. Its binding is checked
                    // per request all the same: a proof is never cached.
                    if let Some(decided) = bearer::cached(config, raw.token) {
                        let dpop = presented == Presented::Dpop;
                        let principal = decided.map_err(|error| bearer::rejection_as(config, dpop, &error))?;
                        return match presented {
                            Presented::Bearer => bind_bearer(config, policy, parts, principal),
                            // Only a DPoP proof's `ath` needs the token as text (a pass over
                            // its bytes a plain bearer request does not pay).
                            Presented::Dpop => {
                                let token = std::str::from_utf8(raw.token).unwrap_or_default();
                                Box::pin(bind_dpop(config, policy, parts, token, principal)).await
                            }
                        }
                        .map(Some);
                    }
                    raw.checked()
                }
                Ok(None) => Credential::Absent,
                Err(description) => Credential::Malformed(description),
            },
            AuthScheme::ApiKey => api_key(headers, &realm.api_key_header),
        };
        let token = match credential {
            Credential::Absent => continue,
            Credential::Malformed(description) => {
                return Err(challenge::invalid_request(schemes, scheme, realm, description));
            }
            Credential::Present(token) => token,
        };
        return match scheme {
            AuthScheme::Bearer => {
                if !bearer::is_configured(config) {
                    return Err(unconfigured(scheme));
                }
                match bearer::verify(config, token).await {
                    Ok(principal) => match presented {
                        Presented::Bearer => bind_bearer(config, policy, parts, principal),
                        Presented::Dpop => Box::pin(bind_dpop(config, policy, parts, token, principal)).await,
                    }
                    .map(Some),
                    Err(error) => Err(bearer::rejection_as(config, presented == Presented::Dpop, &error)),
                }
            }
            AuthScheme::ApiKey => {
                let Some(keys) = &config.api_keys else {
                    return Err(unconfigured(scheme));
                };
                keys.verify(token.as_bytes()).map(Some).ok_or_else(|| {
                    tracing::debug!(target: "secure_api::auth", "unknown API key presented");
                    challenge::invalid_credentials(scheme, realm, "")
                })
            }
        };
    }
    if policy.is_auth_optional() {
        return Ok(None);
    }
    let problem = challenge::missing_credentials(schemes, realm);
    // A route that takes DPoP-bound tokens tells the client how to make one (RFC 9449 §7.1).
    Err(match policy.binding().is_some_and(TokenBinding::accepts_dpop) {
        true => problem.with_header(header::WWW_AUTHENTICATE, dpop::challenge(&config.dpop, realm, None)),
        false => problem,
    })
}

/// The sender constraint of a token sent as `Bearer` (RFC 9449 §7.2, RFC 8705 §3): no I/O.
///
/// A token bound to a certificate (`cnf["x5t#S256"]`) is accepted only over a connection that
/// presented that certificate; a route with `bound = "mtls"` takes only such tokens, one with
/// `bound = "any"` takes them or DPoP-bound ones (sent with the `DPoP` scheme).
fn bind_bearer(
    config: &AuthConfig,
    policy: &RoutePolicy,
    parts: &Parts,
    principal: Principal,
) -> Result<Principal, Problem> {
    let certificate_bound =
        mtls::check(&principal, mtls::presented(parts)).map_err(|error| mtls::rejection(&config.realm, error))?;
    let binding = policy.binding();
    if binding == Some(TokenBinding::Mtls) && !certificate_bound {
        return Err(mtls::rejection(&config.realm, mtls::MtlsError::BindingRequired));
    }
    // Still needs a DPoP proof: a route that takes DPoP-bound tokens only, or either kind of
    // binding when this token is not certificate-bound.
    let dpop_required =
        binding.is_some_and(|binding| binding == TokenBinding::Dpop || (binding.accepts_dpop() && !certificate_bound));
    dpop::check_bearer(&principal, dpop_required)
        .map(|()| principal)
        .map_err(|error| dpop::rejection(&config.dpop, &config.realm, error))
}

/// The proof and binding of a token sent with the `DPoP` scheme (RFC 9449 §7.1). Called
/// boxed: its state (and a shared replay check in Redis) would otherwise make every request's
/// future larger, bearer requests included. A token also bound to a certificate needs that
/// certificate too; a `bound = "mtls"` route takes no DPoP-bound token.
async fn bind_dpop(
    config: &AuthConfig,
    policy: &RoutePolicy,
    parts: &Parts,
    token: &str,
    principal: Principal,
) -> Result<Principal, Problem> {
    dpop::check_dpop(&config.dpop, parts, token, &principal)
        .await
        .map_err(|error| dpop::rejection(&config.dpop, &config.realm, error))?;
    let certificate_bound =
        mtls::check(&principal, mtls::presented(parts)).map_err(|error| mtls::rejection(&config.realm, error))?;
    if policy.binding() == Some(TokenBinding::Mtls) && !certificate_bound {
        return Err(mtls::rejection(&config.realm, mtls::MtlsError::BindingRequired));
    }
    Ok(principal)
}

/// A route accepts a scheme the application never configured: deny (fail closed) and tell the
/// operator, without telling the client anything about our configuration.
fn unconfigured(scheme: AuthScheme) -> Problem {
    tracing::error!(
        target: "secure_api::auth",
        scheme = scheme.attribute_name(),
        "a route accepts this authentication scheme but the Security state does not configure it; denying"
    );
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable")
        .with_detail("Authentication is not available for this route.")
        .with_outcome(Outcome::DENIED_UNCONFIGURED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert!(matches!(bearer_token(&auth("bEaReR abc.def.ghi")), Credential::Present("abc.def.ghi")));
    }

    #[test]
    fn other_schemes_are_not_bearer_credentials() {
        assert!(matches!(bearer_token(&auth("Basic dXNlcjpwYXNz")), Credential::Absent));
    }

    #[test]
    fn malformed_bearer_values() {
        assert!(matches!(bearer_token(&auth("Bearer")), Credential::Malformed(_)));
        assert!(matches!(bearer_token(&auth("Bearer a b")), Credential::Malformed(_)));
        let mut twice = auth("Bearer a");
        twice.append(header::AUTHORIZATION, "Bearer b".parse().unwrap());
        assert!(matches!(bearer_token(&twice), Credential::Malformed(_)));
    }

    #[test]
    fn spaces_around_the_token_and_the_reason_for_a_refusal() {
        assert!(matches!(bearer_token(&auth("Bearer   abc.def.ghi  ")), Credential::Present("abc.def.ghi")));
        for value in [&b"Bearer caf\xc3\xa9"[..], b"Basic caf\xc3\xa9"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, http::HeaderValue::from_bytes(value).unwrap());
            assert!(matches!(bearer_token(&headers), Credential::Malformed(NOT_TEXT)));
        }
        assert!(matches!(
            bearer_token(&auth("Bearer a,b")),
            Credential::Malformed("The Authorization header must be `Bearer <token>` or `DPoP <token>`.")
        ));
        assert!(matches!(bearer_token(&auth("Bearer ==")), Credential::Malformed(_)));
    }

    #[test]
    fn token68_grammar() {
        assert!(is_token68("abc-._~+/==".as_bytes()));
        assert!(!is_token68("==".as_bytes()));
        assert!(!is_token68("a=b".as_bytes()));
        assert!(is_token68("ABCXYZabcxyz0189-._~+/".as_bytes()));
        for bad in ["a b", "a,b", "a\"b", "caf\u{e9}", "a:b", "a\tb"] {
            assert!(!is_token68(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn header_text_agrees_with_to_str_on_every_byte() {
        for byte in 0..=255u8 {
            let Ok(value) = http::HeaderValue::from_bytes(&[b'a', byte, b'z']) else { continue };
            assert_eq!(header_text(&value), value.to_str().ok(), "byte {byte}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any `Authorization` value (any bytes a header may hold) is absent, present or
        /// malformed, never a panic; a present token is token68.
        #[test]
        fn any_authorization_header_is_classified(bytes in prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..120)) {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, http::HeaderValue::from_bytes(&bytes).unwrap());
            if let Credential::Present(token) = bearer_token(&headers) {
                prop_assert!(is_token68(token.as_bytes()));
            }
            let _ = api_key(&headers, &header::AUTHORIZATION);
        }

        /// `<any case of bearer> <token68>` yields exactly that token.
        #[test]
        fn bearer_tokens_round_trip(token in "[A-Za-z0-9._~+/-]{1,80}={0,2}", scheme in "[bB][eE][aA][rR][eE][rR]") {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, format!("{scheme} {token}").parse().unwrap());
            match bearer_token(&headers) {
                Credential::Present(found) => prop_assert_eq!(found, token.as_str()),
                _ => prop_assert!(false, "not present"),
            }
        }
    }
}
