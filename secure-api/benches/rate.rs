//! Cost of one rate-limit check: in memory with 1 key and with 100 000 keys, and against a
//! `redis-server` on loopback (started here on a free port; skipped when it is not installed).
//!
//! Run: `cargo bench -p secure-api --bench rate`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use secure_api::policy::RoutePolicy;
use secure_api::rate::{MemoryLimiter, RateKey, RateLimits, RateSpec, RedisStore};

/// A quota no benchmark run exhausts (a burst of ~4.3 billion), so every check takes the
/// allowed path, which is what real traffic mostly does.
const ROOMY: RateSpec = RateSpec::new(u32::MAX, RateSpec::MAX_WINDOW_SECS);

fn ip_key(n: u32) -> RateKey {
    RateKey::ip(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + n)))
}

fn memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate/memory");

    let limiter = MemoryLimiter::new(ROOMY, 200_000);
    let key = RateKey::principal("alice");
    group.bench_function("check, 1 key (allowed)", |b| b.iter(|| black_box(limiter.check(black_box(&key)))));

    // An id too long to be kept inline in the store's key: each check hashes it (SHA-256).
    let limiter = MemoryLimiter::new(ROOMY, 200_000);
    let uuid = RateKey::principal("0b6f1c2e-5d4a-4e8b-9c3f-7a1d2e3f4b5c");
    group.bench_function("check, 1 key, 36-byte principal (allowed)", |b| {
        b.iter(|| black_box(limiter.check(black_box(&uuid))))
    });

    let limiter = MemoryLimiter::new(ROOMY, 200_000);
    let keys: Vec<RateKey> = (0..100_000).map(ip_key).collect();
    for key in &keys {
        limiter.check(key);
    }
    let mut next = 0;
    group.bench_function("check, 100k keys round robin (allowed)", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            black_box(limiter.check(&keys[next]))
        })
    });

    let limiter = MemoryLimiter::new(RateSpec::new(1, 3_600), 10);
    limiter.check(&key);
    group.bench_function("check, 1 key (denied)", |b| b.iter(|| black_box(limiter.check(black_box(&key)))));

    let limiter = MemoryLimiter::new(ROOMY, 10);
    let gate = ip_key(1);
    group.bench_function("check_gated (IP gate + principal)", |b| {
        b.iter(|| black_box(limiter.check_gated(black_box(&gate), black_box(&key))))
    });
    group.finish();
}

/// A throwaway redis-server on a free loopback port, killed on drop.
struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?.local_addr().ok()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Self(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis(c: &mut Criterion) {
    let Some(server) = RedisServer::start() else {
        eprintln!("note: skipping rate/redis: redis-server is not installed (apt-get install redis-server)");
        return;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    let Ok(store) = RedisStore::open(&format!("redis://127.0.0.1:{}/", server.1)) else {
        return;
    };
    let limits = RateLimits::redis(store.namespace("bench").timeout(Duration::from_secs(1)));
    let policy = RoutePolicy::public("bench::route").with_rate(ROOMY);
    let Some(limiter) = limits.limiter(&policy) else {
        return;
    };
    let key = RateKey::principal("alice");
    // Connect and load the script before measuring.
    runtime.block_on(limiter.check(&key));

    let mut group = c.benchmark_group("rate/redis");
    group.bench_function("check, loopback, 1 key (allowed)", |b| {
        b.to_async(&runtime).iter(|| async { black_box(limiter.check(black_box(&key)).await) })
    });
    let gate = ip_key(1);
    group.bench_function("check_gated, loopback (IP gate + principal)", |b| {
        b.to_async(&runtime).iter(|| async { black_box(limiter.check_gated(&gate, &key).await) })
    });
    group.finish();
    assert!(!limits.redis_store().is_some_and(RedisStore::is_degraded), "every check went to Redis");
    drop(server);
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
