//! The proof's embedded key: a public key of the type its `alg` names, never a private or a
//! symmetric one, and its RFC 7638 thumbprint (what `cnf.jkt` binds a token to).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::DpopError;

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];

/// The checked public key of a proof.
pub(crate) struct PublicJwk {
    pub(crate) key: DecodingKey,
    /// base64url(SHA-256(canonical JWK)), RFC 7638.
    pub(crate) thumbprint: String,
}

/// Checks that `jwk` is a public key usable with `alg` and computes its thumbprint.
pub(crate) fn public_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<PublicJwk, DpopError> {
    if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
        return Err(DpopError::BadKey);
    }
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).filter(|value| !value.is_empty());
    let kty = member("kty").ok_or(DpopError::BadKey)?;
    // Each canonical form lists the required members in lexicographic order (RFC 7638 §3.2).
    let (canonical, key) = match (alg, kty) {
        (Algorithm::ES256, "EC") => {
            let (crv, x, y) = (member("crv"), member("x"), member("y"));
            let (Some("P-256"), Some(x), Some(y)) = (crv, x, y) else {
                return Err(DpopError::BadKey);
            };
            check_len(x, 32)?;
            check_len(y, 32)?;
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| DpopError::BadKey)?;
            (canonical(&[("crv", "P-256"), ("kty", "EC"), ("x", x), ("y", y)]), key)
        }
        (Algorithm::EdDSA, "OKP") => {
            let (Some("Ed25519"), Some(x)) = (member("crv"), member("x")) else {
                return Err(DpopError::BadKey);
            };
            check_len(x, 32)?;
            let key = DecodingKey::from_ed_components(x).map_err(|_| DpopError::BadKey)?;
            (canonical(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", x)]), key)
        }
        (Algorithm::RS256 | Algorithm::PS256, "RSA") => {
            let (Some(n), Some(e)) = (member("n"), member("e")) else {
                return Err(DpopError::BadKey);
            };
            // At least 2048-bit moduli (RFC 7518 §3.3); base64url of 256 bytes is 342 characters.
            let modulus = URL_SAFE_NO_PAD.decode(n).map_err(|_| DpopError::BadKey)?;
            if modulus.iter().skip_while(|&&b| b == 0).count() < 256 {
                return Err(DpopError::BadKey);
            }
            let key = DecodingKey::from_rsa_components(n, e).map_err(|_| DpopError::BadKey)?;
            (canonical(&[("e", e), ("kty", "RSA"), ("n", n)]), key)
        }
        _ => return Err(DpopError::BadKey),
    };
    Ok(PublicJwk { key, thumbprint: thumbprint_of(&canonical) })
}

/// A base64url member that decodes to exactly `bytes` bytes (a curve point coordinate).
fn check_len(value: &str, bytes: usize) -> Result<(), DpopError> {
    match URL_SAFE_NO_PAD.decode(value) {
        Ok(decoded) if decoded.len() == bytes => Ok(()),
        _ => Err(DpopError::BadKey),
    }
}

/// The RFC 7638 canonical JSON: required members only, sorted, no whitespace.
fn canonical(members: &[(&str, &str)]) -> String {
    let body: Vec<String> =
        members.iter().map(|(name, value)| format!("{}:{}", Value::from(*name), Value::from(*value))).collect();
    format!("{{{}}}", body.join(","))
}

fn thumbprint_of(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn the_rfc_7638_example_thumbprint() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = canonical(&[("e", "AQAB"), ("kty", "RSA"), ("n", n)]);
        assert_eq!(thumbprint_of(&canonical), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let jwk = object(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}));
        assert_eq!(
            public_key(&jwk, Algorithm::RS256).unwrap().thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "d": x});
        assert_eq!(public_key(&object(ec), Algorithm::ES256).err(), Some(DpopError::BadKey));
        let oct = serde_json::json!({"kty": "oct", "k": x});
        assert_eq!(public_key(&object(oct), Algorithm::ES256).err(), Some(DpopError::BadKey));
    }

    #[test]
    fn the_key_type_must_match_the_algorithm() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let okp = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x});
        assert!(public_key(&object(okp.clone()), Algorithm::EdDSA).is_ok());
        assert_eq!(public_key(&object(okp), Algorithm::ES256).err(), Some(DpopError::BadKey));
        let short = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([7u8; 31])});
        assert_eq!(public_key(&object(short), Algorithm::EdDSA).err(), Some(DpopError::BadKey));
    }
}
