//! Static asymmetric keys (PEM): RS256, PS256, ES256, ES384, EdDSA, and the key-confusion attacks
//! RFC 8725 warns about.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::SecureApp;
use secure_api::auth::{JwtVerifier, VerificationKey};
use secure_api::{Principal, SecureRouter, Security, routing, secure};
use serde_json::json;

use crate::common::*;

const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/keys/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/keys/rsa_public.pem");
const EC256_PRIVATE: &[u8] = include_bytes!("../fixtures/keys/ec256_private.pem");
const EC256_PUBLIC: &[u8] = include_bytes!("../fixtures/keys/ec256_public.pem");
const EC384_PRIVATE: &[u8] = include_bytes!("../fixtures/keys/ec384_private.pem");
const EC384_PUBLIC: &[u8] = include_bytes!("../fixtures/keys/ec384_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../fixtures/keys/ed25519_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../fixtures/keys/ed25519_public.pem");

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn whoami(principal: Principal) -> String {
    principal.id().to_owned()
}

/// An app accepting exactly: RS256 and PS256 with the RSA key, ES256, ES384, EdDSA.
fn app_with(keys: Vec<VerificationKey>) -> SecureApp {
    let mut verifier = JwtVerifier::builder().issuer("https://issuer.example").audience("items-api");
    for key in keys {
        verifier = verifier.key(key);
    }
    let security = Security::builder().realm("items-api").jwt(verifier.build().unwrap()).build();
    SecureRouter::new().route("/whoami", routing::get(whoami)).with_state(security)
}

fn all_keys() -> Vec<VerificationKey> {
    vec![
        VerificationKey::rsa_pem(Algorithm::RS256, RSA_PUBLIC).unwrap(),
        VerificationKey::rsa_pem(Algorithm::PS256, RSA_PUBLIC).unwrap(),
        VerificationKey::ec_pem(Algorithm::ES256, EC256_PUBLIC).unwrap(),
        VerificationKey::ec_pem(Algorithm::ES384, EC384_PUBLIC).unwrap(),
        VerificationKey::ed_pem(ED_PUBLIC).unwrap(),
    ]
}

fn token(algorithm: Algorithm, key: &EncodingKey) -> String {
    let claims = json!({
        "iss": "https://issuer.example", "aud": "items-api", "sub": format!("{algorithm:?}"),
        "scope": "items:read", "exp": now() + 600,
    });
    jsonwebtoken::encode(&Header::new(algorithm), &claims, key).unwrap()
}

async fn call(app: &SecureApp, token: &str) -> Reply {
    send(app, get("/whoami", &[("authorization", &bearer(token))])).await
}

#[tokio::test]
async fn each_configured_algorithm_verifies() {
    let app = app_with(all_keys());
    let cases = [
        (Algorithm::RS256, EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()),
        (Algorithm::PS256, EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()),
        (Algorithm::ES256, EncodingKey::from_ec_pem(EC256_PRIVATE).unwrap()),
        (Algorithm::ES384, EncodingKey::from_ec_pem(EC384_PRIVATE).unwrap()),
        (Algorithm::EdDSA, EncodingKey::from_ed_pem(ED_PRIVATE).unwrap()),
    ];
    for (algorithm, key) in cases {
        let reply = call(&app, &token(algorithm, &key)).await;
        assert_eq!(reply.status, 200, "{algorithm:?}: {reply:?}");
        assert_eq!(reply.text, format!("{algorithm:?}"));
    }
}

#[tokio::test]
async fn an_algorithm_of_the_same_family_that_was_not_configured_is_refused() {
    // The RSA key is configured for RS256 and PS256 only.
    let app = app_with(all_keys());
    let rs512 = token(Algorithm::RS512, &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap());
    assert_problem(&call(&app, &rs512).await, 401);
    // Only ES256 configured: an ES384 token is refused even though ES384 is a valid EC algorithm.
    let app = app_with(vec![VerificationKey::ec_pem(Algorithm::ES256, EC256_PUBLIC).unwrap()]);
    let es384 = token(Algorithm::ES384, &EncodingKey::from_ec_pem(EC384_PRIVATE).unwrap());
    assert_problem(&call(&app, &es384).await, 401);
}

#[tokio::test]
async fn rsa_public_key_used_as_an_hmac_secret_is_refused() {
    // The classic algorithm-confusion attack: sign HS256 with the server's *public* key.
    let app = app_with(all_keys());
    let forged = token(Algorithm::HS256, &EncodingKey::from_secret(RSA_PUBLIC));
    let reply = call(&app, &forged).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains("algorithm"), "{reply:?}");
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_of_the_right_algorithm_is_refused() {
    // ES256 configured with the P-256 key; the token is signed by an unrelated P-256 key.
    let app = app_with(vec![VerificationKey::ec_pem(Algorithm::ES256, EC256_PUBLIC).unwrap()]);
    let other =
        jsonwebtoken::EncodingKey::from_ec_pem(include_bytes!("../fixtures/keys/other_ec256_private.pem")).unwrap();
    assert_problem(&call(&app, &token(Algorithm::ES256, &other)).await, 401);
}

#[test]
fn keys_are_refused_for_the_wrong_family_at_configuration_time() {
    assert!(VerificationKey::rsa_pem(Algorithm::ES256, RSA_PUBLIC).is_err());
    assert!(VerificationKey::ec_pem(Algorithm::RS256, EC256_PUBLIC).is_err());
    assert!(VerificationKey::ec_pem(Algorithm::ES256, b"not a pem").is_err());
    assert!(
        VerificationKey::hmac(Algorithm::HS256, RSA_PUBLIC).is_ok(),
        "bytes are bytes; the algorithm binding is what protects"
    );
}
