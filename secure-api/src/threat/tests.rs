//! Unit tests of the detector, and the two corpora: every attack payload should be found, no
//! benign line may be. The corpus test prints the rates (`cargo test -p secure-api threat --
//! --nocapture`).

use super::*;

const ATTACKS: &str = include_str!("corpus/attacks.txt");
const BENIGN: &str = include_str!("corpus/benign.txt");
const EVERYDAY: &str = include_str!("corpus/everyday.txt");

fn lines(corpus: &str) -> impl Iterator<Item = &str> {
    corpus.lines().filter(|line| !line.is_empty() && !line.starts_with('#'))
}

fn detector() -> ThreatDetector {
    ThreatDetector::new(ThreatMode::Block).unwrap()
}

/// Whether a scan found evidence that reaches the threshold (a 403 in block mode).
fn blocks(finding: &Option<Finding>) -> bool {
    finding.as_ref().is_some_and(Finding::blocks)
}

/// What a browser does to a form field: every byte outside the unreserved set percent-encoded.
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else if byte == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[test]
fn attack_corpus_detection_rate() {
    let detector = detector();
    let attacks: Vec<&str> = lines(ATTACKS).collect();
    assert!(attacks.len() >= 150, "the attack corpus has {} payloads", attacks.len());
    let missed: Vec<&str> = attacks
        .iter()
        .copied()
        .filter(|payload| !blocks(&detector.scan_str(payload, Location::Query("q".into()))))
        .collect();
    let detected = attacks.len() - missed.len();
    let rate = detected as f64 / attacks.len() as f64 * 100.0;
    println!("threat detection: {detected}/{} attack payloads detected in a query value ({rate:.1} %)", attacks.len());
    for payload in &missed {
        println!("  missed: {payload}");
    }
    assert!(rate >= 95.0, "detection rate {rate:.1} % is below 95 %; missed: {missed:#?}");
}

#[test]
fn benign_corpus_has_no_false_positive_anywhere() {
    let detector = detector();
    let benign: Vec<&str> = lines(BENIGN).chain(lines(EVERYDAY)).collect();
    assert!(benign.len() >= 250, "the benign corpora have {} lines", benign.len());
    let mut false_positives = Vec::new();
    for text in &benign {
        let scans = [
            detector.scan_str(&form_encode(text), Location::Query("q".into())),
            detector.scan_str(text, Location::Body("/name".into())),
            detector.scan_json(&serde_json::json!({ "note": text, "tags": [text] })),
        ];
        for finding in scans.into_iter().flatten().filter(Finding::blocks) {
            false_positives.push(format!("{text}  ->  {} at {}", finding.rule(), finding.location()));
        }
        // Header values must be visible ASCII; scan the ones that are.
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            let name = HeaderName::from_static("user-agent");
            if let Some(finding) = detector.scan_str(text, Location::Header(name)).filter(Finding::blocks) {
                false_positives.push(format!("{text}  ->  {} in a header", finding.rule()));
            }
        }
    }
    let rate = false_positives.len() as f64 / benign.len() as f64 * 100.0;
    println!(
        "threat detection: {} false positives on {} benign inputs ({rate:.1} %) scanned as query, body, JSON and header",
        false_positives.len(),
        benign.len()
    );
    assert!(false_positives.is_empty(), "false positives: {false_positives:#?}");
}

#[test]
fn attacks_in_json_bodies_are_found_except_header_only_rules() {
    let detector = detector();
    let mut total = 0;
    let mut detected = 0;
    for payload in lines(ATTACKS) {
        // CRLF rules apply to the URL and headers only; a line break in body text is ordinary.
        if detector
            .scan_str(payload, Location::Query("q".into()))
            .is_some_and(|finding| finding.family() == ThreatFamily::HeaderInjection)
        {
            continue;
        }
        total += 1;
        // A JSON client sends the characters; decode the wire form once, as a form parser would.
        let decoded = normalize::normalize(payload, true);
        let body = serde_json::json!({ "items": [{ "name": payload }, { "name": decoded }] });
        if blocks(&detector.scan_json(&body)) {
            detected += 1;
        }
    }
    let rate = detected as f64 / total as f64 * 100.0;
    println!("threat detection: {detected}/{total} attack payloads detected in JSON bodies ({rate:.1} %)");
    assert!(rate >= 95.0);
}

