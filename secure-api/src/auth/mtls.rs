//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` claim holds
//! `x5t#S256` is accepted only from a client that presented the certificate with that
//! SHA-256 thumbprint on the request's TLS connection.
//!
//! [`serve_tls`](crate::tls::serve_tls) with a client CA
//! ([`TlsConfig::client_ca_pem`](crate::tls::TlsConfig::client_ca_pem)) verifies the client's
//! certificate during the handshake and inserts a [`ClientCertificate`] into every request on
//! that connection. Nothing else inserts one: a request without it presented no verified
//! certificate, and a certificate-bound token on it is refused (fail closed).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::request::Parts;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::challenge::Realm;
use crate::client::ClientCertHeader;
use crate::principal::Principal;
use crate::problem::Problem;

/// The verified client certificate of the request's TLS connection, as its RFC 8705
/// thumbprint: base64url (no padding) of the SHA-256 of the certificate's DER (`x5t#S256`).
///
/// Only the thumbprint is kept: nothing else of the certificate is held or logged.
///
/// # Examples
/// ```
/// use secure_api::auth::ClientCertificate;
///
/// let certificate = ClientCertificate::from_der(b"not really DER, any bytes hash");
/// assert_eq!(certificate.thumbprint().len(), 43);
/// assert!(!certificate.thumbprint().contains('='));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    thumbprint: Arc<str>,
}

impl ClientCertificate {
    /// The certificate whose DER encoding is `der` (the end-entity certificate the TLS
    /// handshake verified).
    pub fn from_der(der: &[u8]) -> Self {
        Self { thumbprint: thumbprint(der).into() }
    }

    /// `x5t#S256`: base64url without padding of SHA-256 over the DER certificate.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
}

/// base64url (no padding) of SHA-256 over `der` (RFC 8705 §3.1).
fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

/// Why a token's certificate binding was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MtlsError {
    /// The token is bound to a certificate, the connection presented none.
    NoCertificate,
    /// The token is bound to another certificate (or its `x5t#S256` is not a string).
    CertificateMismatch,
    /// The route takes only certificate-bound tokens and this one is not.
    BindingRequired,
}

impl MtlsError {
    fn description(self) -> &'static str {
        match self {
            Self::NoCertificate => "The access token is bound to a client certificate; none was presented.",
            Self::CertificateMismatch => "The access token is bound to another client certificate.",
            Self::BindingRequired => "This resource requires a sender-constrained access token.",
        }
    }
}

/// `cnf["x5t#S256"]` of the token, whatever its type.
fn bound_thumbprint(principal: &Principal) -> Option<&Value> {
    principal.claims().get("cnf").and_then(|cnf| cnf.get("x5t#S256"))
}

/// The certificate a trusted proxy forwarded in `header`: exactly one value, well formed, or
/// `None` (no certificate).
pub(crate) fn from_proxy_header(headers: &http::HeaderMap, header: &ClientCertHeader) -> Option<ClientCertificate> {
    let mut values = headers.get_all(header.header_name()).iter();
    let value = values.next()?.to_str().ok()?.trim();
    if values.next().is_some() {
        return None;
    }
    let der = match header {
        ClientCertHeader::ClientCert => {
            let inner = value.strip_prefix(':')?.strip_suffix(':')?;
            STANDARD.decode(inner).ok()?
        }
        ClientCertHeader::NginxEscapedPem(_) => pem_certificate(&percent_decode(value)?)?,
    };
    (!der.is_empty()).then(|| ClientCertificate::from_der(&der))
}

/// `%XX` escapes decoded (`+` is a `+`: nginx escapes it); `None` for a bad escape.
fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = char::from(bytes.next()?).to_digit(16)?;
            let low = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(high * 16 + low).ok()?);
        } else {
            out.push(byte);
        }
    }
    String::from_utf8(out).ok()
}

/// The DER of the one PEM `CERTIFICATE` block in `pem` (the first one: the client's own).
fn pem_certificate(pem: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let (_, rest) = pem.split_once(BEGIN)?;
    let (inner, _) = rest.split_once(END)?;
    let body: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).ok()
}

/// The certificate of the request's connection, if one was verified.
pub(crate) fn presented(parts: &Parts) -> Option<&ClientCertificate> {
    parts.extensions.get::<ClientCertificate>()
}

