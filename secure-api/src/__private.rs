//! Items the macro expansions call. Not public API: no stability promise, do not use directly.

pub use crate::auth::AuthScheme;
pub use crate::guard::Guard;
pub use crate::ip_rules::Cidr;
pub use crate::policy::{Policy, RoutePolicy};
