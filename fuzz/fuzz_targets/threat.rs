//! Threat detection's decoding and rules: any input is scanned without a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use secure_api::threat::{Location, ThreatDetector, ThreatMode};

fn detector() -> &'static ThreatDetector {
    static DETECTOR: OnceLock<ThreatDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| ThreatDetector::new(ThreatMode::Block).expect("the rules compile"))
}

fuzz_target!(|text: &str| {
    let _ = detector().scan_str(text, Location::Query("q".into()));
    let _ = detector().scan_str(text, Location::Path);
});
