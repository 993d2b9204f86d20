//! The scan's certificate side (RFC 8705): certificate-bound tokens sent over a connection that
//! presented the scan's client certificate, and the probes of the binding itself: a bound token
//! without a certificate, and with another client's certificate.
//!
//! The scan sends requests without a socket, so it presents a certificate the way
//! [`serve_tls`](crate::tls::serve_tls) does after a verified handshake: as a
//! [`ClientCertificate`] in the request's extensions. A probe's headers name the certificate
//! with the [`CLIENT_CERTIFICATE`] entry, which is taken out before the request is built and
//! never reaches the app as a header.

use super::execute::{Headers, Scanner};
use crate::auth::ClientCertificate;
use crate::testing::bearer;

/// The entry of a probe's [`Headers`] that stands for the client certificate of its connection:
/// [`SCAN_CERTIFICATE`] or [`OTHER_CERTIFICATE`].
pub(super) const CLIENT_CERTIFICATE: &str = ":scan-client-certificate";

/// The scan's own client certificate, the one its certificate-bound tokens name.
pub(super) const SCAN_CERTIFICATE: &str = "scan";
/// Another client's certificate.
pub(super) const OTHER_CERTIFICATE: &str = "other";

/// The certificate a probe names (any bytes serve: only the DER's thumbprint is compared).
pub(super) fn certificate(name: &str) -> ClientCertificate {
    ClientCertificate::from_der(format!("secure-api self-scan client certificate: {name}").as_bytes())
}

/// Takes the [`CLIENT_CERTIFICATE`] entry out of `headers`: the certificate it names.
pub(super) fn take_certificate(headers: &mut Vec<(&str, &str)>) -> Option<ClientCertificate> {
    let at = headers.iter().position(|(name, _)| *name == CLIENT_CERTIFICATE)?;
    let (_, name) = headers.remove(at);
    Some(certificate(name))
}

impl Scanner<'_> {
    /// `Authorization` for `subject` with a token bound to the scan's certificate, and that
    /// certificate on the connection.
    pub(super) fn certificate_bound_headers(&self, subject: &str, scopes: &[&str]) -> Headers {
        self.certificate_bound_headers_presenting(subject, scopes, Some(SCAN_CERTIFICATE))
    }

    /// `Authorization` for `subject` with a token bound to the scan's certificate, over a
    /// connection that presents the certificate named `presented`, or none.
    pub(super) fn certificate_bound_headers_presenting(
        &self,
        subject: &str,
        scopes: &[&str],
        presented: Option<&str>,
    ) -> Headers {
        let thumbprint = certificate(SCAN_CERTIFICATE);
        let token = self.credentials.tokens.certificate_bound_token_for(subject, scopes, thumbprint.thumbprint());
        let mut headers = vec![("authorization".to_owned(), bearer(&token))];
        if let Some(name) = presented {
            headers.push((CLIENT_CERTIFICATE.to_owned(), name.to_owned()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_entry_is_taken_out_of_the_headers() {
        let mut headers = vec![("authorization", "Bearer x"), (CLIENT_CERTIFICATE, OTHER_CERTIFICATE)];
        assert_eq!(take_certificate(&mut headers), Some(certificate(OTHER_CERTIFICATE)));
        assert_eq!(headers, vec![("authorization", "Bearer x")]);
        assert_eq!(take_certificate(&mut headers), None);
        assert_ne!(certificate(SCAN_CERTIFICATE), certificate(OTHER_CERTIFICATE));
    }
}
