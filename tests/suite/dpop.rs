//! DPoP (RFC 9449): tokens bound to the client's key, proofs made here with a real ES256 key
//! (the fixture `tests/fixtures/idp/ec_p256.pem`), sent through the quickstart app.

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Request;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

const HOST: &str = "api.example";
const EC_KEY: &[u8] = include_bytes!("../fixtures/idp/ec_p256.pem");
const ED_KEY: &[u8] = include_bytes!("../fixtures/idp/ed25519.pem");

/// A client's DPoP key pair.
struct Client {
    key: EncodingKey,
    alg: Algorithm,
    jwk: Value,
}

impl Client {
    fn ec() -> Self {
        let key = EncodingKey::from_ec_pem(EC_KEY).unwrap();
        Self::from_key(key, Algorithm::ES256)
    }

    fn ed() -> Self {
        let key = EncodingKey::from_ed_pem(ED_KEY).unwrap();
        Self::from_key(key, Algorithm::EdDSA)
    }

    fn from_key(key: EncodingKey, alg: Algorithm) -> Self {
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, alg).unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        Self { key, alg, jwk }
    }

    /// RFC 7638 thumbprint of the public key, computed here independently of the server.
    fn jkt(&self) -> String {
        let canonical = match self.jwk["kty"].as_str().unwrap() {
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                self.jwk["crv"].as_str().unwrap(),
                self.jwk["x"].as_str().unwrap(),
                self.jwk["y"].as_str().unwrap()
            ),
            "OKP" => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.jwk["x"].as_str().unwrap()),
            other => panic!("{other}"),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for `method url`, bound to `token` when given.
    fn proof(&self, method: &str, url: &str, token: Option<&str>) -> String {
        self.proof_with_nonce(method, url, token, None)
    }

    /// A proof like [`proof`](Self::proof), carrying the server's `nonce` when given.
    fn proof_with_nonce(&self, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let mut claims = json!({
            "jti": uuid_like(),
            "htm": method,
            "htu": url,
            "iat": now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(ath(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        self.sign(&claims, self.jwk.clone(), "dpop+jwt")
    }

    /// The JWS built by hand, so the header holds exactly `jwk` (a typed `Jwk` would drop a
    /// private member like `d`).
    fn sign(&self, claims: &Value, jwk: Value, typ: &str) -> String {
        sign_raw(&json!({"typ": typ, "alg": self.alg, "jwk": jwk}), claims, &self.key, self.alg)
    }
}

fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn url(path: &str) -> String {
    format!("http://{HOST}{path}")
}

/// `GET path` with the Host the proofs name and `headers`.
fn get_at(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("host", HOST)];
    all.extend_from_slice(headers);
    get(path, &all)
}

/// `GET path` presenting `token` as `Authorization: DPoP` with `proof`.
fn get_with_proof(path: &str, token: &str, proof: &str) -> Request<Body> {
    get_at(path, &[("authorization", &format!("DPoP {token}")), ("dpop", proof)])
}

fn token_request(proof: Option<&str>) -> Request<Body> {
    let config = config();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            config.client_id,
            config.client_secret.expose()
        ))
    );
    let mut request = Request::post("/oauth/token")
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.body(Body::from("grant_type=client_credentials")).unwrap()
}

