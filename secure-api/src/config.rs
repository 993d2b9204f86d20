//! Configuration errors: what the operator got wrong, said at start-up.

use std::fmt;

/// A configuration mistake found while building the security state (a short HMAC secret, an
/// unparseable key, a bad CIDR). Returned at start-up so the server refuses to run insecurely.
///
/// # Examples
/// ```
/// use secure_api::{auth::VerificationKey, ConfigError};
///
/// let err: ConfigError = VerificationKey::hs256(b"too short").unwrap_err();
/// assert!(err.to_string().contains("32 bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    /// A configuration error with a message for the operator.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
