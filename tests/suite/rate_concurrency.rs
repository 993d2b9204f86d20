//! Exactness under concurrency, in memory, over a real loopback socket: N + k requests sent at
//! once let exactly N through.

use std::net::SocketAddr;

use secure_api::SecureApp;
use secure_api::routing::get;
use secure_api::{SecureRouter, Security, public};

#[public(rate = "50/1h")]
async fn limited() -> &'static str {
    "ok"
}

pub fn app(security: Security) -> SecureApp {
    SecureRouter::new().route("/limited", get(limited)).with_state(security)
}

/// Serves `app` on a free loopback port until the test's runtime ends.
pub async fn serve(app: SecureApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// Sends `count` GETs at once to each of `addrs` in turn; returns (passed, limited).
pub async fn burst(addrs: &[SocketAddr], count: usize) -> (usize, usize) {
    let client = reqwest::Client::new();
    let requests = (0..count).map(|n| {
        let url = format!("http://{}/limited", addrs[n % addrs.len()]);
        let client = client.clone();
        tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
    });
    let statuses: Vec<u16> = futures_join(requests.collect()).await;
    let passed = statuses.iter().filter(|status| **status == 200).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(passed + limited, count, "only 200 and 429 expected: {statuses:?}");
    (passed, limited)
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(handles.len());
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn n_plus_k_concurrent_requests_let_exactly_n_through_in_memory() {
    let addr = serve(app(Security::builder().build())).await;
    assert_eq!(burst(&[addr], 80).await, (50, 30));
}
