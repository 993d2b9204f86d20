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

/// The rows of `probe`.
fn rows_of(report: &secure_api::testing::ScanReport, probe: Probe) -> Vec<&secure_api::testing::ScanRow> {
    report.rows().iter().filter(|row| row.probe == probe).collect()
}

#[tokio::test]
async fn injection_probes_follow_the_apps_own_threat_setting() {
    use secure_api::testing::Expected;
    use secure_api::threat::ThreatMode;

    // Blocking (the quickstart's default): every injection is a 403, checked as such.
    let report = scan(quickstart::routes().routes(), &app(), &credentials()).await;
    let blocked = rows_of(&report, Probe::SqlInjection);
    assert!(!blocked.is_empty());
    assert!(blocked.iter().all(|row| row.expected == Expected::Status(403) && row.verdict == Verdict::Pass));

    // Log-only: the same app lets injections through to the handler; the scan reads that from
    // the app and holds it to "handled, no 5xx", with no findings. (It expected 403 and
    // reported every route before.)
    let mut config = config();
    config.threat_mode = ThreatMode::LogOnly;
    let logging = quickstart::app(&config).expect("valid config");
    let report = scan(logging.routes(), &logging, &credentials()).await;
    report.assert_clean();
    let handled = rows_of(&report, Probe::XssInjection);
    assert!(!handled.is_empty());
    assert!(handled.iter().all(|row| row.expected == Expected::Handled), "{report}");
    assert!(handled.iter().any(|row| row.got.is_some_and(|status| status.is_success())), "{report}");

    // Said explicitly for an app the scan cannot look into: skipped.
    let report = scan(logging.routes(), &logging, &credentials().without_threat_detection()).await;
    assert!(rows_of(&report, Probe::XssInjection).is_empty());
    assert!(rows_of(&report, Probe::SqlInjection).iter().all(|row| matches!(row.verdict, Verdict::Skipped(_))));
}

mod tight {
    use axum::Json;
    use secure_api::secure;

    #[secure_api::request]
    pub struct Note {
        #[validate(length(max = 20))]
        pub text: String,
    }

    /// Two requests a minute per principal: fewer than the scan's probes of this route.
    #[secure(auth = "oauth", scopes = ["notes:write"], rate = "2/1m", validate)]
    pub async fn add_note(Json(note): Json<Note>) -> String {
        note.text
    }

    /// Two requests a minute per client address.
    #[secure(auth = "oauth", scopes = ["notes:read"], rate = "2/1m", key = "ip")]
    pub async fn list_notes() -> &'static str {
        "[]"
    }
}

#[tokio::test]
async fn each_probe_gets_a_fresh_rate_budget() {
    use secure_api::routing::{get, post};

    let routes = secure_api::SecureRouter::new()
        .route("/notes", post(tight::add_note))
        .route("/notes/all", get(tight::list_notes));
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(quickstart::security(&config()).expect("valid config"));
    let report = scan(&recorded, &app, &credentials()).await;
    report.assert_clean();
    // Far more probes than the budget of 2 ran, and only the burst met a 429.
    let post_rows = report.rows().iter().filter(|row| row.path == "/notes" && row.got.is_some()).count();
    assert!(post_rows > 6, "{report}");
    for row in report.rows().iter().filter(|row| row.probe != Probe::RateBurst) {
        assert_ne!(row.got.map(|status| status.as_u16()), Some(429), "{report}");
    }
    assert_eq!(rows_of(&report, Probe::RateBurst).len(), 2);
}
