//! The validated plan: what the attribute asked for, each piece with the tokens it came from.

use proc_macro2::Span;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrKind {
    Secure,
    Public,
}

impl AttrKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::Public => "public",
        }
    }
}

/// A parsed value with the span of the argument name (for "needs"/"conflicts" errors).
pub(crate) struct Spanned<T> {
    pub(crate) key_span: Span,
    pub(crate) value: T,
}

/// An authentication scheme, by the runtime's `AuthScheme` variant name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AuthScheme {
    Bearer,
    ApiKey,
}

impl AuthScheme {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::ApiKey => "ApiKey",
        }
    }
}

/// Everything the attribute's arguments declared. Each argument module fills its own field.
#[derive(Default)]
pub(crate) struct PolicyArgs {
    /// Whether parsing the arguments reported an error (a malformed value leaves its field
    /// empty, so the fields alone cannot tell): such arguments never build a [`CheckedPolicy`].
    pub(crate) malformed: bool,
    /// Every argument written, valid or not, so cross-argument rules do not pile a second
    /// error ("needs `auth`") on top of a malformed one.
    pub(crate) written: Vec<&'static str>,
    pub(crate) auth: Option<Spanned<Vec<AuthScheme>>>,
    pub(crate) scopes: Option<Spanned<Vec<String>>>,
    /// `auth_optional`: no credentials means no principal, not 401.
    pub(crate) auth_optional: Option<Spanned<()>>,
    /// `authorize = path::to::check`.
    pub(crate) authorize: Option<Spanned<syn::Path>>,
    pub(crate) allow_ips: Option<Spanned<Vec<crate::args::ip_lists::CidrEntry>>>,
    pub(crate) deny_ips: Option<Spanned<Vec<crate::args::ip_lists::CidrEntry>>>,
    pub(crate) threat: Option<Spanned<bool>>,
    /// `threat(exempt(xss = ["body.description"]))`, one entry per field.
    pub(crate) threat_exempt: Vec<ThreatExemptArg>,
    pub(crate) rate: Option<Spanned<RateArg>>,
    /// The rates after the first in `rate = ["10/1s", "1000/1h"]`; empty for one rate.
    pub(crate) more_rates: Vec<RateArg>,
    pub(crate) rate_key: Option<Spanned<RateKeyArg>>,
    /// `validate` (true) or `validate = false`.
    pub(crate) validate: Option<Spanned<bool>>,
    /// `max_body = "16KiB"`, in bytes.
    pub(crate) max_body: Option<Spanned<usize>>,
    /// `state = AppState`: the router state, for `authorize` checks that take `State<T>` and
    /// for the extractor diagnostics.
    pub(crate) state: Option<Spanned<syn::Type>>,
    /// `bound = "dpop"`: the runtime's `TokenBinding` variant.
    pub(crate) bound: Option<Spanned<&'static str>>,
    /// `acr = ["urn:example:mfa"]`: the accepted `acr` values, checked and distinct.
    pub(crate) acr: Option<Spanned<Vec<String>>>,
    /// `max_age = 300`: seconds, at least 1.
    pub(crate) max_age: Option<Spanned<u64>>,
    /// `errors = "oauth"`: the runtime's `ErrorFormat` variant.
    pub(crate) errors: Option<Spanned<&'static str>>,
}

/// The policy expansion writes: built only by `check::build` (the `_sealed` field), from
/// arguments that parsed and passed every cross-argument rule. An `Option` here means "not
/// declared", never "not checked".
pub(crate) struct CheckedPolicy {
    pub(crate) kind: AttrKind,
    pub(crate) auth: Option<Vec<AuthScheme>>,
    pub(crate) scopes: Option<Vec<String>>,
    /// `auth_optional`: no credentials means no principal, not 401.
    pub(crate) optional_auth: bool,
    /// The object-level check's path, as written.
    pub(crate) authorize: Option<syn::Path>,
    pub(crate) allow_ips: Option<Vec<crate::args::cidr::Cidr>>,
    pub(crate) deny_ips: Option<Vec<crate::args::cidr::Cidr>>,
    pub(crate) threat: Option<bool>,
    pub(crate) threat_exempt: Vec<ThreatExemptArg>,
    /// Every rate, in the order written; empty without `rate`.
    pub(crate) rates: Vec<RateArg>,
    pub(crate) rate_key: Option<RateKeyArg>,
    pub(crate) validation: Validation,
    /// In bytes.
    pub(crate) max_body: Option<usize>,
    /// The router state named with `state = AppState`.
    pub(crate) state: Option<syn::Type>,
    /// The runtime's `TokenBinding` variant.
    pub(crate) bound: Option<&'static str>,
    /// The accepted `acr` values (RFC 9470 step-up).
    pub(crate) acr_values: Option<Vec<String>>,
    /// The largest age of the user's authentication, in seconds.
    pub(crate) max_age: Option<u64>,
    /// The runtime's `ErrorFormat` variant of the handler's own error bodies.
    pub(crate) errors: Option<&'static str>,
    pub(crate) _sealed: crate::check::Sealed,
}

/// What the route decided about its inputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Validation {
    /// No `validate` argument (a `#[public]` route, or a `#[secure]` one without inputs).
    Unstated,
    /// `validate`: inputs are checked against their request types.
    Enforced,
    /// `validate = false`: inputs are accepted unchecked, on purpose.
    OptedOut,
}

/// One exempted field: the string that names it (for spans) and the runtime's `ThreatFamily`
/// variants it skips.
#[derive(Clone)]
pub(crate) struct ThreatExemptArg {
    pub(crate) field: syn::LitStr,
    pub(crate) families: &'static [&'static str],
}

/// `rate = "N/WINDOW"`, validated: `count` requests per `window_secs` seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateArg {
    pub(crate) count: u32,
    pub(crate) window_secs: u64,
}

/// `key = "..."`: what the rate limit counts against, by the runtime's `RateKeyKind` variant.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum RateKeyArg {
    Ip,
    Principal,
    ApiKey,
    /// A lower-case header name.
    Header(String),
    /// A top-level token claim's name.
    Claim(String),
}
