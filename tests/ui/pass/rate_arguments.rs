//! Every form of `rate` and `key` compiles, on both attributes, and ends up in the policy.

use secure_api::rate::{RateKeyKind, RateSpec};
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, public, secure};

#[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m")]
async fn per_principal(_principal: Principal) {}

#[secure(auth = "oauth | api_key", rate = "5000/1d", key = "api_key")]
async fn per_api_key() {}

#[secure(auth = "oauth", rate = "10/1s", key = "ip")]
async fn per_ip() {}

#[secure(auth = "api_key", rate = "60/m", key = "principal")]
async fn per_minute() {}

#[public(rate = "10/1m")]
async fn token() {}

#[public(rate = "1/365d", key = "header:X-Tenant")]
async fn per_tenant() {}

fn main() {
    let router: SecureRouter<Security> = SecureRouter::new()
        .route("/a", get(per_principal))
        .route("/b", get(per_api_key))
        .route("/c", get(per_ip))
        .route("/d", get(per_minute))
        .route("/e", get(token))
        .route("/f", get(per_tenant));
    let policies: Vec<_> = router.routes().iter().map(|route| (route.policy.rate(), route.policy.rate_key())).collect();
    assert_eq!(
        policies,
        [
            (Some(RateSpec::new(100, 900)), RateKeyKind::Default),
            (Some(RateSpec::new(5000, 86_400)), RateKeyKind::ApiKey),
            (Some(RateSpec::new(10, 1)), RateKeyKind::Ip),
            (Some(RateSpec::new(60, 60)), RateKeyKind::Principal),
            (Some(RateSpec::new(10, 60)), RateKeyKind::Default),
            (Some(RateSpec::new(1, 365 * 86_400)), RateKeyKind::Header("x-tenant")),
        ]
    );
}
