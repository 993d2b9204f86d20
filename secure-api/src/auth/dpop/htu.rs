//! The `htu` comparison (RFC 9449 §4.3): the request's URL without query and fragment, with the
//! scheme and host in lower case and a default port removed (RFC 3986 §6.2.2–6.2.3).

/// `url` normalised for comparison: `scheme://host[:port]/path`, or `None` when it is not an
/// absolute `http`/`https` URL.
///
/// ```
/// # use secure_api::auth::dpop::normalize_htu;
/// assert_eq!(normalize_htu("HTTPS://API.Example:443/items?x=1#f").as_deref(), Some("https://api.example/items"));
/// assert_eq!(normalize_htu("http://127.0.0.1:3000").as_deref(), Some("http://127.0.0.1:3000/"));
/// assert_eq!(normalize_htu("/items"), None);
/// ```
pub fn normalize_htu(url: &str) -> Option<String> {
    // The fragment is never part of the target; cut it before parsing.
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    let uri: http::Uri = without_fragment.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        // Userinfo has no place in an htu (and would make two spellings of one URL).
        return None;
    }
    Some(format!("{scheme}://{}{}", host_port(&scheme, authority.host(), authority.port_u16())?, path_of(uri.path())))
}

/// The URL this request was sent to, as a client computes `htu`: `https` when the request came
/// over TLS (directly or per a trusted proxy), the `Host` (or HTTP/2 `:authority`), the path
/// as the client sent it: under `nest`, axum strips the prefix from the request's URI and keeps
/// the original in `OriginalUri`.
pub(crate) fn request_htu(parts: &http::request::Parts, https: bool) -> Option<String> {
    let path =
        parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |original| original.path());
    let scheme = if https { "https" } else { "http" };
    let authority: http::uri::Authority = match parts.uri.authority() {
        Some(authority) => authority.clone(),
        None => parts.headers.get(http::header::HOST)?.to_str().ok()?.parse().ok()?,
    };
    if authority.as_str().contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}{}", host_port(scheme, authority.host(), authority.port_u16())?, path_of(path)))
}

fn host_port(scheme: &str, host: &str, port: Option<u16>) -> Option<String> {
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(match port {
        Some(port) if port != default => format!("{host}:{port}"),
        _ => host,
    })
}

/// An empty path is `/` (RFC 3986 §6.2.3).
fn path_of(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, host: Option<&str>) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(uri);
        if let Some(host) = host {
            builder = builder.header(http::header::HOST, host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    /// Under `nest`, the path the client sent (and signed) is the original one, not the one
    /// axum hands the nested router.
    #[test]
    fn a_nested_route_is_compared_with_the_path_the_client_sent() {
        let mut nested = parts("/items", Some("api.example"));
        nested.extensions.insert(axum::extract::OriginalUri("/v1/items?page=2".parse().unwrap()));
        assert_eq!(request_htu(&nested, true).as_deref(), Some("https://api.example/v1/items"));
        assert_eq!(
            request_htu(&parts("/items", Some("api.example")), true).as_deref(),
            Some("https://api.example/items")
        );
    }

    #[test]
    fn scheme_and_host_are_case_insensitive_and_default_ports_vanish() {
        assert_eq!(normalize_htu("HTTP://Example.COM:80/a/B").as_deref(), Some("http://example.com/a/B"));
        assert_eq!(normalize_htu("https://example.com:8443/a").as_deref(), Some("https://example.com:8443/a"));
        assert_eq!(normalize_htu("https://example.com:80/a").as_deref(), Some("https://example.com:80/a"));
    }

    #[test]
    fn query_and_fragment_are_ignored_and_other_urls_refused() {
        assert_eq!(normalize_htu("https://a.example/p?q=1#frag").as_deref(), Some("https://a.example/p"));
        assert_eq!(normalize_htu("ftp://a.example/p"), None);
        assert_eq!(normalize_htu("https://user@a.example/p"), None);
        assert_eq!(normalize_htu("not a url"), None);
    }

    #[test]
    fn the_request_url_comes_from_the_host_header_and_the_tls_flag() {
        let request = parts("/api/items?page=2", Some("API.example:443"));
        assert_eq!(request_htu(&request, true).as_deref(), Some("https://api.example/api/items"));
        assert_eq!(request_htu(&request, false).as_deref(), Some("http://api.example:443/api/items"));
        assert_eq!(request_htu(&parts("/x", None), false), None);
        let absolute = parts("http://127.0.0.1:3000/x", Some("ignored.example"));
        assert_eq!(request_htu(&absolute, false).as_deref(), Some("http://127.0.0.1:3000/x"));
    }
}
