//! The OAuth 2.0 client credentials token endpoint (RFC 6749 §4.4, §5.1, §5.2).

use axum::body::Body;
use base64::Engine;
use http::Request;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secure_api::secret::Secret;
use secure_api_examples::quickstart::{self, Config};
use serde_json::Value;

use crate::common::*;

const TOKEN: &str = "/oauth/token";

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

fn demo_basic() -> String {
    let config = config();
    basic(&config.client_id, config.client_secret.expose())
}

fn form(body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post(TOKEN).header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.body["error"], error, "{reply:?}");
    assert!(reply.body["error_description"].is_string());
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("pragma"), "no-cache");
    assert_no_internals(&reply.text);
}

#[tokio::test]
async fn seed_flow_basic_auth_issues_a_bearer_token() {
    let app = app();
    let reply = send(&app, form("grant_type=client_credentials", &[("authorization", &demo_basic())])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("pragma"), "no-cache");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(reply.body["scope"], "items:read items:write");
    let access_token = reply.body["access_token"].as_str().unwrap();

    // The token is an RFC 9068 access token for the configured issuer and audience.
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["secure-api-quickstart"]);
    validation.set_audience(&["items-api"]);
    let claims = jsonwebtoken::decode::<Value>(
        access_token,
        &DecodingKey::from_secret(config().jwt_secret.expose().as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    for claim in ["iss", "aud", "sub", "client_id", "scope", "iat", "exp", "jti"] {
        assert!(claims.get(claim).is_some(), "missing {claim}: {claims}");
    }
    assert_eq!(claims["client_id"], "demo-client");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);

    // And it opens the API.
    let items = send(&app, get("/api/items", &[("authorization", &bearer(access_token))])).await;
    assert_eq!(items.status, 200);
}