/// A DPoP-bound token for `client` from the quickstart's token endpoint.
async fn bound_token(app: &secure_api::SecureApp, client: &Client) -> String {
    let proof = client.proof("POST", &url("/oauth/token"), None);
    let reply = send(app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["token_type"], "DPoP", "{reply:?}");
    reply.body["access_token"].as_str().unwrap().to_owned()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// 401 with a DPoP challenge carrying `error` and the accepted algorithms, as problem+json.
fn assert_dpop_refusal(reply: &Reply, error: &str) {
    assert_problem(reply, 401);
    let challenges: Vec<&str> =
        reply.headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap()).collect();
    let dpop = challenges.iter().find(|value| value.starts_with("DPoP ")).unwrap_or_else(|| panic!("{reply:?}"));
    assert!(dpop.contains(r#"algs="ES256 EdDSA RS256 PS256""#), "{dpop}");
    assert!(dpop.contains(&format!(r#"error="{error}""#)), "{dpop}");
    assert_eq!(reply.body["error"], error, "{reply:?}");
}

#[tokio::test]
async fn the_token_endpoint_binds_the_token_to_the_proof_key_and_the_api_accepts_it_with_a_proof() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    assert_eq!(claims_of(&token)["cnf"]["jkt"], client.jkt());

    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    // The query string is not part of htu: the same proof shape works with one.
    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_with_proof("/api/items?page=1", &token, &proof)).await;
    assert_ne!(reply.status, 401, "{reply:?}");
}

#[tokio::test]
async fn an_eddsa_key_works_too() {
    let app = app();
    let client = Client::ed();
    let token = bound_token(&app, &client).await;
    assert_eq!(claims_of(&token)["cnf"]["jkt"], client.jkt());
    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let headers = [("authorization", format!("DPoP {token}")), ("dpop", proof)];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
    assert_eq!(send(&app, get_at("/api/items", &headers)).await.status, 200);
    let replay = send(&app, get_at("/api/items", &headers)).await;
    assert_dpop_refusal(&replay, "invalid_dpop_proof");
    assert!(replay.header("www-authenticate").contains("already used"), "{replay:?}");
}

#[tokio::test]
async fn a_proof_for_another_method_or_url_is_refused() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    for (method, target) in [
        ("POST", url("/api/items")),
        ("GET", url("/api/items/1")),
        ("GET", "https://api.example/api/items".to_owned()),
        ("GET", "http://other.example/api/items".to_owned()),
        ("GET", "http://api.example:8080/api/items".to_owned()),
    ] {
        let proof = client.proof(method, &target, Some(&token));
        let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
        assert_dpop_refusal(&reply, "invalid_dpop_proof");
    }
    // Scheme and host case and the default port do not matter (RFC 9449 §4.3).
    let proof = client.proof("GET", "HTTP://API.EXAMPLE:80/api/items#x", Some(&token));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn a_proof_for_another_token_or_without_ath_is_refused() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let authorization = format!("DPoP {token}");
    let other = client.proof("GET", &url("/api/items"), Some("another-token"));
    let reply = send(&app, get_with_proof("/api/items", &token, &other)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    let without = client.proof("GET", &url("/api/items"), None);
    let reply = send(&app, get_with_proof("/api/items", &token, &without)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    let reply = send(&app, get_at("/api/items", &[("authorization", &authorization)])).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_and_plain_bearer_tokens_still_work() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_at("/api/items", &[("authorization", &bearer(&token)), ("dpop", &proof)])).await;
    assert_dpop_refusal(&reply, "invalid_token");

    // A plain bearer token from the same endpoint (no proof) keeps working on /api/items.
    let reply = send(&app, token_request(None)).await;
    assert_eq!(reply.body["token_type"], "Bearer", "{reply:?}");
    let plain = reply.body["access_token"].as_str().unwrap();
    assert!(claims_of(plain).get("cnf").is_none());
    assert_eq!(send(&app, get_at("/api/items", &[("authorization", &bearer(plain))])).await.status, 200);
    // ...but not with the DPoP scheme: it is bound to no key.
    let proof = client.proof("GET", &url("/api/items"), Some(plain));
    let reply =
        send(&app, get_at("/api/items", &[("authorization", &format!("DPoP {plain}")), ("dpop", &proof)])).await;
    assert_dpop_refusal(&reply, "invalid_token");
}

#[tokio::test]
async fn a_proof_by_another_key_than_the_bound_one_is_refused() {
    let app = app();
    let token = bound_token(&app, &Client::ec()).await;
    let thief = Client::ed();
    let proof = thief.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_dpop_refusal(&reply, "invalid_token");
}

#[tokio::test]
async fn a_private_jwk_an_unsupported_alg_and_a_wrong_typ_are_refused() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let claims = json!({"jti": uuid_like(), "htm": "GET", "htu": url("/api/items"), "iat": now(), "ath": ath(&token)});

    // The private key in the header: refused even though the signature verifies.
    let mut private = client.jwk.clone();
    private["d"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
    let proof = client.sign(&claims, private, "dpop+jwt");
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    assert!(reply.header("www-authenticate").contains("public key"), "{reply:?}");

    // HS256 with the "key" in the header: a symmetric algorithm is never accepted.
    let secret = b"0123456789abcdef0123456789abcdef";
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)}});
    let proof = sign_raw(&header, &claims, &EncodingKey::from_secret(secret), Algorithm::HS256);
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
    assert!(reply.header("www-authenticate").contains("algorithm"), "{reply:?}");

    // typ must be dpop+jwt.
    let proof = client.sign(&claims, client.jwk.clone(), "JWT");
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_stale_or_future_proof_is_refused() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    for iat in [now() - 600, now() + 600] {
        let claims =
            json!({"jti": uuid_like(), "htm": "GET", "htu": url("/api/items"), "iat": iat, "ath": ath(&token)});
        let proof = client.sign(&claims, client.jwk.clone(), "dpop+jwt");
        let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
        assert_dpop_refusal(&reply, "invalid_dpop_proof");
    }
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_bad_proof_with_invalid_dpop_proof() {
    let app = app();
    let client = Client::ec();
    // A proof made for the resource, not the token endpoint.
    let proof = client.proof("GET", &url("/api/items"), None);
    let reply = send(&app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.body["error"], "invalid_dpop_proof", "{reply:?}");
    assert!(reply.body.get("access_token").is_none());
}

