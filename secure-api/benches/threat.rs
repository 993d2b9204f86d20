//! Cost of threat detection per request: one 200-byte query string (path and every parameter)
//! and one 2 KB JSON body (every key and string value), both ordinary text that passes, which
//! is what almost every request pays. One attack of each shape is measured too, and what the
//! largest query the default limits let through costs when it is built to be expensive: 16 KiB
//! of parameters that each make libinjection tokenize but stay below the threshold, of many
//! tiny parameters, and of one long value (the scan's per-byte worst cases, for the threat model).
//!
//! A browser's `User-Agent` is measured too: a first request of every new browser pays it (the
//! pipeline remembers it per client after that).
//!
//! Run: `cargo bench -p secure-api --bench threat`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use secure_api::threat::{ThreatDetector, ThreatMode};

/// A realistic 200-byte search URL: words, numbers, an e-mail address, a `&` inside a value.
const QUERY_URI: &str = "/api/items?q=red+leather+boots+%26+matching+belt&category=shoes-and-accessories&min_price=25.50&max_price=199.99&sort=price_desc&page=3&per_page=50&ref=newsletter&contact=jane.doe%40example.com";

/// A desktop Chrome's `User-Agent`, as `bench/run-callgrind.sh`'s browser cases send it.
const BROWSER_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A 2 KB JSON body: a product with a description, tags and a few nested records.
fn json_body() -> serde_json::Value {
    let description = "Hand-stitched full-grain leather boots (sizes 36-46) with a cushioned insole & a \
        non-slip rubber sole. Water-resistant; ideal for city walks, light hikes and rainy commutes. \
        Care: wipe with a damp cloth, let dry at room temperature - never near a heater. \
        Ships in 2-3 days; free returns within 30 days.";
    serde_json::json!({
        "name": "Trail Boots | Men's \"Classic\" Edition",
        "sku": "TB-2024-CLS-BRN-42",
        "price": 149.99,
        "currency": "EUR",
        "description": description,
        "tags": ["leather", "boots", "outdoor", "men", "waterproof", "brown", "classic", "hiking"],
        "vendor": {"name": "Müller & Söhne GmbH", "city": "München", "email": "sales@mueller-soehne.example"},
        "variants": [
            {"size": "41", "color": "brown", "stock": 12, "note": "Runs slightly small; order one size up."},
            {"size": "42", "color": "brown", "stock": 7, "note": "Most popular size (best seller)."},
            {"size": "43", "color": "black", "stock": 0, "note": "Back in stock in 2 weeks, pre-order now!"},
            {"size": "44", "color": "black", "stock": 3, "note": "Last pairs: 20% off with code WINTER20."}
        ],
        "reviews": [
            {"author": "J. O'Connor", "rating": 5, "text": "Great fit, very comfortable from day one. Would buy again!"},
            {"author": "Ana Lúcia", "rating": 4, "text": "Good boots -- a bit stiff at first, fine after a week."},
            {"author": "李伟", "rating": 5, "text": "质量很好，穿着舒服。"}
        ],
        "faq": [
            {"q": "Are they true to size?", "a": "Mostly: customers with wide feet order half a size up."},
            {"q": "Can I resole them?", "a": "Yes, any cobbler can replace the Vibram sole; ask us for the spec sheet."},
            {"q": "What's the return policy?", "a": "30 days, unworn, in the original box -- we pay the label."},
            {"q": "Do you ship abroad?", "a": "EU, UK & Switzerland in 3-5 days; elsewhere on request (customs extra)."},
            {"q": "How do I clean suede?", "a": "Brush when dry, then use a suede eraser on stains; no water or soap."},
            {"q": "Is the leather vegetable-tanned?", "a": "Yes, from a family tannery in Tuscany, certified LWG Gold."}
        ],
        "seo": {"title": "Classic Trail Boots (Brown) - Free Shipping", "slug": "classic-trail-boots-brown"}
    })
}

fn threat(c: &mut Criterion) {
    let detector = ThreatDetector::new(ThreatMode::Block).unwrap();
    let uri: http::Uri = QUERY_URI.parse().unwrap();
    assert!(uri.to_string().len() >= 190 && uri.to_string().len() <= 210, "{}", uri.to_string().len());
    let body = json_body();
    let body_len = serde_json::to_vec(&body).unwrap().len();
    assert!((1800..=2300).contains(&body_len), "{body_len}");
    assert!(detector.scan_uri(&uri).is_none());
    assert!(detector.scan_json(&body).is_none());
    let attack_uri: http::Uri = "/api/items?q=1%27%20OR%20%271%27%3D%271&sort=price".parse().unwrap();
    let attack_body = serde_json::json!({"name": "<img src=x onerror=alert(1)>", "price": 5});

    // Just under the default 16 KiB request-target limit.
    let limited = |query: String| -> http::Uri {
        let query: String = query.chars().take(16_000).collect();
        format!("/p?{}", query.trim_end_matches(|c: char| c == '%' || c.is_ascii_hexdigit())).parse().unwrap()
    };
    let sql_like = limited((0..500).map(|i| format!("q{i}=%27a%20like%20b%28{i}%29")).collect::<Vec<_>>().join("&"));
    let many = limited((0..4000).map(|i| format!("{i:x}")).collect::<Vec<_>>().join("&"));
    let one_long = limited(format!("q={}", "%27a%20like%20b%28x%29".repeat(800)));
    for worst in [&sql_like, &many, &one_long] {
        assert!(detector.scan_uri(worst).is_none_or(|finding| !finding.blocks()), "{worst}");
    }

    // What every request of a browser sends: scanned on each new client, or each new version.
    let mut browser = http::HeaderMap::new();
    browser.insert(http::header::USER_AGENT, http::HeaderValue::from_static(BROWSER_USER_AGENT));
    assert!(detector.scan_headers(&browser).is_none());

    let mut group = c.benchmark_group("threat");
    group.bench_function("header_browser_user_agent", |b| b.iter(|| detector.scan_headers(black_box(&browser))));
    group.bench_function("query_200b_benign", |b| b.iter(|| detector.scan_uri(black_box(&uri))));
    group.bench_function("json_2kb_benign", |b| b.iter(|| detector.scan_json(black_box(&body))));
    group.bench_function("query_sqli", |b| b.iter(|| detector.scan_uri(black_box(&attack_uri))));
    group.bench_function("json_xss", |b| b.iter(|| detector.scan_json(black_box(&attack_body))));
    group.bench_function("query_16kib_500_sql_like_params", |b| b.iter(|| detector.scan_uri(black_box(&sql_like))));
    group.bench_function("query_16kib_4000_params", |b| b.iter(|| detector.scan_uri(black_box(&many))));
    group.bench_function("query_16kib_one_sql_like_value", |b| b.iter(|| detector.scan_uri(black_box(&one_long))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = threat
}
criterion_main!(benches);
