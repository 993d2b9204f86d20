//! Items the macro expansions call. Not public API: no stability promise, do not use directly.

pub use crate::auth::AuthScheme;
pub use crate::auth::authorize::{AuthorizeFuture, AuthorizeHook, boxed as authorize_boxed};
pub use crate::guard::Guard;
pub use crate::ip_rules::Cidr;
pub use crate::policy::{Policy, RoutePolicy};
pub use crate::principal::Principal;
pub use crate::rate::{RateKeyKind, RateSpec};
pub use http::request::Parts;
