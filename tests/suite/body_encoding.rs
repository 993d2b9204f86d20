//! Body framing (issue 15 §6): a `Content-Encoding` other than `identity` is refused before the
//! body is parsed (415 problem+json with `Accept-Encoding: identity`; `invalid_request` on the
//! token endpoint), and so are two `Content-Type` headers (400). Over `oneshot` on the
//! quickstart's JSON route, its form-encoded token endpoint, and a validated form route.

use axum::Form;
use axum::body::Body;
use http::Method;
use secure_api::routing::post;
use secure_api::testing::request;
use secure_api::{SecureRouter, Security, public};
use serde_json::{Value, json};

use crate::common::{self, Reply, assert_problem, bearer, send};

const ITEM: &str = r#"{"name":"Widget","price":9.99}"#;

/// `POST /api/items` with a write token, `body` and `headers` (content type included).
async fn create_item(body: Vec<u8>, headers: &[(&str, &str)]) -> Reply {
    let auth = bearer(&common::token("items:write"));
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    send(&common::app(), request(Method::POST, "/api/items", &all, Body::from(body))).await
}

/// `ITEM` as a real gzip member (one stored deflate block), so the only thing wrong with it is
/// that it is encoded.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.push(1); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

fn assert_encoding_refused(reply: &Reply) {
    assert_problem(reply, 415);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:unsupported-content-encoding", "{reply:?}");
    assert_eq!(reply.body["accepted_encodings"], json!(["identity"]));
    assert_eq!(reply.header("accept-encoding"), "identity", "RFC 7694 §3");
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "the security headers are there too");
}

#[tokio::test]
async fn plain_json_labelled_gzip_is_refused_not_accepted() {
    let reply = create_item(ITEM.into(), &[("content-type", "application/json"), ("content-encoding", "gzip")]).await;
    assert_encoding_refused(&reply);
    // Control: the same body without the label is created.
    let reply = create_item(ITEM.into(), &[("content-type", "application/json")]).await;
    assert_eq!(reply.status, 201, "{reply:?}");
}

#[tokio::test]
async fn a_gzip_body_is_refused_as_encoded_not_as_malformed_json() {
    for coding in ["gzip", "GZIP", "deflate", "br", "identity, gzip"] {
        let reply =
            create_item(gzip(ITEM.as_bytes()), &[("content-type", "application/json"), ("content-encoding", coding)])
                .await;
        assert_encoding_refused(&reply);
    }
}

#[tokio::test]
async fn identity_is_the_one_accepted_coding() {
    let reply =
        create_item(ITEM.into(), &[("content-type", "application/json"), ("content-encoding", "identity")]).await;
    assert_eq!(reply.status, 201, "{reply:?}");
}

#[tokio::test]
async fn two_content_types_are_a_bad_request() {
    for second in ["application/json", "text/plain"] {
        let reply = create_item(ITEM.into(), &[("content-type", "application/json"), ("content-type", second)]).await;
        assert_problem(&reply, 400);
        assert_eq!(reply.body["type"], "urn:secure-api:problem:duplicate-content-type", "{reply:?}");
    }
}

/// The token endpoint's form body, answered in RFC 6749 §5.2's format.
async fn token_request(headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let config = common::config();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", config.client_id, config.client_secret.expose())
        )
    );
    let mut all = vec![("authorization", basic.as_str())];
    all.extend_from_slice(headers);
    send(&common::app(), request(Method::POST, "/oauth/token", &all, Body::from(body))).await
}

#[tokio::test]
async fn the_token_endpoint_refuses_encoded_or_doubly_typed_forms() {
    let form = "grant_type=client_credentials";
    let ok = token_request(&[("content-type", "application/x-www-form-urlencoded")], form.into()).await;
    assert_eq!(ok.status, 200, "{ok:?}");

    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let gzip_label = [form_type, ("content-encoding", "gzip")];
    let two_types = [form_type, ("content-type", "application/json")];
    let cases = [(gzip_label, form.as_bytes().to_vec()), (gzip_label, gzip(form.as_bytes())), (two_types, form.into())];
    for (headers, body) in cases {
        let reply = token_request(&headers, body).await;
        assert_eq!(reply.status, 400, "{headers:?}: {reply:?}");
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.body["error"], "invalid_request", "{reply:?}");
        assert!(reply.body.get("access_token").is_none());
    }
}

#[secure_api::request]
#[derive(Debug)]
struct Note {
    #[validate(length(min = 1, max = 64))]
    text: String,
}

#[public(validate, max_body = "1KiB")]
async fn note(Form(note): Form<Note>) -> axum::Json<Value> {
    axum::Json(json!({"text": note.text}))
}

#[tokio::test]
async fn a_validated_form_refuses_content_encoding_too() {
    let app = SecureRouter::new().route("/notes", post(note)).with_state(Security::builder().build());
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let reply = send(&app, request(Method::POST, "/notes", &form, Body::from("text=hi"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let encoded = [("content-type", "application/x-www-form-urlencoded"), ("content-encoding", "deflate")];
    let reply = send(&app, request(Method::POST, "/notes", &encoded, Body::from("text=hi"))).await;
    assert_encoding_refused(&reply);
    let doubly = [("content-type", "application/x-www-form-urlencoded"), ("content-type", "text/plain")];
    let reply = send(&app, request(Method::POST, "/notes", &doubly, Body::from("text=hi"))).await;
    assert_problem(&reply, 400);
}
