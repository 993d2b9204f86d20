//! Registered OAuth clients and their authentication.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::scope::is_scope_token;
use crate::config::ConfigError;

/// Shortest client secret accepted at registration.
const MIN_SECRET_LEN: usize = 32;

/// A registered confidential client: id, SHA-256 digest of its secret, and the scopes it may
/// request.
///
/// # Examples
/// ```
/// use secure_api::oauth::OAuthClient;
///
/// let client = OAuthClient::new("demo-client", "0123456789abcdef0123456789abcdef", ["items:read"]).unwrap();
/// assert_eq!(format!("{client:?}"), r#"OAuthClient { id: "demo-client", scopes: ["items:read"], .. }"#);
/// assert!(OAuthClient::new("demo-client", "short", ["items:read"]).is_err());
/// ```
#[derive(Clone)]
pub struct OAuthClient {
    pub(crate) id: String,
    secret_digest: [u8; 32],
    pub(crate) scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("id", &self.id).field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// Registers a client. The id is printable ASCII (it may hold `:`), the secret at least 32
    /// characters (only its digest is kept), and the scopes RFC 6749 §3.3 scope tokens.
    pub fn new(
        id: impl Into<String>,
        secret: &str,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        let id = id.into();
        // RFC 6749 Appendix A.1: `client-id = *VSCHAR`. A `:` is fine: HTTP Basic carries the
        // id form-urlencoded (§2.3.1), so it arrives as `%3A` and cannot be confused with the
        // separator.
        if id.is_empty() || !id.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            return Err(ConfigError::new("a client id must be non-empty printable ASCII (RFC 6749 VSCHAR)"));
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::new(format!(
                "the secret of client `{id}` is shorter than {MIN_SECRET_LEN} characters"
            )));
        }
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        if let Some(bad) = scopes.iter().find(|scope| !is_scope_token(scope)) {
            return Err(ConfigError::new(format!("`{bad}` is not a valid scope")));
        }
        Ok(Self { id, secret_digest: Sha256::digest(secret.as_bytes()).into(), scopes })
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Constant-time check of a presented secret.
    pub(crate) fn secret_matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.secret_digest.ct_eq(&digest).into()
    }
}

/// Finds the client and checks its secret. Unknown ids still cost one digest comparison, so the
/// response time does not reveal which client ids exist.
pub(crate) fn authenticate<'a>(clients: &'a [OAuthClient], id: &str, secret: &str) -> Option<&'a OAuthClient> {
    match clients.iter().find(|client| client.id == id) {
        Some(client) if client.secret_matches(secret) => Some(client),
        Some(_) => None,
        None => {
            let decoy = [0u8; 32];
            let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
            let _ = bool::from(decoy.ct_eq(&digest));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_printable_ascii() {
        let secret = "0123456789abcdef0123456789abcdef";
        assert!(OAuthClient::new("svc:reports", secret, ["s"]).is_ok());
        for bad in ["", "a\nb", "caf\u{e9}", "a\u{1b}b"] {
            assert!(OAuthClient::new(bad, secret, ["s"]).is_err(), "{bad:?}");
        }
        assert!(OAuthClient::new("c", secret, ["a\tb"]).is_err());
    }

    #[test]
    fn authenticates_by_secret() {
        let clients = [OAuthClient::new("c", "0123456789abcdef0123456789abcdef", ["s"]).unwrap()];
        assert!(authenticate(&clients, "c", "0123456789abcdef0123456789abcdef").is_some());
        assert!(authenticate(&clients, "c", "0123456789abcdef0123456789abcdeX").is_none());
        assert!(authenticate(&clients, "x", "0123456789abcdef0123456789abcdef").is_none());
    }
}
