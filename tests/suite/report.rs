//! The security inventory of the quickstart, from the recorded policies.

use secure_api::report::inventory;
use secure_api_examples::quickstart;

#[test]
fn quickstart_inventory_lists_every_route_with_its_policy() {
    let routes = quickstart::routes();
    let inventory = inventory(routes.routes());
    println!("{inventory}");
    let row = |method: &str, path: &str| {
        inventory.rows().iter().find(|row| row.method == method && row.path == path).cloned().expect("route listed")
    };
    assert_eq!(inventory.rows().len(), routes.routes().len());
    let health = row("GET", "/health");
    assert_eq!((health.auth.as_str(), health.public.as_str()), ("-", "yes"));
    let token = row("POST", "/oauth/token");
    assert_eq!((token.rate.as_str(), token.public.as_str()), ("10/1m", "yes"));
    // The token endpoint's own errors are RFC 6749 §5.2 bodies, declared with `errors = "oauth"`.
    assert_eq!(token.auth, "- +errors oauth");
    let create = row("POST", "/api/items");
    assert_eq!(create.auth, "oauth");
    assert_eq!(create.scopes, "items:write");
    assert_eq!(create.rate, "100/15m");
    assert_eq!(create.validation, "enforced");
    assert_eq!(create.body_limit, "16KiB");
    assert_eq!(create.public, "no");
    let reports = row("GET", "/api/reports");
    assert_eq!((reports.auth.as_str(), reports.rate.as_str()), ("api_key", "10/1m per api_key"));
    assert_eq!(row("GET", "/api/items").validation, "-");
    // The sender-constrained route says so; the others do not.
    assert_eq!(row("GET", "/api/account").auth, "oauth +bound any");
    assert_eq!(row("GET", "/api/items").auth, "oauth");
}
