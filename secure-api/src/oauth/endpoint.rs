//! The token endpoint: configuration, token issuance, and the `#[public]` handler.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::json;

use crate::auth::ClientCertificate;
use crate::auth::scope::is_scope_token;
use crate::config::ConfigError;
use crate::oauth::client::{self, OAuthClient};
use crate::oauth::error::TokenEndpointError;
use crate::state::Security;

/// Largest token request body read; a client_credentials request is a few hundred bytes.
const MAX_TOKEN_REQUEST_BYTES: usize = 8 * 1024;

/// The token endpoint's configuration: signing key, issuer, audience, lifetime, clients.
#[derive(Clone)]
pub struct TokenEndpoint {
    key: EncodingKey,
    issuer: String,
    audience: String,
    lifetime: Duration,
    clients: Vec<OAuthClient>,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

/// A freshly issued access token (RFC 6749 §5.1).
#[derive(Clone, Debug, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to the client's DPoP key (RFC 9449 §5).
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

impl TokenEndpoint {
    /// Signs tokens with HS256 using `secret` (at least 32 bytes), naming `issuer` and `audience`.
    /// Tokens live one hour unless [`TokenEndpoint::lifetime`] says otherwise.
    pub fn hs256(secret: &[u8], issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, ConfigError> {
        // The same rule as for verification keys: refuse secrets shorter than the hash.
        crate::auth::VerificationKey::hs256(secret)?;
        Ok(Self {
            key: EncodingKey::from_secret(secret),
            issuer: issuer.into(),
            audience: audience.into(),
            lifetime: Duration::from_secs(3600),
            clients: Vec::new(),
        })
    }

    /// Registers a client.
    pub fn client(mut self, client: OAuthClient) -> Self {
        self.clients.push(client);
        self
    }

    /// How long issued tokens are valid.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Issues a token for `client` with `scopes` (already checked against the client).
    pub fn issue(&self, client: &OAuthClient, scopes: &[&str]) -> Result<IssuedToken, ConfigError> {
        self.issue_bound(client, scopes, None)
    }

    /// Issues a token like [`issue`](Self::issue), bound to the DPoP key whose RFC 7638
    /// thumbprint is `jkt` when one is given: `cnf.jkt` in the token, `token_type: DPoP`.
    ///
    /// ```
    /// use secure_api::oauth::{OAuthClient, TokenEndpoint};
    ///
    /// let endpoint = TokenEndpoint::hs256(b"0123456789abcdef0123456789abcdef", "issuer", "api").unwrap();
    /// let client = OAuthClient::new("c", "0123456789abcdef0123456789abcdef", ["read"]).unwrap();
    /// let token = endpoint.issue_bound(&client, &["read"], Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")).unwrap();
    /// assert_eq!(token.token_type, "DPoP");
    /// ```
    pub fn issue_bound(
        &self,
        client: &OAuthClient,
        scopes: &[&str],
        jkt: Option<&str>,
    ) -> Result<IssuedToken, ConfigError> {
        match jkt {
            Some(jkt) => self.sign(client, scopes, Some(json!({ "jkt": jkt })), "DPoP"),
            None => self.sign(client, scopes, None, "Bearer"),
        }
    }

    fn sign(
        &self,
        client: &OAuthClient,
        scopes: &[&str],
        cnf: Option<serde_json::Value>,
        token_type: &'static str,
    ) -> Result<IssuedToken, ConfigError> {
        let now = jsonwebtoken::get_current_timestamp();
        let scope = scopes.join(" ");
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client.id,
            "client_id": client.id,
            "scope": scope,
            "iat": now,
            "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let (Some(cnf), Some(object)) = (cnf, claims.as_object_mut()) {
            object.insert("cnf".to_owned(), cnf);
        }
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        let access_token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|_| ConfigError::new("the token signing key cannot sign HS256 tokens"))?;
        Ok(IssuedToken { access_token, token_type, expires_in: self.lifetime.as_secs(), scope })
    }

