//! The audit line's redaction rules live with the audit log, in `audit/redact.rs`; this keeps
//! the crate root's `redact::{AuditConfig, REDACTED}` re-exports pointing where they did.

pub use crate::audit::redact::{AuditConfig, REDACTED};
