//! Several trusted issuers (`auth::Issuers`), each with its own keys, audience and profile: a
//! token's `iss` only picks the configuration, and that issuer's keys alone verify it. Static
//! keys and JWKS served by real providers on loopback ports.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use secure_api::auth::{Issuers, JwksKeys, JwtVerifier, TokenCache, TokenProfile, VerificationKey};
use secure_api::oauth::ResourceMetadata;
use secure_api::routing::get;
use secure_api::{Principal, SecureApp, SecureRouter, Security, secure};
use serde_json::{Value, json};

use crate::common::{Reply, assert_problem, bearer, send, sign_with};
use crate::idp_support::{Idp, RSA_A_PUBLIC, TestKey, claims, now};

const A: &str = "https://a.example";
const A_SECRET: &[u8] = b"issuer-a-secret-0123456789abcdef";
const B: &str = "https://b.example";
const B_SECRET: &[u8] = b"issuer-b-secret-0123456789abcdef";

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn whoami(principal: Principal) -> String {
    format!("{} from {}", principal.id(), principal.claims()["iss"].as_str().unwrap_or("?"))
}

fn app(security: Security) -> SecureApp {
    SecureRouter::new().route("/whoami", get(whoami)).with_state(security)
}

fn issuers_app(issuers: Issuers) -> SecureApp {
    app(Security::builder().realm("items-api").issuers(issuers).build())
}

/// An HS256 verifier for `issuer` and `audience`, its key named `k1` (the same `kid` for both
/// issuers, so the `kid` alone can never keep them apart).
fn hs256_verifier(issuer: &str, secret: &[u8], audience: &str) -> JwtVerifier {
    JwtVerifier::builder()
        .key(VerificationKey::hs256(secret).unwrap().with_kid("k1"))
        .issuer(issuer)
        .audience(audience)
        .build()
        .unwrap()
}

fn static_pair() -> Issuers {
    Issuers::builder()
        .trust(hs256_verifier(A, A_SECRET, "api-a"))
        .trust(hs256_verifier(B, B_SECRET, "api-b"))
        .build()
        .unwrap()
}

fn hs256_token(secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    sign_with(header, claims, secret)
}

fn token_claims(issuer: &str, audience: &str, sub: &str) -> Value {
    json!({"iss": issuer, "aud": audience, "sub": sub, "scope": "items:read", "iat": now(), "exp": now() + 600})
}

async fn whoami_with(app: &SecureApp, token: &str) -> Reply {
    send(app, crate::common::get("/whoami", &[("authorization", &bearer(token))])).await
}

/// 401 problem+json with the `invalid_token` challenge, and nothing of the token echoed.
fn assert_invalid_token(reply: &Reply, description: &str) {
    assert_problem(reply, 401);
    let challenge = reply.header("www-authenticate");
    assert_eq!(
        challenge,
        format!("Bearer realm=\"items-api\", error=\"invalid_token\", error_description=\"{description}\""),
        "{reply:?}"
    );
    assert_eq!(reply.body["detail"], format!("The access token is not valid. {description}"), "{reply:?}");
    for echoed in ["evil.example", "a.example", "b.example"] {
        assert!(!reply.text.contains(echoed) && !challenge.contains(echoed), "{reply:?}");
    }
}

const UNTRUSTED_ISSUER: &str = "The access token was issued by an untrusted issuer.";
const BAD_SIGNATURE: &str = "The access token's signature is invalid.";

async fn jwks(idp: &Idp) -> JwksKeys {
    JwksKeys::builder(idp.jwks_url())
        .algorithms([Algorithm::RS256])
        .min_refresh_interval(Duration::from_millis(50))
        .refresh_interval(Duration::from_secs(3600))
        .build()
        .await
        .expect("the provider is up")
}

fn jwks_verifier(keys: JwksKeys, issuer: &str, audience: &str) -> JwtVerifier {
    JwtVerifier::builder().jwks(keys).issuer(issuer).audience(audience).build().unwrap()
}

#[tokio::test]
async fn two_issuers_each_with_its_own_key_are_both_accepted() {
    let app = issuers_app(static_pair());
    let reply = whoami_with(&app, &hs256_token(A_SECRET, &token_claims(A, "api-a", "alice"))).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice from https://a.example"), "{reply:?}");
    let reply = whoami_with(&app, &hs256_token(B_SECRET, &token_claims(B, "api-b", "bob"))).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "bob from https://b.example"), "{reply:?}");
}