    /// Issues a token like [`issue`](Self::issue), bound to the client certificate whose
    /// RFC 8705 thumbprint is `x5t_s256` (`cnf["x5t#S256"]` in the token, `token_type: Bearer`
    /// as RFC 8705 §3 keeps it).
    ///
    /// ```
    /// use secure_api::oauth::{OAuthClient, TokenEndpoint};
    ///
    /// let endpoint = TokenEndpoint::hs256(b"0123456789abcdef0123456789abcdef", "issuer", "api").unwrap();
    /// let client = OAuthClient::new("c", "0123456789abcdef0123456789abcdef", ["read"]).unwrap();
    /// let token = endpoint
    ///     .issue_certificate_bound(&client, &["read"], "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
    ///     .unwrap();
    /// assert_eq!(token.token_type, "Bearer");
    /// ```
    pub fn issue_certificate_bound(
        &self,
        client: &OAuthClient,
        scopes: &[&str],
        x5t_s256: &str,
    ) -> Result<IssuedToken, ConfigError> {
        self.sign(client, scopes, Some(json!({ "x5t#S256": x5t_s256 })), "Bearer")
    }

    /// Handles one token request: the whole of RFC 6749 §4.4 with §2.3.1 client authentication.
    pub fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Result<IssuedToken, TokenEndpointError> {
        self.handle_bound(headers, body, || Ok(None))
    }

    /// Handles one token request like [`handle`](Self::handle); once the client is
    /// authenticated and the grant checked, `proof` says which DPoP key (RFC 7638 thumbprint)
    /// the token is bound to, or refuses the request (400 `invalid_dpop_proof`). Checking the
    /// proof last keeps unauthenticated callers from filling the replay cache.
    pub fn handle_bound(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        proof: impl FnOnce() -> Result<Option<String>, TokenEndpointError>,
    ) -> Result<IssuedToken, TokenEndpointError> {
        self.handle_with_certificate(headers, body, None, proof)
    }

    /// Handles one token request like [`handle_bound`](Self::handle_bound), for a client that
    /// presented the verified TLS `certificate`: without a DPoP proof the token is bound to
    /// the certificate (RFC 8705 §3, `cnf["x5t#S256"]`); with one, to the proof's key (DPoP
    /// wins, as the client asked for it explicitly).
    ///
    /// ```
    /// use secure_api::auth::ClientCertificate;
    /// use secure_api::oauth::{OAuthClient, TokenEndpoint};
    ///
    /// let endpoint = TokenEndpoint::hs256(b"0123456789abcdef0123456789abcdef", "issuer", "api")
    ///     .unwrap()
    ///     .client(OAuthClient::new("c", "0123456789abcdef0123456789abcdef", ["read"]).unwrap());
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    /// let body = b"grant_type=client_credentials&client_id=c&client_secret=0123456789abcdef0123456789abcdef";
    /// let certificate = ClientCertificate::from_der(b"the client's DER certificate");
    /// let token = endpoint.handle_with_certificate(&headers, body, Some(&certificate), || Ok(None)).unwrap();
    /// assert_eq!(token.token_type, "Bearer");
    /// ```
    pub fn handle_with_certificate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        certificate: Option<&ClientCertificate>,
        proof: impl FnOnce() -> Result<Option<String>, TokenEndpointError>,
    ) -> Result<IssuedToken, TokenEndpointError> {
        let form = parse_form(headers, body)?;
        let client = self.authenticate_client(headers, &form)?;
        match form.get("grant_type") {
            None => {
                return Err(TokenEndpointError::InvalidRequest("The grant_type parameter is missing."));
            }
            Some("client_credentials") => {}
            Some(_) => return Err(TokenEndpointError::UnsupportedGrantType),
        }
        let scopes: Vec<&str> = match form.get("scope") {
            None => client.scopes.iter().map(String::as_str).collect(),
            Some(requested) => {
                let requested: Vec<&str> = requested.split(' ').collect();
                let allowed = |scope: &&str| is_scope_token(scope) && client.scopes.iter().any(|have| have == scope);
                if !requested.iter().all(allowed) {
                    return Err(TokenEndpointError::InvalidScope);
                }
                requested
            }
        };
        let jkt = proof()?;
        // A DPoP proof wins over a client certificate: the client asked for DPoP explicitly.
        let issued = match (jkt.as_deref(), certificate) {
            (None, Some(certificate)) => self.issue_certificate_bound(client, &scopes, certificate.thumbprint()),
            (jkt, _) => self.issue_bound(client, &scopes, jkt),
        };
        issued.map_err(|error| {
            tracing::error!(target: "secure_api::oauth", %error, "cannot issue a token");
            TokenEndpointError::Unavailable
        })
    }

    fn authenticate_client<'a>(
        &'a self,
        headers: &HeaderMap,
        form: &Form,
    ) -> Result<&'a OAuthClient, TokenEndpointError> {
        let basic = basic_credentials(headers)?;
        let in_form = form.get("client_secret").is_some();
        let (id, secret) = match (basic, in_form) {
            (Some(_), true) => {
                return Err(TokenEndpointError::InvalidRequest("Use one client authentication method, not two."));
            }
            (Some(credentials), false) => credentials,
            (None, true) => (
                form.get("client_id").unwrap_or_default().to_owned(),
                form.get("client_secret").unwrap_or_default().to_owned(),
            ),
            (None, false) => return Err(TokenEndpointError::InvalidClient),
        };
        client::authenticate(&self.clients, &id, &secret).ok_or_else(|| {
            tracing::info!(
                target: "secure_api::oauth",
                client_id = crate::audit::LogSafe::new(&id).as_str(),
                "client authentication failed"
            );
            TokenEndpointError::InvalidClient
        })
    }
}

