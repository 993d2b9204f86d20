//! Security response headers, added to every response by the [`SecurityLayer`](crate::SecurityLayer).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

const X_POWERED_BY: HeaderName = HeaderName::from_static("x-powered-by");
const X_ASPNET_VERSION: HeaderName = HeaderName::from_static("x-aspnet-version");

/// The security headers added to every response, and HSTS for responses served over HTTPS.
///
/// Defaults follow OWASP's REST guidance: `X-Content-Type-Options: nosniff`,
/// `Cache-Control: no-store` (unless the handler set its own), `Referrer-Policy: no-referrer`,
/// `X-Frame-Options: DENY`, `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`,
/// and `Strict-Transport-Security: max-age=31536000; includeSubDomains` only when the request
/// came over HTTPS (RFC 6797 §7.2 forbids HSTS over plain HTTP).
///
/// # Examples
/// ```
/// use secure_api::SecurityHeaders;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// SecurityHeaders::default().apply(&mut headers, false);
/// assert_eq!(headers["x-content-type-options"], "nosniff");
/// assert!(headers.get("strict-transport-security").is_none());
///
/// SecurityHeaders::default().apply(&mut headers, true);
/// assert_eq!(headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
/// ```
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    always: Vec<(HeaderName, HeaderValue)>,
    hsts: Option<HeaderValue>,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self {
            always: vec![
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
                (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
                ),
            ],
            hsts: Some(HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

impl SecurityHeaders {
    /// Adds `preload` to HSTS (only do this once the domain is ready for the preload list).
    pub fn hsts_preload(mut self) -> Self {
        self.hsts = Some(HeaderValue::from_static("max-age=31536000; includeSubDomains; preload"));
        self
    }

    /// Sets the HSTS policy sent over HTTPS: `max-age` in seconds, optionally
    /// `includeSubDomains` and `preload`.
    ///
    /// # Examples
    /// ```
    /// use secure_api::SecurityHeaders;
    /// use http::HeaderMap;
    ///
    /// let headers = SecurityHeaders::default().hsts(86_400, false, false);
    /// let mut map = HeaderMap::new();
    /// headers.apply(&mut map, true);
    /// assert_eq!(map["strict-transport-security"], "max-age=86400");
    /// ```
    pub fn hsts(mut self, max_age_seconds: u64, include_subdomains: bool, preload: bool) -> Self {
        let mut value = format!("max-age={max_age_seconds}");
        if include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if preload {
            value.push_str("; preload");
        }
        // Digits, letters, `=`, `;` and spaces: always a valid header value.
        self.hsts = HeaderValue::from_str(&value).ok();
        self
    }

    /// Sends no HSTS at all (for example when a proxy in front already adds it).
    pub fn without_hsts(mut self) -> Self {
        self.hsts = None;
        self
    }

    /// Stops adding one of the default headers (for example `content-security-policy` for an
    /// app that serves HTML with its own policy).
    pub fn remove(mut self, name: &HeaderName) -> Self {
        self.always.retain(|(existing, _)| existing != name);
        self
    }

    /// Sets (or replaces) a header added to every response that does not already have it.
    pub fn set(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.always.retain(|(existing, _)| *existing != name);
        self.always.push((name, value));
        self
    }

    /// How many headers [`apply`](Self::apply) may add, to reserve room for them up front.
    pub(crate) fn max_added(&self) -> usize {
        self.always.len() + 1
    }

    /// Adds the headers to `headers`; a value the handler already set is kept.
    pub fn apply(&self, headers: &mut HeaderMap, https: bool) {
        // One growth of the map instead of several, and one lookup per header.
        headers.reserve(self.always.len() + 1);
        for (name, value) in &self.always {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        if https && let Some(hsts) = &self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        // Never HSTS over plain HTTP, even if a handler tried (RFC 6797 §7.2), and no header
        // that reveals the server software (hyper sends none; handlers or proxies might). They
        // are almost never there: one look at the names present is cheaper than a hashed
        // removal per name on every response.
        let unwanted = |name: &HeaderName| {
            (*name == header::STRICT_TRANSPORT_SECURITY && !https)
                || *name == header::SERVER
                || *name == X_POWERED_BY
                || *name == X_ASPNET_VERSION
        };
        if headers.keys().any(unwanted) {
            for name in [header::STRICT_TRANSPORT_SECURITY, header::SERVER, X_POWERED_BY, X_ASPNET_VERSION] {
                if unwanted(&name) {
                    headers.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn software_banners_and_plain_http_hsts_are_removed_handler_values_kept() {
        let mut plain = headers(&[
            ("x-aspnet-version", "4.0"),
            ("server", "nginx"),
            ("strict-transport-security", "max-age=1"),
            ("x-frame-options", "SAMEORIGIN"),
        ]);
        SecurityHeaders::default().apply(&mut plain, false);
        for gone in ["x-aspnet-version", "server", "strict-transport-security", "x-powered-by"] {
            assert!(plain.get(gone).is_none(), "{gone}");
        }
        assert_eq!(plain["x-frame-options"], "SAMEORIGIN", "a handler's own value is kept");
        assert_eq!(plain["x-content-type-options"], "nosniff");

        let mut https = headers(&[("x-powered-by", "PHP")]);
        SecurityHeaders::default().apply(&mut https, true);
        assert!(https.get("x-powered-by").is_none());
        assert_eq!(https["strict-transport-security"], "max-age=31536000; includeSubDomains");
        assert_eq!(https.len(), 6, "five security headers and HSTS: {https:?}");
    }
}