#[tokio::test]
async fn the_account_route_takes_dpop_bound_tokens_only() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let proof = client.proof("GET", &url("/api/account"), Some(&token));
    let reply = send(&app, get_with_proof("/api/account", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["jkt"], client.jkt());
    assert_eq!(reply.body["sub"], "demo-client");

    // A plain bearer token with the right scope: refused, the client is told to use DPoP.
    let plain = send(&app, token_request(None)).await.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(send(&app, get_at("/api/items", &[("authorization", &bearer(&plain))])).await.status, 200);
    let reply = send(&app, get_at("/api/account", &[("authorization", &bearer(&plain))])).await;
    assert_dpop_refusal(&reply, "invalid_token");

    // No credentials: 401 challenging with both schemes, no error code (RFC 6750 §3.1).
    let reply = send(&app, get_at("/api/account", &[])).await;
    assert_problem(&reply, 401);
    let challenges: Vec<&str> =
        reply.headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap()).collect();
    assert!(challenges.iter().any(|value| value.starts_with("Bearer ")), "{challenges:?}");
    assert!(challenges.contains(&r#"DPoP algs="ES256 EdDSA RS256 PS256""#), "{challenges:?}");
}

/// The self-scan acts as a DPoP client on the bound route (valid proofs per request, so its
/// valid-credential, scope and burst probes run) and probes the binding on every OAuth route.
#[tokio::test]
async fn the_self_scan_probes_the_binding_of_every_oauth_route() {
    scan_probes_the_binding(&app()).await;
}

/// With server nonces on, the scan's proofs carry the app's current nonce: the same probes pass.
#[tokio::test]
async fn the_self_scan_adds_the_server_nonce_when_nonces_are_on() {
    scan_probes_the_binding(&app_with_nonces(std::time::Duration::from_secs(60), NONCE_SECRET)).await;
}

async fn scan_probes_the_binding(app: &secure_api::SecureApp) {
    use secure_api::testing::{Probe, Verdict, scan};

    let routes = secure_api_examples::quickstart::routes();
    let report = scan(routes.routes(), app, &crate::scan::credentials()).await;
    report.assert_clean();
    let passed = |method: &str, path: &str, probe: Probe| {
        report
            .rows()
            .iter()
            .any(|row| row.method == method && row.path == path && row.probe == probe && row.verdict == Verdict::Pass)
    };
    for probe in [
        Probe::ValidCredentials,
        Probe::InsufficientScope,
        Probe::RateBurst,
        Probe::BearerOnBoundRoute,
        Probe::BoundTokenAsBearer,
        Probe::ReplayedProof,
        Probe::ProofForOtherUrl,
        Probe::ProofForOtherMethod,
        Probe::ProofFromOtherKey,
    ] {
        assert!(passed("GET", "/api/account", probe), "{probe}: {report}");
    }
    for (method, path) in [("GET", "/api/items"), ("POST", "/api/items"), ("GET", "/api/items/{id}")] {
        for probe in [
            Probe::BoundTokenAsBearer,
            Probe::ReplayedProof,
            Probe::ProofForOtherUrl,
            Probe::ProofForOtherMethod,
            Probe::ProofFromOtherKey,
        ] {
            assert!(passed(method, path, probe), "{method} {path} {probe}: {report}");
        }
        assert!(!passed(method, path, Probe::BearerOnBoundRoute));
    }
}

/// The quickstart with `SECURE_API_RESOURCE_URL=https://api.example`.
fn app_with_metadata() -> secure_api::SecureApp {
    let mut config = config();
    config.resource_url = Some("https://api.example".to_owned());
    secure_api_examples::quickstart::app(&config).unwrap()
}

#[tokio::test]
async fn rfc_9728_metadata_is_generated_from_the_routes_and_named_in_challenges() {
    let app = app_with_metadata();
    let reply = send(&app, get("/.well-known/oauth-protected-resource", &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(
        reply.body,
        json!({
            "resource": "https://api.example",
            "authorization_servers": ["secure-api-quickstart"],
            "scopes_supported": ["items:read", "items:write"],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "RS256", "PS256"],
            // /api/items still takes plain bearer tokens.
            "dpop_bound_access_tokens_required": false,
            // /api/account is `bound = "any"`: certificate-bound tokens are accepted there.
            "tls_client_certificate_bound_access_tokens": true,
            "resource_name": "secure-api quickstart",
        })
    );

    let metadata = r#"resource_metadata="https://api.example/.well-known/oauth-protected-resource""#;
    let reply = send(&app, get("/api/items", &[])).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains(metadata), "{reply:?}");
    let reply = send(&app, get("/api/items", &[("authorization", "Bearer not-a-token")])).await;
    assert!(reply.header("www-authenticate").contains(metadata), "{reply:?}");
    let reply = send(&app, get_at("/api/account", &[])).await;
    let challenges: Vec<&str> =
        reply.headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap()).collect();
    assert!(challenges.iter().all(|challenge| challenge.contains(metadata)), "{challenges:?}");

    // Without a resource identifier (the test configuration) nothing is published or named.
    let reply = send(&app_plain(), get("/.well-known/oauth-protected-resource", &[])).await;
    assert_problem(&reply, 404);
    let reply = send(&app_plain(), get("/api/items", &[])).await;
    assert!(!reply.header("www-authenticate").contains("resource_metadata"), "{reply:?}");
}

