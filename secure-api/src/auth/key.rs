//! [`VerificationKey`]: keys configured in code or published as JWKs (documented on the item, where `secure_api::auth` shows it).

use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
#[cfg(feature = "idp")]
use jsonwebtoken::jwk::{EllipticCurve, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
#[cfg(feature = "idp")]
use serde_json::Value;

use crate::config::ConfigError;

/// Keys beyond this many in one JWKS are ignored (a JWKS holds a handful; more is an attack or
/// a mistake, and tokens without a `kid` are tried against every key of their algorithm).
#[cfg(feature = "idp")]
pub const MAX_KEYS: usize = 100;

/// The asymmetric signature algorithms a JWK may name (RFC 7518 §3.1), as `jsonwebtoken` spells
/// them in a JWK and in a token header: one table for both directions.
const JWK_ALGORITHMS: [(KeyAlgorithm, Algorithm); 9] = [
    (KeyAlgorithm::RS256, Algorithm::RS256),
    (KeyAlgorithm::RS384, Algorithm::RS384),
    (KeyAlgorithm::RS512, Algorithm::RS512),
    (KeyAlgorithm::PS256, Algorithm::PS256),
    (KeyAlgorithm::PS384, Algorithm::PS384),
    (KeyAlgorithm::PS512, Algorithm::PS512),
    (KeyAlgorithm::ES256, Algorithm::ES256),
    (KeyAlgorithm::ES384, Algorithm::ES384),
    (KeyAlgorithm::EdDSA, Algorithm::EdDSA),
];

/// Verification keys: one key bound to exactly one algorithm, whether it was configured in code
/// ([`VerificationKey::hs256`], [`VerificationKey::rsa_pem`], ...) or published by a provider
/// in a JWK set (RFC 7517).
///
/// The rules a key must meet live here, once, for both sources:
/// - an algorithm is the key's, never the token's: an RSA public key can never be used as an
///   HMAC secret (RFC 8725 §2.1);
/// - HMAC secrets are at least as long as the hash output (RFC 7518 §3.2);
/// - a published key is a public signature key (`use`/`key_ops`), its `kty` fits its `alg`,
///   its `alg` is on the allow-list, and a missing `alg` is implied only when exactly one
///   allowed algorithm fits; `oct` (shared-secret) keys are never taken from a key set;
/// - a `kid` is 1 to 256 printable ASCII characters, checked before it is looked up.
///
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
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        let Some(named) = jwk.common.key_algorithm else {
            return Err(ConfigError::new("the JWK has no `alg`; refusing to guess its algorithm"));
        };
        let Some(algorithm) = JWK_ALGORITHMS.iter().find(|(jwk, _)| *jwk == named).map(|(_, algorithm)| *algorithm)
        else {
            return Err(ConfigError::new(format!("the JWK algorithm {named:?} is not accepted")));
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

    /// The key material, for `jsonwebtoken::decode`.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    fn require_family(algorithm: Algorithm, family: jsonwebtoken::AlgorithmFamily) -> Result<(), ConfigError> {
        if algorithm.family() == family {
            Ok(())
        } else {
            Err(ConfigError::new(format!("{algorithm:?} cannot be used with a {family:?} key")))
        }
    }
}

/// Longest `kid` looked up; longer ones are malformed (no real provider comes near it).
const MAX_KID_LEN: usize = 256;

/// Whether `kid` may be looked up: 1 to 256 characters of printable ASCII without space, `"`
/// or `\` (base64, base64url, hex, UUIDs, URNs and ARNs all fit).
pub(crate) fn is_valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len()) && kid.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(feature = "idp")]
/// The usable keys of a JWKS document, and why the others were skipped. `None` when the
/// document is not a key set at all.
pub(crate) fn parse_key_set(document: &Value, algorithms: &[Algorithm]) -> Option<(Vec<VerificationKey>, Vec<String>)> {
    let entries = document.get("keys")?.as_array()?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if keys.len() == MAX_KEYS {
            skipped.push(format!("keys after the first {MAX_KEYS} are ignored"));
            break;
        }
        let label = entry.get("kid").and_then(Value::as_str).map_or_else(|| format!("#{index}"), |kid| kid.to_owned());
        match usable_key(entry, algorithms) {
            Ok(key) => keys.push(key),
            Err(reason) => skipped.push(format!("{label}: {reason}")),
        }
    }
    Some((keys, skipped))
}

