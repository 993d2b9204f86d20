//! Server-provided DPoP nonces (RFC 9449 §8 and §9), stateless: a nonce is
//! `<time step>.<base64url(HMAC-SHA256(secret, "dpop-nonce." + step))>`, so every instance that
//! shares the secret issues and accepts the same values without storing anything.
//!
//! A nonce of the current time step or the one before is accepted: a nonce lives at least one
//! `lifetime` and at most two.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};

/// The nonce key and time step.
pub(crate) struct NonceKey {
    key: EncodingKey,
    step: u64,
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey").field("step", &self.step).finish_non_exhaustive()
    }
}

impl NonceKey {
    pub(crate) fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self { key: EncodingKey::from_secret(secret), step: lifetime.as_secs().max(1) }
    }

    /// The nonce of the time step `now` falls in.
    pub(crate) fn issue(&self, now: u64) -> String {
        self.for_step(now / self.step)
    }

    /// Whether `nonce` is one this key issued in the current or the previous time step.
    pub(crate) fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Some((step, _)) = nonce.split_once('.') else {
            return false;
        };
        // Digits only: no sign, no leading `+`, so one step has one spelling.
        if step.is_empty() || step.len() > 20 || !step.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(step) = step.parse::<u64>() else {
            return false;
        };
        let current = now / self.step;
        if step != current && step.saturating_add(1) != current {
            return false;
        }
        let expected = self.for_step(step);
        bool::from(subtle::ConstantTimeEq::ct_eq(nonce.as_bytes(), expected.as_bytes()))
    }

    /// Whether `nonce` (already [accepted](Self::accepts)) was issued in the time step before
    /// `now`'s: it expires within one lifetime, so the client should be given the current one.
    pub(crate) fn is_from_previous_step(&self, nonce: &str, now: u64) -> bool {
        nonce.split_once('.').and_then(|(step, _)| step.parse::<u64>().ok()) != Some(now / self.step)
    }

    fn for_step(&self, step: u64) -> String {
        let message = format!("dpop-nonce.{step}");
        // HMAC-SHA256 cannot fail with a secret key; an empty MAC would never match anyway.
        let mac = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::HS256).unwrap_or_default();
        format!("{step}.{mac}")
    }
}

/// Whether `value` is a valid nonce per RFC 9449 §8.1: `1*NQCHAR` (printable ASCII without `"`
/// and `\`).
pub(crate) fn is_nqchar(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_nonce_is_accepted_in_its_step_and_the_next_only() {
        let key = NonceKey::new(SECRET, Duration::from_secs(60));
        let nonce = key.issue(1_000_000);
        assert!(is_nqchar(&nonce), "{nonce}");
        assert!(key.accepts(&nonce, 1_000_000));
        assert!(key.accepts(&nonce, 1_000_000 + 60));
        assert!(!key.accepts(&nonce, 1_000_000 + 180));
        // Not from the future either.
        assert!(!key.accepts(&nonce, 1_000_000 - 120));
        assert!(!key.is_from_previous_step(&nonce, 1_000_000));
        assert!(key.is_from_previous_step(&nonce, 1_000_000 + 60));
    }

    #[test]
    fn another_secret_or_a_made_up_nonce_is_refused_and_a_shared_secret_accepted() {
        let key = NonceKey::new(SECRET, Duration::from_secs(60));
        let other = NonceKey::new(b"another secret, 32 bytes or more!", Duration::from_secs(60));
        let twin = NonceKey::new(SECRET, Duration::from_secs(60));
        let now = 1_700_000_000;
        assert!(!key.accepts(&other.issue(now), now));
        assert!(key.accepts(&twin.issue(now), now));
        let step = now / 60;
        for bad in ["", "abc", &format!("{step}."), &format!("{step}.AAAA"), &format!("+{step}.x"), "1.2.3"] {
            assert!(!key.accepts(bad, now), "{bad:?}");
        }
    }

    #[test]
    fn nqchar() {
        assert!(is_nqchar("abc.DEF-_~!#"));
        assert!(!is_nqchar(""));
        assert!(!is_nqchar("a\"b"));
        assert!(!is_nqchar("a\\b"));
        assert!(!is_nqchar("a b"));
    }
}
