//! [`DpopKey`]: a client's DPoP key for tests, making the proofs RFC 9449 asks for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// A fixed Ed25519 key that protects nothing: tests and the self-scan sign proofs with it.
const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFK7wFohml5vppSddLTCVfjcLI216zhWGpBOTduUq6DG
-----END PRIVATE KEY-----
";

/// Another fixed Ed25519 key: another client's, for proofs that must not match a token bound to
/// [`TEST_KEY_PEM`].
const OTHER_TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILlcpOH+BuQn+3AYEIXqriQEp8KXE4iVTZp4ULb62rLH
-----END PRIVATE KEY-----
";

/// A DPoP client key: its public JWK, its RFC 7638 thumbprint (`cnf.jkt` of tokens bound to
/// it), and fresh proofs for requests.
///
/// # Examples
/// ```
/// use secure_api::testing::DpopKey;
///
/// let key = DpopKey::test_key();
/// let proof = key.proof("GET", "https://api.example/items", Some("the-access-token"));
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.jkt().len(), 43);
/// ```
#[derive(Clone)]
pub struct DpopKey {
    key: EncodingKey,
    algorithm: Algorithm,
    jwk: Map<String, Value>,
    jkt: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").field("algorithm", &self.algorithm).field("jkt", &self.jkt).finish_non_exhaustive()
    }
}

impl DpopKey {
    /// The fixed Ed25519 test key.
    pub fn test_key() -> Self {
        Self::new(EncodingKey::from_ed_pem(TEST_KEY_PEM.as_bytes()).expect("the test key parses"), Algorithm::EdDSA)
    }

    /// Another fixed Ed25519 key, a second client's: its proofs do not match tokens bound to
    /// [`test_key`](Self::test_key).
    ///
    /// ```
    /// use secure_api::testing::DpopKey;
    ///
    /// assert_ne!(DpopKey::test_key().jkt(), DpopKey::other_test_key().jkt());
    /// ```
    pub fn other_test_key() -> Self {
        Self::new(
            EncodingKey::from_ed_pem(OTHER_TEST_KEY_PEM.as_bytes()).expect("the other test key parses"),
            Algorithm::EdDSA,
        )
    }

    /// A key of your own (`ES256`, `EdDSA`, `RS256` or `PS256`).
    pub fn new(key: EncodingKey, algorithm: Algorithm) -> Self {
        let jwk = Jwk::from_encoding_key(&key, algorithm).expect("a public key from the private one");
        let Ok(Value::Object(mut jwk)) = serde_json::to_value(jwk) else { panic!("a JWK is an object") };
        // Only the key itself: `alg` is in the proof's header already.
        jwk.remove("alg");
        let jkt = crate::auth::dpop::jwk::public_key(&jwk, algorithm).expect("a supported public key").thumbprint;
        Self { key, algorithm, jwk, jkt }
    }

    /// The RFC 7638 thumbprint: what `cnf.jkt` of a token bound to this key says.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A fresh proof (new `jti`, `iat` now) for `method url`, with `ath` for `access_token`.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        self.proof_with_nonce(method, url, access_token, None)
    }

    /// A fresh proof like [`proof`](Self::proof), carrying a server-provided `nonce` (RFC 9449
    /// §8) when given.
    ///
    /// ```
    /// use secure_api::auth::dpop::{DpopVerifier, ProofRequest};
    /// use secure_api::testing::DpopKey;
    /// use std::time::Duration;
    ///
    /// let verifier = DpopVerifier::builder().require_nonce(Duration::from_secs(60)).build();
    /// let request = ProofRequest { method: &http::Method::GET, htu: "https://api.example/items", access_token: None };
    /// let key = DpopKey::test_key();
    /// let proof = key.proof_with_nonce("GET", "https://api.example/items", None, verifier.nonce().as_deref());
    /// assert!(verifier.verify(&proof, &request).is_ok());
    /// ```
    pub fn proof_with_nonce(&self, method: &str, url: &str, access_token: Option<&str>, nonce: Option<&str>) -> String {
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": jsonwebtoken::get_current_timestamp(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({ "typ": "dpop+jwt", "alg": self.algorithm, "jwk": self.jwk });
        let message =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, self.algorithm).expect("the key signs");
        format!("{message}.{signature}")
    }
}
