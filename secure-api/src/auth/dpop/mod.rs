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
//! With [`DpopVerifierBuilder::require_nonce`], proofs must also carry a server-provided
//! `nonce` (RFC 9449 §8 and §9); see [Nonces](#nonces).
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
//!
//! # Nonces
//!
//! Off by default. With [`DpopVerifierBuilder::require_nonce`], a proof must carry a `nonce`
//! claim the server issued: without one, or with an unknown or expired one, the resource server
//! answers 401 with `WWW-Authenticate: DPoP algs="...", error="use_dpop_nonce"` and the token
//! endpoint 400 `{"error":"use_dpop_nonce"}`, both with a fresh nonce in the `DPoP-Nonce`
//! header; the client retries with it. The token endpoint also sends the current nonce with
//! each token it issues. A request whose proof carries a nonce from the previous time step (one
//! that expires within a lifetime) is answered with the current nonce in `DPoP-Nonce`, so a
//! client that calls at least once per lifetime and uses the newest nonce it was given never
//! meets a refusal; one whose nonce has expired gets a fresh one with the next 401 and retries.
//!
//! Nonces are stateless: `<time step>.<HMAC-SHA256 of the step>` under a secret, accepted in
//! the step they were issued in and the next, so a nonce lives at least one lifetime and at most
//! two. Instances that share the secret ([`DpopVerifierBuilder::nonce_secret`]) accept each
//! other's nonces; without one, each verifier draws a random secret.
//!
//! ```
//! use secure_api::auth::dpop::DpopVerifier;
//! use std::time::Duration;
//!
//! let secret = b"a shared secret of 32 bytes or more";
//! let one = DpopVerifier::builder().require_nonce(Duration::from_secs(300)).nonce_secret(secret).build();
//! let two = DpopVerifier::builder().require_nonce(Duration::from_secs(300)).nonce_secret(secret).build();
//! let nonce = one.nonce().unwrap();
//! assert!(two.accepts_nonce(&nonce));
//! assert!(!DpopVerifier::default().requires_nonce());
//! ```

mod error;
mod htu;
pub(crate) mod jwk;
mod nonce;
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
use nonce::NonceKey;
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
    /// The proof's server nonce is from the previous time step (it expires within one
    /// lifetime): the response gives the client the current nonce (RFC 9449 §8.2, §9).
    pub(crate) nonce_expiring: bool,
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
    /// The server nonce key, when nonces are required.
    nonce: Option<NonceKey>,
    /// Seen proofs shared by every instance: the app's Redis store, when it has one.
    #[cfg(feature = "redis")]
    shared_replay: Option<crate::rate::RedisStore>,
}

impl Default for DpopVerifier {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Shortest nonce secret [`DpopVerifierBuilder::nonce_secret`] accepts: the HMAC-SHA256 output size.
const MIN_NONCE_SECRET_BYTES: usize = 32;

/// Builds a [`DpopVerifier`]; see [`DpopVerifier::builder`].
#[derive(Debug)]
#[must_use]
pub struct DpopVerifierBuilder {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
    replay_capacity: usize,
    nonce_lifetime: Option<Duration>,
    nonce_secret: Option<Vec<u8>>,
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

    /// How many proofs the replay cache remembers (default 100 000, about 4 MB). A proof is
    /// remembered while its `iat` is within the window; size this above the number of DPoP
    /// requests one instance serves per window (past it, the oldest proofs are forgotten
    /// first, with a warning at most once a minute).
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Requires a server-provided `nonce` in every proof (RFC 9449 §8 and §9); off by default.
    /// A nonce is accepted for at least `lifetime` and at most twice that (minimum 1 s). A proof
    /// without a valid nonce is refused with `use_dpop_nonce` and a fresh nonce in the
    /// `DPoP-Nonce` header; see the [module docs](self#nonces).
    ///
    /// ```
    /// use secure_api::auth::dpop::{DpopError, DpopVerifier};
    /// use std::time::Duration;
    ///
    /// let verifier = DpopVerifier::builder().require_nonce(Duration::from_secs(300)).build();
    /// assert!(verifier.requires_nonce());
    /// let nonce = verifier.nonce().unwrap();
    /// assert!(verifier.accepts_nonce(&nonce));
    /// assert!(!verifier.accepts_nonce("made-up"));
    /// assert_eq!(DpopError::UseNonce.code(), "use_dpop_nonce");
    /// ```
    pub fn require_nonce(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = Some(lifetime);
        self
    }