#[cfg(feature = "idp")]
/// One JWK as a verification key, or why it cannot be one.
fn usable_key(entry: &Value, algorithms: &[Algorithm]) -> Result<VerificationKey, String> {
    // Parsed one by one: a key of a type or algorithm we do not know must not hide the others.
    let mut jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|_| "unsupported or malformed JWK".to_owned())?;
    if jwk.common.public_key_use.as_ref().is_some_and(|usage| *usage != PublicKeyUse::Signature) {
        return Err("not a signature key (`use`)".into());
    }
    if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return Err("not a verification key (`key_ops`)".into());
    }
    if let Some(kid) = &jwk.common.key_id
        && !is_valid_kid(kid)
    {
        return Err("invalid `kid`".into());
    }
    if jwk.common.key_algorithm.is_none() {
        jwk.common.key_algorithm = Some(implied_algorithm(&jwk, algorithms)?);
    }
    let key = VerificationKey::from_jwk(&jwk).map_err(|error| error.to_string())?;
    if !algorithms.contains(&key.algorithm()) {
        return Err(format!("algorithm {:?} is not allowed", key.algorithm()));
    }
    Ok(key)
}

#[cfg(feature = "idp")]
/// The one allowed algorithm a JWK without `alg` can only mean, or why there is none.
fn implied_algorithm(jwk: &Jwk, algorithms: &[Algorithm]) -> Result<KeyAlgorithm, String> {
    let fits: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => {
            algorithms.iter().copied().filter(|alg| alg.family() == jsonwebtoken::AlgorithmFamily::Rsa).collect()
        }
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => Vec::new(),
        }
        .into_iter()
        .filter(|alg| algorithms.contains(alg))
        .collect(),
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            [Algorithm::EdDSA].into_iter().filter(|alg| algorithms.contains(alg)).collect()
        }
        AlgorithmParameters::OctetKey(_) => return Err("symmetric (`oct`) keys are never accepted".into()),
        _ => Vec::new(),
    };
    match fits.as_slice() {
        [one] => key_algorithm(*one).ok_or_else(|| "unsupported algorithm".to_owned()),
        [] => Err("no `alg`, and its key type fits no allowed algorithm".into()),
        _ => Err("no `alg`, and its key type fits several allowed algorithms".into()),
    }
}

#[cfg(feature = "idp")]
fn key_algorithm(algorithm: Algorithm) -> Option<KeyAlgorithm> {
    JWK_ALGORITHMS.iter().find(|(_, known)| *known == algorithm).map(|(jwk, _)| *jwk)
}

