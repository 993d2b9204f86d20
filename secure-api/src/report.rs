//! Reports built from the recorded route policies: the route inventory ([`inventory`]), and
//! with the `openapi` feature the OpenAPI security schemes and requirements.

use std::fmt;

use crate::auth::AuthScheme;
use crate::rate::RateKeyKind;
use crate::{policy::ErrorFormat, policy::RoutePolicy, policy::Validation, routing::RouteInfo};

/// The security inventory of an app: one row per route with what it enforces. Prints as a text
/// table (`Display`); the rows are also available as data.
///
/// # Examples
/// ```
/// use secure_api::routing::get;
/// use secure_api::{SecureRouter, secure};
///
/// #[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m")]
/// async fn list() -> &'static str { "[]" }
///
/// let routes: SecureRouter<secure_api::Security> = SecureRouter::new().route("/items", get(list));
/// let table = secure_api::report::inventory(routes.routes()).to_string();
/// assert!(table.starts_with("METHOD"));
/// assert!(table.contains("GET     /items  oauth  items:read  100/15m"));
/// ```
#[derive(Clone, Debug)]
pub struct Inventory {
    rows: Vec<InventoryRow>,
}

/// One route of the [`Inventory`], every cell as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryRow {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path as registered.
    pub path: String,
    /// Accepted schemes (`oauth`, `api_key`, `oauth|api_key`), `(optional)` when anonymous
    /// callers are admitted too, `+bound dpop` when only sender-constrained tokens are,
    /// `+acr urn:example:mfa|phr` and `+max_age 300s` for a step-up requirement (RFC 9470);
    /// `-` for a public route; `+errors oauth` when the handler's own errors are RFC 6749 §5.2
    /// bodies (`- +errors oauth` on the token endpoint).
    pub auth: String,
    /// Required scopes, space separated, or `-`.
    pub scopes: String,
    /// The rate limits as written (`100/15m`, several joined by ` + `), with their key when not
    /// the default (`per claim:tenant_id (else principal)`); or `-`.
    pub rate: String,
    /// `enforced`, `opted out` or `-`.
    pub validation: String,
    /// The body limit for validated bodies (`16KiB`), or `-`.
    pub body_limit: String,
    /// `allow ...` / `deny ...` networks, `threat off` when threat detection is off, or `-`.
    pub ip_rules: String,
    /// `yes` for a public route.
    pub public: String,
}

/// The inventory of `routes` (from [`SecureRouter::routes`](crate::SecureRouter::routes)).
pub fn inventory(routes: &[RouteInfo]) -> Inventory {
    Inventory { rows: routes.iter().map(row).collect() }
}

impl Inventory {
    /// The rows, one per route.
    pub fn rows(&self) -> &[InventoryRow] {
        &self.rows
    }
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".to_owned() } else { text }
}

/// `16384` as `16KiB`, `1048576` as `1MiB`, otherwise bytes.
fn bytes(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{}MiB", size >> 20)
    } else if size >= 1 << 10 && size.is_multiple_of(1 << 10) {
        format!("{}KiB", size >> 10)
    } else {
        format!("{size}B")
    }
}

/// The schemes of a policy as the `auth` argument writes them.
pub(crate) fn schemes(policy: &RoutePolicy) -> Vec<&'static str> {
    policy.auth().iter().map(|scheme| scheme_name(*scheme)).collect()
}

fn scheme_name(scheme: AuthScheme) -> &'static str {
    scheme.attribute_name()
}

fn row(route: &RouteInfo) -> InventoryRow {
    let policy = &route.policy;
    let auth = if policy.is_public() {
        "-".to_owned()
    } else {
        let mut auth = schemes(policy).join("|");
        if policy.is_auth_optional() {
            auth.push_str(" (optional)");
        }
        if let Some(check) = policy.authorize() {
            auth.push_str(&format!(" +authorize {check}"));
        }
        if let Some(binding) = policy.binding() {
            auth.push_str(&format!(" +bound {}", binding.as_str()));
        }
        if !policy.acr_values().is_empty() {
            auth.push_str(&format!(" +acr {}", policy.acr_values().join("|")));
        }
        if let Some(seconds) = policy.max_age() {
            auth.push_str(&format!(" +max_age {seconds}s"));
        }
        auth
    };
    // The handler's own error format, when it is not the one every rejection uses.
    let auth = match policy.error_format() {
        ErrorFormat::Problem => auth,
        format => format!("{auth} +errors {}", format.as_str()),
    };
    let rates = policy.rates().iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ");
    let rate = match policy.rate_key() {
        _ if rates.is_empty() => String::new(),
        RateKeyKind::Default => rates,
        // The fallback is part of the choice: a token without the claim is counted alone.
        RateKeyKind::Claim(name) => format!("{rates} per claim:{name} (else principal)"),
        key => format!("{rates} per {key}"),
    };
    let validation = match policy.validation() {
        Validation::Undeclared => "-",
        Validation::Enforced => "enforced",
        Validation::OptedOut => "opted out",
    };
    let takes_body = matches!(route.method, http::Method::POST | http::Method::PUT | http::Method::PATCH);
    let body_limit = if policy.validation() == Validation::Undeclared || !takes_body {
        String::new()
    } else {
        bytes(policy.max_body())
    };
    let join = |label: &str, cidrs: &[crate::ip_rules::Cidr]| {
        if cidrs.is_empty() {
            String::new()
        } else {
            format!("{label} {}", cidrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
        }
    };
    let mut ip_rules: Vec<String> = [join("allow", policy.allow_ips()), join("deny", policy.deny_ips())]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if !policy.threat_detection() {
        ip_rules.push("threat off".to_owned());
    }
    InventoryRow {
        method: route.method.to_string(),
        path: route.path.clone(),
        auth,
        scopes: or_dash(policy.scopes().join(" ")),
        rate: or_dash(rate),
        validation: validation.to_owned(),
        body_limit: or_dash(body_limit),
        ip_rules: or_dash(ip_rules.join("; ")),
        public: if policy.is_public() { "yes" } else { "no" }.to_owned(),
    }
}

impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["METHOD", "PATH", "AUTH", "SCOPES", "RATE", "VALIDATION", "BODY LIMIT", "IP RULES", "PUBLIC"];
        let cells: Vec<[String; 9]> = self
            .rows
            .iter()
            .map(|row| {
                [
                    row.method.clone(),
                    row.path.clone(),
                    row.auth.clone(),
                    row.scopes.clone(),
                    row.rate.clone(),
                    row.validation.clone(),
                    row.body_limit.clone(),
                    row.ip_rules.clone(),
                    row.public.clone(),
                ]
            })
            .collect();
        table(f, &header, &cells)
    }
}

/// Writes `rows` under `header` as a left-aligned text table.
pub(crate) fn table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: &[&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: &mut dyn Iterator<Item = &str>| -> fmt::Result {
        let mut first = true;
        let mut text = String::new();
        for (cell, width) in cells.zip(widths) {
            if !first {
                text.push_str("  ");
            }
            first = false;
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars().count())));
        }
        writeln!(f, "{}", text.trim_end())
    };
    line(f, &mut header.iter().copied())?;
    for row in rows {
        line(f, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_their_largest_whole_unit() {
        assert_eq!(bytes(16 * 1024), "16KiB");
        assert_eq!(bytes(1 << 20), "1MiB");
        assert_eq!(bytes(1000), "1000B");
    }
}
