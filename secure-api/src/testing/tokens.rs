//! [`TokenFactory`]: valid tokens with chosen claims and scopes, and the forgeries an attacker
//! would try.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// Mints JWTs for tests: valid ones with chosen scopes and claims, and attacker variants
/// (`expired`, `wrong_audience`, `wrong_issuer`, `alg_none`, `signed_with_other_key`,
/// `tampered`, `missing_exp`).
///
/// # Examples
/// ```
/// use secure_api::testing::TokenFactory;
///
/// let tokens = TokenFactory::hs256(b"a-test-secret-of-32-bytes-length", "https://issuer.test", "my-api");
/// let token = tokens.token(&["items:read"]);
/// assert_eq!(token.split('.').count(), 3);
/// assert!(tokens.alg_none(&["items:read"]).ends_with('.'));
/// ```
#[derive(Clone)]
pub struct TokenFactory {
    key: EncodingKey,
    algorithm: Algorithm,
    issuer: String,
    audience: String,
    subject: String,
}

impl std::fmt::Debug for TokenFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFactory")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

impl TokenFactory {
    /// Tokens signed with the HS256 `secret`, for `issuer` and `audience`.
    pub fn hs256(secret: impl AsRef<[u8]>, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self::new(EncodingKey::from_secret(secret.as_ref()), Algorithm::HS256, issuer, audience)
    }

    /// Tokens signed with `key` (e.g. `EncodingKey::from_rsa_pem`) using `algorithm`.
    ///
    /// # Examples
    /// ```
    /// use secure_api::auth::Algorithm;
    /// use secure_api::testing::{EncodingKey, TokenFactory};
    ///
    /// let tokens = TokenFactory::new(EncodingKey::from_secret(b"k"), Algorithm::HS384, "iss", "aud");
    /// assert!(!tokens.token(&[]).is_empty());
    /// ```
    pub fn new(key: EncodingKey, algorithm: Algorithm, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self { key, algorithm, issuer: issuer.into(), audience: audience.into(), subject: "test-user".into() }
    }

    /// The default subject (`sub`) of minted tokens (`test-user` unless set).
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// let tokens = TokenFactory::hs256(b"k", "iss", "aud").subject("alice");
    /// assert_eq!(tokens.claims(&[])["sub"], "alice");
    /// ```
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    /// The issuer (`iss`) of minted tokens.
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// assert_eq!(TokenFactory::hs256(b"k", "https://issuer", "aud").issuer(), "https://issuer");
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The claims of a valid token with `scopes`: `iss`, `aud`, `sub`, `scope`, `iat`, `exp`
    /// (10 minutes) and a fresh `jti`.
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// let claims = TokenFactory::hs256(b"k", "iss", "aud").claims(&["a", "b"]);
    /// assert_eq!(claims["scope"], "a b");
    /// ```
    pub fn claims(&self, scopes: &[&str]) -> Map<String, Value> {
        self.claims_for(&self.subject, scopes)
    }