    /// The secret nonces are made with (HMAC-SHA256), shared by every instance that must accept
    /// the others' nonces: at least 32 random bytes, kept like any other key. Without it (the
    /// default), each verifier draws its own random secret; a secret shorter than 32 bytes is
    /// not used either (a warning is logged), so it cannot make nonces guessable. Has no effect
    /// unless [`require_nonce`](Self::require_nonce) is set.
    pub fn nonce_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.nonce_secret = Some(secret.as_ref().to_vec());
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
            nonce: self.nonce_lifetime.map(|lifetime| {
                let secret = match self.nonce_secret {
                    Some(secret) if secret.len() >= MIN_NONCE_SECRET_BYTES => secret,
                    // A short secret could be guessed, and with it nonces forged ahead of time
                    // (what nonces exist to prevent): it is not used. The verifier's own random
                    // secret still works; only other instances' nonces are then refused, which
                    // a client answers with one retry.
                    Some(_) => {
                        tracing::warn!(
                            target: "secure_api::auth",
                            min_bytes = MIN_NONCE_SECRET_BYTES,
                            "DPoP nonce secret too short: ignored, this instance uses its own random secret"
                        );
                        rand::random::<[u8; 32]>().to_vec()
                    }
                    None => rand::random::<[u8; 32]>().to_vec(),
                };
                NonceKey::new(&secret, lifetime)
            }),
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
            nonce_lifetime: None,
            nonce_secret: None,
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

    /// Whether proofs must carry a server nonce ([`DpopVerifierBuilder::require_nonce`]).
    pub fn requires_nonce(&self) -> bool {
        self.nonce.is_some()
    }

    /// The current nonce, for a `DPoP-Nonce` header; `None` when nonces are off.
    ///
    /// ```
    /// use secure_api::auth::dpop::DpopVerifier;
    /// use std::time::Duration;
    ///
    /// assert_eq!(DpopVerifier::default().nonce(), None);
    /// let verifier = DpopVerifier::builder().require_nonce(Duration::from_secs(60)).build();
    /// assert!(verifier.nonce().is_some());
    /// ```
    pub fn nonce(&self) -> Option<String> {
        let now = crate::auth::claims::unix_now()?;
        self.nonce.as_ref().map(|key| key.issue(now))
    }

    /// Whether `nonce` is one this verifier (or one sharing its secret) issued and that has not
    /// expired; always `false` when nonces are off.
    pub fn accepts_nonce(&self, nonce: &str) -> bool {
        let Some(now) = crate::auth::claims::unix_now() else {
            return false;
        };
        self.nonce.as_ref().is_some_and(|key| nonce::is_nqchar(nonce) && key.accepts(nonce, now))
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
        let mut nonce_expiring = false;
        if let Some(key) = &self.nonce {
            // RFC 9449 §8.1: 1*NQCHAR, compared exactly.
            let nonce = claims.get("nonce").and_then(Value::as_str);
            match nonce {
                Some(nonce) if nonce::is_nqchar(nonce) && key.accepts(nonce, now) => {
                    nonce_expiring = key.is_from_previous_step(nonce, now);
                }
                _ => return Err(DpopError::UseNonce),
            }
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
        Ok(VerifiedProof { jkt: key.thumbprint, nonce_expiring })
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

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;
    use jsonwebtoken::jwk::Jwk;
    use serde_json::json;

    const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFK7wFohml5vppSddLTCVfjcLI216zhWGpBOTduUq6DG
-----END PRIVATE KEY-----
";
    const HTU: &str = "https://api.example/items";

    /// An EdDSA proof for `GET HTU` made at `iat`, with `nonce` when given.
    fn proof(iat: u64, nonce: Option<&str>) -> String {
        let key = EncodingKey::from_ed_pem(KEY_PEM.as_bytes()).unwrap();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        let mut claims = json!({"jti": uuid::Uuid::new_v4().to_string(), "htm": "GET", "htu": HTU, "iat": iat});
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk});
        let message =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::EdDSA).unwrap();
        format!("{message}.{signature}")
    }

