//! Proof that the self-scan finds things: deliberately broken routes, each caught.

use axum::body::Bytes;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, map_response};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use secure_api::routing::{get, post};
use secure_api::testing::{Probe, ScanReport, scan};
use secure_api::{SecureRouter, Security, secure};
use secure_api_examples::quickstart;

use crate::common::config;
use crate::scan::credentials;

/// Scans a one-route app built on the quickstart's security configuration.
async fn scan_app(routes: SecureRouter<Security>) -> ScanReport {
    let security = quickstart::security(&config()).expect("test config is valid");
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(security);
    let report = scan(&recorded, &app, &credentials()).await;
    println!("{report}");
    report
}

fn assert_found(report: &ScanReport, method: Method, path: &str, probe: Probe, reason: &str) {
    let row = report.finding(&method, path, probe).unwrap_or_else(|| panic!("no {probe} finding:\n{report}"));
    assert!(row.verdict.to_string().contains(reason), "{} lacks `{reason}`", row.verdict);
    let panic = std::panic::catch_unwind(|| report.assert_clean()).expect_err("assert_clean fails");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(&format!("{method} {path} [{probe}]")), "{message}");
}

/// A thing as clients send it.
#[secure_api::request]
#[derive(Debug)]
struct NewThing {
    #[validate(length(min = 1, max = 100))]
    name: String,
}

// 1. A handler whose body limit is undone: a layer turns the framework's 413 into a 200.

#[secure(auth = "oauth", scopes = ["items:write"], validate, max_body = "1KiB")]
async fn create_thing(axum::Json(_item): axum::Json<NewThing>) -> StatusCode {
    StatusCode::CREATED
}

async fn swallow_413(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

#[tokio::test]
async fn finds_a_body_limit_undone_by_a_layer() {
    let report =
        scan_app(SecureRouter::new().route("/things", post(create_thing).layer(map_response(swallow_413)))).await;
    assert_found(&report, Method::POST, "/things", Probe::OversizedBody, "expected 413");
    // The rest of the route still holds.
    assert!(report.finding(&Method::POST, "/things", Probe::MalformedJson).is_none());
}

// 1b. A route that opted out of validation and reads any raw body: its recorded limit is not
// enforced.

#[secure(auth = "oauth", scopes = ["items:write"], validate = false)]
async fn upload(_body: Bytes) -> StatusCode {
    StatusCode::OK
}

#[tokio::test]
async fn finds_a_raw_body_handler_ignoring_its_limit() {
    let report = scan_app(SecureRouter::new().route("/upload", post(upload))).await;
    assert_found(&report, Method::POST, "/upload", Probe::OversizedBody, "expected 413");
}

// 2. A route whose authentication a layer bypasses: it answers before the guard runs.

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn secret() -> &'static str {
    "secret"
}

async fn answer_everyone(_request: Request, _next: Next) -> Response {
    (StatusCode::OK, "welcome").into_response()
}

#[tokio::test]
async fn finds_authentication_bypassed_by_a_layer() {
    let report = scan_app(SecureRouter::new().route("/secret", get(secret).layer(from_fn(answer_everyone)))).await;
    assert_found(&report, Method::GET, "/secret", Probe::NoCredentials, "expected 401");
    for probe in [Probe::AlgNone, Probe::Expired, Probe::WrongAudience, Probe::OtherKey, Probe::Tampered] {
        assert_found(&report, Method::GET, "/secret", probe, "forged or wrong credential accepted");
    }
    assert_found(&report, Method::GET, "/secret", Probe::ApiKeyOnBearerRoute, "forged or wrong credential accepted");
    assert_found(&report, Method::GET, "/secret", Probe::InsufficientScope, "expected 403");
}

// 3. A handler that answers bad input with a 500 and its internals.

#[secure(auth = "oauth", scopes = ["items:write"], validate = false)]
async fn import(body: String) -> Response {
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(error) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("thread 'tokio' panicked at src/import.rs:9: {error:?}"))
                .into_response()
        }
    }
}