#[test]
fn every_family_is_covered() {
    let detector = detector();
    let mut families = std::collections::HashSet::new();
    for payload in lines(ATTACKS) {
        if let Some(finding) = detector.scan_str(payload, Location::Query("q".into())).filter(Finding::blocks) {
            families.insert(finding.family());
        }
    }
    for family in [
        ThreatFamily::SqlInjection,
        ThreatFamily::Xss,
        ThreatFamily::PathTraversal,
        ThreatFamily::CommandInjection,
        ThreatFamily::HeaderInjection,
    ] {
        assert!(families.contains(&family), "{family:?}");
    }
}

#[test]
fn crlf_is_a_threat_in_urls_and_headers_but_not_in_body_text() {
    let detector = detector();
    let payload = "en%0d%0aSet-Cookie:%20a=b";
    assert_eq!(detector.scan_str(payload, Location::Query("lang".into())).unwrap().rule(), "crlf-header-injection");
    let header = Location::Header(HeaderName::from_static("referer"));
    assert_eq!(detector.scan_str(payload, header).unwrap().rule(), "crlf-header-injection");
    assert!(detector.scan_json(&serde_json::json!({"note": "Dear team,\nNote: see below"})).is_none());
}

#[test]
fn scan_uri_reports_the_parameter_and_keeps_parameters_apart() {
    let detector = detector();
    let uri: http::Uri = "/api/items?page=2&q=1%27%20OR%201%3D1--".parse().unwrap();
    let finding = detector.scan_uri(&uri).unwrap();
    assert_eq!(finding.location(), &Location::Query("q".into()));
    // `&id` separates parameters; it is not a shell `& id`.
    assert!(detector.scan_uri(&"/api/items?a=1&id&b=2".parse().unwrap()).is_none());
    assert_eq!(
        detector.scan_uri(&"/api/%2e%2e/%2e%2e/etc/passwd".parse().unwrap()).unwrap().location(),
        &Location::Path
    );
}

#[test]
fn oversized_inputs_and_deep_json_fail_closed() {
    let detector = ThreatDetector::builder().max_input_bytes(64).build().unwrap();
    let long = "a".repeat(65);
    assert_eq!(detector.scan_str(&long, Location::Body("/x".into())).unwrap().rule(), "input-too-long");
    assert!(detector.scan_str(&long[..64], Location::Body("/x".into())).is_none());
    let mut deep = serde_json::json!("leaf");
    for _ in 0..100 {
        deep = serde_json::json!([deep]);
    }
    assert_eq!(detector.scan_json(&deep).unwrap().rule(), "input-too-long");
}

#[test]
fn json_keys_and_pointers() {
    let detector = detector();
    let body = serde_json::json!({"a/b": {"<script>": 1}});
    let finding = detector.scan_json(&body).unwrap();
    assert_eq!(finding.location().to_string(), "body:/a~1b/<script>");
    assert_eq!(finding.rule(), "xss-script-tag");
}

#[test]
fn finding_renders_a_problem_with_the_rule() {
    let finding = detector().scan_str("<script>alert(1)</script>", Location::Path).unwrap();
    let problem = finding.problem();
    assert_eq!(problem.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem.body()["rule"], "xss-script-tag");
    assert_eq!(finding.outcome().as_str(), "denied:threat:xss-script-tag");
    assert!(!problem.body().to_string().contains("alert"), "the input is never echoed");
}

