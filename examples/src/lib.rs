//! Runnable servers built with secure-api. [`quickstart`] is the main one: the seed's example
//! API (items, reports, an OAuth token endpoint), secured end to end.
//!
//! The servers are libraries first so the workspace tests can build the very same app and
//! send it requests; `src/bin/` holds thin `main`s.

pub mod quickstart;