#[tokio::test]
async fn form_credentials_and_a_narrower_scope() {
    let config = config();
    let body = format!(
        "grant_type=client_credentials&scope=items%3Aread&client_id={}&client_secret={}",
        config.client_id,
        config.client_secret.expose()
    );
    let reply = send(&app(), form(&body, &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["scope"], "items:read");
    let write = send(
        &app(),
        post_json(
            "/api/items",
            &serde_json::json!({"name": "x", "price": 1}),
            &[("authorization", &bearer(reply.body["access_token"].as_str().unwrap()))],
        ),
    )
    .await;
    assert_eq!(write.status, 403, "a read-only token cannot write");
}

#[tokio::test]
async fn wrong_secret_unknown_client_and_no_authentication_are_invalid_client() {
    let config = config();
    for authorization in [
        Some(basic(&config.client_id, "wrong-secret-wrong-secret-wrong-secret")),
        Some(basic("someone-else", config.client_secret.expose())),
        Some("Basic !!!not-base64".to_owned()),
        Some(bearer(&token("items:read"))),
        None,
    ] {
        let headers: Vec<(&str, &str)> = authorization.iter().map(|value| ("authorization", value.as_str())).collect();
        let reply = send(&app(), form("grant_type=client_credentials", &headers)).await;
        assert_oauth_error(&reply, 401, "invalid_client");
        assert!(reply.header("www-authenticate").starts_with("Basic"), "{reply:?}");
    }
}

#[tokio::test]
async fn two_authentication_methods_are_an_invalid_request() {
    let config = config();
    let body =
        format!("grant_type=client_credentials&client_id=demo-client&client_secret={}", config.client_secret.expose());
    let reply = send(&app(), form(&body, &[("authorization", &demo_basic())])).await;
    assert_oauth_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn missing_grant_type_is_an_invalid_request() {
    let reply = send(&app(), form("scope=items%3Aread", &[("authorization", &demo_basic())])).await;
    assert_oauth_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn other_grant_types_are_unsupported() {
    for grant in ["password", "authorization_code", "CLIENT_CREDENTIALS"] {
        let reply = send(&app(), form(&format!("grant_type={grant}"), &[("authorization", &demo_basic())])).await;
        assert_oauth_error(&reply, 400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn unknown_or_unregistered_scopes_are_invalid_scope() {
    for scope in ["admin", "items%3Aread+admin", "items%3Aread++items%3Awrite"] {
        let body = format!("grant_type=client_credentials&scope={scope}");
        let reply = send(&app(), form(&body, &[("authorization", &demo_basic())])).await;
        assert_oauth_error(&reply, 400, "invalid_scope");
    }
}

/// RFC 6749 §3.1: a parameter sent without a value is treated as omitted. An empty `scope`
/// gets the client's registered scopes, an empty `grant_type` is a missing one, and an empty
/// `client_secret` beside HTTP Basic is not a second authentication method.
#[tokio::test]
async fn parameters_without_a_value_are_treated_as_omitted() {
    let basic = demo_basic();
    let default = send(&app(), form("grant_type=client_credentials", &[("authorization", &basic)])).await;
    assert_eq!(default.status, 200, "{default:?}");
    let empty_scope = send(&app(), form("grant_type=client_credentials&scope=", &[("authorization", &basic)])).await;
    assert_eq!(empty_scope.status, 200, "{empty_scope:?}");
    assert_eq!(empty_scope.body["scope"], default.body["scope"]);

    let reply = send(&app(), form("grant_type=&scope=items%3Aread", &[("authorization", &basic)])).await;
    assert_oauth_error(&reply, 400, "invalid_request");

    let reply = send(&app(), form("grant_type=client_credentials&client_secret=", &[("authorization", &basic)])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn repeated_parameters_are_an_invalid_request() {
    let reply = send(
        &app(),
        form("grant_type=client_credentials&grant_type=client_credentials", &[("authorization", &demo_basic())]),
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn a_json_body_is_an_invalid_request() {
    let request = Request::post(TOKEN)
        .header("content-type", "application/json")
        .header("authorization", demo_basic())
        .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
        .unwrap();
    assert_oauth_error(&send(&app(), request).await, 400, "invalid_request");
}

#[tokio::test]
async fn oversized_request_is_refused() {
    let body = format!("grant_type=client_credentials&pad={}", "a".repeat(64 * 1024));
    let reply = send(&app(), form(&body, &[("authorization", &demo_basic())])).await;
    assert_oauth_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn get_is_method_not_allowed() {
    let reply = send(&app(), get(TOKEN, &[])).await;
    assert_problem(&reply, 405);
    assert!(reply.header("allow").contains("POST"), "{reply:?}");
}

/// RFC 6749 §2.3.1 (and Appendix B): `+` for a space, `%XX` for every byte that is not
/// unreserved.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b' ' => "+".to_owned(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The `sub` of an issued token (checked with the quickstart's key).
fn subject_of(reply: &Reply) -> String {
    let access_token = reply.body["access_token"].as_str().expect("a token");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["items-api"]);
    let key = DecodingKey::from_secret(config().jwt_secret.expose().as_bytes());
    let claims = jsonwebtoken::decode::<Value>(access_token, &key, &validation).unwrap().claims;
    claims["sub"].as_str().unwrap().to_owned()
}

/// The Basic user and password are each one form-urlencoded value, decoded as a whole: a `&`
/// in them does not start another form parameter (it did: `<secret>&junk=1` got a token).
#[tokio::test]
async fn a_basic_secret_is_read_whole_not_cut_at_an_ampersand() {
    let config = config();
    let (id, secret) = (config.client_id.as_str(), config.client_secret.expose().as_str());
    let app = app();
    for authorization in [
        basic(id, &format!("{secret}&junk=1")),
        basic(id, &format!("{secret}%26junk%3D1")),
        basic(&format!("{id}&client_id=other"), secret),
        basic(id, &format!("{secret}%")),
        basic(id, &format!("{secret}%zz")),
    ] {
        let reply = send(&app, form("grant_type=client_credentials", &[("authorization", &authorization)])).await;
        assert_oauth_error(&reply, 401, "invalid_client");
        assert!(reply.header("www-authenticate").starts_with("Basic"), "{reply:?}");
    }
    // The same app still issues a token for the exact credentials (6 requests: within the
    // endpoint's 10 per minute).
    let reply = send(&app, form("grant_type=client_credentials", &[("authorization", &demo_basic())])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// A client id and secret holding `:`, `&`, `=`, `+`, `%`, spaces and non-ASCII characters
/// authenticate when form-urlencoded as RFC 6749 §2.3.1 says, and only then.
#[tokio::test]
async fn basic_credentials_with_reserved_characters_are_decoded_exactly() {
    let id = "svc:reports+1 &a=b%";
    let secret = "s3cret:with&all=the+reserved%chars, caf\u{e9} ~!";
    let config = Config { client_id: id.to_owned(), client_secret: Secret::new(secret.to_owned()), ..config() };
    let app = quickstart::app(&config).unwrap();
    let encoded = basic(&form_encode(id), &form_encode(secret));
    assert!(encoded.len() > 6 && !form_encode(id).contains(':'), "the id's `:` is sent as %3A");
    let reply = send(&app, form("grant_type=client_credentials", &[("authorization", &encoded)])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(subject_of(&reply), id);

    // Not encoded, the id's `:` ends the user part early, and the secret's `%ch` is no escape:
    // refused.
    for authorization in [basic(id, secret), basic(&form_encode(id), secret)] {
        let reply = send(&app, form("grant_type=client_credentials", &[("authorization", &authorization)])).await;
        assert_oauth_error(&reply, 401, "invalid_client");
    }
    // The same client through the form fields.
    let body =
        format!("grant_type=client_credentials&client_id={}&client_secret={}", form_encode(id), form_encode(secret));
    let reply = send(&app, form(&body, &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(subject_of(&reply), id);
}

/// Two `Authorization` headers are a malformed request at the token endpoint too (it used the
/// first and issued a token).
#[tokio::test]
async fn two_authorization_headers_are_an_invalid_request() {
    let config = config();
    let wrong = basic(&config.client_id, "wrong-secret-wrong-secret-wrong-secret");
    let app = app();
    for (first, second) in [
        (demo_basic(), demo_basic()),
        (demo_basic(), wrong.clone()),
        (wrong, demo_basic()),
        (demo_basic(), bearer(&token("items:read"))),
    ] {
        let request = form("grant_type=client_credentials", &[("authorization", &first), ("authorization", &second)]);
        let reply = send(&app, request).await;
        assert_oauth_error(&reply, 400, "invalid_request");
        assert_eq!(reply.body["error_description"], "Send exactly one Authorization header.");
        assert!(reply.body.get("access_token").is_none());
    }
}

/// RFC 6749 §3.3: scopes are separated by SP only, and a scope token holds no control
/// character: TAB, LF, FF or CR between two scopes is an invalid scope, not a separator.
#[tokio::test]
async fn a_requested_scope_is_split_on_spaces_only() {
    let app = app();
    for scope in [
        "items%3Aread%09items%3Awrite",
        "items%3Aread%0Aitems%3Awrite",
        "items%3Aread%0Citems%3Awrite",
        "items%3Aread%0D%0Aitems%3Awrite",
    ] {
        let body = format!("grant_type=client_credentials&scope={scope}");
        let reply = send(&app, form(&body, &[("authorization", &demo_basic())])).await;
        assert_oauth_error(&reply, 400, "invalid_scope");
    }
    let body = "grant_type=client_credentials&scope=items%3Aread+items%3Awrite";
    let reply = send(&app, form(body, &[("authorization", &demo_basic())])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["scope"], "items:read items:write");
}
