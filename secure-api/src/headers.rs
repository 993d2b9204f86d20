//! Security response headers, added to every response by the [`SecurityLayer`](crate::layer::SecurityLayer).

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
/// use secure_api::headers::SecurityHeaders;
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
    /// use secure_api::headers::SecurityHeaders;
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

    /// Adds the headers to `headers`; a value the handler already set is kept.
    pub fn apply(&self, headers: &mut HeaderMap, https: bool) {
        // One growth of the map instead of several, and one lookup per header.
        headers.reserve(self.always.len() + 1);
        for (name, value) in &self.always {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        // Banners and plain-HTTP HSTS are almost never there: one look at the names present is
        // cheaper than a hashed removal per name on every response.
        if headers.keys().any(|name| self.refuses(name, https)) {
            for name in [header::STRICT_TRANSPORT_SECURITY, header::SERVER, X_POWERED_BY, X_ASPNET_VERSION] {
                if self.refuses(&name, https) {
                    headers.remove(name);
                }
            }
        }
        if https && let Some(hsts) = &self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
    }

    /// A header a response must not carry as its handler set it: HSTS over plain HTTP (RFC
    /// 6797 §7.2) or where ours replaces it, and headers that reveal the server software
    /// (hyper sends none; handlers or proxies might).
    fn refuses(&self, name: &HeaderName, https: bool) -> bool {
        (*name == header::STRICT_TRANSPORT_SECURITY && (!https || self.hsts.is_some()))
            || *name == header::SERVER
            || *name == X_POWERED_BY
            || *name == X_ASPNET_VERSION
    }
}

/// [`SecurityHeaders`] made ready for the layer: one finished header map per scheme, built at
/// start-up.
///
/// Each response's header map is a clone of the right one (two allocations and a copy) with the
/// layer's per-request fields and then the handler's headers put in: inserting the security
/// headers one by one into the handler's map cost a growth of that map and a hashed lookup
/// per header on every response, the largest single cost of the layer (BENCHMARKS.md).
#[derive(Debug)]
pub(crate) struct PreparedHeaders {
    rules: SecurityHeaders,
    plain: HeaderMap,
    https: HeaderMap,
}

/// Room for the security headers, the layer's own fields and the handler's usual few without
/// the index table growing.
const PREPARED_CAPACITY: usize = 24;

impl PreparedHeaders {
    pub(crate) fn new(rules: SecurityHeaders) -> Self {
        let mut plain = HeaderMap::with_capacity(PREPARED_CAPACITY);
        rules.apply(&mut plain, false);
        let mut https = HeaderMap::with_capacity(PREPARED_CAPACITY);
        rules.apply(&mut https, true);
        Self { rules, plain, https }
    }

    /// The security headers for a response sent over HTTPS or not, to which the layer adds
    /// its RateLimit fields before [`merge_response`](Self::merge_response).
    pub(crate) fn start(&self, https: bool) -> HeaderMap {
        if https { self.https.clone() } else { self.plain.clone() }
    }

    /// Moves the handler's `own` headers into `headers` (made by [`start`](Self::start)): the
    /// handler's value of a security header or of a RateLimit field wins, as with
    /// [`SecurityHeaders::apply`], and the headers [`SecurityHeaders`] refuses are dropped.
    /// Every value of a repeated header is kept.
    pub(crate) fn merge_response(&self, own: HeaderMap, headers: &mut HeaderMap, https: bool) {
        // `into_iter` names a header once, before its first value; `None` for the values after.
        let mut moving: Option<HeaderName> = None;
        for (name, value) in own {
            match name {
                Some(name) => {
                    if self.rules.refuses(&name, https) {
                        moving = None;
                    } else {
                        headers.insert(&name, value);
                        moving = Some(name);
                    }
                }
                None => {
                    if let Some(name) = &moving {
                        headers.append(name, value);
                    }
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

    /// What the layer does to every response: `start`, then the handler's headers merged in.
    fn prepared(own: &[(&'static str, &'static str)], https: bool) -> HeaderMap {
        let prepared = PreparedHeaders::new(SecurityHeaders::default());
        let mut merged = prepared.start(https);
        prepared.merge_response(headers(own), &mut merged, https);
        merged
    }

    #[test]
    fn prepared_headers_keep_the_handlers_values_and_drop_what_apply_drops() {
        let own = [
            ("content-type", "application/json"),
            ("cache-control", "private, max-age=60"),
            ("server", "nginx"),
            ("x-powered-by", "PHP"),
            ("strict-transport-security", "max-age=1"),
        ];
        for https in [false, true] {
            let merged = prepared(&own, https);
            let mut applied = headers(&own);
            SecurityHeaders::default().apply(&mut applied, https);
            assert_eq!(merged.len(), applied.len(), "https={https}: {merged:?}");
            for (name, value) in &applied {
                assert_eq!(merged.get_all(name).iter().collect::<Vec<_>>(), vec![value], "https={https} {name}");
            }
            assert_eq!(merged["cache-control"], "private, max-age=60");
            assert!(merged.get("server").is_none() && merged.get("x-powered-by").is_none());
        }
        assert!(prepared(&own, false).get("strict-transport-security").is_none(), "never HSTS over plain HTTP");
        assert_eq!(prepared(&own, true)["strict-transport-security"], "max-age=31536000; includeSubDomains");
    }

    #[test]
    fn prepared_headers_keep_every_value_of_a_repeated_header() {
        let mut own = HeaderMap::new();
        own.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        own.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        own.append(header::SERVER, HeaderValue::from_static("one"));
        own.append(header::SERVER, HeaderValue::from_static("two"));
        own.append(header::VARY, HeaderValue::from_static("origin"));
        let prepared = PreparedHeaders::new(SecurityHeaders::default());
        let mut merged = prepared.start(false);
        prepared.merge_response(own, &mut merged, false);
        assert_eq!(merged.get_all(header::SET_COOKIE).iter().collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(merged.get_all(header::VARY).iter().collect::<Vec<_>>(), ["origin"]);
        assert!(merged.get(header::SERVER).is_none(), "every value of a refused header is dropped");
        assert_eq!(merged["x-frame-options"], "DENY");
    }

    #[test]
    fn prepared_headers_follow_the_configuration() {
        let rules = SecurityHeaders::default().without_hsts().remove(&header::CONTENT_SECURITY_POLICY);
        let prepared = PreparedHeaders::new(rules);
        let mut merged = prepared.start(true);
        prepared.merge_response(headers(&[("strict-transport-security", "max-age=5")]), &mut merged, true);
        assert_eq!(merged["strict-transport-security"], "max-age=5", "without ours, a handler's HSTS over HTTPS stays");
        assert!(merged.get(header::CONTENT_SECURITY_POLICY).is_none());
    }
}
