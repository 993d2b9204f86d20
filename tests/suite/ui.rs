//! Compile-time rules, proven with trybuild: each `fail` case holds one mistake and its
//! `.stderr` snapshot; `pass` cases show what must keep compiling.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/fail/*.rs");
    cases.pass("ui/pass/*.rs");
}
