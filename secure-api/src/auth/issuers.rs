//! [`Issuers`] and its builder (documented on the item, where `secure_api::auth` shows it).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::audit::LogSafe;
use crate::auth::error::TokenError;
use crate::auth::jwt::JwtVerifier;
use crate::config::ConfigError;
use crate::principal::Principal;

/// The issuers whose bearer JWTs the application trusts, each with its own [`JwtVerifier`]: its
/// own keys (static, or a provider's JWKS), audience, leeway and [`TokenProfile`](crate::auth::TokenProfile).
///
/// With several issuers, a token's `iss` only **selects** a configuration; everything else is
/// decided by that issuer's verifier alone:
/// - `iss` is read from the not yet verified payload, and must be one JSON string equal, byte
///   for byte, to a configured issuer (RFC 7519 §4.1.1); a missing, `null` or non-string `iss`,
///   a payload with `iss` twice, and an issuer nobody configured are refused (401
///   `invalid_token`) before any key is touched, with a generic description for the client and
///   the reason in the operator's log (`secure_api::auth`, escaped);
/// - the signature, the algorithm allow-list, the `kid` lookup, the audience, the profile and
///   every claim are then checked by the selected verifier only, so a token naming issuer A
///   but signed with issuer B's key is refused even when both keys share a `kid` and an
///   algorithm;
/// - a `kid` the selected issuer's JWKS does not hold refreshes that issuer's key set, never
///   another's;
/// - the [`TokenCache`](crate::auth::TokenCache) serves a cached token only to the verifier that
///   verified it.
///
/// Each verifier of a set of two or more must name exactly one issuer
/// ([`JwtVerifierBuilder::issuer`](crate::auth::JwtVerifierBuilder::issuer)), and no issuer
/// may have two verifiers: [`IssuersBuilder::build`] refuses anything else with a
/// [`ConfigError`]. A set of one verifier behaves exactly like
/// [`SecurityBuilder::jwt`](crate::SecurityBuilder::jwt) (which builds one): that verifier
/// judges every token, with whatever issuers it lists.
///
/// Hand the set to [`SecurityBuilder::issuers`](crate::SecurityBuilder::issuers).
///
/// # Examples
/// ```
/// use secure_api::Security;
/// use secure_api::auth::{Issuers, JwtVerifier, TokenProfile, VerificationKey};
///
/// let workforce = JwtVerifier::builder()
///     .key(VerificationKey::hs256(b"workforce-idp-secret-of-32-bytes").unwrap())
///     .issuer("https://login.example.com")
///     .audience("items-api")
///     .build()
///     .unwrap();
/// let partners = JwtVerifier::builder()
///     .key(VerificationKey::hs256(b"partner-idp-secret-of-32-bytes!!").unwrap())
///     .issuer("https://partners.example.net")
///     .audience("https://api.example.com/items")
///     .profile(TokenProfile::Rfc9068)
///     .build()
///     .unwrap();
/// let issuers = Issuers::builder().trust(workforce).trust(partners).build().unwrap();
/// assert_eq!(issuers.names().collect::<Vec<_>>(), ["https://login.example.com", "https://partners.example.net"]);
/// let security = Security::builder().issuers(issuers).build();
/// ```
#[derive(Clone, Debug)]
pub struct Issuers {
    trusted: Trusted,
}

#[derive(Clone, Debug)]
enum Trusted {
    /// One verifier judges every token, as a lone [`SecurityBuilder::jwt`](crate::SecurityBuilder::jwt)
    /// always did: nothing is read from the token to choose it.
    One(JwtVerifier),
    /// One verifier per issuer, each naming exactly that issuer (checked at build time).
    Several(Box<[JwtVerifier]>),
}

/// Builds [`Issuers`]; see [`Issuers::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct IssuersBuilder {
    verifiers: Vec<JwtVerifier>,
}

