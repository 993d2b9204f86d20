//! The quickstart over a real loopback socket: the seed's client flow, unchanged.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::common::*;

/// Serves the quickstart on a free loopback port; returns its base URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(secure_api::serve(listener, app()));
    format!("http://{addr}")
}

#[tokio::test]
async fn seed_flow_token_then_api_calls() {
    let base = start().await;
    let config = config();
    let client = reqwest::Client::new();

    // requests.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, client_secret))
    let response = client
        .post(format!("{base}/oauth/token"))
        .basic_auth(&config.client_id, Some(config.client_secret.expose()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // response.json().get('access_token')
    let access_token = response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();

    let created = client
        .post(format!("{base}/api/items"))
        .bearer_auth(&access_token)
        .json(&json!({"name": "Widget", "price": 9.99}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let item: Value = created.json().await.unwrap();
    assert_eq!(item["name"], "Widget");

    let listed = client.get(format!("{base}/api/items")).bearer_auth(&access_token).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.json::<Value>().await.unwrap().as_array().unwrap().len(), 1);

    let one = client.get(format!("{base}/api/items/{}", item["id"])).bearer_auth(&access_token).send().await.unwrap();
    assert_eq!(one.status(), 200);

    let anonymous = client.get(format!("{base}/api/items")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"items-api\"");
    assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored_in_the_audit_identity() {
    // The quickstart trusts no proxy by default: the header must not change who the client is.
    let base = start().await;
    let response = reqwest::Client::new()
        .get(format!("{base}/health"))
        .header("x-forwarded-for", "203.0.113.66")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("strict-transport-security").is_none(), "forged proto must not enable HSTS");
}

/// `SECURE_API_AUDIT_FILE`: the audit trail in its own file, one JSON object per request with
/// the stable schema, over a real socket; written within moments, and never a credential.
#[tokio::test]
async fn audit_file_gets_one_json_line_per_request() {
    let path = std::env::temp_dir().join(format!("secure-api-suite-audit-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut config = config();
    config.audit_file = Some(path.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(secure_api::serve(listener, secure_api_examples::quickstart::app(&config).unwrap()));

    let client = reqwest::Client::new();
    let token = token("items:read");
    let listed = client.get(format!("{base}/api/items?page=1")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let request_id = listed.headers()["x-request-id"].to_str().unwrap().to_owned();
    let anonymous = client.get(format!("{base}/api/items")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // The writer thread writes whatever has queued every 20 ms.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let text = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 2 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first = lines[0].as_object().unwrap();
    let mut fields: Vec<&str> = secure_api::audit::FIELDS.to_vec();
    fields.sort_unstable();
    assert!(first.keys().map(String::as_str).eq(fields), "exactly the schema's fields: {first:?}");
    assert_eq!(first["request_id"], request_id.as_str());
    assert_eq!(
        (&first["route"], &first["status"], &first["principal"], &first["outcome"], &first["client_ip"]),
        (&json!("/api/items"), &json!(200), &json!("alice"), &json!("allowed"), &json!("127.0.0.1"))
    );
    assert_eq!(first["query"], "page=1");
    assert!(first["headers"].as_str().unwrap().contains("authorization=[redacted]"), "{first:?}");
    assert_eq!((&lines[1]["status"], &lines[1]["outcome"]), (&json!(401), &json!("denied:missing_credentials")));
    assert!(!text.contains(&token), "no token in the audit file");
    let _ = std::fs::remove_file(&path);
}