fn app_plain() -> secure_api::SecureApp {
    app()
}

#[test]
fn the_quickstart_defaults_its_resource_url_and_refuses_a_bad_one() {
    use secure_api_examples::quickstart::Config;
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    };
    let loaded = Config::from_lookup(lookup(&[])).unwrap();
    assert_eq!(loaded.config.resource_url.as_deref(), Some("http://127.0.0.1:3000"));
    let loaded = Config::from_lookup(lookup(&[("SECURE_API_RESOURCE_URL", "https://api.example.com")])).unwrap();
    assert_eq!(loaded.config.resource_url.as_deref(), Some("https://api.example.com"));
    for bad in ["https://api.example.com/?q=1", "not a url", "https://api.example.com/v1"] {
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([("SECURE_API_RESOURCE_URL", bad)]));
        assert!(Config::from_lookup(lookup(pairs)).is_err(), "{bad}");
    }
}

/// A real client, unchanged: `requests-oauth2client` (PyPI) with `dpop_bound_access_tokens=True`
/// gets a DPoP token from the quickstart on a loopback socket and calls `/api/items` and
/// `/api/account`; its plain bearer token is refused on `/api/account`.
const PYTHON_CLIENT: &str = r#"
import json, sys, requests
from requests_oauth2client import OAuth2Client
base, client_id, client_secret = sys.argv[1:4]
client = OAuth2Client(token_endpoint=base + "/oauth/token", client_id=client_id,
                      client_secret=client_secret, dpop_bound_access_tokens=True)
token = client.client_credentials(scope="items:read")
items = requests.get(base + "/api/items", auth=token, timeout=5)
account = requests.get(base + "/api/account", auth=token, timeout=5)
plain = client.client_credentials(scope="items:read", dpop=False)
plain_items = requests.get(base + "/api/items", auth=plain, timeout=5)
plain_account = requests.get(base + "/api/account", auth=plain, timeout=5)
print(json.dumps({
    "token_type": token.token_type, "items": items.status_code, "account": account.status_code,
    "account_body": account.json(), "jkt": token.dpop_key.private_key.thumbprint(),
    "plain_type": plain.token_type, "plain_items": plain_items.status_code,
    "plain_account": plain_account.status_code,
    "plain_challenge": plain_account.headers.get("WWW-Authenticate", ""),
    "as_nonce": token.dpop_key.as_nonce, "rs_nonce": token.dpop_key.rs_nonce,
}))
"#;

#[tokio::test]
async fn requests_oauth2client_gets_and_uses_a_dpop_token_over_a_real_socket() {
    let Some(result) = run_python_client(None).await else {
        return;
    };
    assert_python_client_result(&result);
    // Without server nonces the client never needed one.
    assert!(result["as_nonce"].is_null() && result["rs_nonce"].is_null(), "{result}");
}