#[test]
fn configured_headers_only() {
    let detector =
        ThreatDetector::builder().no_headers().scan_header(HeaderName::from_static("x-note")).build().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", "() { :; }; /bin/bash -c id".parse().unwrap());
    assert!(detector.scan_headers(&headers).is_none());
    headers.insert("x-note", "<script>".parse().unwrap());
    assert_eq!(
        detector.scan_headers(&headers).unwrap().location(),
        &Location::Header(HeaderName::from_static("x-note"))
    );
    // The defaults scan User-Agent.
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", "() { :; }; /bin/bash -c id".parse().unwrap());
    assert_eq!(self::detector().scan_headers(&headers).unwrap().family(), ThreatFamily::CommandInjection);
}

#[test]
fn every_rule_has_a_distinct_id_and_outcome() {
    let ids: Vec<&str> = ThreatDetector::rule_ids().collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len());
    for rule in rules::all_rules() {
        assert_eq!(rule.outcome, format!("denied:threat:{}", rule.id));
    }
}

/// The ordinary strings issue 17 reported refused, in every location.
#[test]
fn the_strings_issue_17_reported_refused_are_served() {
    let detector = detector();
    for text in [
        "Photo & ID",
        "CEO & Exec Director",
        "Amazon Fire TV | Echo Show 8",
        "Step 1) Create user account",
        "Baby Sleep (0-6 months)",
        "Confirm (2 items)",
        "Price in $(USD)",
    ] {
        for location in [Location::Query("q".into()), Location::Body("/name".into()), Location::Path] {
            let finding = detector.scan_str(text, location.clone());
            assert!(!blocks(&finding), "{text} at {location}: {finding:?}");
        }
        assert!(!blocks(&detector.scan_str(&form_encode(text), Location::Query("q".into()))), "{text}");
    }
}

/// The payloads issue 17 reported missed.
#[test]
fn the_payloads_issue_17_reported_missed_are_refused() {
    let detector = detector();
    for payload in [
        "admin' or true-- -",
        "1 or 2>1",
        "1 ORDER BY 5",
        ";w'h'o'a'm'i",
        ";c\\at /e\\tc/pa\\sswd",
        "| pwd",
        "&#x00000006a;avascript:alert(1)",
        "<a href=\"&#x00000006a;avascript:alert(1)\">x</a>",
    ] {
        for location in [Location::Query("q".into()), Location::Body("/name".into())] {
            let finding = detector.scan_str(payload, location.clone());
            assert!(blocks(&finding), "{payload} at {location}: {finding:?}");
        }
        assert!(blocks(&detector.scan_str(&form_encode(payload), Location::Query("q".into()))), "{payload}");
    }
}

#[test]
fn evidence_below_the_threshold_is_reported_but_does_not_block() {
    let detector = detector();
    let finding = detector.scan_str("Confirm (2)", Location::Body("/label".into())).unwrap();
    assert_eq!((finding.rule(), finding.score(), finding.blocks()), ("xss-spaced-sink", 3, false));
    // Two weak signals in one input add up to a block.
    let finding = detector.scan_str("x' or", Location::Body("/q".into())).unwrap();
    assert_eq!(finding.score(), 3);
    // A blocking finding in one parameter wins over weak evidence in another.
    let uri: http::Uri = "/api?note=Confirm%20(2)&q=%3Cscript%3E".parse().unwrap();
    let finding = detector.scan_uri(&uri).unwrap();
    assert!(finding.blocks());
    assert_eq!(finding.location(), &Location::Query("q".into()));
    // The weak one alone is returned, not blocking.
    let uri: http::Uri = "/api?note=Confirm%20(2)&page=2".parse().unwrap();
    assert!(!detector.scan_uri(&uri).unwrap().blocks());
}