#[tokio::test]
async fn a_token_naming_one_issuer_signed_with_the_others_key_is_refused() {
    let app = issuers_app(static_pair());
    // Same `alg`, same `kid`: only the issuer's own key may verify it.
    let a_signed_by_b = hs256_token(B_SECRET, &token_claims(A, "api-a", "mallory"));
    assert_invalid_token(&whoami_with(&app, &a_signed_by_b).await, BAD_SIGNATURE);
    let b_signed_by_a = hs256_token(A_SECRET, &token_claims(B, "api-b", "mallory"));
    assert_invalid_token(&whoami_with(&app, &b_signed_by_a).await, BAD_SIGNATURE);
}

#[tokio::test]
async fn an_unknown_missing_or_non_string_issuer_is_refused() {
    let app = issuers_app(static_pair());
    let unknown = hs256_token(A_SECRET, &token_claims("https://evil.example", "api-a", "mallory"));
    assert_invalid_token(&whoami_with(&app, &unknown).await, UNTRUSTED_ISSUER);
    // Exact comparison: a trailing slash or another case is another issuer.
    for near in ["https://a.example/", "https://A.example"] {
        let token = hs256_token(A_SECRET, &token_claims(near, "api-a", "mallory"));
        assert_invalid_token(&whoami_with(&app, &token).await, UNTRUSTED_ISSUER);
    }
    let mut missing = token_claims(A, "api-a", "mallory");
    missing.as_object_mut().unwrap().remove("iss");
    let reply = whoami_with(&app, &hs256_token(A_SECRET, &missing)).await;
    assert_invalid_token(&reply, "The access token lacks a required claim.");
    let mut array = token_claims(A, "api-a", "mallory");
    array["iss"] = json!([A]);
    let reply = whoami_with(&app, &hs256_token(A_SECRET, &array)).await;
    assert_invalid_token(&reply, "The access token lacks a required claim.");
}

#[tokio::test]
async fn each_issuer_has_its_own_audience() {
    let app = issuers_app(static_pair());
    // B's key, B's issuer, but A's audience: B's rules judge it.
    let token = hs256_token(B_SECRET, &token_claims(B, "api-a", "bob"));
    assert_invalid_token(&whoami_with(&app, &token).await, "The access token is not meant for this API.");
}