#[tokio::test]
async fn finds_a_server_error_on_bad_input() {
    let report = scan_app(SecureRouter::new().route("/import", post(import))).await;
    assert_found(&report, Method::POST, "/import", Probe::MalformedJson, "server error 500");
    let row = report.finding(&Method::POST, "/import", Probe::MalformedJson).expect("found");
    let verdict = row.verdict.to_string();
    assert!(verdict.contains("not application/problem+json") && verdict.contains("body leaks"), "{verdict}");
}

// A path parameter parsed by hand, answering a wrong value in plain text instead of a problem.
// (A typed `Path<u64>`, with or without `validate`, is answered with a 422 problem by the
// framework: the second test.)

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn get_thing_by_hand(axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) => id.to_string().into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad id").into_response(),
    }
}

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn get_thing(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    id.to_string()
}

#[tokio::test]
async fn finds_a_path_parameter_refused_outside_the_response_contract() {
    let report = scan_app(SecureRouter::new().route("/things/{id}", get(get_thing_by_hand))).await;
    assert_found(&report, Method::GET, "/things/{id}", Probe::WrongTypePathParam, "not application/problem+json");
}

#[tokio::test]
async fn a_typed_path_parameter_without_validate_is_refused_as_a_problem() {
    let report = scan_app(SecureRouter::new().route("/things/{id}", get(get_thing))).await;
    let row = report
        .rows()
        .iter()
        .find(|row| row.probe == Probe::WrongTypePathParam)
        .unwrap_or_else(|| panic!("the probe ran:\n{report}"));
    assert_eq!(row.got.map(|status| status.as_u16()), Some(422), "{report}");
    report.assert_clean();
}

// 6. Broken object-level authorization (OWASP API1): the quickstart's items have no owner, so
//    any caller with `items:read` reads anyone's item.