#[test]
fn the_threshold_and_the_paranoia_level_are_configurable() {
    let strict = ThreatDetector::builder().block_threshold(3).build().unwrap();
    assert!(strict.scan_str("Confirm (2)", Location::Body("/note".into())).unwrap().blocks());
    let lenient = ThreatDetector::builder().block_threshold(100).build().unwrap();
    let finding = lenient.scan_str("' or 1=1 --", Location::Body("/q".into())).unwrap();
    assert!(!finding.blocks() && finding.score() >= 10, "{finding:?}");
    let paranoid = ThreatDetector::builder().paranoia_level(ParanoiaLevel::new(4).unwrap()).build().unwrap();
    assert_eq!(paranoid.paranoia_level().get(), 4);
    assert!(paranoid.scan_str("' or 1=1 --", Location::Body("/q".into())).unwrap().blocks());
    assert_eq!(strict.block_threshold(), 3);
    assert_eq!(ThreatDetector::builder().block_threshold(0).build().unwrap().block_threshold(), 1);
}

#[test]
fn log_only_and_scored_findings_pass_and_are_noted_for_the_audit_line() {
    let request = http::Request::new(());
    let (mut parts, ()) = request.into_parts();
    let client = crate::client::ClientIdentity { ip: std::net::IpAddr::from([192, 0, 2, 7]), https: false };
    let context = RequestContext::new(client, crate::request_id::RequestId::generate());
    parts.extensions.insert(context.clone());
    let detector = detector();
    let weak = detector.scan_str("Confirm (2)", Location::Body("/note".into()));
    assert!(detector.enforce(weak, RequestContext::of(&parts).ok()).is_ok());
    assert_eq!(context.threat_rule(), Some("xss-spaced-sink"));
    let strong = detector.scan_str("<script>", Location::Body("/note".into()));
    assert_eq!(detector.enforce(strong.clone(), None).unwrap_err().status(), StatusCode::FORBIDDEN);
    let log_only = ThreatDetector::new(ThreatMode::LogOnly).unwrap();
    assert!(log_only.enforce(strong, None).is_ok());
}

/// The client the memory tests' requests come from.
const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

/// Header values' verdicts are remembered, and a remembered verdict is the one a scan gives:
/// for every attack and benign line as a `User-Agent`, the second request (answered from
/// memory) gets exactly the first one's finding.
#[test]
fn remembered_header_verdicts_are_the_scanned_ones() {
    let detector = detector();
    let mut remembered = std::collections::HashSet::new();
    for line in lines(ATTACKS).chain(lines(BENIGN)).chain(lines(EVERYDAY)) {
        let Ok(value) = http::HeaderValue::from_str(line) else { continue };
        let mut headers = HeaderMap::new();
        headers.insert(http::header::USER_AGENT, value);
        let scanned = detector.scan_headers_from(&headers, Some(CLIENT));
        let from_memory = detector.scan_headers_from(&headers, Some(CLIENT));
        let view = |finding: &Option<Finding>| finding.as_ref().map(|f| (f.rule(), f.score(), f.blocks()));
        assert_eq!(view(&scanned), view(&from_memory), "{line:?}");
        // The same value scanned as a string (never remembered): the same evidence.
        let direct = detector.scan_str(line, Location::Header(http::header::USER_AGENT));
        assert_eq!(view(&scanned), view(&direct), "{line:?}");
        if line.len() <= memory::REMEMBERED_INPUT_BYTES {
            remembered.insert(line);
        }
    }
    assert!(remembered.len() > 100 && remembered.len() < memory::REMEMBERED_INPUTS, "{}", remembered.len());
    assert_eq!(detector.inner.memory.len(), remembered.len(), "one verdict per distinct value");
}

/// A value longer than the remembered size is scanned every time, and still refused.
#[test]
fn long_header_values_are_scanned_not_remembered() {
    let detector = detector();
    let attack = format!("{}<script>alert(1)</script>", "a".repeat(memory::REMEMBERED_INPUT_BYTES));
    let mut headers = HeaderMap::new();
    headers.insert(http::header::REFERER, http::HeaderValue::from_str(&attack).unwrap());
    for _ in 0..2 {
        assert!(blocks(&detector.scan_headers_from(&headers, Some(CLIENT))));
    }
    assert_eq!(detector.inner.memory.len(), 0);
}

