//! Tokens signed by an identity provider's published keys (JWKS), against a real provider on
//! a loopback port: algorithms, key rotation, refresh throttling, and the header tricks
//! (`alg` confusion, `jku`, `x5u`, embedded `jwk`, odd `kid`s) that must not work.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use secure_api::SecureApp;
use secure_api::auth::Refresh;
use secure_api::auth::{JwksKeys, JwtVerifier, VerificationKey};
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};
use secure_api_examples::quickstart::{self, Config};
use serde_json::json;

use crate::common::{assert_problem, bearer, send};
use crate::idp_support::{Idp, RSA_A_PUBLIC, TestKey, claims, closed_port_url, eventually, hs256_with_raw_header};

const AUDIENCE: &str = "items-api";

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn whoami(principal: Principal) -> String {
    principal.id().to_owned()
}

fn app(verifier: JwtVerifier) -> SecureApp {
    SecureRouter::new().route("/whoami", get(whoami)).with_state(Security::builder().jwt(verifier).build())
}

/// A JWKS-only verifier for `idp`, with a short throttle so tests need not wait 10 s.
async fn jwks_app(idp: &Idp, min_refresh: Duration) -> (SecureApp, JwksKeys) {
    let keys = JwksKeys::builder(idp.jwks_url())
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
        .min_refresh_interval(min_refresh)
        .refresh_interval(Duration::from_secs(3600))
        .build()
        .await
        .expect("the provider is up");
    let verifier = JwtVerifier::builder().jwks(keys.clone()).issuer(idp.issuer()).audience(AUDIENCE).build().unwrap();
    (app(verifier), keys)
}

async fn whoami_with(app: &SecureApp, token: &str) -> crate::common::Reply {
    send(app, crate::common::get("/whoami", &[("authorization", &bearer(token))])).await
}

/// The quickstart pointed at the provider (`SECURE_API_JWKS_URL`, `SECURE_API_ISSUER`).
fn quickstart_config(idp: &Idp) -> Config {
    Config {
        issuer: idp.issuer(),
        audience: AUDIENCE.to_owned(),
        jwks_url: Some(idp.jwks_url()),
        ..Config::for_tests()
    }
}

#[tokio::test]
async fn quickstart_accepts_rs256_es256_and_eddsa_tokens_beside_its_own() {
    let (rsa, ec, ed) = (TestKey::rs256("rsa-1"), TestKey::es256("ec-1"), TestKey::eddsa("ed-1"));
    let idp = Idp::start(&[&rsa, &ec, &ed]).await;
    let config = quickstart_config(&idp);
    let app = quickstart::load(&config).await.expect("JWKS loads");
    for key in [&rsa, &ec, &ed] {
        let token = key.sign(&claims(&idp.issuer(), AUDIENCE, "provider-user", "items:read"));
        let reply = send(&app, crate::common::get("/api/items", &[("authorization", &bearer(&token))])).await;
        assert_eq!(reply.status, 200, "{:?}: {reply:?}", key.algorithm);
        assert_eq!(reply.body, json!([]));
    }
    // Its own HS256 tokens still work.
    let own = crate::common::sign_with(
        Header::new(Algorithm::HS256),
        &claims(&idp.issuer(), AUDIENCE, "alice", "items:read"),
        config.jwt_secret.expose().as_bytes(),
    );
    let reply = send(&app, crate::common::get("/api/items", &[("authorization", &bearer(&own))])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // Issuer and audience rules apply to provider tokens too.
    let foreign_audience = rsa.sign(&claims(&idp.issuer(), "another-api", "provider-user", "items:read"));
    let reply = send(&app, crate::common::get("/api/items", &[("authorization", &bearer(&foreign_audience))])).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains("invalid_token"), "{reply:?}");
}

