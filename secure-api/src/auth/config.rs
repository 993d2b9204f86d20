//! What authentication reads of the app's configuration, in one struct of its own.
//!
//! [`Security`](crate::Security) holds it (built by
//! [`SecurityBuilder::build`](crate::SecurityBuilder::build)); the authentication and scope
//! checks take it rather than the whole application state, so `auth` sits below `state` and
//! never reaches back up into it.

use crate::auth::challenge::Realm;
use crate::auth::dpop::DpopVerifier;
#[cfg(feature = "idp")]
use crate::auth::introspection::Introspector;
use crate::auth::{ApiKeys, Issuers, TokenCache};

/// The verifiers, keys and challenge parameters of pipeline steps 3 and 5.
#[derive(Debug)]
pub(crate) struct AuthConfig {
    pub(crate) realm: Realm,
    /// The trusted issuers' JWT verifiers (one, from `SecurityBuilder::jwt`, or several).
    pub(crate) jwt: Option<Issuers>,
    #[cfg(feature = "idp")]
    pub(crate) introspection: Option<Introspector>,
    pub(crate) api_keys: Option<ApiKeys>,
    pub(crate) token_cache: Option<TokenCache>,
    pub(crate) dpop: DpopVerifier,
}
