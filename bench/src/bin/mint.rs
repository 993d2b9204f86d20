//! `mint`: tokens and keys for the load benchmark.
//!
//! ```text
//! mint keygen-es256 PRIVATE.pem PUBLIC.pem     a fresh P-256 key pair (PKCS#8 / SPKI PEM)
//! mint hs256 [--scope S] [--ttl SECS]          HS256 token with SECURE_API_JWT_SECRET
//! mint es256 PRIVATE.pem [--scope S] [--ttl SECS]
//! ```
//!
//! Tokens carry `iss` = `SECURE_API_ISSUER`, `aud` = `SECURE_API_AUDIENCE` (the quickstart's
//! defaults otherwise), `sub`, `scope` (default `items:read`), `iat`, `exp` (default 1 h), `jti`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api_bench::settings::Settings;
use serde_json::json;

const USAGE: &str = "usage: mint keygen-es256 PRIVATE.pem PUBLIC.pem | mint hs256 [--scope S] [--ttl SECS] | mint es256 PRIVATE.pem [--scope S] [--ttl SECS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mint: {error}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    match args.split_first() {
        Some((command, rest)) if command == "keygen-es256" => {
            let [private_path, public_path] = rest else {
                return Err("keygen-es256 takes two paths".to_owned());
            };
            let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|error| format!("key generation failed: {error}"))?;
            std::fs::write(private_path, pair.serialize_pem()).map_err(|error| format!("{private_path}: {error}"))?;
            std::fs::write(public_path, pair.public_key_pem()).map_err(|error| format!("{public_path}: {error}"))?;
            Ok(format!("wrote {private_path} and {public_path}"))
        }
        Some((command, rest)) if command == "hs256" => {
            let settings = Settings::from_env()?;
            if std::env::var_os("SECURE_API_JWT_SECRET").is_none() {
                return Err("set SECURE_API_JWT_SECRET to the server's secret".to_owned());
            }
            let key = EncodingKey::from_secret(settings.jwt_secret.as_bytes());
            token(Algorithm::HS256, &key, &settings, rest)
        }
        Some((command, rest)) if command == "es256" => {
            let Some((private_path, rest)) = rest.split_first() else {
                return Err("es256 needs the private key's path".to_owned());
            };
            let pem = std::fs::read(private_path).map_err(|error| format!("{private_path}: {error}"))?;
            let key = EncodingKey::from_ec_pem(&pem).map_err(|error| format!("{private_path}: {error}"))?;
            token(Algorithm::ES256, &key, &Settings::from_env()?, rest)
        }
        _ => Err("unknown command".to_owned()),
    }
}

fn token(algorithm: Algorithm, key: &EncodingKey, settings: &Settings, options: &[String]) -> Result<String, String> {
    let mut scope = "items:read".to_owned();
    let mut ttl: u64 = 3600;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let value = options.next().ok_or_else(|| format!("{option} needs a value"))?;
        match option.as_str() {
            "--scope" => scope = value.clone(),
            "--ttl" => ttl = value.parse().map_err(|_| format!("--ttl `{value}` is not a number of seconds"))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|error| error.to_string())?;
    let claims = json!({
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": "bench-client",
        "scope": scope,
        "iat": now.as_secs(),
        "exp": now.as_secs() + ttl,
        "jti": format!("bench-{}", now.as_nanos()),
    });
    let mut header = Header::new(algorithm);
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, &claims, key).map_err(|error| format!("signing failed: {error}"))
}