/// The certificate binding of a token (RFC 8705 §3): `Ok(true)` when it is bound and the
/// connection presented that certificate, `Ok(false)` when it is not bound at all, `Err` when
/// it is bound and the certificate is missing or another one.
pub(crate) fn check(principal: &Principal, certificate: Option<&ClientCertificate>) -> Result<bool, MtlsError> {
    let Some(bound) = bound_thumbprint(principal) else {
        return Ok(false);
    };
    let Some(certificate) = certificate else {
        return Err(MtlsError::NoCertificate);
    };
    match bound {
        Value::String(bound)
            if bool::from(subtle::ConstantTimeEq::ct_eq(bound.as_bytes(), certificate.thumbprint().as_bytes())) =>
        {
            Ok(true)
        }
        _ => Err(MtlsError::CertificateMismatch),
    }
}

/// 401 `invalid_token` with a `Bearer` challenge (RFC 8705 §3, RFC 6750 §3.1).
pub(crate) fn rejection(realm: &Realm, error: MtlsError) -> Problem {
    tracing::debug!(target: "secure_api::auth", reason = error.description(), "certificate-bound token rejected");
    crate::auth::challenge::invalid_credentials(crate::auth::AuthScheme::Bearer, realm, error.description())
        .with_extension("error", "invalid_token")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn principal(claims: Value) -> Principal {
        let Value::Object(claims) = claims else { unreachable!() };
        Principal::new("c", Vec::<String>::new(), crate::auth::AuthScheme::Bearer).with_claims(claims)
    }

    #[test]
    fn thumbprint_is_base64url_sha256_of_the_der() {
        // SHA-256("abc"), RFC 6234 test vector, base64url without padding.
        assert_eq!(ClientCertificate::from_der(b"abc").thumbprint(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn bound_token_needs_the_same_certificate() {
        let cert = ClientCertificate::from_der(b"client one");
        let other = ClientCertificate::from_der(b"client two");
        let bound = principal(json!({ "sub": "c", "cnf": { "x5t#S256": cert.thumbprint() } }));
        assert_eq!(check(&bound, Some(&cert)), Ok(true));
        assert_eq!(check(&bound, Some(&other)), Err(MtlsError::CertificateMismatch));
        assert_eq!(check(&bound, None), Err(MtlsError::NoCertificate));
    }

    #[test]
    fn unbound_token_is_not_certificate_bound() {
        let cert = ClientCertificate::from_der(b"client one");
        assert_eq!(check(&principal(json!({ "sub": "c" })), Some(&cert)), Ok(false));
        assert_eq!(check(&principal(json!({ "sub": "c", "cnf": { "jkt": "x" } })), None), Ok(false));
    }

    #[test]
    fn proxy_headers_rfc_9440_and_nginx() {
        let der = b"a DER certificate, any bytes";
        let expected = ClientCertificate::from_der(der);
        let mut headers = http::HeaderMap::new();
        headers.insert("client-cert", format!(":{}:", STANDARD.encode(der)).parse().unwrap());
        assert_eq!(from_proxy_header(&headers, &ClientCertHeader::ClientCert), Some(expected.clone()));
        headers.append("client-cert", ":AAAA:".parse().unwrap());
        assert_eq!(from_proxy_header(&headers, &ClientCertHeader::ClientCert), None, "two values: none");
        for bad in ["AAAA", ":not base64!:", "::"] {
            headers.insert("client-cert", bad.parse().unwrap());
            assert_eq!(from_proxy_header(&headers, &ClientCertHeader::ClientCert), None, "{bad}");
        }

        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", STANDARD.encode(der));
        let escaped: String = pem
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let nginx = ClientCertHeader::NginxEscapedPem(http::HeaderName::from_static("x-ssl-client-cert"));
        let mut headers = http::HeaderMap::new();
        headers.insert("x-ssl-client-cert", escaped.parse().unwrap());
        assert_eq!(from_proxy_header(&headers, &nginx), Some(expected));
        headers.insert("x-ssl-client-cert", "%ZZ".parse().unwrap());
        assert_eq!(from_proxy_header(&headers, &nginx), None);
        assert_eq!(from_proxy_header(&http::HeaderMap::new(), &nginx), None);
    }

    #[test]
    fn a_non_string_thumbprint_binds_to_nothing() {
        let cert = ClientCertificate::from_der(b"client one");
        let bound = principal(json!({ "sub": "c", "cnf": { "x5t#S256": 1 } }));
        assert_eq!(check(&bound, Some(&cert)), Err(MtlsError::CertificateMismatch));
        let bound = principal(json!({ "sub": "c", "cnf": { "x5t#S256": null } }));
        assert_eq!(check(&bound, None), Err(MtlsError::NoCertificate));
    }
}