/// The same for paths and query parameters: every corpus line as a form-encoded query value and
/// as a path segment, scanned twice (the second time from memory), gives the same finding.
#[test]
fn remembered_uri_verdicts_are_the_scanned_ones() {
    let detector = detector();
    let view = |finding: Option<Finding>| finding.map(|f| (f.rule(), f.score(), f.blocks(), f.location().to_string()));
    for line in lines(ATTACKS).chain(lines(BENIGN)).chain(lines(EVERYDAY)) {
        let encoded = form_encode(line);
        for text in [format!("/api/items?q={encoded}&page=2"), format!("/api/{encoded}")] {
            let Ok(uri) = text.parse::<http::Uri>() else { continue };
            let scanned = view(detector.scan_uri_except(&uri, &[], Some(CLIENT)));
            assert_eq!(scanned, view(detector.scan_uri_except(&uri, &[], Some(CLIENT))), "{text}");
            assert_eq!(scanned, view(detector.scan_uri(&uri)), "{text}: scanned without memory");
        }
    }
    assert!(detector.inner.memory.len() > 1_000, "{}", detector.inner.memory.len());
}

/// The same for JSON bodies: every corpus line as a member's value, as a key and as an array
/// item, scanned twice from one client (the second time from memory), gives the finding, at the
/// same JSON pointer, that a scan without memory gives; a field exemption is part of what is
/// remembered, so an exempt field's remembered score never answers for another field.
#[test]
fn remembered_json_verdicts_are_the_scanned_ones() {
    let detector = detector();
    let view = |finding: Option<Finding>| finding.map(|f| (f.rule(), f.score(), f.blocks(), f.location().to_string()));
    let rich_text = [FieldExemption::new("body.description", &[ThreatFamily::Xss])];
    for line in lines(ATTACKS).chain(lines(BENIGN)).chain(lines(EVERYDAY)) {
        let bodies = [
            serde_json::json!({"name": "Boots", "tags": ["a", line], "vendor": {"note": line}}),
            serde_json::json!({ line: 1, "name": line }),
            serde_json::json!({"description": line, "name": line}),
        ];
        for body in &bodies {
            for exemptions in [&[][..], &rich_text[..]] {
                let scanned = view(detector.scan_json_from(body, exemptions, Some(CLIENT)));
                assert_eq!(scanned, view(detector.scan_json_from(body, exemptions, Some(CLIENT))), "{body}");
                assert_eq!(scanned, view(detector.scan_json_except(body, exemptions)), "{body}: without memory");
            }
        }
    }
    assert!(detector.inner.memory.len() > 1_000, "{}", detector.inner.memory.len());
}

/// What the detector did not read is refused whatever the threshold: a value, a query or a
/// header over `max_input_bytes`, and JSON nested deeper than it walks. With a threshold of 10
/// an app accepts single-rule findings; padding a payload must not be a way past every rule.
#[test]
fn unread_input_blocks_whatever_the_threshold() {
    let lenient = ThreatDetector::builder().block_threshold(10).max_input_bytes(256).build().unwrap();
    let padded = format!("{}<script>alert(1)</script>", "a".repeat(300));
    assert!(blocks(&lenient.scan_str(&padded, Location::Body("/note".into()))));
    let uri: http::Uri = format!("/api/items?q={}", "a".repeat(300)).parse().unwrap();
    assert!(blocks(&lenient.scan_uri(&uri)));
    let mut headers = HeaderMap::new();
    headers.insert(http::header::USER_AGENT, http::HeaderValue::from_str(&padded).unwrap());
    assert!(blocks(&lenient.scan_headers(&headers)));
    let mut deep = serde_json::json!("x");
    for _ in 0..70 {
        deep = serde_json::json!([deep]);
    }
    assert!(blocks(&lenient.scan_json(&deep)));
    // What it read is judged by the threshold: a warning (3) is only evidence here.
    let read = lenient.scan_str("Confirm (2)", Location::Body("/note".into()));
    assert!(read.as_ref().is_some_and(|finding| !finding.blocks()), "{read:?}");
}
