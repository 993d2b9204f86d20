//! The cost of DPoP (RFC 9449) on a request: one proof verification (ES256, EdDSA), which the
//! signature check dominates, next to the bearer token verification every request pays anyway.
//!
//! Run: `cargo bench -p secure-api --features testing --bench dpop`.

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey};
use secure_api::auth::dpop::{DpopVerifier, ProofRequest};
use secure_api::testing::DpopKey;

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCIsImNuZiI6eyJqa3QiOiJ4In19.c2lnbmF0dXJl";
const URL: &str = "https://api.example/api/items";

fn proofs(c: &mut Criterion) {
    let es256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let keys = [
        ("es256", DpopKey::new(EncodingKey::from_ec_pem(es256.serialize_pem().as_bytes()).unwrap(), Algorithm::ES256)),
        ("eddsa", DpopKey::test_key()),
    ];
    // Large enough that the replay cache never evicts during a run (every proof is fresh).
    let verifier = DpopVerifier::builder().replay_capacity(10_000_000).build();
    let request = ProofRequest { method: &http::Method::GET, htu: URL, access_token: Some(TOKEN) };
    let mut group = c.benchmark_group("dpop");
    for (name, key) in &keys {
        // A fresh proof per iteration (made outside the timing), as every real request has.
        group.bench_function(format!("verify_proof/{name}"), |b| {
            b.iter_batched(
                || key.proof("GET", URL, Some(TOKEN)),
                |proof| black_box(verifier.verify(&proof, &request)).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
