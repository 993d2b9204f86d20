//! Bearer access tokens: which checker a token goes to, and how failures are answered.
//!
//! A token that looks like a JWS (three base64url parts) is verified as a JWT when a
//! [`JwtVerifier`](crate::auth::JwtVerifier) is configured; any other token is introspected
//! when an `Introspector` is configured (feature `idp`). A JWT that fails
//! verification is never sent to introspection: one token, one verdict.

use http::{StatusCode, header};

use crate::audit::Outcome;
use crate::auth::AuthConfig;
use crate::auth::challenge::{self, Realm};
use crate::auth::{AuthScheme, Issuers, TokenError};
use crate::principal::Principal;
use crate::problem::Problem;

/// Whether the application can check bearer tokens at all.
#[cfg(feature = "idp")]
pub(crate) fn is_configured(config: &AuthConfig) -> bool {
    config.jwt.is_some() || config.introspection.is_some()
}

/// Whether the application can check bearer tokens at all (a JWT verifier is the only way
/// without the `idp` feature).
#[cfg(not(feature = "idp"))]
pub(crate) fn is_configured(config: &AuthConfig) -> bool {
    config.jwt.is_some()
}

/// `header.payload.signature`, each part non-empty base64url (the compact JWS shape; the
/// signature may be empty, which verification then refuses).
// Only needed to choose between the verifier and introspection (feature `idp`).
#[cfg(any(feature = "idp", test))]
pub(crate) fn looks_like_jws(token: &str) -> bool {
    // Branch-free passes that the compiler vectorizes: tokens are hundreds of bytes and this
    // runs on every request. (An early-exit loop over `split` cost ~4 000 instructions for a
    // 290-byte token; these two passes ~800. Dots are counted in `u8` lanes, per chunk of 255
    // bytes so a count never wraps.)
    let bytes = token.as_bytes();
    let base64url_or_dot = bytes.iter().fold(true, |ok, &byte| ok & is_base64url_or_dot(byte));
    let dots: usize = bytes
        .chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |dots, &byte| dots + u8::from(byte == b'.'))))
        .sum();
    if dots != 2 || !base64url_or_dot {
        return false;
    }
    // Exactly two dots: the header and the payload must not be empty.
    match token.split_once('.') {
        Some((header, rest)) => !header.is_empty() && !rest.starts_with('.'),
        None => false,
    }
}

#[cfg(any(feature = "idp", test))]
const fn is_base64url_or_dot(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() | matches!(byte, b'-' | b'_' | b'.')
}

/// The verified-token cache's decision for a bearer token given as the request's raw bytes,
/// when it holds one; `None` sends the token the whole way ([`verify`]). A cached token went to
/// the JWT verifier when it was stored, as the same bytes would again.
pub(crate) fn cached(config: &AuthConfig, token: &[u8]) -> Option<Result<Principal, TokenError>> {
    match (&config.jwt, &config.token_cache) {
        (Some(issuers), Some(cache)) => cache.cached(issuers, token),
        _ => None,
    }
}

/// Checks `token` with the JWT verifier or the introspection endpoint.
#[cfg(feature = "idp")]
pub(crate) async fn verify(config: &AuthConfig, token: &str) -> Result<Principal, TokenError> {
    match (&config.jwt, &config.introspection) {
        // With only a verifier every token goes to it (shape and all): no need to look at the
        // token's shape first, which was a pass over its bytes on every request.
        (Some(jwt), None) => verify_jwt(config, jwt, token).await,
        (Some(jwt), Some(_)) if looks_like_jws(token) => verify_jwt(config, jwt, token).await,
        // Boxed: a network round trip's state would otherwise make every request's future
        // larger (it is moved, byte by byte, several times per request), for a path that
        // costs milliseconds anyway.
        (_, Some(introspector)) => Box::pin(introspector.introspect(token)).await,
        (None, None) => Err(TokenError::Unavailable),
    }
}

/// Checks `token` with the JWT verifier (the only checker without the `idp` feature).
#[cfg(not(feature = "idp"))]
pub(crate) async fn verify(config: &AuthConfig, token: &str) -> Result<Principal, TokenError> {
    match &config.jwt {
        Some(jwt) => verify_jwt(config, jwt, token).await,
        None => Err(TokenError::Unavailable),
    }
}

/// A JWT through the verified-token cache when one is configured, judged by the verifier of
/// the issuer it names. A `kid` the cached key set does not know still gets the (throttled)
/// refresh of that issuer's key set.
async fn verify_jwt(config: &AuthConfig, issuers: &Issuers, token: &str) -> Result<Principal, TokenError> {
    let Some(cache) = &config.token_cache else {
        return Box::pin(issuers.verify_with_refresh(token)).await;
    };
    match cache.verify_issuers(issuers, token) {
        // Boxed like introspection: a key-set fetch is rare and slow.
        #[cfg(feature = "idp")]
        Err(TokenError::UnknownKey) if issuers.has_jwks() => Box::pin(issuers.verify_with_refresh(token)).await,
        decided => decided,
    }
}

/// The answer to a refused token: 401 `invalid_token`, or 503 when we could not check it.
/// [`rejection`] for a token presented with `scheme` (`DPoP` tokens get a `DPoP` challenge,
/// RFC 9449 §7.1).
pub(crate) fn rejection_as(config: &AuthConfig, presented_dpop: bool, error: &TokenError) -> Problem {
    if presented_dpop && *error != TokenError::Unavailable {
        tracing::debug!(
            target: "secure_api::auth",
            reason = crate::audit::LogSafe::display(error).as_str(),
            "DPoP token rejected"
        );
        return challenge::invalid_dpop_token(config.dpop.algorithms_parameter(), &config.realm, error.description());
    }
    rejection(&config.realm, error)
}

pub(crate) fn rejection(realm: &Realm, error: &TokenError) -> Problem {
    tracing::debug!(
        target: "secure_api::auth",
        reason = crate::audit::LogSafe::display(error).as_str(),
        "bearer token rejected"
    );
    if *error == TokenError::Unavailable {
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable")
            .with_detail(error.description())
            .with_header(header::RETRY_AFTER, http::HeaderValue::from_static("5"))
            .with_outcome(Outcome::DENIED_IDP_UNAVAILABLE);
    }
    challenge::invalid_credentials(AuthScheme::Bearer, realm, error.description())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jws_shape() {
        assert!(looks_like_jws("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));
        assert!(looks_like_jws("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."));
        assert!(!looks_like_jws("2YotnFZFEjr1zCsicMWpAA"));
        assert!(!looks_like_jws("a.b"));
        assert!(!looks_like_jws("a.b.c.d.e"));
        assert!(!looks_like_jws(".b.c"));
        assert!(!looks_like_jws("a+b.c.d"));
        assert!(!looks_like_jws("a..c"));
        assert!(!looks_like_jws(""));
        assert!(!looks_like_jws(".."));
        assert!(looks_like_jws("a.b."));
        assert!(!looks_like_jws("a.b.c\n"));
        // 258 dots must not count as 2 (the count is kept per 255-byte chunk).
        assert!(!looks_like_jws(&format!("a.b.{}", ".".repeat(256))));
        assert!(looks_like_jws(&format!("{}.{}.{}", "h".repeat(300), "p".repeat(700), "s".repeat(86))));
    }
}
