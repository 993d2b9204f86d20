//! The self-scan over every route of the quickstart: each route answers every attack the way
//! its declared policy says.

use secure_api::testing::{Probe, ScanCredentials, TokenFactory, Verdict, scan};
use secure_api_examples::quickstart;

use crate::common::{app, config};

/// What a user writes: the scan credentials for their test configuration...
pub fn credentials() -> ScanCredentials {
    let config = config();
    let tokens = TokenFactory::hs256(config.jwt_secret.expose(), config.issuer.clone(), config.audience.clone());
    ScanCredentials::new(tokens).api_key(config.api_key.expose().clone(), ["reports:read"])
}

#[tokio::test]
async fn every_quickstart_route_holds_its_declared_policy() {
    let routes = quickstart::routes();
    // ...and the one line.
    let report = scan(routes.routes(), &app(), &credentials()).await;
    println!("{report}");
    report.assert_clean();

    // Every route was scanned, and the attacks that apply to each ran.
    for route in routes.routes() {
        let ran = |probe: Probe| {
            report.rows().iter().any(|row| {
                row.method == route.method
                    && row.path == route.path
                    && row.probe == probe
                    && row.verdict == Verdict::Pass
            })
        };
        assert!(ran(Probe::NoCredentials), "{} {}", route.method, route.path);
        if route.policy.rate().is_some() {
            assert!(ran(Probe::RateBurst), "{} {} burst", route.method, route.path);
        }
        if !route.policy.is_public() {
            assert!(ran(Probe::BearerOnApiKeyRoute) || ran(Probe::AlgNone), "{} {}", route.method, route.path);
        }
    }
    for probe in
        [Probe::MalformedJson, Probe::WrongType, Probe::UnknownField, Probe::OversizedBody, Probe::WrongContentType]
    {
        assert!(report.rows().iter().any(|row| row.probe == probe && row.verdict == Verdict::Pass), "{probe}");
    }
    assert!(report.rows().iter().any(|row| row.probe == Probe::ApiKeyOnBearerRoute && row.verdict == Verdict::Pass));
    assert!(report.rows().iter().any(|row| row.probe == Probe::SqlInjection && row.verdict == Verdict::Pass));
    assert!(report.to_string().starts_with("METHOD"));
}