/// The same client, unchanged, against the quickstart with `SECURE_API_DPOP_NONCE=1`: it reads
/// `use_dpop_nonce` and `DPoP-Nonce` at the token endpoint (400) and at the API (401) and retries
/// on its own; the nonces it kept are the server's.
#[tokio::test]
async fn requests_oauth2client_follows_server_nonces_over_a_real_socket() {
    use secure_api_examples::quickstart::DpopNonce;
    let nonce = DpopNonce {
        lifetime: std::time::Duration::from_secs(60),
        secret: Some(secure_api::secret::Secret::new(NONCE_SECRET.to_owned())),
    };
    let Some(result) = run_python_client(Some(nonce)).await else {
        return;
    };
    assert_python_client_result(&result);
    let verifier = secure_api::auth::dpop::DpopVerifier::builder()
        .require_nonce(std::time::Duration::from_secs(60))
        .nonce_secret(NONCE_SECRET)
        .build();
    for nonce in [&result["as_nonce"], &result["rs_nonce"]] {
        assert!(verifier.accepts_nonce(nonce.as_str().unwrap_or_default()), "{result}");
    }
}

/// Runs [`PYTHON_CLIENT`] against the quickstart over TLS on a loopback socket, with DPoP server
/// nonces when `dpop_nonce` is given; `None` when the client is not installed (and not required).
async fn run_python_client(dpop_nonce: Option<secure_api_examples::quickstart::DpopNonce>) -> Option<Value> {
    use secure_api_examples::quickstart::{self, Config, TlsFiles, Transport};

    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let installed = std::process::Command::new(&python).args(["-c", "import requests_oauth2client"]).output();
    if !installed.is_ok_and(|output| output.status.success()) {
        if std::env::var("SECURE_API_REQUIRE_DPOP_CLIENT").as_deref() == Ok("1") {
            panic!("requests-oauth2client is required: pip install requests-oauth2client");
        }
        eprintln!("SKIPPED: requests-oauth2client is not installed (pip install requests-oauth2client)");
        return None;
    }
    // Over real TLS (the client insists on https): a certificate for 127.0.0.1 made here, which
    // the client trusts through REQUESTS_CA_BUNDLE; its code is not changed.
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let nonces = if dpop_nonce.is_some() { "nonce" } else { "plain" };
    let dir = std::env::temp_dir().join(format!("secure-api-dpop-client-{}-{nonces}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let config = Config { tls: Some(TlsFiles { cert: cert.clone(), key }), dpop_nonce, ..config() };
    let app = quickstart::app(&config).unwrap();
    let transport = Transport::from_config(&config).unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_config = config.clone();
    let server = tokio::spawn(async move {
        quickstart::serve_with(&server_config, transport, app, listener, None, async {
            let _ = stopped.await;
        })
        .await
    });

    let args = [base, config.client_id.clone(), config.client_secret.expose().clone()];
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg("-c")
            .arg(PYTHON_CLIENT)
            .args(args)
            .env("REQUESTS_CA_BUNDLE", &cert)
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), run).await.unwrap().unwrap();
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    let _ = std::fs::remove_dir_all(&dir);

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// What the client must have seen, with or without nonces.
fn assert_python_client_result(result: &Value) {
    assert_eq!(result["token_type"], "DPoP", "{result}");
    assert_eq!(result["items"], 200, "{result}");
    assert_eq!(result["account"], 200, "{result}");
    // The server bound the token to the client's own key (its RFC 7638 thumbprint).
    assert_eq!(result["account_body"]["jkt"], result["jkt"], "{result}");
    assert_eq!(result["plain_type"], "Bearer", "{result}");
    assert_eq!(result["plain_items"], 200, "{result}");
    assert_eq!(result["plain_account"], 401, "{result}");
    assert!(result["plain_challenge"].as_str().unwrap().starts_with("DPoP "), "{result}");
}

#[test]
fn the_binding_is_shown_in_the_openapi_document() {
    let document = secure_api_examples::quickstart::openapi();
    assert_eq!(document["paths"]["/api/account"]["get"]["x-token-binding"], "any");
    assert!(document["paths"]["/api/items"]["get"].get("x-token-binding").is_none());
}

/// Two instances sharing one real Redis (as the quickstart does with `SECURE_API_REDIS_URL`):
/// a proof used on one is refused on the other, at the API and at the token endpoint.
#[tokio::test]
async fn a_proof_used_on_one_instance_is_refused_on_another_sharing_redis() {
    use crate::support::redis::RedisServer;

    let Some(server) = RedisServer::start("a_proof_used_on_one_instance_is_refused_on_another_sharing_redis") else {
        return;
    };
    a_proof_used_on_one_instance_is_refused_on_another(&server.url()).await;
}

/// Two quickstart instances with `SECURE_API_REDIS_URL=redis_url` (one server, or Redis
/// Sentinel in `rate_redis_sentinel.rs`): the replay cache is shared.
pub async fn a_proof_used_on_one_instance_is_refused_on_another(redis_url: &str) {
    let config = secure_api_examples::quickstart::Config {
        redis_url: Some(secure_api::secret::Secret::new(redis_url.to_owned())),
        ..config()
    };
    let first = secure_api_examples::quickstart::app(&config).unwrap();
    let second = secure_api_examples::quickstart::app(&config).unwrap();
    let client = Client::ec();

    let token_proof = client.proof("POST", &url("/oauth/token"), None);
    let reply = send(&first, token_request(Some(&token_proof))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    let reply = send(&second, token_request(Some(&token_proof))).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.body["error"], "invalid_dpop_proof", "{reply:?}");

    let proof = client.proof("GET", &url("/api/account"), Some(&token));
    let authorization = format!("DPoP {token}");
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str())];
    assert_eq!(send(&first, get_at("/api/account", &headers)).await.status, 200);
    let replay = send(&second, get_at("/api/account", &headers)).await;
    assert_dpop_refusal(&replay, "invalid_dpop_proof");
    // A fresh proof works on the second instance: the token itself is fine.
    let proof = client.proof("GET", &url("/api/account"), Some(&token));
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str())];
    assert_eq!(send(&second, get_at("/api/account", &headers)).await.status, 200);
}

