//! A real identity provider for the `idp_*` tests: an axum server on a loopback port that
//! publishes a mutable JWKS, an OpenID Connect discovery document and an RFC 7662
//! introspection endpoint, and counts every request it gets. Signing keys are fixed test PEMs
//! (`tests/fixtures/idp/`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const RSA_A: &[u8] = include_bytes!("../fixtures/idp/rsa_a.pem");
pub const RSA_A_PUBLIC: &[u8] = include_bytes!("../fixtures/idp/rsa_a.pub.pem");
pub const RSA_B: &[u8] = include_bytes!("../fixtures/idp/rsa_b.pem");
pub const EC_P256: &[u8] = include_bytes!("../fixtures/idp/ec_p256.pem");
pub const ED25519: &[u8] = include_bytes!("../fixtures/idp/ed25519.pem");

/// The client the resource server uses at the introspection endpoint.
pub const INTROSPECTION_CLIENT: (&str, &str) = ("items-api", "introspection-secret: with /+ and space");

/// A signing key of the provider, with its `kid`.
#[derive(Clone)]
pub struct TestKey {
    pub algorithm: Algorithm,
    pub kid: String,
    pub key: EncodingKey,
}

impl TestKey {
    pub fn rs256(kid: &str) -> Self {
        Self::new(Algorithm::RS256, kid, EncodingKey::from_rsa_pem(RSA_A).unwrap())
    }
    /// A second RSA key (rotation, attacker keys).
    pub fn rs256_b(kid: &str) -> Self {
        Self::new(Algorithm::RS256, kid, EncodingKey::from_rsa_pem(RSA_B).unwrap())
    }
    pub fn es256(kid: &str) -> Self {
        Self::new(Algorithm::ES256, kid, EncodingKey::from_ec_pem(EC_P256).unwrap())
    }
    pub fn eddsa(kid: &str) -> Self {
        Self::new(Algorithm::EdDSA, kid, EncodingKey::from_ed_pem(ED25519).unwrap())
    }

    fn new(algorithm: Algorithm, kid: &str, key: EncodingKey) -> Self {
        Self { algorithm, kid: kid.to_owned(), key }
    }

    /// The public JWK a provider would publish.
    pub fn jwk(&self) -> Value {
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&self.key, self.algorithm).unwrap()).unwrap();
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk
    }

    /// A header with this key's `alg` and `kid`.
    pub fn header(&self) -> Header {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        header
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(self.header(), claims)
    }

    pub fn sign_with(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// Builds a JWS by hand: `header` and `claims` as given, HMAC-SHA256 with `secret`.
pub fn hs256_with_raw_header(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &EncodingKey::from_secret(secret), Algorithm::HS256)
            .unwrap();
    format!("{signing_input}.{signature}")
}

/// What the provider serves and what it saw.
#[derive(Default)]
pub struct IdpState {
    pub issuer: Mutex<String>,
    pub jwks: Mutex<Value>,
    pub jwks_fetches: AtomicUsize,
    pub attacker_fetches: AtomicUsize,
    pub discovery_fetches: AtomicUsize,
    /// Opaque token -> introspection answer.
    pub introspection: Mutex<HashMap<String, Value>>,
    pub introspection_calls: AtomicUsize,
    /// Every `Authorization` header and form body the introspection endpoint received.
    pub introspection_requests: Mutex<Vec<(String, HashMap<String, String>)>>,
}

/// A running provider; stops when dropped.
pub struct Idp {
    pub addr: SocketAddr,
    pub state: Arc<IdpState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idp {
    /// Starts a provider publishing `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(IdpState::default());
        *state.issuer.lock().unwrap() = format!("http://{addr}/realms/test");
        let router = axum::Router::new()
            .route("/realms/test/.well-known/openid-configuration", get(discovery))
            .route("/realms/test/jwks", get(jwks))
            .route("/attacker/jwks", get(attacker_jwks))
            .route("/realms/test/introspect", post(introspect))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let idp = Self { addr, state, server };
        idp.publish(keys);
        idp
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.lock().unwrap().clone()
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/realms/test/jwks", self.addr)
    }

    pub fn attacker_jwks_url(&self) -> String {
        format!("http://{}/attacker/jwks", self.addr)
    }

    pub fn introspection_url(&self) -> String {
        format!("http://{}/realms/test/introspect", self.addr)
    }

    /// Replaces the published key set.
    pub fn publish(&self, keys: &[&TestKey]) {
        self.publish_raw(json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() }));
    }

    pub fn publish_raw(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn attacker_fetches(&self) -> usize {
        self.state.attacker_fetches.load(Ordering::SeqCst)
    }

    pub fn introspection_calls(&self) -> usize {
        self.state.introspection_calls.load(Ordering::SeqCst)
    }

    /// Registers the introspection answer for an opaque token.
    pub fn set_introspection(&self, token: &str, answer: Value) {
        self.state.introspection.lock().unwrap().insert(token.to_owned(), answer);
    }
}

async fn discovery(State(state): State<Arc<IdpState>>) -> Json<Value> {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = state.issuer.lock().unwrap().clone();
    let base = issuer.split("/realms/").next().unwrap().to_owned();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/realms/test/jwks"),
        "introspection_endpoint": format!("{base}/realms/test/introspect"),
        "token_endpoint": format!("{base}/realms/test/token"),
    }))
}

async fn jwks(State(state): State<Arc<IdpState>>) -> Json<Value> {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(state.jwks.lock().unwrap().clone())
}

async fn attacker_jwks(State(state): State<Arc<IdpState>>) -> Json<Value> {
    state.attacker_fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": [TestKey::rs256_b("attacker").jwk()] }))
}

async fn introspect(
    State(state): State<Arc<IdpState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.introspection_calls.fetch_add(1, Ordering::SeqCst);
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    state.introspection_requests.lock().unwrap().push((authorization.clone(), form.clone()));
    // client_secret_basic, with RFC 6749 §2.3.1 form-encoding of id and secret.
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_encode(INTROSPECTION_CLIENT.0),
            form_encode(INTROSPECTION_CLIENT.1)
        ))
    );
    if authorization != expected {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = state.introspection.lock().unwrap().get(&token).cloned().unwrap_or(json!({"active": false}));
    Json(answer).into_response()
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A loopback address where nothing listens (connections are refused).
pub async fn closed_port_url(path: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{path}")
}

/// A loopback server that accepts connections and never answers (timeouts).
pub async fn silent_server_url(path: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{addr}{path}"), task)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// RFC 9068-style claims for the provider's tokens.
pub fn claims(issuer: &str, audience: &str, sub: &str, scope: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "client_id": "provider-client",
        "scope": scope,
        "iat": now(),
        "exp": now() + 600,
        "jti": format!("jti-{sub}-{}", now()),
    })
}

/// Polls `condition` every 20 ms for up to 5 s (background refreshes are asynchronous).
pub async fn eventually(mut condition: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..250 {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
