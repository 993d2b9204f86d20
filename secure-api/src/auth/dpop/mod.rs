//! DPoP: access tokens bound to a key the client holds (RFC 9449).
//!
//! A client sends `Authorization: DPoP <token>` and, in the `DPoP` header, a proof: a JWT
//! signed with its private key, naming the public key (`jwk`), the request (`htm`, `htu`), the
//! time (`iat`), a unique id (`jti`) and the hash of the token (`ath`). A stolen token is then
//! useless without the key. The [`DpopVerifier`] checks every rule of RFC 9449 §4.3:
//!
//! - `typ` is `dpop+jwt`; `alg` is one of the accepted asymmetric algorithms (default ES256,
//!   EdDSA, RS256, PS256: never `none` nor HMAC), `crit` is refused;
//! - `jwk` is a public key of that algorithm's type (a private key, with `d`, is refused);
//! - the signature verifies with that key;
//! - `htm` is the request's method and `htu` its URL (scheme, host and port, path; query and
//!   fragment ignored; the scheme is `https` only when the request came over TLS, directly or
//!   per a trusted proxy);
//! - `iat` is within the window (default 60 s, plus 5 s for clock skew);
//! - `ath` is base64url(SHA-256(access token)) when a token is presented;
//! - `jti` was not seen before (a cache bounded in entries and in time);
//! - the token's `cnf.jkt` is the RFC 7638 thumbprint of the proof's key.
//!
//! A DPoP-bound token (one with `cnf.jkt`) sent as `Bearer` is refused (RFC 9449 §7.2); plain
//! bearer tokens keep working on routes that do not require a binding. Refusals are 401 with
//! `WWW-Authenticate: DPoP algs="...", error="invalid_dpop_proof"` (or `invalid_token`).
//!
//! # Examples
//! ```
//! use secure_api::Security;
//! use secure_api::auth::dpop::DpopVerifier;
//! use std::time::Duration;
//!
//! let security = Security::builder()
//!     .dpop(DpopVerifier::builder().max_age(Duration::from_secs(30)).build())
//!     .build();
//! ```

mod error;
mod htu;
pub(crate) mod jwk;
mod replay;
pub(crate) mod request;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use error::DpopError;
pub use htu::normalize_htu;
use replay::ReplayCache;

/// The algorithms accepted by default, in the order the challenge lists them.
pub const DEFAULT_ALGORITHMS: [Algorithm; 4] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256, Algorithm::PS256];

/// The longest `jti` accepted: a UUID or 128 random bits fit many times over; a longer one is
/// only memory for the replay cache.
const MAX_JTI_LEN: usize = 128;

/// What a proof is checked against: the request it came with.
#[derive(Clone, Copy, Debug)]
pub struct ProofRequest<'a> {
    /// The request's method (`htm`).
    pub method: &'a http::Method,
    /// The request's URL, normalised with [`normalize_htu`] (`htu`).
    pub htu: &'a str,
    /// The access token sent with the proof (its hash is `ath`); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key: what `cnf.jkt` of a bound token must be.
    pub jkt: String,
}

/// Verifies DPoP proofs (RFC 9449 §4.3) and remembers their `jti`s; see the [module docs](self).
///
/// Cheap to share: keep one per application (in [`Security`](crate::Security)), so the replay
/// cache sees every request.
#[derive(Debug)]
pub struct DpopVerifier {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
    replay: ReplayCache,
    challenge_algs: String,
    /// Seen proofs shared by every instance: the app's Redis store, when it has one.
    #[cfg(feature = "redis")]
    shared_replay: Option<crate::rate::RedisStore>,
}