/// The quickstart with DPoP server nonces on (`SECURE_API_DPOP_NONCE=1`), with this nonce
/// lifetime and shared secret.
fn app_with_nonces(lifetime: std::time::Duration, secret: &str) -> secure_api::SecureApp {
    use secure_api_examples::quickstart::{self, Config, DpopNonce};
    let nonce = DpopNonce { lifetime, secret: Some(secure_api::secret::Secret::new(secret.to_owned())) };
    quickstart::app(&Config { dpop_nonce: Some(nonce), ..config() }).unwrap()
}

const NONCE_SECRET: &str = "a-dpop-nonce-secret-of-32-bytes-or-more";

/// 401 `use_dpop_nonce` (RFC 9449 §9) with a fresh nonce: returns the nonce.
fn assert_use_nonce(reply: &Reply) -> String {
    assert_dpop_refusal(reply, "use_dpop_nonce");
    let nonce = reply.header("dpop-nonce").to_owned();
    assert!(!nonce.is_empty(), "{reply:?}");
    // RFC 9449 §8.1: 1*NQCHAR.
    assert!(nonce.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)), "{nonce}");
    nonce
}

/// A token from the token endpoint with nonces on: the first proof (no nonce) is refused with
/// 400 `use_dpop_nonce` and a `DPoP-Nonce`; the retry with it gets a bound token (and a nonce).
async fn bound_token_with_nonce(app: &secure_api::SecureApp, client: &Client) -> (String, String) {
    let proof = client.proof("POST", &url("/oauth/token"), None);
    let reply = send(app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.header("content-type"), "application/json", "{reply:?}");
    assert_eq!(reply.body["error"], "use_dpop_nonce", "{reply:?}");
    let nonce = reply.header("dpop-nonce").to_owned();
    assert!(!nonce.is_empty(), "{reply:?}");

    let proof = client.proof_with_nonce("POST", &url("/oauth/token"), None, Some(&nonce));
    let reply = send(app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["token_type"], "DPoP", "{reply:?}");
    assert!(!reply.header("dpop-nonce").is_empty(), "{reply:?}");
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&token)["cnf"]["jkt"], client.jkt());
    (token, nonce)
}

#[tokio::test]
async fn with_nonces_on_a_proof_without_nonce_gets_use_dpop_nonce_and_the_retry_succeeds() {
    let app = app_with_nonces(std::time::Duration::from_secs(60), NONCE_SECRET);
    let client = Client::ec();
    let (token, _) = bound_token_with_nonce(&app, &client).await;

    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    let nonce = assert_use_nonce(&reply);
    assert_eq!(reply.body["error"], "use_dpop_nonce", "{reply:?}");

    let proof = client.proof_with_nonce("GET", &url("/api/items"), Some(&token), Some(&nonce));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    // A made-up nonce, and one with a changed character, are refused with a fresh nonce.
    let mut tampered = nonce.clone().into_bytes();
    let last = tampered.last_mut().unwrap();
    *last = if *last == b'A' { b'B' } else { b'A' };
    for bad in ["made-up-nonce".to_owned(), String::from_utf8(tampered).unwrap()] {
        let proof = client.proof_with_nonce("GET", &url("/api/items"), Some(&token), Some(&bad));
        let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
        assert_use_nonce(&reply);
    }
}