/// Form parameters, each present at most once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    /// The parameter's value; `None` when absent or empty: "parameters sent without a value
    /// MUST be treated as if they were omitted from the request" (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
    }
}

fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Form, TokenEndpointError> {
    // The framing rules of every other body (see `validate`), answered in RFC 6749's format.
    match crate::validate::check_framing(headers) {
        Ok(()) => {}
        Err(crate::validate::FramingIssue::Encoded) => {
            return Err(TokenEndpointError::InvalidRequest(
                "The request body must not be content-encoded (only `identity` is accepted).",
            ));
        }
        Err(crate::validate::FramingIssue::DuplicateContentType) => {
            return Err(TokenEndpointError::InvalidRequest("Send exactly one Content-Type header."));
        }
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(TokenEndpointError::InvalidRequest("The request body must be application/x-www-form-urlencoded."));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| TokenEndpointError::InvalidRequest("The request body is not a valid form."))?;
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair.first() == pair.last()) {
        return Err(TokenEndpointError::InvalidRequest("A parameter was repeated."));
    }
    Ok(Form(pairs))
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: id and secret are each form-urlencoded,
/// then joined with `:`). `Ok(None)` when no `Authorization` header was sent.
///
/// Two `Authorization` headers are a malformed request (400 `invalid_request`, as on the
/// resource routes): reading only the first would let a proxy and this endpoint disagree on
/// who the client is.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenEndpointError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenEndpointError::InvalidRequest("Send exactly one Authorization header."));
    }
    let value = value.to_str().map_err(|_| TokenEndpointError::InvalidClient)?;
    let (scheme, encoded) = value.split_once(' ').ok_or(TokenEndpointError::InvalidClient)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenEndpointError::InvalidClient);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| TokenEndpointError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| TokenEndpointError::InvalidClient)?;
    // An encoded id holds no `:` (it would be `%3A`), so the first `:` is the separator.
    let (id, secret) = decoded.split_once(':').ok_or(TokenEndpointError::InvalidClient)?;
    let id = form_urldecode(id).ok_or(TokenEndpointError::InvalidClient)?;
    let secret = form_urldecode(secret).ok_or(TokenEndpointError::InvalidClient)?;
    Ok(Some((id, secret)))
}

