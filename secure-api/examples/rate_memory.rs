//! Memory of the in-memory rate limiter per million keys: inserts 1 000 000 keys into one
//! route's limiter and reports the growth of the resident set (VmRSS from /proc/self/status).
//! Each kind of key is measured in a fresh process, so no measurement reuses memory another
//! one freed.
//!
//! Run: `cargo run --release -p secure-api --example rate_memory`

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use secure_api::rate::{MemoryLimiter, RateKey, RateSpec};

const KEYS: u32 = 1_000_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn measure(label: &str, key: &dyn Fn(u32) -> RateKey) {
    let before = rss_kib();
    let limiter = MemoryLimiter::new(RateSpec::new(100, 900), KEYS as usize);
    for n in 0..KEYS {
        limiter.check(&key(n));
    }
    let after = rss_kib();
    let per_key = (after.saturating_sub(before) * 1024) as f64 / f64::from(KEYS);
    println!(
        "{label:<30} {} keys: RSS +{:.1} MiB ({per_key:.0} bytes per key)",
        limiter.len(),
        after.saturating_sub(before) as f64 / 1024.0
    );
    drop(limiter);
}

type KeyFn = fn(u32) -> RateKey;

const KINDS: [(&str, KeyFn); 5] = [
    ("IPv4 client keys", |n| RateKey::ip(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + n)))),
    ("IPv6 /64 client keys", |n| {
        RateKey::ip(IpAddr::V6(Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + (u128::from(n) << 64))))
    }),
    ("principal keys (user-N)", |n| RateKey::principal(&format!("user-{n}"))),
    // A UUID `sub`, as many token issuers use: longer than the ids kept inline.
    ("principal keys (36-byte UUID)", |n| RateKey::principal(&format!("00000000-0000-4000-8000-{n:012x}"))),
    ("API key / header digests", |n| RateKey::api_key(&n.to_le_bytes())),
];

fn main() {
    // With an index: measure that kind here. Without: run each kind in a child process.
    if let Some(index) = std::env::args().nth(1).and_then(|arg| arg.parse::<usize>().ok()) {
        if let Some((label, key)) = KINDS.get(index) {
            measure(label, key);
        }
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    for index in 0..KINDS.len() {
        let _ = std::process::Command::new(&program).arg(index.to_string()).status();
    }
}