#[tokio::test]
async fn each_issuer_has_its_own_profile() {
    let strict = JwtVerifier::builder()
        .key(VerificationKey::hs256(B_SECRET).unwrap().with_kid("k1"))
        .issuer(B)
        .audience("api-b")
        .profile(TokenProfile::Rfc9068)
        .build()
        .unwrap();
    let app =
        issuers_app(Issuers::builder().trust(hs256_verifier(A, A_SECRET, "api-a")).trust(strict).build().unwrap());
    // A plain JWT (no `typ: at+jwt`, no `jti` / `client_id`) is fine for A ...
    let reply = whoami_with(&app, &hs256_token(A_SECRET, &token_claims(A, "api-a", "alice"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // ... not for B, which follows RFC 9068 ...
    let plain = hs256_token(B_SECRET, &token_claims(B, "api-b", "bob"));
    assert_invalid_token(&whoami_with(&app, &plain).await, "The token is not an access token.");
    // ... and accepts an RFC 9068 access token.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    header.typ = Some("at+jwt".into());
    let mut full = token_claims(B, "api-b", "bob");
    full["client_id"] = json!("partner-client");
    full["jti"] = json!("jti-1");
    let reply = whoami_with(&app, &sign_with(header, &full, B_SECRET)).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "bob from https://b.example"), "{reply:?}");
}

#[tokio::test]
async fn one_issuer_with_static_keys_and_one_with_a_providers_jwks() {
    let provider_key = TestKey::rs256_b("shared");
    let idp = Idp::start(&[&provider_key]).await;
    // A: a static RS256 key with the same `kid` as the provider's (another RSA key).
    let a = JwtVerifier::builder()
        .key(VerificationKey::rsa_pem(Algorithm::RS256, RSA_A_PUBLIC).unwrap().with_kid("shared"))
        .issuer(A)
        .audience("items-api")
        .build()
        .unwrap();
    let b = jwks_verifier(jwks(&idp).await, &idp.issuer(), "items-api");
    let app = issuers_app(Issuers::builder().trust(a).trust(b).build().unwrap());
    let a_key = TestKey::rs256("shared");

    let reply = whoami_with(&app, &a_key.sign(&claims(A, "items-api", "alice", "items:read"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = whoami_with(&app, &provider_key.sign(&claims(&idp.issuer(), "items-api", "bob", "items:read"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // Crossed: each names the other issuer; same `alg` and `kid`, the wrong issuer's key.
    let crossed = provider_key.sign(&claims(A, "items-api", "mallory", "items:read"));
    assert_invalid_token(&whoami_with(&app, &crossed).await, BAD_SIGNATURE);
    let crossed = a_key.sign(&claims(&idp.issuer(), "items-api", "mallory", "items:read"));
    assert_invalid_token(&whoami_with(&app, &crossed).await, BAD_SIGNATURE);
    assert_eq!(idp.jwks_fetches(), 1, "a known kid needs no refresh");
}

#[tokio::test]
async fn an_unknown_kid_refreshes_only_the_named_issuers_jwks() {
    let (a_key, b_key) = (TestKey::rs256("a-1"), TestKey::rs256_b("b-1"));
    let (idp_a, idp_b) = (Idp::start(&[&a_key]).await, Idp::start(&[&b_key]).await);
    let issuers = Issuers::builder()
        .trust(jwks_verifier(jwks(&idp_a).await, &idp_a.issuer(), "items-api"))
        .trust(jwks_verifier(jwks(&idp_b).await, &idp_b.issuer(), "items-api"))
        .build()
        .unwrap();
    let app = issuers_app(issuers);
    assert_eq!((idp_a.jwks_fetches(), idp_b.jwks_fetches()), (1, 1));
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A token naming A, signed with a key only B publishes: A's key set is refetched, B's is not.
    let b_kid_for_a = b_key.sign(&claims(&idp_a.issuer(), "items-api", "mallory", "items:read"));
    assert_invalid_token(&whoami_with(&app, &b_kid_for_a).await, "The access token was signed by an unknown key.");
    assert_eq!((idp_a.jwks_fetches(), idp_b.jwks_fetches()), (2, 1));

    // A rotates to a new key: its token is accepted after one refresh of A's set only.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a_new = TestKey::rs256_b("a-2");
    idp_a.publish(&[&a_key, &a_new]);
    let rotated = a_new.sign(&claims(&idp_a.issuer(), "items-api", "alice", "items:read"));
    let reply = whoami_with(&app, &rotated).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!((idp_a.jwks_fetches(), idp_b.jwks_fetches()), (3, 1));

    // An unknown issuer triggers no fetch at all.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let unknown = a_new.sign(&claims("https://evil.example", "items-api", "mallory", "items:read"));
    assert_invalid_token(&whoami_with(&app, &unknown).await, UNTRUSTED_ISSUER);
    assert_eq!((idp_a.jwks_fetches(), idp_b.jwks_fetches()), (3, 1));
}

#[tokio::test]
async fn the_token_cache_serves_a_token_only_under_the_configuration_that_verified_it() {
    let cache = TokenCache::default();
    let trusting =
        app(Security::builder().realm("items-api").issuers(static_pair()).token_cache(cache.clone()).build());
    let token = hs256_token(A_SECRET, &token_claims(A, "api-a", "alice"));
    assert_eq!(whoami_with(&trusting, &token).await.status, 200);
    assert_eq!(cache.len(), 1);
    assert_eq!(whoami_with(&trusting, &token).await.status, 200, "a hit");
    // Another app sharing the cache trusts issuer A with another key: the cached verdict is
    // not its own, so the token is verified afresh and refused.
    let other_keys = Issuers::builder()
        .trust(hs256_verifier(A, B_SECRET, "api-a"))
        .trust(hs256_verifier(B, A_SECRET, "api-b"))
        .build()
        .unwrap();
    let other = app(Security::builder().realm("items-api").issuers(other_keys).token_cache(cache.clone()).build());
    assert_invalid_token(&whoami_with(&other, &token).await, BAD_SIGNATURE);
}

#[tokio::test]
async fn a_single_verifier_behaves_as_before() {
    // `SecurityBuilder::jwt` with one verifier that lists two issuers: one key for both, as
    // before (no issuer selection).
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(A_SECRET).unwrap())
        .issuer(A)
        .issuer(B)
        .audience("api-a")
        .build()
        .unwrap();
    let app = app(Security::builder().realm("items-api").jwt(verifier).build());
    for issuer in [A, B] {
        let reply = whoami_with(&app, &hs256_token(A_SECRET, &token_claims(issuer, "api-a", "alice"))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let token = hs256_token(A_SECRET, &token_claims("https://evil.example", "api-a", "mallory"));
    assert_invalid_token(&whoami_with(&app, &token).await, UNTRUSTED_ISSUER);
}

#[test]
fn misconfigured_sets_are_configuration_errors() {
    let error = |result: Result<Issuers, secure_api::ConfigError>| result.expect_err("refused").to_string();
    assert!(error(Issuers::builder().build()).contains("at least one JWT verifier"));
    let twice =
        Issuers::builder().trust(hs256_verifier(A, A_SECRET, "api-a")).trust(hs256_verifier(A, B_SECRET, "api-b"));
    assert!(error(twice.build()).contains("two JWT verifiers for the issuer \"https://a.example\""));
    let anonymous = JwtVerifier::builder().key(VerificationKey::hs256(B_SECRET).unwrap()).build().unwrap();
    let unnamed = Issuers::builder().trust(hs256_verifier(A, A_SECRET, "api-a")).trust(anonymous);
    assert!(error(unnamed.build()).contains("must name its issuer"));
    let both =
        JwtVerifier::builder().key(VerificationKey::hs256(B_SECRET).unwrap()).issuer(A).issuer(B).build().unwrap();
    let shared = Issuers::builder().trust(both).trust(hs256_verifier("https://c.example", A_SECRET, "api-c"));
    assert!(error(shared.build()).contains("names 2 issuers"));
}

#[test]
fn protected_resource_metadata_names_every_issuer() {
    let metadata = ResourceMetadata::new("https://api.example")
        .unwrap()
        .authorization_server(B)
        .authorization_servers_of(&static_pair());
    let document = metadata.document(&Default::default());
    assert_eq!(document["authorization_servers"], json!([B, A]));
}

#[test]
fn the_operator_log_says_which_issuer_was_refused_escaped() {
    crate::common::run_alone("issuers::untrusted_issuer_log_probe");
}

#[tokio::test]
#[ignore = "run in its own process by the_operator_log_says_which_issuer_was_refused_escaped"]
async fn untrusted_issuer_log_probe() {
    assert_eq!(std::env::var("SECURE_API_RUN_ALONE").as_deref(), Ok("1"), "run through its parent test");
    let (captured, _guard) = crate::common::capture_json();
    let app = issuers_app(static_pair());
    let forged = "https://evil.example\r\nstatus=200 outcome=\"allowed\"";
    let reply = whoami_with(&app, &hs256_token(A_SECRET, &token_claims(forged, "api-a", "mallory"))).await;
    assert_invalid_token(&reply, UNTRUSTED_ISSUER);

    let text = captured.text();
    assert!(!text.contains('\r'), "{text}");
    let lines: Vec<Value> =
        text.lines().map(|line| serde_json::from_str(line).expect("one JSON object a line")).collect();
    let refused = lines
        .iter()
        .find(|line| line["message"] == "bearer token names an issuer that is not trusted")
        .unwrap_or_else(|| panic!("no line says why: {text}"));
    assert_eq!(refused["target"], "secure_api::auth", "{refused}");
    assert_eq!(refused["issuer"], r#"https://evil.example\r\nstatus=200 outcome="allowed""#, "{refused}");
    let audit = captured.audit_lines();
    assert_eq!(audit.len(), 1, "{text}");
    assert_eq!(audit[0]["outcome"], "denied:invalid_token", "{text}");
}

#[tokio::test]
async fn the_self_scan_tries_every_other_trusted_issuer() {
    use secure_api::testing::{Probe, ScanCredentials, TokenFactory, Verdict, scan};

    let three = Issuers::builder()
        .trust(hs256_verifier(A, A_SECRET, "api-a"))
        .trust(hs256_verifier(B, B_SECRET, "api-a"))
        .trust(hs256_verifier("https://c.example", b"issuer-c-secret-0123456789abcdef", "api-a"))
        .build()
        .unwrap();
    let app = issuers_app(three);
    let credentials = ScanCredentials::new(TokenFactory::hs256(A_SECRET, A, "api-a")).without_threat_detection();
    let report = scan(app.routes(), &app, &credentials).await;
    let confusion: Vec<_> = report.rows().iter().filter(|row| row.probe == Probe::IssuerConfusion).collect();
    assert_eq!(confusion.len(), 2, "B and C: {report}");
    assert!(confusion.iter().all(|row| row.verdict == Verdict::Pass), "{report}");
    assert!(!report.rows().iter().any(|row| row.is_finding()), "{report}");

    // Two issuers configured with one shared secret: B accepts tokens A's key signed, a finding.
    let shared = Issuers::builder()
        .trust(hs256_verifier(A, A_SECRET, "api-a"))
        .trust(hs256_verifier(B, A_SECRET, "api-a"))
        .build()
        .unwrap();
    let app = issuers_app(shared);
    let report = scan(app.routes(), &app, &credentials).await;
    let confusion: Vec<_> = report.rows().iter().filter(|row| row.probe == Probe::IssuerConfusion).collect();
    assert_eq!(confusion.len(), 1, "{report}");
    assert!(confusion[0].is_finding(), "{report}");

    // A single verifier: no such probe (its issuers share its keys by design).
    let app = app_with_one_verifier();
    let report = scan(app.routes(), &app, &credentials).await;
    assert!(!report.rows().iter().any(|row| row.probe == Probe::IssuerConfusion), "{report}");
}

fn app_with_one_verifier() -> SecureApp {
    app(Security::builder().realm("items-api").jwt(hs256_verifier(A, A_SECRET, "api-a")).build())
}