impl IssuersBuilder {
    /// Trusts the issuer `verifier` names, with that verifier's keys, audience and profile.
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    ///
    /// let verifier = |issuer: &str, secret: &[u8]| {
    ///     JwtVerifier::builder().key(VerificationKey::hs256(secret).unwrap()).issuer(issuer).build().unwrap()
    /// };
    /// let a = verifier("https://a.example", b"issuer-a-secret-0123456789abcdef");
    /// let b = verifier("https://b.example", b"issuer-b-secret-0123456789abcdef");
    /// assert!(Issuers::builder().trust(a.clone()).trust(b).build().is_ok());
    /// // The same issuer twice is a configuration error, not a silent merge of keys.
    /// assert!(Issuers::builder().trust(a.clone()).trust(a).build().is_err());
    /// ```
    pub fn trust(mut self, verifier: JwtVerifier) -> Self {
        self.verifiers.push(verifier);
        self
    }

    /// Checks the set and builds it. Fails without a verifier; with two or more, fails when a
    /// verifier names no issuer or more than one, or when two name the same issuer.
    pub fn build(self) -> Result<Issuers, ConfigError> {
        let mut verifiers = self.verifiers;
        if verifiers.len() <= 1 {
            return verifiers
                .pop()
                .map(|verifier| Issuers { trusted: Trusted::One(verifier) })
                .ok_or_else(|| ConfigError::new("a set of trusted issuers needs at least one JWT verifier"));
        }
        for (at, verifier) in verifiers.iter().enumerate() {
            let issuer = match verifier.rules().issuers() {
                [issuer] => issuer,
                [] => {
                    return Err(ConfigError::new(
                        "with several trusted issuers, each JWT verifier must name its issuer \
                         (`JwtVerifierBuilder::issuer`)",
                    ));
                }
                several => {
                    return Err(ConfigError::new(format!(
                        "a JWT verifier names {} issuers; with several trusted issuers give each its own \
                         verifier, so each issuer's tokens are verified with its keys alone",
                        several.len()
                    )));
                }
            };
            if verifiers.iter().take(at).any(|earlier| issuer_of(earlier) == issuer) {
                return Err(ConfigError::new(format!(
                    "two JWT verifiers for the issuer {issuer:?}; configure each issuer once, with all its keys"
                )));
            }
        }
        Ok(Issuers { trusted: Trusted::Several(verifiers.into_boxed_slice()) })
    }
}

/// The one issuer a verifier of a [`Trusted::Several`] set names (checked at build time).
fn issuer_of(verifier: &JwtVerifier) -> &str {
    verifier.rules().issuers().first().map_or("", String::as_str)
}

impl From<JwtVerifier> for Issuers {
    /// A set of one: `verifier` judges every token, as with
    /// [`SecurityBuilder::jwt`](crate::SecurityBuilder::jwt).
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .issuer("https://idp.example")
    ///     .build()
    ///     .unwrap();
    /// let issuers = Issuers::from(verifier);
    /// assert_eq!(issuers.names().collect::<Vec<_>>(), ["https://idp.example"]);
    /// ```
    fn from(verifier: JwtVerifier) -> Self {
        Self { trusted: Trusted::One(verifier) }
    }
}

impl Issuers {
    /// Starts a set of trusted issuers.
    pub fn builder() -> IssuersBuilder {
        IssuersBuilder::default()
    }

