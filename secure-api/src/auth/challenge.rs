//! `WWW-Authenticate` challenges and the 401/403 problems that carry them (RFC 6750 §3).

use http::{HeaderValue, StatusCode, header};

use crate::audit::Outcome;
use crate::auth::AuthScheme;
use crate::problem::Problem;

/// What every challenge names: the protection space and the API-key header clients must use.
#[derive(Clone, Debug)]
pub(crate) struct Realm {
    pub(crate) name: String,
    pub(crate) api_key_header: http::HeaderName,
    /// The URL of the app's RFC 9728 metadata, named in every OAuth challenge when configured.
    pub(crate) resource_metadata: Option<String>,
}

/// Quotes a value for a challenge parameter (RFC 9110 §5.6.4): backslash-escape `"` and `\`,
/// and drop control characters so a value can never break the header.
pub(crate) fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A challenge for `scheme` with optional RFC 6750 error parameters.
pub(crate) fn challenge(
    scheme: AuthScheme,
    realm: &Realm,
    error: Option<(&str, &str)>,
    scope: Option<&str>,
) -> HeaderValue {
    match scope {
        Some(scope) => challenge_with(scheme, realm, error, &[("scope", scope)]),
        None => challenge_with(scheme, realm, error, &[]),
    }
}

/// A challenge for `scheme` with optional RFC 6750 error parameters and more `(name, value)`
/// parameters after them (`scope`, RFC 9470's `acr_values` and `max_age`), each value quoted.
pub(crate) fn challenge_with(
    scheme: AuthScheme,
    realm: &Realm,
    error: Option<(&str, &str)>,
    params: &[(&str, &str)],
) -> HeaderValue {
    let mut value = format!("{} realm={}", scheme.challenge_name(), quoted(&realm.name));
    if scheme == AuthScheme::ApiKey {
        value.push_str(&format!(", header={}", quoted(realm.api_key_header.as_str())));
    }
    let metadata = if scheme == AuthScheme::Bearer { realm.resource_metadata.as_deref() } else { None };
    push_parameters(&mut value, error, params, metadata);
    // Every part was quoted and stripped of control characters above.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The parameters after a challenge's scheme-specific ones, in this order: RFC 6750's `error`
/// and `error_description`, `params`, then RFC 9728's `resource_metadata`, each quoted.
fn push_parameters(value: &mut String, error: Option<(&str, &str)>, params: &[(&str, &str)], metadata: Option<&str>) {
    if let Some((code, description)) = error {
        value.push_str(&format!(", error={}", quoted(code)));
        if !description.is_empty() {
            value.push_str(&format!(", error_description={}", quoted(description)));
        }
    }
    for (name, param) in params {
        value.push_str(&format!(", {name}={}", quoted(param)));
    }
    if let Some(url) = metadata {
        value.push_str(&format!(", resource_metadata={}", quoted(url)));
    }
}

/// A `DPoP` challenge (RFC 9449 §7.1): the accepted proof algorithms (`algs`), optional error
/// parameters, more `(name, value)` parameters, and the RFC 9728 metadata URL when configured.
/// A token presented with the `DPoP` scheme is refused with this, not with a `Bearer` one.
pub(crate) fn dpop_challenge(
    algs: &str,
    realm: &Realm,
    error: Option<(&str, &str)>,
    params: &[(&str, &str)],
) -> HeaderValue {
    let mut value = format!("DPoP algs={}", quoted(algs));
    push_parameters(&mut value, error, params, realm.resource_metadata.as_deref());
    // Every part was quoted and stripped of control characters above.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
}

/// 401 for a request that sent no credentials: one challenge per accepted scheme, no `error`
/// attribute (RFC 6750 §3.1: "the resource server SHOULD NOT include an error code").
pub(crate) fn missing_credentials(schemes: &[AuthScheme], realm: &Realm) -> Problem {
    let mut problem = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
        .with_detail(match schemes {
            [AuthScheme::ApiKey] => format!("This route requires an API key in the {} header.", realm.api_key_header),
            _ => "This route requires credentials: send an access token as `Authorization: Bearer <token>`.".to_owned(),
        })
        .with_outcome(Outcome::DENIED_MISSING_CREDENTIALS);
    for scheme in schemes {
        problem = problem.with_header(header::WWW_AUTHENTICATE, challenge(*scheme, realm, None, None));
    }
    problem
}

/// [`invalid_credentials`] for an access token presented with the `DPoP` scheme: the same
/// problem, with a `DPoP` challenge (RFC 9449 §7.1).
pub(crate) fn invalid_dpop_token(algs: &str, realm: &Realm, description: &str) -> Problem {
    let mut problem = invalid_credentials(AuthScheme::Bearer, realm, description);
    problem.replace_header(
        header::WWW_AUTHENTICATE,
        dpop_challenge(algs, realm, Some(("invalid_token", description)), &[]),
    );
    problem
}

/// [`insufficient_scope`] for an access token presented with the `DPoP` scheme.
pub(crate) fn insufficient_scope_dpop(algs: &str, realm: &Realm, required: &[&str]) -> Problem {
    let mut problem = insufficient_scope(AuthScheme::Bearer, realm, required);
    let scope = required.join(" ");
    let error = Some(("insufficient_scope", "The access token lacks a required scope."));
    problem.replace_header(header::WWW_AUTHENTICATE, dpop_challenge(algs, realm, error, &[("scope", &scope)]));
    problem
}

/// 401 `invalid_token` (or the API-key equivalent) with a description safe for the client.
pub(crate) fn invalid_credentials(scheme: AuthScheme, realm: &Realm, description: &str) -> Problem {
    let (outcome, detail) = match scheme {
        AuthScheme::Bearer => (Outcome::DENIED_INVALID_TOKEN, "The access token is not valid."),
        AuthScheme::ApiKey => (Outcome::DENIED_INVALID_API_KEY, "The API key is not valid."),
    };
    let code = match scheme {
        AuthScheme::Bearer => "invalid_token",
        AuthScheme::ApiKey => "invalid_key",
    };
    Problem::new(StatusCode::UNAUTHORIZED, "invalid-credentials", "Unauthorized")
        .with_detail(format!("{detail} {description}").trim_end().to_owned())
        .with_header(header::WWW_AUTHENTICATE, challenge(scheme, realm, Some((code, description)), None))
        .with_outcome(outcome)
}

/// 400 `invalid_request`: the credential header of `malformed` (`Authorization`, or the API-key
/// header) is itself malformed: empty, sent twice, not text (RFC 6750 §3.1). The client is
/// challenged with every scheme the route accepts (`schemes`), the error on the one at fault:
/// an API-key route never answers with a `Bearer` challenge it would not accept.
pub(crate) fn invalid_request(
    schemes: &[AuthScheme],
    malformed: AuthScheme,
    realm: &Realm,
    description: &str,
) -> Problem {
    let mut problem = Problem::new(StatusCode::BAD_REQUEST, "invalid-request", "Bad Request")
        .with_detail(description.to_owned())
        .with_outcome(Outcome::DENIED_INVALID_REQUEST);
    for &scheme in schemes {
        let error = (scheme == malformed).then_some(("invalid_request", description));
        problem = problem.with_header(header::WWW_AUTHENTICATE, challenge(scheme, realm, error, None));
    }
    problem
}

/// 403 `insufficient_scope` naming every scope the route needs (RFC 6750 §3.1).
pub(crate) fn insufficient_scope(scheme: AuthScheme, realm: &Realm, required: &[&str]) -> Problem {
    let scope = required.join(" ");
    Problem::new(StatusCode::FORBIDDEN, "insufficient-scope", "Forbidden")
        .with_detail(format!("This request requires the scope `{scope}`."))
        .with_extension("required_scope", scope.clone())
        .with_header(
            header::WWW_AUTHENTICATE,
            challenge(
                scheme,
                realm,
                Some(("insufficient_scope", "The access token lacks a required scope.")),
                Some(&scope),
            ),
        )
        .with_outcome(Outcome::DENIED_INSUFFICIENT_SCOPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm(name: &str) -> Realm {
        Realm {
            name: name.to_owned(),
            api_key_header: http::HeaderName::from_static("x-api-key"),
            resource_metadata: None,
        }
    }

    #[test]
    fn bearer_challenge_without_error() {
        assert_eq!(challenge(AuthScheme::Bearer, &realm("api"), None, None), "Bearer realm=\"api\"");
    }

    #[test]
    fn api_key_challenge_names_the_header() {
        assert_eq!(
            challenge(AuthScheme::ApiKey, &realm("api"), None, None),
            "ApiKey realm=\"api\", header=\"x-api-key\""
        );
    }

    #[test]
    fn quoting_cannot_break_out() {
        let value = challenge(AuthScheme::Bearer, &realm("a\"b\\c\r\nd"), None, None);
        assert_eq!(value, "Bearer realm=\"a\\\"b\\\\cd\"");
    }

    #[test]
    fn invalid_request_challenges_with_the_routes_schemes() {
        let challenges = |schemes: &[AuthScheme], malformed| {
            let response = axum::response::IntoResponse::into_response(invalid_request(
                schemes,
                malformed,
                &realm("api"),
                "Send exactly one API key header.",
            ));
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            response
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .map(|value| value.to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            challenges(&[AuthScheme::ApiKey], AuthScheme::ApiKey),
            [
                "ApiKey realm=\"api\", header=\"x-api-key\", error=\"invalid_request\", error_description=\"Send exactly one API key header.\""
            ]
        );
        assert_eq!(
            challenges(&[AuthScheme::Bearer, AuthScheme::ApiKey], AuthScheme::ApiKey),
            [
                "Bearer realm=\"api\"",
                "ApiKey realm=\"api\", header=\"x-api-key\", error=\"invalid_request\", error_description=\"Send exactly one API key header.\""
            ]
        );
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let value = challenge(AuthScheme::Bearer, &realm("api"), Some(("insufficient_scope", "")), Some("items:write"));
        assert_eq!(value, "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"items:write\"");
    }
}