impl Default for DpopVerifier {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Builds a [`DpopVerifier`]; see [`DpopVerifier::builder`].
#[derive(Debug)]
#[must_use]
pub struct DpopVerifierBuilder {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
    replay_capacity: usize,
}

impl DpopVerifierBuilder {
    /// The accepted proof algorithms, a subset of ES256, EdDSA, RS256 and PS256 (the default:
    /// all four). Any other algorithm (HMAC above all) is dropped, and a list left empty keeps
    /// the default, so the verifier never ends up accepting nothing or something symmetric.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let chosen: Vec<Algorithm> = algorithms.into_iter().filter(|alg| DEFAULT_ALGORITHMS.contains(alg)).collect();
        if !chosen.is_empty() {
            self.algorithms = chosen;
        }
        self
    }

    /// How old a proof's `iat` may be (default 60 s).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Clock skew allowed on `iat`, both ways (default 5 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How many proofs the replay cache remembers (default 100 000, a few MB). A proof is
    /// remembered while its `iat` is within the window; size this above the number of DPoP
    /// requests one instance serves per window.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> DpopVerifier {
        let challenge_algs = self.algorithms.iter().map(|alg| algorithm_name(*alg)).collect::<Vec<_>>().join(" ");
        DpopVerifier {
            algorithms: self.algorithms,
            max_age: self.max_age,
            leeway: self.leeway,
            replay: ReplayCache::new(self.replay_capacity),
            challenge_algs,
            #[cfg(feature = "redis")]
            shared_replay: None,
        }
    }
}

/// The JOSE name of `alg` (`ES256`, `EdDSA`, ...).
fn algorithm_name(alg: Algorithm) -> String {
    match serde_json::to_value(alg) {
        Ok(Value::String(name)) => name,
        _ => format!("{alg:?}"),
    }
}