#[tokio::test]
async fn finds_an_object_another_principal_can_read() {
    use crate::common::{app, bearer, post_json, send, token};
    use serde_json::json;

    let app = app();
    // Alice creates an item...
    let created = send(
        &app,
        post_json(
            "/api/items",
            &json!({"name": "alice's", "price": 1.0}),
            &[("authorization", bearer(&token("items:write")).as_str())],
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].to_string();
    // ...and the scan asks for it as mallory.
    let tokens = secure_api::testing::TokenFactory::hs256(
        config().jwt_secret.expose(),
        config().issuer.clone(),
        config().audience.clone(),
    );
    let mallory = tokens.token_for("mallory", &["items:read"]);
    let credentials = credentials().object_owned_by_other("/api/items/{id}", &id, mallory);
    let report = scan(quickstart::routes().routes(), &app, &credentials).await;
    assert_found(&report, Method::GET, "/api/items/{id}", Probe::ObjectOwnedByOther, "OWASP API1");
    // Only the route of that path was probed.
    let probed: Vec<&str> = report
        .rows()
        .iter()
        .filter(|row| row.probe == Probe::ObjectOwnedByOther)
        .map(|row| row.path.as_str())
        .collect();
    assert_eq!(probed, ["/api/items/{id}"]);
}

mod owned {
    use axum::extract::Path;
    use http::StatusCode;
    use secure_api::{Principal, Problem, secure};

    /// Documents belong to their author; anyone else is told 404, so existence does not leak.
    #[secure(auth = "oauth", scopes = ["items:read"])]
    pub async fn get_document(principal: Principal, Path(id): Path<u64>) -> Result<String, Problem> {
        let owner = if id == 7 { "alice" } else { "nobody" };
        if principal.id() == owner {
            Ok(format!("document {id}"))
        } else {
            Err(Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found"))
        }
    }
}

#[tokio::test]
async fn an_owner_check_passes_the_object_probe_and_a_refused_token_is_reported() {
    let tokens = secure_api::testing::TokenFactory::hs256(
        config().jwt_secret.expose(),
        config().issuer.clone(),
        config().audience.clone(),
    );
    let mallory = tokens.token_for("mallory", &["items:read"]);
    let routes = || SecureRouter::new().route("/documents/{id}", get(owned::get_document));

    let report =
        scan_with(routes(), credentials().object_owned_by_other("/documents/{id}", "7", mallory.clone())).await;
    report.assert_clean();
    let row = report.rows().iter().find(|row| row.probe == Probe::ObjectOwnedByOther).expect("probed");
    assert_eq!(row.got, Some(StatusCode::NOT_FOUND));
    // The owner does get it: the 404 above is the check, not a missing document.
    let alice = tokens.token_for("alice", &["items:read"]);
    let security = quickstart::security(&config()).expect("valid config");
    let app = routes().with_state(security);
    let reply = crate::common::send(
        &app,
        crate::common::get("/documents/7", &[("authorization", crate::common::bearer(&alice).as_str())]),
    )
    .await;
    assert_eq!(reply.status, 200);

    // A token the app refuses proves nothing: reported, not passed.
    let report = scan_with(routes(), credentials().object_owned_by_other("/documents/{id}", "7", "not-a-token")).await;
    assert_found(&report, Method::GET, "/documents/{id}", Probe::ObjectOwnedByOther, "credentials were refused");
}

/// [`scan_app`] with other credentials.
async fn scan_with(routes: SecureRouter<Security>, credentials: secure_api::testing::ScanCredentials) -> ScanReport {
    let security = quickstart::security(&config()).expect("test config is valid");
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(security);
    let report = scan(&recorded, &app, &credentials).await;
    println!("{report}");
    report
}

// A hand-written resource server that verifies the token's signature and claims but forgets its
// certificate binding (RFC 8705 §3): any holder of a stolen certificate-bound token gets in.

async fn account_without_binding_check(
    axum::extract::State(verifier): axum::extract::State<secure_api::auth::JwtVerifier>,
    headers: http::HeaderMap,
) -> Response {
    let token =
        headers.get("authorization").and_then(|value| value.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|token| verifier.verify(token)) {
        Some(Ok(principal)) => principal.id().to_owned().into_response(),
        _ => secure_api::Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .with_header(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"))
            .into_response(),
    }
}

/// Scans a hand-written (not `SecureApp`) `GET /account` as if it were declared `#[secure(auth
/// = "oauth", bound = ...)]` with `binding`; the app sets `nosniff` itself, as the scan expects.
async fn scan_hand_written_account(app: axum::Router, binding: secure_api::policy::TokenBinding) -> ScanReport {
    use secure_api::auth::AuthScheme;
    use secure_api::policy::RoutePolicy;

    let app = app.layer(axum::middleware::map_response(|mut response: Response| async move {
        response.headers_mut().insert("x-content-type-options", http::HeaderValue::from_static("nosniff"));
        response
    }));
    let policy = RoutePolicy::secured("app::account").with_auth(&[AuthScheme::Bearer]).with_binding(binding);
    let routes = [secure_api::routing::RouteInfo { method: Method::GET, path: "/account".into(), policy }];
    let report = scan(&routes, &app, &credentials().without_threat_detection()).await;
    println!("{report}");
    report
}

#[tokio::test]
async fn finds_a_certificate_bound_token_accepted_without_its_certificate() {
    let app = axum::Router::new()
        .route("/account", axum::routing::get(account_without_binding_check))
        .with_state(crate::common::config_verifier());
    // What the route claims: certificate-bound tokens only.
    let report = scan_hand_written_account(app, secure_api::policy::TokenBinding::Mtls).await;
    assert_found(
        &report,
        Method::GET,
        "/account",
        Probe::CertificateBoundWithoutCertificate,
        "forged or wrong credential accepted",
    );
    assert_found(&report, Method::GET, "/account", Probe::OtherClientCertificate, "expected 401");
}

// A hand-written DPoP resource server (RFC 9449) that verifies the token and the proof (method,
// URL, `ath`, replay) but forgets to compare the proof's key with the token's `cnf.jkt` (§7.1):
// a stolen DPoP token works with the thief's own key.

async fn account_without_key_check(
    axum::extract::State((verifier, dpop)): axum::extract::State<(
        secure_api::auth::JwtVerifier,
        std::sync::Arc<secure_api::auth::dpop::DpopVerifier>,
    )>,
    request: Request,
) -> Response {
    use secure_api::auth::dpop::{ProofRequest, normalize_htu};
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let refused = || {
        secure_api::Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .with_header(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("DPoP algs=\"ES256 EdDSA\""))
            .into_response()
    };
    let (Some(token), Some(proof), Some(host)) =
        (header("authorization").and_then(|value| value.strip_prefix("DPoP ")), header("dpop"), header("host"))
    else {
        return refused();
    };
    let Some(htu) = normalize_htu(&format!("http://{host}{}", request.uri().path())) else { return refused() };
    let proof_request = ProofRequest { method: request.method(), htu: &htu, access_token: Some(token) };
    match (verifier.verify(token), dpop.verify(proof, &proof_request)) {
        // Missing: `proof.jkt == principal.claims()["cnf"]["jkt"]`.
        (Ok(principal), Ok(_proof)) => principal.id().to_owned().into_response(),
        _ => refused(),
    }
}

#[tokio::test]
async fn finds_a_dpop_token_accepted_with_another_keys_proof() {
    let state =
        (crate::common::config_verifier(), std::sync::Arc::new(secure_api::auth::dpop::DpopVerifier::default()));
    let app = axum::Router::new().route("/account", axum::routing::get(account_without_key_check)).with_state(state);
    // What the route claims: DPoP-bound tokens only.
    let report = scan_hand_written_account(app, secure_api::policy::TokenBinding::Dpop).await;
    assert_found(&report, Method::GET, "/account", Probe::ProofFromOtherKey, "expected 401");
    // The checks it does make hold, and the scan says so.
    for probe in [Probe::ProofForOtherMethod, Probe::ProofForOtherUrl, Probe::ReplayedProof, Probe::BoundTokenAsBearer]
    {
        let row = report.rows().iter().find(|row| row.probe == probe && row.path == "/account");
        assert!(row.is_some_and(|row| matches!(row.verdict, secure_api::testing::Verdict::Pass)), "{probe}:\n{report}");
    }
}

// An RFC 6749 §5.2 error body (`application/json` with an `error` code) is a finding on a route
// that did not declare it, and accepted from one that did (`errors = "oauth"`, as the token
// endpoint does): the scan reads the route's policy, never its handler's name.

mod oauth_errors {
    use axum::response::{IntoResponse, Response};
    use http::StatusCode;
    use secure_api::public;

    fn invalid_request() -> Response {
        (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"error": "invalid_request"}))).into_response()
    }

    #[public]
    pub async fn undeclared() -> Response {
        invalid_request()
    }

    #[public(errors = "oauth")]
    pub async fn declared() -> Response {
        invalid_request()
    }
}

#[tokio::test]
async fn oauth_error_bodies_pass_only_where_the_route_declares_them() {
    let report = scan_app(SecureRouter::new().route("/undeclared", post(oauth_errors::undeclared))).await;
    assert_found(&report, Method::POST, "/undeclared", Probe::NoCredentials, "not application/problem+json");

    let report = scan_app(SecureRouter::new().route("/token", post(oauth_errors::declared))).await;
    report.assert_clean();
    let inventory = secure_api::report::inventory(
        SecureRouter::<Security>::new().route("/token", post(oauth_errors::declared)).routes(),
    );
    assert_eq!(inventory.rows()[0].auth, "- +errors oauth");
}
