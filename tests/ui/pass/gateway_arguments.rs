use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, public, secure};

#[public(allow_ips = ["10.0.0.0/8", "2001:db8::/32", "::1"], threat = false)]
async fn internal() -> &'static str {
    "internal"
}

#[secure(auth = "oauth", scopes = ["items:read"], allow_ips = ["10.0.0.0/8"], deny_ips = ["10.66.0.0/16"], threat = true)]
async fn items(principal: Principal) -> String {
    principal.id().to_owned()
}

fn main() {
    let router = SecureRouter::new().route("/internal", get(internal)).route("/items", get(items));
    let policy = router.routes()[1].policy;
    assert_eq!(policy.allow_ips()[0].to_string(), "10.0.0.0/8");
    assert_eq!(policy.deny_ips()[0].prefix(), 16);
    assert!(!router.routes()[0].policy.threat_detection());
    assert_eq!(router.routes()[0].policy.allow_ips()[1].to_string(), "2001:db8::/32");
    let _app = router.with_state(Security::builder().build());
}
