//! Items the macro expansions call. Not public API: no stability promise, do not use directly.

pub use crate::auth::AuthScheme;
pub use crate::guard::Guard;
pub use crate::policy::{Policy, RoutePolicy};
pub use crate::rate::{RateKeyKind, RateSpec};
