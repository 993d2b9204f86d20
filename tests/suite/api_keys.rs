//! API-key authentication on the quickstart's `/api/reports`.

use crate::common::*;

const REPORTS: &str = "/api/reports";

fn key() -> String {
    config().api_key.expose().clone()
}

#[tokio::test]
async fn right_key_opens_the_route() {
    let reply = send(&app(), get(REPORTS, &[("x-api-key", &key())])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["client"], "reports-client");
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let reply = send(&app(), get(REPORTS, &[("X-API-KEY", &key())])).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn wrong_key_is_refused() {
    let mut wrong = key();
    wrong.push('x');
    let reply = send(&app(), get(REPORTS, &[("x-api-key", &wrong)])).await;
    assert_problem(&reply, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        "ApiKey realm=\"items-api\", header=\"x-api-key\", error=\"invalid_key\""
    );
    assert!(!reply.text.contains(&wrong), "the key is echoed: {}", reply.text);
}

#[tokio::test]
async fn missing_key_gets_the_api_key_challenge() {
    let reply = send(&app(), get(REPORTS, &[])).await;
    assert_problem(&reply, 401);
    assert_eq!(reply.header("www-authenticate"), "ApiKey realm=\"items-api\", header=\"x-api-key\"");
    assert!(reply.body["detail"].as_str().unwrap().contains("x-api-key"));
}

#[tokio::test]
async fn key_in_the_query_string_is_never_accepted() {
    for parameter in ["api_key", "x-api-key", "apikey", "key"] {
        let path = format!("{REPORTS}?{parameter}={}", key());
        let reply = send(&app(), get(&path, &[])).await;
        assert_problem(&reply, 401);
    }
}

#[tokio::test]
async fn bearer_token_does_not_open_an_api_key_route() {
    let reply = send(&app(), get(REPORTS, &[("authorization", &bearer(&token("items:read items:write")))])).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").starts_with("ApiKey"), "{reply:?}");
}

#[tokio::test]
async fn two_key_headers_are_a_bad_request() {
    let reply = send(&app(), get(REPORTS, &[("x-api-key", &key()), ("x-api-key", &key())])).await;
    assert_problem(&reply, 400);
}

/// An empty or repeated key header is a malformed request (400), challenged with the route's
/// own scheme: an API-key route answered `WWW-Authenticate: Bearer ...`, a scheme it does not
/// accept.
#[tokio::test]
async fn an_empty_or_repeated_key_is_challenged_with_the_api_key_scheme() {
    let app = app();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("x-api-key", "")], "The API key header is empty or not valid text."),
        (&[("x-api-key", "   ")], "The API key header is empty or not valid text."),
        (&[("x-api-key", &key()), ("x-api-key", &key())], "Send exactly one API key header."),
        (&[("x-api-key", "one"), ("x-api-key", "")], "Send exactly one API key header."),
    ];
    for (headers, description) in cases {
        let reply = send(&app, get(REPORTS, headers)).await;
        assert_problem(&reply, 400);
        let challenges: Vec<_> =
            reply.headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap()).collect();
        assert_eq!(
            challenges,
            [format!(
                "ApiKey realm=\"items-api\", header=\"x-api-key\", error=\"invalid_request\", error_description=\"{description}\""
            )],
            "{headers:?}"
        );
    }
}
