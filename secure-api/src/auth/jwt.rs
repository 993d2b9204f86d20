//! [`JwtVerifier`], its builder and [`TokenProfile`] (documented on the item, where `secure_api::auth` shows it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::auth::claims::{self, ClaimRules, principal_from_claims};
use crate::auth::error::TokenError;
#[cfg(feature = "idp")]
use crate::auth::jwks::{JwksKeys, Refresh};
use crate::auth::key::VerificationKey;
use crate::auth::key::is_valid_kid;
use crate::config::ConfigError;
use crate::principal::Principal;

/// Which access-token profile tokens must follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenProfile {
    /// The common profile: `typ` absent, `JWT` or `at+jwt`; `exp` required, plus `iss` / `aud`
    /// when configured.
    #[default]
    Default,
    /// RFC 9068 JWT access tokens: `typ` must be `at+jwt` (or `application/at+jwt`), and `iss`,
    /// `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` are all required. Needs an issuer and
    /// an audience configured.
    Rfc9068,
}

/// Bearer access tokens that are JWTs, verified with keys the application configured: static
/// keys, a provider's published key set (`JwksKeys`, feature `idp`), or both.
///
/// The rules (RFC 8725, RFC 9068, RFC 6750):
/// - the algorithm is chosen by configuration, never by the token: each [`VerificationKey`] is
///   bound to exactly one algorithm, and a token whose `alg` no configured key has (including
///   `none`) is rejected before any key is touched, so an RSA public key can never be used as
///   an HMAC secret;
/// - the claims (`exp` required; `nbf`, `iss`, `aud` with a 60 s leeway; `iss` one string,
///   RFC 7519 §4.1.1) are checked by [`claims::validate_claims`], the
///   one check introspection answers and cached tokens go through too; `jsonwebtoken` only
///   verifies the signature;
/// - `typ` must be absent, `JWT` or `at+jwt` ([`TokenProfile::Rfc9068`]: `at+jwt` only, with
///   every RFC 9068 claim required); a `crit` header is refused (we understand no extensions);
///   `jku`, `x5u` and embedded `jwk` headers are never followed;
/// - a `kid` is checked (length, characters) before it is looked up;
/// - scopes come from `scope` (separated by SP only, RFC 6749 §3.3) or `scp` (array); a scope
///   that is not an RFC 6749 scope token (e.g. `"items:read\titems:write"`) refuses the token.
///
/// Verifies bearer JWTs against configured keys (static keys, a provider's JWKS, or both),
/// issuers and audiences. Every key verifies tokens of every issuer the verifier lists: to
/// trust issuers that each have their own keys, give each its own verifier in
/// [`Issuers`](crate::auth::Issuers).
///
/// # Examples
/// ```
/// use secure_api::auth::{JwtVerifier, VerificationKey};
///
/// let verifier = JwtVerifier::builder()
///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
///     .issuer("https://issuer.example")
///     .audience("items-api")
///     .build()
///     .unwrap();
/// assert!(verifier.verify("not.a.token").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct JwtVerifier {
    /// Keys configured in code, each used with its one algorithm.
    keys: Vec<VerificationKey>,
    /// A provider's published keys, refreshed in the background.
    #[cfg(feature = "idp")]
    jwks: Option<JwksKeys>,
    /// One signature-only `Validation` per accepted algorithm, built once at start-up.
    validations: Vec<(Algorithm, Validation)>,
    /// What the claims must satisfy once the signature verified (shared by clones: the token
    /// cache knows them by their address).
    rules: Arc<ClaimRules>,
    profile: TokenProfile,
    /// Which configuration this is: the token cache serves a token only to the verifier that
    /// verified it. Unique per [`JwtVerifierBuilder::build`]; clones share it (same keys, same rules).
    id: VerifierId,
}

/// The identity of one built [`JwtVerifier`] (see its `id` field).
pub(crate) type VerifierId = u64;

/// The next [`VerifierId`]; 64 bits never wrap in practice.
static NEXT_VERIFIER_ID: AtomicU64 = AtomicU64::new(1);

/// Builds a [`JwtVerifier`]; see [`JwtVerifier::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct JwtVerifierBuilder {
    keys: Vec<VerificationKey>,
    #[cfg(feature = "idp")]
    jwks: Option<JwksKeys>,
    rules: ClaimRules,
    profile: TokenProfile,
}

