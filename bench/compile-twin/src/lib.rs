//! The quickstart (`examples/src/quickstart`) with `#[secure]` / `#[public]` removed and a plain
//! `axum::Router` instead of `SecureRouter`: the same crate size, dependencies and handler
//! bodies, so `cargo check` after touching one handler measures what the macros and the
//! router's compile-time checks cost (see BENCHMARKS.md, "Compile time").
//!
//! `config.rs`, `items.rs` and the binary are copies of the quickstart's; `handlers.rs` and
//! `mod.rs` differ only by the missing annotations. It applies the `SecurityLayer` but no guard,
//! so it enforces no authentication: never serve it.

pub mod quickstart;