    /// The trusted issuer identifiers, in the order they were configured (for a set of one,
    /// the issuers its verifier lists, possibly none).
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.verifiers().flat_map(|verifier| verifier.rules().issuers().iter().map(String::as_str))
    }

    /// The verifiers, in the order they were configured.
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(Issuers::from(verifier).verifiers().count(), 1);
    /// ```
    pub fn verifiers(&self) -> impl Iterator<Item = &JwtVerifier> + '_ {
        match &self.trusted {
            Trusted::One(verifier) => std::slice::from_ref(verifier).iter(),
            Trusted::Several(verifiers) => verifiers.iter(),
        }
    }

    /// The verifier that judges tokens naming `issuer` (compared byte for byte); for a set of
    /// one, its verifier when that lists `issuer` or lists no issuer at all.
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    ///
    /// let verifier = |issuer: &str| {
    ///     JwtVerifier::builder()
    ///         .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///         .issuer(issuer)
    ///         .build()
    ///         .unwrap()
    /// };
    /// let issuers = Issuers::builder().trust(verifier("https://a.example")).trust(verifier("https://b.example")).build().unwrap();
    /// assert!(issuers.get("https://b.example").is_some());
    /// assert!(issuers.get("https://B.example").is_none());
    /// ```
    pub fn get(&self, issuer: &str) -> Option<&JwtVerifier> {
        match &self.trusted {
            Trusted::One(verifier) => {
                let listed = verifier.rules().issuers();
                (listed.is_empty() || listed.iter().any(|known| known == issuer)).then_some(verifier)
            }
            Trusted::Several(verifiers) => verifiers.iter().find(|verifier| issuer_of(verifier) == issuer),
        }
    }

    /// Verifies `token` with the verifier of the issuer it names, with the keys at hand (no I/O).
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, TokenError, VerificationKey};
    ///
    /// let verifier = |issuer: &str| {
    ///     JwtVerifier::builder()
    ///         .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///         .issuer(issuer)
    ///         .build()
    ///         .unwrap()
    /// };
    /// let issuers = Issuers::builder().trust(verifier("https://a.example")).trust(verifier("https://b.example")).build().unwrap();
    /// assert_eq!(issuers.verify("a.b.c").unwrap_err(), TokenError::Malformed);
    /// ```
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.select(token)?.verify(token)
    }

    /// Like [`verify`](Self::verify), but a `kid` missing from the selected issuer's JWKS
    /// refreshes that issuer's key set (throttled) and tries again; no other issuer's key set
    /// is fetched. This is what the `#[secure]` guard calls.
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, TokenError, VerificationKey};
    ///
    /// let verifier = |issuer: &str| {
    ///     JwtVerifier::builder()
    ///         .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///         .issuer(issuer)
    ///         .build()
    ///         .unwrap()
    /// };
    /// let issuers = Issuers::builder().trust(verifier("https://a.example")).trust(verifier("https://b.example")).build().unwrap();
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert_eq!(issuers.verify_with_refresh("a.b.c").await.unwrap_err(), TokenError::Malformed);
    /// # });
    /// ```
    pub async fn verify_with_refresh(&self, token: &str) -> Result<Principal, TokenError> {
        self.select(token)?.verify_with_refresh(token).await
    }

    /// Whether some issuer's keys come from a JWKS (a `kid` it lacks is worth a refresh).
    #[cfg(feature = "idp")]
    pub(crate) fn has_jwks(&self) -> bool {
        self.verifiers().any(|verifier| verifier.jwks().is_some())
    }

    /// The verifier for `token`: the one verifier of a set of one (the token is not read), else
    /// the verifier of the issuer its unverified payload names.
    pub(crate) fn select(&self, token: &str) -> Result<&JwtVerifier, TokenError> {
        let verifiers = match &self.trusted {
            Trusted::One(verifier) => return Ok(verifier),
            Trusted::Several(verifiers) => verifiers,
        };
        let issuer = unverified_issuer(token)?;
        verifiers.iter().find(|verifier| issuer_of(verifier) == issuer).ok_or_else(|| {
            tracing::debug!(
                target: "secure_api::auth",
                issuer = LogSafe::new(&issuer).as_str(),
                "bearer token names an issuer that is not trusted"
            );
            TokenError::WrongIssuer
        })
    }

    /// The verifier that judged a token whose verified claims are `claims` (a token cache hit):
    /// the same choice [`select`](Self::select) made from the same bytes.
    pub(crate) fn for_claims(&self, claims: &Map<String, Value>) -> Option<&JwtVerifier> {
        match &self.trusted {
            Trusted::One(verifier) => Some(verifier),
            Trusted::Several(verifiers) => {
                let issuer = claims.get("iss").and_then(Value::as_str)?;
                verifiers.iter().find(|verifier| issuer_of(verifier) == issuer)
            }
        }
    }
}