    fn claims_for(&self, subject: &str, scopes: &[&str]) -> Map<String, Value> {
        let value = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "scope": scopes.join(" "),
            "iat": now(),
            "exp": now() + 600,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Signs `claims` as they are (any claims you choose).
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// let tokens = TokenFactory::hs256(b"k", "iss", "aud");
    /// let mut claims = tokens.claims(&["x"]);
    /// claims.insert("tenant".into(), "acme".into());
    /// assert_eq!(tokens.sign(&claims).split('.').count(), 3);
    /// ```
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, &self.key).expect("the test key signs")
    }

    /// A valid token with `scopes` for the default subject.
    pub fn token(&self, scopes: &[&str]) -> String {
        self.sign(&self.claims(scopes))
    }

    /// A valid token with `scopes` for `subject` (a fresh principal, e.g. for rate-limit tests).
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// let tokens = TokenFactory::hs256(b"k", "iss", "aud");
    /// assert_ne!(tokens.token_for("a", &[]), tokens.token_for("b", &[]));
    /// ```
    pub fn token_for(&self, subject: &str, scopes: &[&str]) -> String {
        self.sign(&self.claims_for(subject, scopes))
    }

    /// A valid token with `scopes` for `subject`, bound to the DPoP key whose thumbprint is
    /// `jkt` (`cnf.jkt`, RFC 9449 §6): send it as `Authorization: DPoP <token>` with a proof.
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::{DpopKey, TokenFactory};
    /// let tokens = TokenFactory::hs256(b"k", "iss", "aud");
    /// let key = DpopKey::test_key();
    /// assert_eq!(tokens.bound_token_for("a", &["read"], key.jkt()).split('.').count(), 3);
    /// ```
    pub fn bound_token_for(&self, subject: &str, scopes: &[&str], jkt: &str) -> String {
        let mut claims = self.claims_for(subject, scopes);
        claims.insert("cnf".to_owned(), json!({ "jkt": jkt }));
        self.sign(&claims)
    }

    /// A valid token with `scopes` for `subject`, bound to the client certificate whose
    /// RFC 8705 thumbprint is `x5t_s256` (`cnf["x5t#S256"]`): accepted only on a connection
    /// that presented that certificate.
    ///
    /// # Examples
    /// ```
    /// # use secure_api::testing::TokenFactory;
    /// use secure_api::auth::ClientCertificate;
    ///
    /// let tokens = TokenFactory::hs256(b"k", "iss", "aud");
    /// let certificate = ClientCertificate::from_der(b"the client's DER certificate");
    /// let token = tokens.certificate_bound_token_for("a", &["read"], certificate.thumbprint());
    /// assert_eq!(token.split('.').count(), 3);
    /// ```
    pub fn certificate_bound_token_for(&self, subject: &str, scopes: &[&str], x5t_s256: &str) -> String {
        let mut claims = self.claims_for(subject, scopes);
        claims.insert("cnf".to_owned(), json!({ "x5t#S256": x5t_s256 }));
        self.sign(&claims)
    }

    /// A token that expired an hour ago.
    pub fn expired(&self, scopes: &[&str]) -> String {
        let mut claims = self.claims(scopes);
        claims.insert("iat".into(), (now() - 7200).into());
        claims.insert("exp".into(), (now() - 3600).into());
        self.sign(&claims)
    }

    /// A token for another audience.
    pub fn wrong_audience(&self, scopes: &[&str]) -> String {
        let mut claims = self.claims(scopes);
        claims.insert("aud".into(), "https://another-api.invalid".into());
        self.sign(&claims)
    }

    /// A token from another issuer.
    pub fn wrong_issuer(&self, scopes: &[&str]) -> String {
        let mut claims = self.claims(scopes);
        claims.insert("iss".into(), "https://attacker.invalid".into());
        self.sign(&claims)
    }

    /// An unsigned token (`alg: none`, empty signature).
    pub fn alg_none(&self, scopes: &[&str]) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(self.claims(scopes)).to_string());
        format!("{header}.{payload}.")
    }

    /// A token with the right claims signed by a key the API does not trust (HS256 with a
    /// random secret).
    pub fn signed_with_other_key(&self, scopes: &[&str]) -> String {
        let other = crate::secret::random_secret(32);
        let key = EncodingKey::from_secret(other.expose().as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &self.claims(scopes), &key).expect("signing works")
    }

    /// A token validly signed without scopes whose payload was then rewritten to claim
    /// `scopes` (the signature no longer matches).
    pub fn tampered(&self, scopes: &[&str]) -> String {
        let token = self.token(&[]);
        let mut parts = token.split('.');
        let (header, _, signature) = (parts.next().unwrap_or(""), parts.next(), parts.next().unwrap_or(""));
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(self.claims(scopes)).to_string());
        format!("{header}.{payload}.{signature}")
    }

    /// A validly signed token without `exp`.
    pub fn missing_exp(&self, scopes: &[&str]) -> String {
        let mut claims = self.claims(scopes);
        claims.remove("exp");
        self.sign(&claims)
    }
}
