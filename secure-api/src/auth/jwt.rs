//! Bearer access tokens that are JWTs, verified with keys the application configured: static
//! keys, a provider's published key set (`JwksKeys`, feature `idp`), or both.
//!
//! The rules (RFC 8725, RFC 9068, RFC 6750):
//! - the algorithm is chosen by configuration, never by the token: each [`VerificationKey`] is
//!   bound to exactly one algorithm, and a token whose `alg` no configured key has (including
//!   `none`) is rejected before any key is touched, so an RSA public key can never be used as
//!   an HMAC secret;
//! - `exp` is required; `nbf`, `iss` and `aud` are checked with a leeway (60 s by default);
//!   `iss` must be one string (RFC 7519 §4.1.1), never an array;
//! - `typ` must be absent, `JWT` or `at+jwt` ([`TokenProfile::Rfc9068`]: `at+jwt` only, with
//!   every RFC 9068 claim required); a `crit` header is refused (we understand no extensions);
//!   `jku`, `x5u` and embedded `jwk` headers are never followed;
//! - a `kid` is checked (length, characters) before it is looked up;
//! - scopes come from `scope` (separated by SP only, RFC 6749 §3.3) or `scp` (array); a scope
//!   that is not an RFC 6749 scope token (e.g. `"items:read\titems:write"`) refuses the token.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

#[cfg(feature = "idp")]
use crate::auth::jwks::{JwksKeys, Refresh};
use crate::auth::scope::{parse_scope_array, parse_scope_claim};
use crate::config::ConfigError;
use crate::principal::{AuthMethod, Principal};

/// One key that may verify tokens, bound to exactly one algorithm.
///
/// # Examples
/// ```
/// use secure_api::auth::VerificationKey;
///
/// let key = VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap();
/// assert!(VerificationKey::hs256(b"short").is_err());
/// ```
#[derive(Clone)]
pub struct VerificationKey {
    algorithm: Algorithm,
    key: DecodingKey,
    kid: Option<String>,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key material never prints, even for public keys: one rule is easier to keep.
        f.debug_struct("VerificationKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// An HS256 shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An HMAC secret for `HS256`, `HS384` or `HS512`. RFC 7518 §3.2: the key must be at least
    /// as long as the hash output (32, 48 or 64 bytes); shorter secrets are refused.
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let minimum = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(ConfigError::new(format!("{other:?} is not an HMAC algorithm")));
            }
        };
        if secret.len() < minimum {
            return Err(ConfigError::new(format!(
                "the {algorithm:?} secret is {} bytes; at least {minimum} bytes are required",
                secret.len()
            )));
        }
        Ok(Self { algorithm, key: DecodingKey::from_secret(secret), kid: None })
    }

    /// An RSA public key (PEM) for `RS256/384/512` or `PS256/384/512`.
    pub fn rsa_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        Self::require_family(algorithm, jsonwebtoken::AlgorithmFamily::Rsa)?;
        let key =
            DecodingKey::from_rsa_pem(pem).map_err(|_| ConfigError::new("the RSA public key is not valid PEM"))?;
        Ok(Self { algorithm, key, kid: None })
    }

    /// An EC public key (PEM) for `ES256` or `ES384`.
    pub fn ec_pem(algorithm: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        Self::require_family(algorithm, jsonwebtoken::AlgorithmFamily::Ec)?;
        let key = DecodingKey::from_ec_pem(pem).map_err(|_| ConfigError::new("the EC public key is not valid PEM"))?;
        Ok(Self { algorithm, key, kid: None })
    }

    /// An Ed25519 public key (PEM) for `EdDSA`.
    pub fn ed_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key =
            DecodingKey::from_ed_pem(pem).map_err(|_| ConfigError::new("the Ed25519 public key is not valid PEM"))?;
        Ok(Self { algorithm: Algorithm::EdDSA, key, kid: None })
    }

    /// A public key from a JWK. The JWK must name its `alg`, which must fit its `kty`; symmetric
    /// (`oct`) JWKs are refused here because a published key set must never hold shared secrets.
    pub fn from_jwk(jwk: &jsonwebtoken::jwk::Jwk) -> Result<Self, ConfigError> {
        use jsonwebtoken::jwk::{AlgorithmParameters, KeyAlgorithm};
        let Some(named) = jwk.common.key_algorithm else {
            return Err(ConfigError::new("the JWK has no `alg`; refusing to guess its algorithm"));
        };
        let algorithm = match named {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::RS384 => Algorithm::RS384,
            KeyAlgorithm::RS512 => Algorithm::RS512,
            KeyAlgorithm::PS256 => Algorithm::PS256,
            KeyAlgorithm::PS384 => Algorithm::PS384,
            KeyAlgorithm::PS512 => Algorithm::PS512,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::ES384 => Algorithm::ES384,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            other => {
                return Err(ConfigError::new(format!("the JWK algorithm {other:?} is not accepted")));
            }
        };
        let family_fits = matches!(
            (&jwk.algorithm, algorithm.family()),
            (AlgorithmParameters::RSA(_), jsonwebtoken::AlgorithmFamily::Rsa)
                | (AlgorithmParameters::EllipticCurve(_), jsonwebtoken::AlgorithmFamily::Ec)
                | (AlgorithmParameters::OctetKeyPair(_), jsonwebtoken::AlgorithmFamily::Ed)
        );
        if !family_fits {
            return Err(ConfigError::new(format!("the JWK's key type does not fit its alg {algorithm:?}")));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| ConfigError::new("the JWK is not a valid public key"))?;
        Ok(Self { algorithm, key, kid: jwk.common.key_id.clone() })
    }

    /// Names the key; a token whose header carries a `kid` is verified only by the key with
    /// that id.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn require_family(algorithm: Algorithm, family: jsonwebtoken::AlgorithmFamily) -> Result<(), ConfigError> {
        if algorithm.family() == family {
            Ok(())
        } else {
            Err(ConfigError::new(format!("{algorithm:?} cannot be used with a {family:?} key")))
        }
    }
}