impl JwtVerifierBuilder {
    /// Accepts tokens verified by `key` (with the key's one algorithm).
    pub fn key(mut self, key: VerificationKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Accepts tokens verified by a provider's published keys, alongside any static keys.
    /// A token whose `kid` the set does not hold triggers a (throttled) refresh in
    /// [`JwtVerifier::verify_with_refresh`].
    #[cfg(feature = "idp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
    pub fn jwks(mut self, keys: JwksKeys) -> Self {
        self.jwks = Some(keys);
        self
    }

    /// Requires `iss` to be this issuer (call again to accept several issuers that share this
    /// verifier's keys). Issuers with keys of their own each get a verifier, gathered in
    /// [`Issuers`](crate::auth::Issuers), so one issuer's key never verifies another's tokens.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.rules = self.rules.issuer(issuer);
        self
    }

    /// Requires `aud` to name this audience (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.rules = self.rules.audience(audience);
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules = self.rules.leeway(leeway);
        self
    }

    /// The access-token profile to enforce (default [`TokenProfile::Default`]).
    ///
    /// ```
    /// use secure_api::auth::{JwtVerifier, TokenProfile, VerificationKey};
    ///
    /// let strict = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .issuer("https://idp.example/")
    ///     .audience("items-api")
    ///     .profile(TokenProfile::Rfc9068)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn profile(mut self, profile: TokenProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Checks the configuration and builds the verifier. Fails without keys, and for the
    /// RFC 9068 profile without an issuer and an audience.
    pub fn build(self) -> Result<JwtVerifier, ConfigError> {
        if self.keys.is_empty() && !self.has_jwks() {
            return Err(ConfigError::new("a JWT verifier needs at least one key or a JWKS"));
        }
        if self.profile == TokenProfile::Rfc9068 && !(self.rules.has_issuer() && self.rules.has_audience()) {
            return Err(ConfigError::new("the RFC 9068 profile requires an issuer and an audience"));
        }
        if !(self.rules.has_issuer() && self.rules.has_audience()) {
            // RFC 8725 §3.8-3.9: with keys an identity provider uses for other APIs or tenants
            // too, a verifier that checks neither accepts their tokens (and ID tokens) here.
            tracing::warn!(
                target: "secure_api::config",
                issuer = self.rules.has_issuer(),
                audience = self.rules.has_audience(),
                "a JWT verifier without an issuer or an audience accepts any token its keys verify, including \
                 tokens meant for other APIs; set both unless these keys sign tokens for this API only (RFC 8725 §3.8-3.9)"
            );
        }
        let published = self.published_algorithms();
        let rules = match self.profile {
            TokenProfile::Rfc9068 => self.rules.require_rfc9068_claims(),
            _ => self.rules,
        };
        let mut algorithms: Vec<Algorithm> = self.keys.iter().map(VerificationKey::algorithm).collect();
        algorithms.extend(published);
        let mut validations: Vec<(Algorithm, Validation)> = Vec::new();
        for algorithm in algorithms {
            if !validations.iter().any(|(known, _)| *known == algorithm) {
                validations.push((algorithm, signature_only(algorithm)));
            }
        }
        Ok(JwtVerifier {
            keys: self.keys,
            #[cfg(feature = "idp")]
            jwks: self.jwks,
            validations,
            rules: Arc::new(rules),
            profile: self.profile,
            id: NEXT_VERIFIER_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    #[cfg(feature = "idp")]
    fn has_jwks(&self) -> bool {
        self.jwks.is_some()
    }

    /// Without the `idp` feature there is no key set to configure.
    #[cfg(not(feature = "idp"))]
    fn has_jwks(&self) -> bool {
        false
    }

    #[cfg(feature = "idp")]
    fn published_algorithms(&self) -> Vec<Algorithm> {
        self.jwks.iter().flat_map(|jwks| jwks.algorithms().iter().copied()).collect()
    }

    #[cfg(not(feature = "idp"))]
    fn published_algorithms(&self) -> Vec<Algorithm> {
        Vec::new()
    }
}

/// `jsonwebtoken`'s `Validation` with every claim check off: it verifies the signature with
/// `algorithm` and nothing else. The claims go through [`claims::validate_claims`] like every token's.
fn signature_only(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.iss = None;
    validation.required_spec_claims.clear();
    validation
}

/// A failed verification, and whether a JWKS refresh could change the answer.
struct Refused {
    error: TokenError,
    #[cfg(feature = "idp")]
    key_missing_from_jwks: bool,
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Self {
        Self {
            error,
            #[cfg(feature = "idp")]
            key_missing_from_jwks: false,
        }
    }
}

impl JwtVerifier {
    /// Starts a verifier configuration.
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The algorithms this verifier accepts: one per static key, then the JWKS allow-list.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.keys.iter().map(VerificationKey::algorithm).chain(self.published_algorithms())
    }

    #[cfg(feature = "idp")]
    fn published_algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.jwks.iter().flat_map(|jwks| jwks.algorithms().iter().copied())
    }

    #[cfg(not(feature = "idp"))]
    fn published_algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        std::iter::empty()
    }

    /// The provider key set, when configured.
    #[cfg(feature = "idp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "idp")))]
    pub fn jwks(&self) -> Option<&JwksKeys> {
        self.jwks.as_ref()
    }

    /// The claim rules tokens must meet once their signature verified: the builder's issuers,
    /// audiences and leeway.
    ///
    /// ```
    /// use std::time::Duration;
    /// use secure_api::auth::{ClaimRules, JwtVerifier, VerificationKey};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .issuer("https://idp.example")
    ///     .leeway(Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(verifier.rules(), &ClaimRules::new().issuer("https://idp.example").leeway(Duration::from_secs(5)));
    /// ```
    pub fn rules(&self) -> &ClaimRules {
        &self.rules
    }

    /// [`rules`](Self::rules) as the allocation this verifier and its clones share.
    pub(crate) fn shared_rules(&self) -> &Arc<ClaimRules> {
        &self.rules
    }

    /// The profile tokens must follow.
    ///
    /// ```
    /// use secure_api::auth::{JwtVerifier, TokenProfile, VerificationKey};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(verifier.profile(), TokenProfile::Default);
    /// ```
    pub fn profile(&self) -> TokenProfile {
        self.profile
    }

    pub(crate) fn id(&self) -> VerifierId {
        self.id
    }

    /// Verifies `token` with the keys at hand and returns the principal it names. Never does
    /// I/O: a `kid` missing from the JWKS cache is [`TokenError::UnknownKey`].
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_with_current_keys(token).map_err(|refused| refused.error)
    }

    /// Like [`verify`](Self::verify), but a token signed by a key the JWKS cache does not hold
    /// yet (a rotation) asks the cache to refetch (throttled, single-flight) and tries again.
    /// This is what the `#[secure]` guard calls.
    ///
    /// ```
    /// # use secure_api::auth::{JwtVerifier, TokenError, VerificationKey};
    /// # let verifier = JwtVerifier::builder()
    /// #     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap()).build().unwrap();
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert_eq!(verifier.verify_with_refresh("a.b.c").await.unwrap_err(), TokenError::Malformed);
    /// # });
    /// ```
    #[cfg(feature = "idp")]
    pub async fn verify_with_refresh(&self, token: &str) -> Result<Principal, TokenError> {
        let refused = match self.verify_with_current_keys(token) {
            Ok(principal) => return Ok(principal),
            Err(refused) => refused,
        };
        let Some(jwks) = self.jwks.as_ref().filter(|_| refused.key_missing_from_jwks) else {
            return Err(refused.error);
        };
        let refresh = jwks.refresh().await;
        if !jwks.is_loaded() {
            // We never had the provider's keys, so we cannot judge the token: fail closed,
            // but as "try again later", not as "your token is bad".
            return Err(TokenError::Unavailable);
        }
        match refresh {
            Refresh::Updated => self.verify(token),
            _ => Err(refused.error),
        }
    }

    /// Without the `idp` feature there is no key set to refresh: the same as
    /// [`verify`](Self::verify), so callers need not care which features are on.
    #[cfg(not(feature = "idp"))]
    #[allow(clippy::unused_async)]
    pub async fn verify_with_refresh(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify(token)
    }

    fn validation(&self, algorithm: Algorithm) -> Option<&Validation> {
        self.validations.iter().find(|(known, _)| *known == algorithm).map(|(_, validation)| validation)
    }

    fn verify_with_current_keys(&self, token: &str) -> Result<Principal, Refused> {
        let header = jsonwebtoken::decode_header(token).map_err(|err| match err.kind() {
            // `alg: none` and other unknown names fail to parse as an `Algorithm`.
            ErrorKind::Json(_) if token_names_unknown_alg(token) => TokenError::AlgorithmNotAllowed,
            _ => TokenError::Malformed,
        })?;
        if header.crit.is_some() {
            return Err(TokenError::CriticalHeader.into());
        }
        let typ = header.typ.as_deref().map(str::to_ascii_lowercase);
        let typ_ok = match (self.profile, typ.as_deref()) {
            (TokenProfile::Rfc9068, Some(typ)) => ["at+jwt", "application/at+jwt"].contains(&typ),
            (TokenProfile::Rfc9068, None) => false,
            // RFC 7515 §4.1.9: `JWT` and `application/jwt` name the same media type.
            (_, Some(typ)) => ["jwt", "application/jwt", "at+jwt", "application/at+jwt"].contains(&typ),
            (_, None) => true,
        };
        if !typ_ok {
            return Err(TokenError::WrongType.into());
        }
        // `jku`, `x5u`, `x5c` and an embedded `jwk` are never read: keys come from our
        // configuration only.
        let Some(validation) = self.validation(header.alg) else {
            return Err(TokenError::AlgorithmNotAllowed.into());
        };
        if header.kid.as_deref().is_some_and(|kid| !is_valid_kid(kid)) {
            return Err(TokenError::Malformed.into());
        }
        let static_keys = self.keys.iter().filter(|key| {
            key.algorithm() == header.alg
                && match (header.kid.as_deref(), key.kid()) {
                    (Some(wanted), Some(have)) => wanted == have,
                    _ => true,
                }
        });
        #[cfg(feature = "idp")]
        let jwks = self.jwks.as_ref().filter(|jwks| jwks.allows(header.alg));
        #[cfg(feature = "idp")]
        let published = jwks.map(JwksKeys::snapshot);
        #[cfg(not(feature = "idp"))]
        let published: Option<Vec<VerificationKey>> = None;
        let published_keys = published.iter().flat_map(|keys| keys.iter()).filter(|key| {
            // Published keys are matched strictly: a token naming a `kid` is verified only by
            // the key with that id.
            key.algorithm() == header.alg
                && match (header.kid.as_deref(), key.kid()) {
                    (Some(wanted), Some(have)) => wanted == have,
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        });
        let mut candidates = static_keys.chain(published_keys).peekable();
        if candidates.peek().is_none() {
            return Err(Refused {
                error: TokenError::UnknownKey,
                #[cfg(feature = "idp")]
                key_missing_from_jwks: jwks.is_some(),
            });
        }
        let mut last_error = TokenError::BadSignature;
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), validation) {
                Ok(data) => return self.principal(data.claims).map_err(Refused::from),
                Err(err) => {
                    let error = TokenError::from_jsonwebtoken(err.kind());
                    // Only a bad signature means "try the next key"; any other failure is final.
                    if error != TokenError::BadSignature {
                        return Err(error.into());
                    }
                    last_error = error;
                }
            }
        }
        Err(last_error.into())
    }

    fn principal(&self, claims: Map<String, Value>) -> Result<Principal, TokenError> {
        claims::validate_claims(&claims, &self.rules)?;
        principal_from_claims(claims)
    }
}
/// True when the header parses as JSON but its `alg` is not a known algorithm (e.g. `none`).
fn token_names_unknown_alg(token: &str) -> bool {
    use base64::Engine;
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else {
        return false;
    };
    serde_json::from_slice::<Map<String, Value>>(&bytes).map(|header| header.get("alg").is_some()).unwrap_or(false)
}

