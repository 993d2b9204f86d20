//! A wrapper that keeps secrets out of `Debug`, `Display` and log lines.

use std::fmt;

/// A secret value (an HMAC key, a client secret, an API key) that never prints.
///
/// `Debug` and `Display` write `[redacted]`; the value is reached only through
/// [`Secret::expose`], so every place that touches it is easy to find in review.
///
/// # Examples
/// ```
/// use secure_api::secret::Secret;
///
/// let key = Secret::new(String::from("hunter2-hunter2-hunter2-hunter2!"));
/// assert_eq!(format!("{key:?}"), "[redacted]");
/// assert_eq!(key.expose().len(), 32);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Call this only where the value is used, never to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A fresh random secret: `bytes` bytes from the operating system's CSPRNG, base64url-encoded
/// without padding (safe in headers, URLs and environment variables).
///
/// # Examples
/// ```
/// let key = secure_api::secret::random_secret(32);
/// assert_eq!(key.expose().len(), 43);
/// ```
pub fn random_secret(bytes: usize) -> Secret<String> {
    use base64::Engine;
    use rand::TryRngCore;
    let mut buffer = vec![0u8; bytes];
    // The OS generator failing is not recoverable; ThreadRng (seeded from it) is the fallback.
    if rand::rngs::OsRng.try_fill_bytes(&mut buffer).is_err() {
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut buffer);
    }
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let secret = Secret::new("top-secret-value");
        assert!(!format!("{secret:?} {secret} {secret:#?}").contains("top-secret"));
    }
}