/// The payload's `iss`, read before the signature is verified, only to choose the verifier.
/// Nothing else is read: `serde` skips the other members without building them.
fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    use base64::Engine;

    /// The one member read; a second `iss` member is an error, not "the last one wins".
    #[derive(Deserialize)]
    struct IssuerOnly {
        iss: Option<Value>,
    }

    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    // `serde` would also read a JSON array into the struct; a JWT payload is an object.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(TokenError::Malformed);
    }
    let claims: IssuerOnly = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    match claims.iss {
        Some(Value::String(issuer)) => Ok(issuer),
        _ => {
            tracing::debug!(
                target: "secure_api::auth",
                "bearer token has no `iss` string; with several trusted issuers it is needed to choose the keys"
            );
            Err(TokenError::MissingClaim("iss".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{TokenProfile, VerificationKey};
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use serde_json::json;

    const A_SECRET: &[u8] = b"issuer-a-secret-0123456789abcdef";
    const B_SECRET: &[u8] = b"issuer-b-secret-0123456789abcdef";

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn verifier(issuer: &str, secret: &[u8], audience: &str) -> JwtVerifier {
        JwtVerifier::builder()
            .key(VerificationKey::hs256(secret).unwrap().with_kid("k1"))
            .issuer(issuer)
            .audience(audience)
            .build()
            .unwrap()
    }

    fn two() -> Issuers {
        Issuers::builder()
            .trust(verifier("https://a.example", A_SECRET, "api-a"))
            .trust(verifier("https://b.example", B_SECRET, "api-b"))
            .build()
            .unwrap()
    }

    fn sign(secret: &[u8], claims: Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn claims(issuer: &str, audience: &str) -> Value {
        json!({"sub": "s", "iss": issuer, "aud": audience, "exp": now() + 60})
    }

    #[test]
    fn each_issuer_is_verified_with_its_own_key() {
        let issuers = two();
        let a = issuers.verify(&sign(A_SECRET, claims("https://a.example", "api-a"))).unwrap();
        assert_eq!(a.claims()["iss"], "https://a.example");
        let b = issuers.verify(&sign(B_SECRET, claims("https://b.example", "api-b"))).unwrap();
        assert_eq!(b.claims()["iss"], "https://b.example");
    }

    #[test]
    fn a_token_naming_one_issuer_signed_with_another_issuers_key_is_refused() {
        let token = sign(B_SECRET, claims("https://a.example", "api-a"));
        assert_eq!(two().verify(&token).unwrap_err(), TokenError::BadSignature);
    }

    #[test]
    fn the_audience_is_the_selected_issuers() {
        let token = sign(B_SECRET, claims("https://b.example", "api-a"));
        assert_eq!(two().verify(&token).unwrap_err(), TokenError::WrongAudience);
    }

    #[test]
    fn an_unknown_missing_or_non_string_issuer_is_refused() {
        let issuers = two();
        let unknown = sign(A_SECRET, claims("https://evil.example", "api-a"));
        assert_eq!(issuers.verify(&unknown).unwrap_err(), TokenError::WrongIssuer);
        let near_miss = sign(A_SECRET, claims("https://a.example/", "api-a"));
        assert_eq!(issuers.verify(&near_miss).unwrap_err(), TokenError::WrongIssuer);
        let missing = sign(A_SECRET, json!({"sub": "s", "aud": "api-a", "exp": now() + 60}));
        assert_eq!(issuers.verify(&missing).unwrap_err(), TokenError::MissingClaim("iss".into()));
        let mut array = claims("https://a.example", "api-a");
        array["iss"] = json!(["https://a.example"]);
        let array = sign(A_SECRET, array);
        assert_eq!(issuers.verify(&array).unwrap_err(), TokenError::MissingClaim("iss".into()));
    }

    #[test]
    fn a_payload_with_iss_twice_or_not_an_object_is_malformed() {
        use base64::Engine;
        let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let header = b64(r#"{"alg":"HS256"}"#);
        let twice = format!("{header}.{}.sig", b64(r#"{"iss":"https://a.example","iss":"https://b.example"}"#));
        assert_eq!(two().verify(&twice).unwrap_err(), TokenError::Malformed);
        let array = format!("{header}.{}.sig", b64(r#"["https://a.example"]"#));
        assert_eq!(two().verify(&array).unwrap_err(), TokenError::Malformed);
        assert_eq!(two().verify("only.two").unwrap_err(), TokenError::Malformed);
        assert_eq!(two().verify("a.b.c.d").unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn the_profile_is_the_selected_issuers() {
        let strict = JwtVerifier::builder()
            .key(VerificationKey::hs256(B_SECRET).unwrap())
            .issuer("https://b.example")
            .audience("api-b")
            .profile(TokenProfile::Rfc9068)
            .build()
            .unwrap();
        let issuers =
            Issuers::builder().trust(verifier("https://a.example", A_SECRET, "api-a")).trust(strict).build().unwrap();
        // A plain JWT is fine for A, not for B (RFC 9068 wants `typ: at+jwt` and more claims).
        assert!(issuers.verify(&sign(A_SECRET, claims("https://a.example", "api-a"))).is_ok());
        let plain_b = sign(B_SECRET, claims("https://b.example", "api-b"));
        assert_eq!(issuers.verify(&plain_b).unwrap_err(), TokenError::WrongType);
    }

    #[test]
    fn a_set_of_one_behaves_like_its_verifier() {
        let any = JwtVerifier::builder().key(VerificationKey::hs256(A_SECRET).unwrap()).build().unwrap();
        let issuers = Issuers::builder().trust(any).build().unwrap();
        // No issuer configured: no `iss` needed, and nothing is read to choose the verifier.
        assert!(issuers.verify(&sign(A_SECRET, json!({"sub": "s", "exp": now() + 60}))).is_ok());
        assert!(issuers.get("anything").is_some());
        assert_eq!(issuers.names().count(), 0);
    }

    #[test]
    fn configuration_errors_are_reported_not_panicked() {
        let a = || verifier("https://a.example", A_SECRET, "api-a");
        let message = |result: Result<Issuers, ConfigError>| result.unwrap_err().to_string();
        assert!(message(Issuers::builder().build()).contains("at least one"));
        assert!(message(Issuers::builder().trust(a()).trust(a()).build()).contains("two JWT verifiers"));
        let anonymous = JwtVerifier::builder().key(VerificationKey::hs256(B_SECRET).unwrap()).build().unwrap();
        assert!(message(Issuers::builder().trust(a()).trust(anonymous).build()).contains("must name its issuer"));
        let both = JwtVerifier::builder()
            .key(VerificationKey::hs256(B_SECRET).unwrap())
            .issuer("https://b.example")
            .issuer("https://c.example")
            .build()
            .unwrap();
        assert!(message(Issuers::builder().trust(a()).trust(both).build()).contains("names 2 issuers"));
    }

    #[test]
    fn a_cache_hit_is_judged_by_the_issuer_the_claims_name() {
        let issuers = two();
        let claims = claims("https://b.example", "api-b");
        let chosen = issuers.for_claims(claims.as_object().unwrap()).unwrap();
        assert_eq!(chosen.rules().issuers(), ["https://b.example"]);
        assert!(issuers.for_claims(&Map::new()).is_none());
    }
}