#[tokio::test]
async fn quickstart_refuses_to_start_when_the_jwks_cannot_be_fetched() {
    let config = Config { jwks_url: Some(closed_port_url("/jwks").await), ..Config::for_tests() };
    let error = quickstart::load(&config).await.expect_err("start-up fails");
    assert!(error.to_string().contains("cannot load the JWKS"), "{error}");
    // And when it holds no usable key (a shared secret is never a published key).
    let idp = Idp::start(&[]).await;
    idp.publish_raw(json!({"keys": [{"kty": "oct", "alg": "HS256", "kid": "s", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}));
    let error = quickstart::load(&quickstart_config(&idp)).await.expect_err("start-up fails");
    assert!(error.to_string().contains("no usable key"), "{error}");
    // `quickstart::app` cannot fetch; it says so rather than ignoring the URL.
    assert!(quickstart::app(&quickstart_config(&idp)).is_err());
}

#[tokio::test]
async fn a_rotated_key_is_accepted_without_restart_and_a_removed_one_is_refused() {
    let old = TestKey::rs256("2026-01");
    let idp = Idp::start(&[&old]).await;
    let (app, keys) = jwks_app(&idp, Duration::from_millis(200)).await;
    let old_token = old.sign(&claims(&idp.issuer(), AUDIENCE, "alice", "items:read"));
    assert_eq!(whoami_with(&app, &old_token).await.status, 200);
    assert_eq!(idp.jwks_fetches(), 1);

    // The provider publishes a new key and starts signing with it.
    let new = TestKey::rs256_b("2026-02");
    idp.publish(&[&old, &new]);
    let new_token = new.sign(&claims(&idp.issuer(), AUDIENCE, "bob", "items:read"));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let reply = whoami_with(&app, &new_token).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text, "bob");
    assert_eq!(idp.jwks_fetches(), 2, "one refresh for the unknown kid");
    assert_eq!(keys.key_ids(), ["2026-01", "2026-02"]);

    // The provider retires the old key; after the next refresh its tokens are refused.
    idp.publish(&[&new]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(keys.refresh().await, Refresh::Updated);
    let reply = whoami_with(&app, &old_token).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains("unknown key"), "{reply:?}");
    assert_eq!(whoami_with(&app, &new_token).await.status, 200);
}

#[tokio::test]
async fn the_background_refresh_picks_up_removals() {
    let (old, new) = (TestKey::es256("old"), TestKey::eddsa("new"));
    let idp = Idp::start(&[&old, &new]).await;
    let keys = JwksKeys::builder(idp.jwks_url())
        .algorithms([Algorithm::ES256, Algorithm::EdDSA])
        .min_refresh_interval(Duration::from_millis(50))
        .refresh_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let app = app(JwtVerifier::builder().jwks(keys.clone()).issuer(idp.issuer()).audience(AUDIENCE).build().unwrap());
    let old_token = old.sign(&claims(&idp.issuer(), AUDIENCE, "alice", "items:read"));
    assert_eq!(whoami_with(&app, &old_token).await.status, 200);
    idp.publish(&[&new]);
    assert!(eventually(async || keys.key_ids() == ["new"]).await, "background refresh never ran");
    assert_eq!(whoami_with(&app, &old_token).await.status, 401);
}

#[tokio::test]
async fn floods_of_unknown_kids_are_throttled() {
    let known = TestKey::rs256("known");
    let idp = Idp::start(&[&known]).await;

    // The quickstart's default throttle: one fetch per 10 s. Its start-up fetch just happened,
    // so 100 tokens with 100 different unknown kids cause no fetch at all.
    let app = quickstart::load(&quickstart_config(&idp)).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let app = app.clone();
        let token =
            TestKey::rs256_b(&format!("forged-{i}")).sign(&claims(&idp.issuer(), AUDIENCE, "mallory", "items:read"));
        tasks.spawn(async move {
            send(&app, crate::common::get("/api/items", &[("authorization", &bearer(&token))])).await.status
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    assert_eq!(idp.jwks_fetches(), 1, "unknown kids within the throttle window fetch nothing");

    // With a 300 ms throttle, a concurrent flood after the window causes exactly one fetch
    // (single flight), and the next flood within the window none.
    let idp = Idp::start(&[&known]).await;
    let (app, _keys) = jwks_app(&idp, Duration::from_millis(300)).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    for round in 0..2 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50 {
            let app = app.clone();
            let token = TestKey::rs256_b(&format!("forged-{round}-{i}")).sign(&claims(
                &idp.issuer(),
                AUDIENCE,
                "mallory",
                "items:read",
            ));
            tasks.spawn(async move { whoami_with(&app, &token).await.status });
        }
        while let Some(status) = tasks.join_next().await {
            assert_eq!(status.unwrap(), 401);
        }
        assert_eq!(idp.jwks_fetches(), 2, "round {round}: start-up fetch plus one throttled refresh");
    }
}

#[tokio::test]
async fn an_rsa_public_key_used_as_an_hmac_secret_is_refused() {
    let rsa = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let forged_claims = claims(&idp.issuer(), AUDIENCE, "mallory", "items:read");
    // The attacker knows the public key (PEM, and the JWK's modulus) and signs HS256 with it.
    let jwk = rsa.jwk();
    let secrets: [&[u8]; 2] = [RSA_A_PUBLIC, jwk["n"].as_str().unwrap().as_bytes()];

    // JWKS only: HS256 is not an algorithm any key has.
    let (app, _) = jwks_app(&idp, Duration::from_secs(10)).await;
    for secret in secrets {
        let token =
            hs256_with_raw_header(&json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}), &forged_claims, secret);
        let reply = whoami_with(&app, &token).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("algorithm is not accepted"), "{reply:?}");
    }

    // The quickstart also has an HS256 key: the token is checked against that secret only.
    let quickstart = quickstart::load(&quickstart_config(&idp)).await.unwrap();
    for secret in secrets {
        let token =
            hs256_with_raw_header(&json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}), &forged_claims, secret);
        let reply = send(&quickstart, crate::common::get("/api/items", &[("authorization", &bearer(&token))])).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("signature is invalid"), "{reply:?}");
    }
    assert_eq!(idp.jwks_fetches(), 2, "one start-up fetch per app, none for the forgeries");
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_headers_are_never_followed_or_trusted() {
    let rsa = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let (app, _) = jwks_app(&idp, Duration::from_millis(50)).await;
    let attacker = TestKey::rs256_b("attacker");
    let forged_claims = claims(&idp.issuer(), AUDIENCE, "mallory", "items:read");
    tokio::time::sleep(Duration::from_millis(60)).await;

    // The attacker's key, announced through every header that can carry or point to a key.
    for kid in ["attacker", "rsa-1"] {
        let mut header = attacker.header();
        header.kid = Some(kid.to_owned());
        header.jku = Some(idp.attacker_jwks_url());
        header.x5u = Some(idp.attacker_jwks_url());
        header.jwk = Some(serde_json::from_value(attacker.jwk()).unwrap());
        let reply = whoami_with(&app, &attacker.sign_with(header, &forged_claims)).await;
        assert_problem(&reply, 401);
        let description = reply.header("www-authenticate");
        assert!(description.contains("unknown key") || description.contains("signature is invalid"), "{reply:?}");
    }
    assert_eq!(idp.attacker_fetches(), 0, "jku / x5u were fetched");
    // The legitimate key still works, whatever the headers say.
    let mut header = rsa.header();
    header.jku = Some(idp.attacker_jwks_url());
    assert_eq!(whoami_with(&app, &rsa.sign_with(header, &forged_claims)).await.status, 200);
    assert_eq!(idp.attacker_fetches(), 0);
}