/// Why a token was refused. [`TokenError::description`] is safe to send to the client;
/// `Display` is for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts, bad JSON, or a header we cannot read.
    Malformed,
    /// The header's `alg` is not one any configured key uses (including `none`).
    AlgorithmNotAllowed,
    /// No configured key has the token's `kid`.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name this API.
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    MissingClaim(String),
    /// The `typ` header is not `JWT` or `at+jwt`.
    WrongType,
    /// The token names no subject (`sub` or `client_id`).
    NoSubject,
    /// The header lists critical extensions we do not understand.
    CriticalHeader,
    /// The authorization server says the token is not active (RFC 7662 introspection).
    Inactive,
    /// The token cannot be checked now: the provider's keys or its introspection endpoint are
    /// unreachable. Answered with 503, not 401: the token may well be good.
    Unavailable,
    /// The application's revocation check refused the token (see
    /// [`TokenCacheBuilder::revocation_check`](crate::auth::TokenCacheBuilder::revocation_check)).
    Revoked,
}

impl TokenError {
    /// A short sentence for the `error_description` of the challenge: says what is wrong
    /// without echoing the token or internal error text.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Malformed => "The access token is malformed.",
            Self::AlgorithmNotAllowed => "The access token's signing algorithm is not accepted.",
            Self::UnknownKey => "The access token was signed by an unknown key.",
            Self::BadSignature => "The access token's signature is invalid.",
            Self::Expired => "The access token expired.",
            Self::NotYetValid => "The access token is not valid yet.",
            Self::WrongIssuer => "The access token was issued by an untrusted issuer.",
            Self::WrongAudience => "The access token is not meant for this API.",
            Self::MissingClaim(_) => "The access token lacks a required claim.",
            Self::WrongType => "The token is not an access token.",
            Self::NoSubject => "The access token names no subject.",
            Self::CriticalHeader => "The access token uses unsupported critical header parameters.",
            Self::Inactive => "The access token is not active.",
            Self::Unavailable => "The access token cannot be checked right now; try again later.",
            Self::Revoked => "The access token has been revoked.",
        }
    }

    fn from_jsonwebtoken(kind: &ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                Self::AlgorithmNotAllowed
            }
            ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
                Self::MissingClaim(claim.clone())
            }
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingClaim(claim) => write!(f, "missing or invalid claim `{claim}`"),
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for TokenError {}

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

/// A claim and the JSON type it must have.
type ClaimRule = (&'static str, fn(&Value) -> bool);

/// The claims RFC 9068 §2.2 requires beyond what `Validation` checks itself.
const RFC9068_EXTRA_CLAIMS: [ClaimRule; 3] =
    [("client_id", Value::is_string), ("iat", Value::is_number), ("jti", Value::is_string)];

/// Longest `kid` looked up; longer ones are malformed (no real provider comes near it).
const MAX_KID_LEN: usize = 256;

/// Whether `kid` may be looked up: 1 to 256 characters of printable ASCII without space, `"`
/// or `\` (base64, base64url, hex, UUIDs, URNs and ARNs all fit).
pub(crate) fn is_valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len()) && kid.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// Verifies bearer JWTs against configured keys (static keys, a provider's JWKS, or both),
/// issuers and audiences.
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
    /// One `Validation` per accepted algorithm, built once at start-up.
    validations: Vec<(Algorithm, Validation)>,
    profile: TokenProfile,
}