/// Decodes one form-urlencoded value as a whole: `+` is a space, `%XX` the byte XX, every
/// other character itself (a literal `&` or `=` is part of the value, not the start of another
/// parameter). `None` for a `%` not followed by two hex digits, or bytes that are not UTF-8.
///
/// A form *parser* is the wrong tool here: it splits at `&`, so `<secret>&junk=1` would
/// authenticate as `<secret>`.
fn form_urldecode(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut input = encoded.bytes();
    while let Some(byte) = input.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let high = char::from(input.next()?).to_digit(16)?;
                let low = char::from(input.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

/// `POST /oauth/token`: the client credentials grant, answered per RFC 6749 §5.1 / §5.2.
///
/// Mount it on a [`SecureRouter`](crate::SecureRouter) whose state holds a [`Security`] with a
/// [`TokenEndpoint`]; without one it answers 503 `temporarily_unavailable` (fail closed).
///
/// Rate limited to 10 requests per minute per client IP (a burst of 10, then one every 6 s),
/// so client secrets cannot be guessed at speed.
#[crate::public(rate = "10/1m", errors = "oauth")]
///
/// A client that presented a verified TLS client certificate (see
/// [`TlsConfig::client_ca_pem`](crate::tls::TlsConfig::client_ca_pem)) and no DPoP proof gets a
/// certificate-bound token (RFC 8705 §3): `cnf["x5t#S256"]`, `token_type: Bearer`.
///
/// A request with a `DPoP` proof (RFC 9449 §5) gets a token bound to the proof's key:
/// `token_type: DPoP` and `cnf.jkt` in the token; a bad proof is 400 `invalid_dpop_proof`.
/// When the verifier requires nonces, a proof without a valid one is 400 `use_dpop_nonce` with
/// a fresh nonce in `DPoP-Nonce`, and the token response carries the current nonce too.
pub async fn token_handler(State(security): State<Security>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(endpoint) = &security.config().token_endpoint else {
        tracing::error!(target: "secure_api::oauth", "token endpoint mounted but no TokenEndpoint configured");
        return TokenEndpointError::Unavailable.into_response();
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_TOKEN_REQUEST_BYTES).await else {
        return TokenEndpointError::InvalidRequest("The request body is too large or was not received.")
            .into_response();
    };
    // The proof is checked (and recorded locally) once the client is authenticated; the shared
    // replay check (Redis) follows, before the token leaves.
    let mut verified = None;
    let proof = || {
        let proof = crate::auth::dpop::request::header_proof(security.dpop(), &parts).map_err(|error| match error {
            crate::auth::dpop::DpopError::UseNonce => {
                TokenEndpointError::UseDpopNonce(security.dpop().nonce().unwrap_or_default())
            }
            error => TokenEndpointError::InvalidDpopProof(error.description()),
        })?;
        let jkt = proof.as_ref().map(|(_, verified)| verified.jkt.clone());
        verified = proof;
        Ok(jkt)
    };
    let certificate = parts.extensions.get::<ClientCertificate>();
    let issued = endpoint.handle_with_certificate(&parts.headers, &body, certificate, proof);
    if let (Ok(_), Some((proof, checked))) = (&issued, &verified)
        && let Err(error) = security.dpop().first_use_shared(proof, checked).await
    {
        return TokenEndpointError::InvalidDpopProof(error.description()).into_response();
    }
    match issued {
        Ok(token) => {
            let mut response = axum::Json(token).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            // With nonces on, the current one for the client's next proofs (RFC 9449 §8.2).
            if verified.is_some()
                && let Some(nonce) = crate::auth::dpop::request::nonce_header(security.dpop())
            {
                headers.insert(crate::auth::dpop::request::DPOP_NONCE, nonce);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod proptests {
    use base64::Engine;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any `Authorization` value is refused or read, never a panic.
        #[test]
        fn basic_never_panics(bytes in prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..120), text in "[Bb]asic [A-Za-z0-9+/=%: ]{0,60}") {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, http::HeaderValue::from_bytes(&bytes).unwrap());
            let _ = basic_credentials(&headers);
            headers.insert(header::AUTHORIZATION, text.parse().unwrap());
            let _ = basic_credentials(&headers);
        }

        /// RFC 6749 section 2.3.1: each part form-urlencoded, joined by `:`, base64: reads back as the
        /// same client id and secret, whatever characters they hold.
        #[test]
        fn basic_credentials_round_trip(id in "\\PC{0,30}", secret in "\\PC{0,30}") {
            let encode = |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
            let joined = format!("{}:{}", encode(&id), encode(&secret));
            let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(joined));
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            let parsed = basic_credentials(&headers).ok().flatten();
            prop_assert_eq!(parsed, Some((id, secret)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_urlencoded_value_is_decoded_as_a_whole() {
        assert_eq!(form_urldecode("a+b%3Ac%26d%25").as_deref(), Some("a b:c&d%"));
        assert_eq!(form_urldecode("secret&junk=1").as_deref(), Some("secret&junk=1"));
        assert_eq!(form_urldecode("caf%C3%A9").as_deref(), Some("caf\u{e9}"));
        assert_eq!(form_urldecode("").as_deref(), Some(""));
        for bad in ["%", "%4", "%zz", "%+1", "%C3"] {
            assert_eq!(form_urldecode(bad), None, "{bad:?}");
        }
    }
}