/// The HS256 verifier the unit tests of `auth` share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// HS256 with [`SECRET`], issuer `iss`, audience `aud`: clones of one verifier, so the
    /// token cache (which serves an entry only to the verifier that stored it) sees one.
    pub(crate) fn verifier() -> JwtVerifier {
        static VERIFIER: std::sync::LazyLock<JwtVerifier> = std::sync::LazyLock::new(|| {
            JwtVerifier::builder()
                .key(VerificationKey::hs256(SECRET).unwrap())
                .issuer("iss")
                .audience("aud")
                .build()
                .unwrap()
        });
        VERIFIER.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{SECRET, verifier};
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn sign(claims: Value) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    #[test]
    fn accepts_scope_string_and_scp_array() {
        let token = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60, "scope": "x y"}));
        assert_eq!(verifier().verify(&token).unwrap().scopes(), ["x", "y"]);
        let token = sign(json!({"sub": "a", "iss": "iss", "aud": ["other", "aud"], "exp": now() + 60, "scp": ["z"]}));
        assert_eq!(verifier().verify(&token).unwrap().scopes(), ["z"]);
    }

    #[test]
    fn scope_is_split_on_spaces_only() {
        let token = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60, "scope": "x\ty"}));
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::MissingClaim("scope".into()));
        let token = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60, "scp": "x\ny"}));
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::MissingClaim("scp".into()));
        let token = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60, "scp": ["x\u{c}y"]}));
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::MissingClaim("scp".into()));
    }

    #[test]
    fn an_issuer_array_is_refused_even_when_it_lists_the_issuer() {
        let token = sign(json!({"sub": "a", "iss": ["iss"], "aud": "aud", "exp": now() + 60}));
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::MissingClaim("iss".into()));
        let token = sign(json!({"sub": "a", "iss": ["evil", "iss"], "aud": "aud", "exp": now() + 60}));
        assert!(verifier().verify(&token).is_err());
        // Without a configured issuer `iss` is not required, but still one string when present.
        let any_issuer = JwtVerifier::builder().key(VerificationKey::hs256(SECRET).unwrap()).build().unwrap();
        assert!(any_issuer.verify(&sign(json!({"sub": "a", "iss": "x", "exp": now() + 60}))).is_ok());
        let token = sign(json!({"sub": "a", "iss": ["x"], "exp": now() + 60}));
        assert_eq!(any_issuer.verify(&token).unwrap_err(), TokenError::MissingClaim("iss".into()));
    }

    #[test]
    fn requires_exp_iss_aud() {
        let v = verifier();
        let missing_exp = sign(json!({"sub": "a", "iss": "iss", "aud": "aud"}));
        assert_eq!(v.verify(&missing_exp).unwrap_err(), TokenError::MissingClaim("exp".into()));
        let wrong_iss = sign(json!({"sub": "a", "iss": "evil", "aud": "aud", "exp": now() + 60}));
        assert_eq!(v.verify(&wrong_iss).unwrap_err(), TokenError::WrongIssuer);
        let wrong_aud = sign(json!({"sub": "a", "iss": "iss", "aud": "evil", "exp": now() + 60}));
        assert_eq!(v.verify(&wrong_aud).unwrap_err(), TokenError::WrongAudience);
    }

    #[test]
    fn leeway_is_sixty_seconds() {
        let v = verifier();
        let just_expired = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() - 30}));
        assert!(v.verify(&just_expired).is_ok());
        let long_expired = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() - 120}));
        assert_eq!(v.verify(&long_expired).unwrap_err(), TokenError::Expired);
        let future = sign(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 600, "nbf": now() + 300}));
        assert_eq!(v.verify(&future).unwrap_err(), TokenError::NotYetValid);
    }

    #[test]
    fn alg_none_and_unconfigured_algorithms_are_refused() {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = b64(json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60}));
        let none = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), claims);
        assert_eq!(verifier().verify(&none).unwrap_err(), TokenError::AlgorithmNotAllowed);
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60}),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(verifier().verify(&hs512).unwrap_err(), TokenError::AlgorithmNotAllowed);
    }

    #[test]
    fn crit_and_foreign_typ_are_refused() {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("id+jwt".into());
        let claims = json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60});
        let token = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::WrongType);
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["exp".into()]);
        let token = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert_eq!(verifier().verify(&token).unwrap_err(), TokenError::CriticalHeader);
    }

    /// RFC 7515 §4.1.9: `application/jwt` is the full form of `JWT`, in any case.
    #[test]
    fn the_full_media_type_of_jwt_is_accepted() {
        let claims = json!({"sub": "a", "iss": "iss", "aud": "aud", "exp": now() + 60});
        for typ in ["JWT", "application/jwt", "Application/JWT", "at+jwt", "application/at+jwt"] {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some(typ.into());
            let token = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
            assert!(verifier().verify(&token).is_ok(), "{typ}");
        }
    }

    #[test]
    fn kid_selects_the_key() {
        let other = b"ffffffffffffffffffffffffffffffff";
        let v = JwtVerifier::builder()
            .key(VerificationKey::hs256(SECRET).unwrap().with_kid("one"))
            .key(VerificationKey::hs256(other).unwrap().with_kid("two"))
            .build()
            .unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("two".into());
        let claims = json!({"sub": "a", "exp": now() + 60});
        let token = encode(&header, &claims, &EncodingKey::from_secret(other)).unwrap();
        assert!(v.verify(&token).is_ok());
        header.kid = Some("three".into());
        let token = encode(&header, &claims, &EncodingKey::from_secret(other)).unwrap();
        assert_eq!(v.verify(&token).unwrap_err(), TokenError::UnknownKey);
    }
}