// The tests read published key sets, which exist with the `idp` feature only.
#[cfg(all(test, feature = "idp"))]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    const RSA_PEM: &[u8] = include_bytes!("../../../tests/fixtures/idp/rsa_a.pem");
    const EC_PEM: &[u8] = include_bytes!("../../../tests/fixtures/idp/ec_p256.pem");
    const ED_PEM: &[u8] = include_bytes!("../../../tests/fixtures/idp/ed25519.pem");

    fn jwk(algorithm: Algorithm, kid: &str) -> Value {
        let key = match algorithm.family() {
            jsonwebtoken::AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
            jsonwebtoken::AlgorithmFamily::Ec => EncodingKey::from_ec_pem(EC_PEM).unwrap(),
            _ => EncodingKey::from_ed_pem(ED_PEM).unwrap(),
        };
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, algorithm).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk
    }

    fn parse(keys: Vec<Value>, algorithms: &[Algorithm]) -> (Vec<VerificationKey>, Vec<String>) {
        parse_key_set(&json!({ "keys": keys }), algorithms).unwrap()
    }

    #[test]
    fn keys_are_bound_to_their_published_algorithm() {
        let all = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
        let (keys, skipped) =
            parse(vec![jwk(Algorithm::RS256, "r"), jwk(Algorithm::ES256, "e"), jwk(Algorithm::EdDSA, "d")], &all);
        assert!(skipped.is_empty(), "{skipped:?}");
        let bound: Vec<_> = keys.iter().map(|key| (key.kid().unwrap(), key.algorithm())).collect();
        assert_eq!(bound, [("r", Algorithm::RS256), ("e", Algorithm::ES256), ("d", Algorithm::EdDSA)]);
    }

    #[test]
    fn keys_outside_the_allow_list_are_skipped() {
        let (keys, skipped) = parse(vec![jwk(Algorithm::RS256, "r"), jwk(Algorithm::ES256, "e")], &[Algorithm::RS256]);
        assert_eq!(keys.len(), 1);
        assert!(skipped[0].contains("ES256"), "{skipped:?}");
    }

    #[test]
    fn oct_keys_encryption_keys_and_mismatched_kty_are_skipped() {
        let oct = json!({"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "alg": "HS256", "kid": "o"});
        let mut enc = jwk(Algorithm::RS256, "enc");
        enc["use"] = json!("enc");
        let mut liar = jwk(Algorithm::RS256, "liar");
        liar["alg"] = json!("ES256");
        let mut ops = jwk(Algorithm::RS256, "ops");
        ops["key_ops"] = json!(["encrypt"]);
        let (keys, skipped) = parse(vec![oct, enc, liar, ops], &[Algorithm::RS256, Algorithm::ES256]);
        assert!(keys.is_empty(), "{keys:?}");
        assert_eq!(skipped.len(), 4, "{skipped:?}");
    }

    #[test]
    fn missing_alg_is_implied_only_when_unambiguous() {
        let mut rsa = jwk(Algorithm::RS256, "r");
        rsa.as_object_mut().unwrap().remove("alg");
        let mut ec = jwk(Algorithm::ES256, "e");
        ec.as_object_mut().unwrap().remove("alg");
        let (keys, _) = parse(vec![rsa.clone(), ec.clone()], &[Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(
            keys.iter().map(VerificationKey::algorithm).collect::<Vec<_>>(),
            [Algorithm::RS256, Algorithm::ES256]
        );
        let (keys, skipped) = parse(vec![rsa], &[Algorithm::RS256, Algorithm::PS256]);
        assert!(keys.is_empty() && skipped[0].contains("several"), "{skipped:?}");
    }

    #[test]
    fn unknown_key_types_do_not_hide_the_others() {
        let weird = json!({"kty": "XYZ", "kid": "w"});
        let (keys, skipped) = parse(vec![weird, jwk(Algorithm::RS256, "r")], &[Algorithm::RS256]);
        assert_eq!(keys.len(), 1);
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn invalid_kids_and_non_key_sets() {
        let (keys, _) = parse(vec![jwk(Algorithm::RS256, "bad kid\n")], &[Algorithm::RS256]);
        assert!(keys.is_empty());
        assert!(parse_key_set(&json!({"kids": []}), &[Algorithm::RS256]).is_none());
        assert!(parse_key_set(&json!([]), &[Algorithm::RS256]).is_none());
    }

    #[test]
    fn key_sets_are_capped() {
        let many = (0..MAX_KEYS + 5).map(|i| jwk(Algorithm::ES256, &format!("k{i}"))).collect();
        let (keys, skipped) = parse(many, &[Algorithm::ES256]);
        assert_eq!(keys.len(), MAX_KEYS);
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn hmac_secrets_must_be_long_enough() {
        assert!(VerificationKey::hmac(Algorithm::HS384, &[0; 47]).is_err());
        assert!(VerificationKey::hmac(Algorithm::HS384, &[0; 48]).is_ok());
        assert!(VerificationKey::hmac(Algorithm::RS256, &[0; 64]).is_err());
    }

    #[test]
    fn the_algorithm_table_maps_both_ways() {
        for (jwk, algorithm) in JWK_ALGORITHMS {
            assert_eq!(key_algorithm(algorithm), Some(jwk));
        }
        assert_eq!(key_algorithm(Algorithm::HS256), None, "no shared secrets in a key set");
    }
}