/// Builds a [`JwtVerifier`]; see [`JwtVerifier::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct JwtVerifierBuilder {
    keys: Vec<VerificationKey>,
    #[cfg(feature = "idp")]
    jwks: Option<JwksKeys>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Option<Duration>,
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

    /// Requires `iss` to be this issuer (call again to accept several).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires `aud` to name this audience (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
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
        if self.profile == TokenProfile::Rfc9068 && (self.issuers.is_empty() || self.audiences.is_empty()) {
            return Err(ConfigError::new("the RFC 9068 profile requires an issuer and an audience"));
        }
        let leeway = self.leeway.unwrap_or(Duration::from_secs(60)).as_secs();
        let mut algorithms: Vec<Algorithm> = self.keys.iter().map(|key| key.algorithm).collect();
        algorithms.extend(self.published_algorithms());
        let mut validations: Vec<(Algorithm, Validation)> = Vec::new();
        for algorithm in algorithms {
            if validations.iter().any(|(known, _)| *known == algorithm) {
                continue;
            }
            let mut validation = Validation::new(algorithm);
            validation.leeway = leeway;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            let mut required = vec!["exp"];
            if self.issuers.is_empty() {
                validation.iss = None;
            } else {
                validation.set_issuer(&self.issuers);
                required.push("iss");
            }
            if self.audiences.is_empty() {
                validation.validate_aud = false;
            } else {
                validation.set_audience(&self.audiences);
                required.push("aud");
            }
            if self.profile == TokenProfile::Rfc9068 {
                required.push("sub");
            }
            validation.set_required_spec_claims(&required);
            validations.push((algorithm, validation));
        }
        Ok(JwtVerifier {
            keys: self.keys,
            #[cfg(feature = "idp")]
            jwks: self.jwks,
            validations,
            profile: self.profile,
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
        self.keys.iter().map(|key| key.algorithm).chain(self.published_algorithms())
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

    /// The clock-skew allowance for `exp` and `nbf`, in seconds (the same for every key).
    pub(crate) fn leeway_secs(&self) -> u64 {
        self.validations.first().map_or(60, |(_, validation)| validation.leeway)
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
            (_, Some(typ)) => ["jwt", "at+jwt", "application/at+jwt"].contains(&typ),
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
            key.algorithm == header.alg
                && match (&header.kid, &key.kid) {
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
            key.algorithm == header.alg
                && match (&header.kid, &key.kid) {
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
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation) {
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
        if self.profile == TokenProfile::Rfc9068 {
            for (claim, has_type) in RFC9068_EXTRA_CLAIMS {
                if !claims.get(claim).is_some_and(has_type) {
                    return Err(TokenError::MissingClaim(claim.to_owned()));
                }
            }
        }
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

/// Builds the principal from verified claims: id from `sub` (or `client_id`), scopes from
/// `scope` or `scp`. JWT verification and introspection both end here, so both read claims
/// alike:
/// - `iss`, when present, is one string (RFC 7519 §4.1.1 StringOrURI; RFC 7662 §2.2): an array
///   is refused even when it lists a trusted issuer, as a token naming several issuers is not
///   one the configured issuer vouched for alone.
/// - `scope` (or a string `scp`) is split on SP only, and every scope must be an RFC 6749 §3.3
///   scope token; an `scp` array holds one scope token per item. Anything else refuses the
///   token (see [`parse_scope_claim`](crate::auth::scope::parse_scope_claim)).
pub(crate) fn principal_from_claims(claims: Map<String, Value>) -> Result<Principal, TokenError> {
    if claims.get("iss").is_some_and(|iss| !iss.is_string()) {
        return Err(TokenError::MissingClaim("iss".into()));
    }
    let id = ["sub", "client_id"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
        .filter(|id| !id.is_empty())
        .ok_or(TokenError::NoSubject)?
        .to_owned();
    let invalid = |claim: &str| TokenError::MissingClaim(claim.to_owned());
    let scopes: Vec<String> = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => parse_scope_claim(scope).ok_or_else(|| invalid("scope"))?,
        (Some(_), _) => return Err(invalid("scope")),
        (None, Some(Value::Array(items))) => parse_scope_array(items).ok_or_else(|| invalid("scp"))?,
        (None, Some(Value::String(scope))) => parse_scope_claim(scope).ok_or_else(|| invalid("scp"))?,
        (None, Some(_)) => return Err(invalid("scp")),
        (None, None) => Vec::new(),
    };
    Ok(Principal::new(id, scopes, AuthMethod::Bearer).with_claims(claims))
}

/// The HS256 verifier the unit tests of `auth` share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// HS256 with [`SECRET`], issuer `iss`, audience `aud`.
    pub(crate) fn verifier() -> JwtVerifier {
        JwtVerifier::builder()
            .key(VerificationKey::hs256(SECRET).unwrap())
            .issuer("iss")
            .audience("aud")
            .build()
            .unwrap()
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

    #[test]
    fn hmac_secrets_must_be_long_enough() {
        assert!(VerificationKey::hmac(Algorithm::HS384, &[0; 47]).is_err());
        assert!(VerificationKey::hmac(Algorithm::HS384, &[0; 48]).is_ok());
        assert!(VerificationKey::hmac(Algorithm::RS256, &[0; 64]).is_err());
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