    fn request() -> ProofRequest<'static> {
        ProofRequest { method: &http::Method::GET, htu: HTU, access_token: None }
    }

    #[test]
    fn nonces_off_by_default_and_a_nonce_claim_is_then_ignored() {
        let verifier = DpopVerifier::default();
        let now = 1_800_000_000;
        assert!(verifier.verify_at(&proof(now, None), &request(), now).is_ok());
        assert!(verifier.verify_at(&proof(now, Some("anything")), &request(), now).is_ok());
    }

    #[test]
    fn with_nonces_a_proof_needs_a_current_nonce_of_this_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let lifetime = Duration::from_secs(60);
        let verifier = DpopVerifier::builder().require_nonce(lifetime).nonce_secret(secret).build();
        let twin = DpopVerifier::builder().require_nonce(lifetime).nonce_secret(secret).build();
        let stranger = DpopVerifier::builder().require_nonce(lifetime).build();
        let now = 1_800_000_000;
        let key = verifier.nonce.as_ref().unwrap();
        let nonce = key.issue(now);

        assert_eq!(verifier.verify_at(&proof(now, None), &request(), now), Err(DpopError::UseNonce));
        assert_eq!(verifier.verify_at(&proof(now, Some("made-up")), &request(), now), Err(DpopError::UseNonce));
        assert!(verifier.verify_at(&proof(now, Some(&nonce)), &request(), now).is_ok());
        // Another instance with the same secret accepts it; one with its own secret does not.
        assert!(twin.verify_at(&proof(now, Some(&nonce)), &request(), now).is_ok());
        assert_eq!(stranger.verify_at(&proof(now, Some(&nonce)), &request(), now), Err(DpopError::UseNonce));
        // Still good one lifetime later; refused two lifetimes later, with a fresh proof.
        let later = now + 60;
        assert!(verifier.verify_at(&proof(later, Some(&nonce)), &request(), later).is_ok());
        let expired = now + 2 * 60 + 60;
        assert_eq!(verifier.verify_at(&proof(expired, Some(&nonce)), &request(), expired), Err(DpopError::UseNonce));
        // Exact match: no surrounding space, no other case.
        let padded = format!(" {nonce}");
        assert_eq!(verifier.verify_at(&proof(now, Some(&padded)), &request(), now), Err(DpopError::UseNonce));
    }

    #[test]
    fn a_short_nonce_secret_is_not_used() {
        // 31 bytes: guessable enough to forge nonces ahead of time, so each verifier falls back
        // to its own random secret, and two "sharing" it do not accept each other's nonces.
        let short = b"0123456789abcdef0123456789abcde";
        let lifetime = Duration::from_secs(60);
        let first = DpopVerifier::builder().require_nonce(lifetime).nonce_secret(short).build();
        let second = DpopVerifier::builder().require_nonce(lifetime).nonce_secret(short).build();
        let now = 1_800_000_000;
        let nonce = first.nonce.as_ref().unwrap().issue(now);
        assert!(first.verify_at(&proof(now, Some(&nonce)), &request(), now).is_ok());
        assert_eq!(second.verify_at(&proof(now, Some(&nonce)), &request(), now), Err(DpopError::UseNonce));
        assert_ne!(nonce, NonceKey::new(short, lifetime).issue(now), "the short secret made the nonce");
    }
}
