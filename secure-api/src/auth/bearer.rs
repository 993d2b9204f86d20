//! Bearer access tokens: which checker a token goes to, and how failures are answered.
//!
//! A token that looks like a JWS (three base64url parts) is verified as a JWT when a
//! [`JwtVerifier`](crate::auth::JwtVerifier) is configured; any other token is introspected
//! when an [`Introspector`](crate::auth::Introspector) is configured. A JWT that fails
//! verification is never sent to introspection: one token, one verdict.

use http::{StatusCode, header};

use crate::audit::Outcome;
use crate::auth::challenge::{self, Realm};
use crate::auth::{AuthScheme, JwtVerifier, TokenError};
use crate::principal::Principal;
use crate::problem::Problem;
use crate::state::SecurityConfig;

/// Whether the application can check bearer tokens at all.
pub(crate) fn is_configured(config: &SecurityConfig) -> bool {
    config.jwt.is_some() || config.introspection.is_some()
}

/// `header.payload.signature`, each part non-empty base64url (the compact JWS shape).
pub(crate) fn looks_like_jws(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        let signature = parts == 3;
        if (part.is_empty() && !signature) || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    parts == 3
}

/// Checks `token` with the JWT verifier or the introspection endpoint.
pub(crate) async fn verify(config: &SecurityConfig, token: &str) -> Result<Principal, TokenError> {
    match (&config.jwt, &config.introspection) {
        (Some(jwt), _) if looks_like_jws(token) => verify_jwt(config, jwt, token).await,
        (_, Some(introspector)) => introspector.introspect(token).await,
        (Some(jwt), None) => verify_jwt(config, jwt, token).await,
        (None, None) => Err(TokenError::Unavailable),
    }
}

/// A JWT through the verified-token cache when one is configured. A `kid` the cached key set
/// does not know still gets the (throttled) key-set refresh.
async fn verify_jwt(config: &SecurityConfig, jwt: &JwtVerifier, token: &str) -> Result<Principal, TokenError> {
    let Some(cache) = &config.token_cache else {
        return jwt.verify_with_refresh(token).await;
    };
    match cache.verify(jwt, token) {
        Err(TokenError::UnknownKey) if jwt.jwks().is_some() => jwt.verify_with_refresh(token).await,
        decided => decided,
    }
}

/// The answer to a refused token: 401 `invalid_token`, or 503 when we could not check it.
pub(crate) fn rejection(realm: &Realm, error: &TokenError) -> Problem {
    tracing::debug!(target: "secure_api::auth", reason = %error, "bearer token rejected");
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
    }
}