#[tokio::test]
async fn odd_kids_are_malformed_and_never_looked_up() {
    let rsa = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let (app, _) = jwks_app(&idp, Duration::from_millis(10)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    for kid in ["x".repeat(300), "with space".to_owned(), "quote\"".to_owned(), String::new()] {
        let mut header = rsa.header();
        header.kid = Some(kid.clone());
        let reply =
            whoami_with(&app, &rsa.sign_with(header, &claims(&idp.issuer(), AUDIENCE, "a", "items:read"))).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("malformed"), "kid {kid:?}: {reply:?}");
    }
    assert_eq!(idp.jwks_fetches(), 1, "no refresh for an invalid kid");
}

#[tokio::test]
async fn keys_published_without_alg_are_bound_to_the_one_allowed_algorithm() {
    let rsa = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[]).await;
    let mut jwk = rsa.jwk();
    jwk.as_object_mut().unwrap().remove("alg");
    idp.publish_raw(json!({ "keys": [jwk] }));
    let (app, keys) = jwks_app(&idp, Duration::from_secs(10)).await;
    assert_eq!(keys.key_ids(), ["rsa-1"]);
    let token = rsa.sign(&claims(&idp.issuer(), AUDIENCE, "alice", "items:read"));
    assert_eq!(whoami_with(&app, &token).await.status, 200);
    // The same key with PS256 is another algorithm: refused.
    let mut header = rsa.header();
    header.alg = Algorithm::PS256;
    let reply = whoami_with(&app, &rsa.sign_with(header, &claims(&idp.issuer(), AUDIENCE, "a", "items:read"))).await;
    assert_problem(&reply, 401);
}

#[tokio::test]
async fn tokens_are_refused_with_503_until_a_late_provider_answers() {
    let url = closed_port_url("/jwks").await;
    let keys = JwksKeys::builder(url)
        .require_initial_keys(false)
        .min_refresh_interval(Duration::from_millis(10))
        .refresh_interval(Duration::from_secs(3600))
        .build()
        .await
        .expect("allowed to start without keys");
    assert!(!keys.is_loaded());
    let app = app(JwtVerifier::builder().jwks(keys).audience(AUDIENCE).build().unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let token = TestKey::rs256("rsa-1").sign(&claims("any", AUDIENCE, "alice", "items:read"));
    let reply = whoami_with(&app, &token).await;
    assert_problem(&reply, 503);
    assert_eq!(reply.header("retry-after"), "5");
}

#[tokio::test]
async fn static_keys_keep_working_beside_a_jwks() {
    let rsa = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let keys = JwksKeys::builder(idp.jwks_url()).build().await.unwrap();
    let secret = b"0123456789abcdef0123456789abcdef";
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(secret).unwrap())
        .jwks(keys)
        .issuer(idp.issuer())
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let app = app(verifier);
    let hs = crate::common::sign_with(
        Header::new(Algorithm::HS256),
        &claims(&idp.issuer(), AUDIENCE, "h", "items:read"),
        secret,
    );
    assert_eq!(whoami_with(&app, &hs).await.text, "h");
    assert_eq!(whoami_with(&app, &rsa.sign(&claims(&idp.issuer(), AUDIENCE, "r", "items:read"))).await.text, "r");
}
