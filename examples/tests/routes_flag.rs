//! `quickstart --routes` prints the security inventory and exits without serving.

#[test]
fn routes_flag_prints_the_inventory_and_exits() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .arg("--routes")
        .env_clear()
        .output()
        .expect("the quickstart binary runs");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    assert!(text.starts_with("METHOD"), "{text}");
    assert_eq!(text.lines().count(), 9, "header + 8 routes:\n{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("POST    /api/items ") && line.contains("100/15m") && line.contains("16KiB"))
    );
    assert!(
        text.lines().any(|line| line.starts_with("GET     /api/account ") && line.contains("+bound any")),
        "the sender-constrained route shows its binding:\n{text}"
    );
    assert!(!text.contains("listening"), "{text}");
}