impl DpopVerifier {
    /// Starts a configuration with the defaults (ES256, EdDSA, RS256, PS256; 60 s; 5 s leeway;
    /// 100 000 remembered proofs).
    ///
    /// ```
    /// use secure_api::auth::dpop::DpopVerifier;
    /// use secure_api::auth::Algorithm;
    ///
    /// let verifier = DpopVerifier::builder().algorithms([Algorithm::ES256]).build();
    /// assert_eq!(verifier.algorithms_parameter(), "ES256");
    /// // HMAC is never a proof algorithm: the default stays.
    /// let verifier = DpopVerifier::builder().algorithms([Algorithm::HS256]).build();
    /// assert_eq!(verifier.algorithms(), secure_api::auth::dpop::DEFAULT_ALGORITHMS);
    /// assert_eq!(DpopVerifier::default().algorithms_parameter(), "ES256 EdDSA RS256 PS256");
    /// ```
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            max_age: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
            replay_capacity: 100_000,
        }
    }

    /// The accepted algorithms, space-separated, as the challenge's `algs` parameter and the
    /// metadata's `dpop_signing_alg_values_supported` name them.
    pub fn algorithms_parameter(&self) -> &str {
        &self.challenge_algs
    }

    /// The accepted algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Checks `proof` for `request` at the current time, and records its `jti`.
    ///
    /// ```
    /// use secure_api::auth::dpop::{DpopError, DpopVerifier, ProofRequest};
    ///
    /// let verifier = DpopVerifier::default();
    /// let request = ProofRequest { method: &http::Method::GET, htu: "https://api.example/items", access_token: None };
    /// assert_eq!(verifier.verify("not-a-proof", &request), Err(DpopError::Malformed));
    /// ```
    pub fn verify(&self, proof: &str, request: &ProofRequest<'_>) -> Result<VerifiedProof, DpopError> {
        let now = crate::auth::claims::unix_now().ok_or(DpopError::Stale)?;
        self.verify_at(proof, request, now)
    }

    /// Keeps the replay cache in `store` too, so a proof used on one instance is refused on
    /// every other. [`Security`](crate::Security) does this with the rate limits' Redis store.
    /// While Redis does not answer, each instance still refuses the proofs it has seen itself.
    #[cfg(feature = "redis")]
    pub(crate) fn share_replays(&mut self, store: crate::rate::RedisStore) {
        self.shared_replay = Some(store);
    }

    /// [`verify`](Self::verify), then the shared replay check when one is configured.
    pub(crate) async fn verify_shared(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let verified = self.verify(proof, request)?;
        self.first_use_shared(proof, &verified).await?;
        Ok(verified)
    }

    /// Whether the proof (already verified and recorded locally) is new to every instance.
    #[cfg(feature = "redis")]
    pub(crate) async fn first_use_shared(&self, proof: &str, verified: &VerifiedProof) -> Result<(), DpopError> {
        let Some(store) = &self.shared_replay else {
            return Ok(());
        };
        // The key names the proof itself (its hash): the jti, the key and everything signed.
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(proof.as_bytes()));
        let ttl = self.max_age.saturating_add(self.leeway.saturating_mul(3));
        match store.set_once(&format!("dpop:{}:{digest}", verified.jkt), ttl).await {
            Some(false) => Err(DpopError::Replayed),
            Some(true) | None => Ok(()),
        }
    }

    /// Without Redis, the local cache is the only one.
    #[cfg(not(feature = "redis"))]
    pub(crate) async fn first_use_shared(&self, _proof: &str, _verified: &VerifiedProof) -> Result<(), DpopError> {
        Ok(())
    }

    pub(crate) fn verify_at(
        &self,
        proof: &str,
        request: &ProofRequest<'_>,
        now: u64,
    ) -> Result<VerifiedProof, DpopError> {
        let header = decode_header(proof)?;
        if !header.get("typ").and_then(Value::as_str).is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(DpopError::WrongType);
        }
        if header.contains_key("crit") {
            return Err(DpopError::Malformed);
        }
        let alg = header
            .get("alg")
            .cloned()
            .and_then(|alg| serde_json::from_value::<Algorithm>(alg).ok())
            .filter(|alg| self.algorithms.contains(alg))
            .ok_or(DpopError::AlgorithmNotAllowed)?;
        let Some(Value::Object(jwk)) = header.get("jwk") else {
            return Err(DpopError::BadKey);
        };
        let key = jwk::public_key(jwk, alg)?;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Map<String, Value>>(proof, &key.key, &validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => DpopError::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => DpopError::AlgorithmNotAllowed,
                _ => DpopError::Malformed,
            })?
            .claims;
        let text = |name: &'static str| claims.get(name).and_then(Value::as_str).ok_or(DpopError::MissingClaim(name));
        let jti = text("jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Err(DpopError::MissingClaim("jti"));
        }
        if text("htm")? != request.method.as_str() {
            return Err(DpopError::WrongMethod);
        }
        if normalize_htu(text("htu")?).as_deref() != Some(request.htu) {
            return Err(DpopError::WrongUrl);
        }
        let iat = claims
            .get("iat")
            .and_then(crate::auth::claims::numeric_date_value)
            .ok_or(DpopError::MissingClaim("iat"))?;
        let (max_age, leeway) = (self.max_age.as_secs(), self.leeway.as_secs());
        if iat > now.saturating_add(leeway) || iat.saturating_add(max_age).saturating_add(leeway) < now {
            return Err(DpopError::Stale);
        }
        if let Some(token) = request.access_token {
            let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
            let ath = text("ath")?;
            if !bool::from(subtle::ConstantTimeEq::ct_eq(ath.as_bytes(), expected.as_bytes())) {
                return Err(DpopError::WrongTokenHash);
            }
        }
        // Last, so a proof refused for any other reason does not burn its jti.
        let until = iat.saturating_add(max_age).saturating_add(2 * leeway);
        if !self.replay.first_use(&key.thumbprint, jti, now, until) {
            return Err(DpopError::Replayed);
        }
        Ok(VerifiedProof { jkt: key.thumbprint })
    }
}

/// The proof's protected header as a JSON object (before any key is looked at).
fn decode_header(proof: &str) -> Result<Map<String, Value>, DpopError> {
    let mut parts = proof.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(DpopError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| DpopError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(DpopError::Malformed),
    }
}