#[tokio::test]
async fn a_nonce_from_another_instance_sharing_the_secret_is_accepted_and_not_from_one_without() {
    let first = app_with_nonces(std::time::Duration::from_secs(60), NONCE_SECRET);
    let second = app_with_nonces(std::time::Duration::from_secs(60), NONCE_SECRET);
    let stranger = app_with_nonces(std::time::Duration::from_secs(60), "another-secret-of-32-bytes-or-more!!");
    let client = Client::ec();
    let (token, nonce) = bound_token_with_nonce(&first, &client).await;

    let proof = client.proof_with_nonce("GET", &url("/api/account"), Some(&token), Some(&nonce));
    let reply = send(&second, get_with_proof("/api/account", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let proof = client.proof_with_nonce("GET", &url("/api/account"), Some(&token), Some(&nonce));
    let reply = send(&stranger, get_with_proof("/api/account", &token, &proof)).await;
    assert_use_nonce(&reply);
}

#[tokio::test]
async fn a_nonce_past_its_lifetime_is_refused() {
    // A 1 s step: a nonce is accepted in its step and the next, so 2 s later it is expired.
    let app = app_with_nonces(std::time::Duration::from_secs(1), NONCE_SECRET);
    let client = Client::ec();
    let (token, nonce) = bound_token_with_nonce(&app, &client).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let proof = client.proof_with_nonce("GET", &url("/api/items"), Some(&token), Some(&nonce));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    let fresh = assert_use_nonce(&reply);
    assert_ne!(fresh, nonce);
    let proof = client.proof_with_nonce("GET", &url("/api/items"), Some(&token), Some(&fresh));
    let reply = send(&app, get_with_proof("/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    // At the token endpoint too: 400 use_dpop_nonce.
    let proof = client.proof_with_nonce("POST", &url("/oauth/token"), None, Some(&nonce));
    let reply = send(&app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.body["error"], "use_dpop_nonce", "{reply:?}");
    assert!(!reply.header("dpop-nonce").is_empty(), "{reply:?}");
}

/// A client that keeps calling is handed the next nonce before its own expires: a request whose
/// nonce is from the previous time step succeeds with the current nonce in `DPoP-Nonce`, and a
/// request with the current nonce gets none (RFC 9449 §9).
#[tokio::test]
async fn a_nonce_about_to_expire_is_renewed_on_a_successful_response() {
    let lifetime = std::time::Duration::from_secs(1);
    let app = app_with_nonces(lifetime, NONCE_SECRET);
    let client = Client::ec();
    let (token, nonce) = bound_token_with_nonce(&app, &client).await;
    let call = |nonce: String| {
        let proof = client.proof_with_nonce("GET", &url("/api/items"), Some(&token), Some(&nonce));
        send(&app, get_with_proof("/api/items", &token, &proof))
    };
    // Wait for the next time step (nonces are `<step>.<mac>`, steps of one lifetime).
    let step = |nonce: &str| nonce.split('.').next().unwrap().parse::<u64>().unwrap();
    let issued_in = step(&nonce);
    while std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / lifetime.as_secs()
        == issued_in
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let reply = call(nonce.clone()).await;
    assert_eq!(reply.status, 200, "the previous step's nonce is still accepted: {reply:?}");
    let renewed = reply.header("dpop-nonce").to_owned();
    assert!(!renewed.is_empty() && renewed != nonce, "a successful response renews it: {reply:?}");
    assert!(step(&renewed) > issued_in);

    let reply = call(renewed.clone()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let now_step =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / lifetime.as_secs();
    if now_step == step(&renewed) {
        assert_eq!(reply.header("dpop-nonce"), "", "a current nonce needs no renewal: {reply:?}");
    }
}

#[secure_api::public]
async fn open() -> &'static str {
    "open"
}

#[tokio::test]
async fn nonces_are_off_by_default_and_dpop_nonce_is_exposed_to_browsers() {
    // Off: a proof without nonce is accepted and no DPoP-Nonce is sent.
    let app = app();
    let client = Client::ec();
    let proof = client.proof("POST", &url("/oauth/token"), None);
    let reply = send(&app, token_request(Some(&proof))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.headers.get("dpop-nonce").is_none(), "{reply:?}");

    let cors = secure_api::cors::CorsPolicy::allow_origins(["https://app.example"]).unwrap();
    let security = secure_api::Security::builder().cors(cors).build();
    let app = secure_api::SecureRouter::new().route("/x", secure_api::routing::get(open)).with_state(security);
    let request = Request::get("/x").header("origin", "https://app.example").body(Body::empty()).unwrap();
    let reply = send(&app, request).await;
    let exposed = reply.header("access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("dpop-nonce"), "{reply:?}");
}

#[test]
fn the_quickstart_reads_its_nonce_settings() {
    use secure_api_examples::quickstart::Config;
    let load = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()))
    };
    assert!(load(&[]).unwrap().config.dpop_nonce.is_none());
    assert!(load(&[("SECURE_API_DPOP_NONCE", "0")]).unwrap().config.dpop_nonce.is_none());
    let on = load(&[("SECURE_API_DPOP_NONCE", "1")]).unwrap().config.dpop_nonce.unwrap();
    assert_eq!(on.lifetime, std::time::Duration::from_secs(60));
    assert!(on.secret.is_none());
    let shared = load(&[("SECURE_API_DPOP_NONCE", "1"), ("SECURE_API_DPOP_NONCE_SECRET", NONCE_SECRET)]).unwrap();
    assert_eq!(shared.config.dpop_nonce.unwrap().secret.unwrap().expose(), NONCE_SECRET);
    assert!(!shared.report.iter().any(|line| line.contains(NONCE_SECRET)), "the secret is not logged");
    // Refused: an unknown value, a short secret, a secret without nonces on.
    assert!(load(&[("SECURE_API_DPOP_NONCE", "yes")]).is_err());
    assert!(load(&[("SECURE_API_DPOP_NONCE", "1"), ("SECURE_API_DPOP_NONCE_SECRET", "short")]).is_err());
    assert!(load(&[("SECURE_API_DPOP_NONCE_SECRET", NONCE_SECRET)]).is_err());
}

/// Under `nest`, the proof names the URL the client called (`/v1/api/items`), which is what is
/// checked; a proof for the path the nested router sees (`/api/items`) is refused. Before, axum's
/// stripped path was compared, so every DPoP call to a nested route was refused.
#[tokio::test]
async fn a_nested_route_checks_the_url_the_client_called() {
    let inner = app();
    let client = Client::ec();
    let token = bound_token(&inner, &client).await;
    let outer = secure_api::SecureRouter::new().with_state(secure_api::Security::builder().build()).nest("/v1", app());

    let proof = client.proof("GET", &url("/v1/api/items"), Some(&token));
    let reply = send(&outer, get_with_proof("/v1/api/items", &token, &proof)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let proof = client.proof("GET", &url("/api/items"), Some(&token));
    let reply = send(&outer, get_with_proof("/v1/api/items", &token, &proof)).await;
    assert_dpop_refusal(&reply, "invalid_dpop_proof");
}

/// A token presented with the `DPoP` scheme is refused with a `DPoP` challenge (RFC 9449 §7.1),
/// as the proof's own errors are: an invalid token (401 `invalid_token`) and a token without the
/// route's scope (403 `insufficient_scope`, naming it). Before, both got a `Bearer` challenge.
#[tokio::test]
async fn a_dpop_token_that_fails_is_challenged_with_dpop() {
    let app = app();
    let client = Client::ec();
    let token = bound_token(&app, &client).await;
    let dpop_challenge = |reply: &Reply| -> String {
        let challenges: Vec<&str> =
            reply.headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap()).collect();
        assert!(!challenges.iter().any(|value| value.starts_with("Bearer")), "{challenges:?}");
        challenges.iter().find(|value| value.starts_with("DPoP ")).unwrap_or_else(|| panic!("{reply:?}")).to_string()
    };

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let proof = client.proof("GET", &url("/api/items"), Some(&tampered));
    let reply = send(&app, get_with_proof("/api/items", &tampered, &proof)).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    let challenge = dpop_challenge(&reply);
    assert!(challenge.contains(r#"error="invalid_token""#) && challenge.contains("algs="), "{challenge}");

    // The quickstart's token endpoint grants what is asked: read only, then a write route.
    let read_only = {
        let proof = client.proof("POST", &url("/oauth/token"), None);
        let mut request = token_request(Some(&proof));
        *request.body_mut() = Body::from("grant_type=client_credentials&scope=items%3Aread");
        let reply = send(&app, request).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body["access_token"].as_str().unwrap().to_owned()
    };
    let proof = client.proof("POST", &url("/api/items"), Some(&read_only));
    let mut request = secure_api::testing::post_json(
        "/api/items",
        &serde_json::json!({"name": "Widget", "price": 9.5}),
        &[("host", HOST), ("authorization", &format!("DPoP {read_only}")), ("dpop", &proof)],
    );
    request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 403, "{reply:?}");
    let challenge = dpop_challenge(&reply);
    assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
    assert!(challenge.contains(r#"scope="items:write""#), "{challenge}");
}
