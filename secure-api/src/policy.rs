//! A route's declared security policy, built at compile time by `#[secure]` / `#[public]`.

use crate::auth::AuthScheme;
use crate::ip_rules::Cidr;
use crate::rate::{RateKeyKind, RateSpec};
use crate::threat::FieldExemption;
use crate::validate::{SchemaRegistry, ValidateInput};

/// What one handler declared: authentication schemes, scopes, and whether it is public.
///
/// The macros build it as a `const` with the `const fn` builders below, so nothing about a
/// route's policy is parsed or allocated per request. The router records it for each route
/// (see [`SecureRouter::routes`](crate::SecureRouter::routes)).
///
/// # Examples
/// ```
/// use secure_api::{policy::RoutePolicy, auth::AuthScheme};
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("my_app::create_item")
///     .with_auth(&[AuthScheme::Bearer])
///     .with_scopes(&["items:write"]);
/// assert_eq!(POLICY.scopes(), ["items:write"]);
/// assert!(!POLICY.is_public());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutePolicy {
    handler: &'static str,
    public: bool,
    auth: &'static [AuthScheme],
    scopes: &'static [&'static str],
    auth_optional: bool,
    authorize: Option<&'static str>,
    allow_ips: &'static [Cidr],
    deny_ips: &'static [Cidr],
    threat_detection: bool,
    threat_exemptions: &'static [FieldExemption],
    rate: Option<RateSpec>,
    /// Every rate when several are declared (`rate = ["10/1s", "1000/1h"]`); empty otherwise.
    rates: &'static [RateSpec],
    rate_key: RateKeyKind,
    validation: Validation,
    max_body: usize,
    request_body: Option<RequestBody>,
    binding: Option<TokenBinding>,
    /// `acr = [...]`: the authentication context classes the route accepts (empty: any).
    acr_values: &'static [&'static str],
    /// `max_age = N`: the largest age of the user's authentication, in seconds.
    max_age: Option<u64>,
    /// `errors = "oauth"`: the format of the handler's own error bodies.
    error_format: ErrorFormat,
}

/// The format of a handler's own error bodies (`errors = "oauth"` in `#[public]`), as the route
/// inventory and the self-scan read it. Rejections by the framework (rate limit, IP rules,
/// validation, ...) are `application/problem+json` on every route.
///
/// # Examples
/// ```
/// use secure_api::{policy::ErrorFormat, policy::RoutePolicy};
///
/// const POLICY: RoutePolicy = RoutePolicy::public("app::token").with_error_format(ErrorFormat::OAuth);
/// assert_eq!(POLICY.error_format(), ErrorFormat::OAuth);
/// assert_eq!(RoutePolicy::public("app::health").error_format(), ErrorFormat::Problem);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorFormat {
    /// RFC 9457 `application/problem+json`: the one envelope of every rejection (the default).
    #[default]
    Problem,
    /// RFC 6749 §5.2 `application/json` bodies with an `error` code, as an OAuth token endpoint
    /// must answer; problem+json is still accepted from such a route.
    OAuth,
}

impl ErrorFormat {
    /// The name written in `#[public(errors = "...")]` and shown in route reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Problem => "problem",
            Self::OAuth => "oauth",
        }
    }
}

/// The sender constraint a route requires of access tokens (`bound = "dpop"`, `"mtls"` or
/// `"any"` in `#[secure]`): a plain bearer token is refused with 401 `invalid_token`.
///
/// # Examples
/// ```
/// use secure_api::{policy::RoutePolicy, policy::TokenBinding};
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("app::account").with_binding(TokenBinding::Dpop);
/// assert_eq!(POLICY.binding(), Some(TokenBinding::Dpop));
/// assert!(POLICY.requires_binding());
/// assert!(!RoutePolicy::secured("app::list").requires_binding());
/// assert!(TokenBinding::Any.accepts_certificate() && TokenBinding::Any.accepts_dpop());
/// assert!(!TokenBinding::Mtls.accepts_dpop());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenBinding {
    /// DPoP-bound tokens only (RFC 9449): `Authorization: DPoP <token>` with a valid proof.
    Dpop,
    /// Certificate-bound tokens only (RFC 8705): `cnf["x5t#S256"]` naming the client
    /// certificate the request's TLS connection presented.
    Mtls,
    /// Either: a DPoP-bound token with its proof, or a certificate-bound token over a
    /// connection with that certificate.
    Any,
}

impl TokenBinding {
    /// The name written in `#[secure(bound = "...")]` and shown in route reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dpop => "dpop",
            Self::Mtls => "mtls",
            Self::Any => "any",
        }
    }

    /// Whether a DPoP-bound token satisfies this requirement.
    pub const fn accepts_dpop(self) -> bool {
        matches!(self, Self::Dpop | Self::Any)
    }

    /// Whether a certificate-bound token satisfies this requirement.
    pub const fn accepts_certificate(self) -> bool {
        matches!(self, Self::Mtls | Self::Any)
    }
}

/// Whether a route validates its inputs (`validate` in `#[secure]` / `#[public]`), as recorded
/// in the route inventory.
///
/// # Examples
/// ```
/// use secure_api::{policy::RoutePolicy, policy::Validation};
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("app::create").with_validation(Validation::Enforced);
/// assert_eq!(POLICY.validation(), Validation::Enforced);
/// assert_eq!(RoutePolicy::secured("app::list").validation(), Validation::Undeclared);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// The handler takes no input that needs validation, and declared nothing.
    Undeclared,
    /// `validate`: every `Json`, `Form`, `Query` and `Path` input is validated.
    Enforced,
    /// `validate = false`: the handler's author opted out, visibly.
    OptedOut,
}

impl RoutePolicy {
    /// A policy for an authenticated handler (`handler` is its path, e.g. `app::create_item`).
    pub const fn secured(handler: &'static str) -> Self {
        Self {
            handler,
            public: false,
            auth: &[],
            scopes: &[],
            auth_optional: false,
            authorize: None,
            allow_ips: &[],
            deny_ips: &[],
            threat_detection: true,
            threat_exemptions: &[],
            rate: None,
            rates: &[],
            rate_key: RateKeyKind::Default,
            validation: Validation::Undeclared,
            max_body: crate::validate::DEFAULT_MAX_BODY,
            request_body: None,
            binding: None,
            acr_values: &[],
            max_age: None,
            error_format: ErrorFormat::Problem,
        }
    }

    /// A policy for a deliberately open handler.
    pub const fn public(handler: &'static str) -> Self {
        Self { public: true, ..Self::secured(handler) }
    }

    /// The schemes that may authenticate the caller (any one of them).
    pub const fn with_auth(mut self, auth: &'static [AuthScheme]) -> Self {
        self.auth = auth;
        self
    }

    /// Scopes the caller must all hold.
    pub const fn with_scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.scopes = scopes;
        self
    }

    /// Lets requests without credentials through with no principal (`auth_optional`);
    /// credentials that are sent must still be valid.
    pub const fn with_optional_auth(mut self) -> Self {
        self.auth_optional = true;
        self
    }

    /// Records the object-level check's path (`authorize = path::to::check`); the check itself
    /// runs in the `Authorize` extractor the expansion inserts.
    pub const fn with_authorize(mut self, check: &'static str) -> Self {
        self.authorize = Some(check);
        self
    }

    /// Only clients inside these networks may call the route (`allow_ips = [...]`).
    pub const fn with_allow_ips(mut self, networks: &'static [Cidr]) -> Self {
        self.allow_ips = networks;
        self
    }

    /// Clients inside these networks may not call the route (`deny_ips = [...]`); deny wins.
    pub const fn with_deny_ips(mut self, networks: &'static [Cidr]) -> Self {
        self.deny_ips = networks;
        self
    }

    /// Whether the app's threat detection inspects this route (`threat = false` opts out).
    pub const fn with_threat_detection(mut self, enabled: bool) -> Self {
        self.threat_detection = enabled;
        self
    }

    /// Exempts fields of this route's input from some threat rule families (rich text that
    /// legitimately holds markup, say); see [`threat_exemptions`](Self::threat_exemptions).
    pub const fn with_threat_exemptions(mut self, exemptions: &'static [FieldExemption]) -> Self {
        self.threat_exemptions = exemptions;
        self
    }

    /// The route's rate limit (`rate = "100/15m"`).
    pub const fn with_rate(mut self, rate: RateSpec) -> Self {
        self.rate = Some(rate);
        self.rates = &[];
        self
    }

    /// Several rate limits that must all pass (`rate = ["10/1s", "1000/1h"]`). An empty slice
    /// removes the limit.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{policy::RoutePolicy, rate::RateSpec};
    ///
    /// const POLICY: RoutePolicy = RoutePolicy::public("app::search")
    ///     .with_rates(&[RateSpec::new(10, 1), RateSpec::new(1000, 3600)]);
    /// assert_eq!(POLICY.rate(), Some(RateSpec::new(10, 1)));
    /// assert_eq!(POLICY.rates(), [RateSpec::new(10, 1), RateSpec::new(1000, 3600)]);
    /// ```
    pub const fn with_rates(mut self, rates: &'static [RateSpec]) -> Self {
        self.rate = match rates {
            [first, ..] => Some(*first),
            [] => None,
        };
        self.rates = rates;
        self
    }

    /// What the rate limit counts against (`key = "ip"`, ...).
    pub const fn with_rate_key(mut self, key: RateKeyKind) -> Self {
        self.rate_key = key;
        self
    }

    /// Whether inputs are validated (`validate` / `validate = false`).
    pub const fn with_validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// The largest request body a validated input reads, in bytes (`max_body = "16KiB"`).
    pub const fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Records the validated body input (`Json<T>` / `Form<T>` under `validate`), for the
    /// OpenAPI document.
    pub const fn with_request_body(mut self, body: RequestBody) -> Self {
        self.request_body = Some(body);
        self
    }

    /// The handler's path (`module::function`); also the route's id for per-route state.
    pub const fn handler(&self) -> &'static str {
        self.handler
    }

    /// Declared with `#[public]`.
    pub const fn is_public(&self) -> bool {
        self.public
    }

    /// Accepted authentication schemes.
    pub const fn auth(&self) -> &'static [AuthScheme] {
        self.auth
    }

    /// Required scopes.
    pub const fn scopes(&self) -> &'static [&'static str] {
        self.scopes
    }

    /// Requires sender-constrained access tokens (`bound = "dpop"`, `"mtls"`, `"any"`).
    pub const fn with_binding(mut self, binding: TokenBinding) -> Self {
        self.binding = Some(binding);
        self
    }

    /// The sender constraint the route requires, if any.
    pub const fn binding(&self) -> Option<TokenBinding> {
        self.binding
    }

    /// Whether the route refuses tokens that are not bound to a client key.
    pub const fn requires_binding(&self) -> bool {
        self.binding.is_some()
    }

    /// Requires step-up authentication (RFC 9470): the token's `acr` claim must be one of
    /// `values` (`acr = ["urn:example:mfa", "phr"]` in `#[secure]`). An empty slice removes
    /// the requirement.
    ///
    /// # Examples
    /// ```
    /// use secure_api::policy::RoutePolicy;
    ///
    /// const POLICY: RoutePolicy = RoutePolicy::secured("app::transfer")
    ///     .with_acr_values(&["urn:example:mfa", "phr"])
    ///     .with_max_age(300);
    /// assert_eq!(POLICY.acr_values(), ["urn:example:mfa", "phr"]);
    /// assert_eq!(POLICY.max_age(), Some(300));
    /// assert!(POLICY.requires_step_up());
    /// assert!(!RoutePolicy::secured("app::list").requires_step_up());
    /// ```
    pub const fn with_acr_values(mut self, values: &'static [&'static str]) -> Self {
        self.acr_values = values;
        self
    }

    /// Requires a recent authentication (RFC 9470): the token's `auth_time` must be at most
    /// `seconds` old (`max_age = 300` in `#[secure]`), within the verifier's clock-skew leeway.
    pub const fn with_max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// The `acr` values the route accepts (empty: the route does not look at `acr`).
    pub const fn acr_values(&self) -> &'static [&'static str] {
        self.acr_values
    }

    /// The largest age of the user's authentication the route accepts, in seconds.
    pub const fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// Whether the route has a step-up requirement (`acr` or `max_age`).
    pub const fn requires_step_up(&self) -> bool {
        !self.acr_values.is_empty() || self.max_age.is_some()
    }

    /// Declares the format of the handler's own error bodies (`errors = "oauth"` in `#[public]`).
    pub const fn with_error_format(mut self, format: ErrorFormat) -> Self {
        self.error_format = format;
        self
    }

    /// The format of the handler's own error bodies (default [`ErrorFormat::Problem`]).
    pub const fn error_format(&self) -> ErrorFormat {
        self.error_format
    }

    /// Whether callers without credentials are let through (the handler gets no principal).
    pub const fn is_auth_optional(&self) -> bool {
        self.auth_optional
    }

    /// The object-level check's path, when the route has one.
    pub const fn authorize(&self) -> Option<&'static str> {
        self.authorize
    }

    /// The route's IP allow list (empty: no restriction).
    pub const fn allow_ips(&self) -> &'static [Cidr] {
        self.allow_ips
    }

    /// The route's IP deny list.
    pub const fn deny_ips(&self) -> &'static [Cidr] {
        self.deny_ips
    }

    /// Whether threat detection inspects this route (default `true`).
    pub const fn threat_detection(&self) -> bool {
        self.threat_detection
    }

    /// Fields of this route's input that some threat rule families skip
    /// (`#[secure(..., threat(exempt(xss = ["body.description"])))]`).
    ///
    /// # Examples
    /// ```
    /// use secure_api::policy::RoutePolicy;
    /// use secure_api::threat::{FieldExemption, ThreatFamily};
    ///
    /// const POLICY: RoutePolicy = RoutePolicy::secured("shop::update_product")
    ///     .with_threat_exemptions(&[FieldExemption::new("body.description", &[ThreatFamily::Xss])]);
    /// assert_eq!(POLICY.threat_exemptions()[0].field(), "body.description");
    /// ```
    pub const fn threat_exemptions(&self) -> &'static [FieldExemption] {
        self.threat_exemptions
    }

    /// The declared rate limit, if any; the first one when several are declared.
    pub const fn rate(&self) -> Option<RateSpec> {
        self.rate
    }

    /// Every declared rate limit, in declaration order (empty when none).
    pub fn rates(&self) -> &[RateSpec] {
        if self.rates.is_empty() { self.rate.as_slice() } else { self.rates }
    }

    /// What the rate limit counts against.
    pub const fn rate_key(&self) -> RateKeyKind {
        self.rate_key
    }

    /// Whether the route validates its inputs.
    pub const fn validation(&self) -> Validation {
        self.validation
    }

    /// The body limit of validated inputs, in bytes (default 64 KiB).
    pub const fn max_body(&self) -> usize {
        self.max_body
    }

    /// The validated body input, when the handler takes one under `validate`.
    pub const fn request_body(&self) -> Option<RequestBody> {
        self.request_body
    }
}

/// The body a validated handler reads: its media type and its type's schema (for the OpenAPI
/// document). `#[secure(validate)]` records it for a `Json<T>` or `Form<T>` input.
///
/// # Examples
/// ```
/// use secure_api::{policy::RequestBody, policy::RoutePolicy};
/// use secure_api::validate::SchemaRegistry;
///
/// #[secure_api::request]
/// struct NewItem {
///     #[validate(length(max = 100))]
///     name: String,
/// }
///
/// const POLICY: RoutePolicy = RoutePolicy::secured("app::create")
///     .with_request_body(RequestBody::json::<NewItem>("NewItem"));
/// let body = POLICY.request_body().unwrap();
/// assert_eq!(body.media_type(), "application/json");
/// let mut registry = SchemaRegistry::new();
/// assert_eq!(body.schema(&mut registry).unwrap()["$ref"], "#/components/schemas/NewItem");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RequestBody {
    media_type: &'static str,
    type_name: &'static str,
    schema: fn(&mut SchemaRegistry) -> Option<serde_json::Value>,
}

impl RequestBody {
    /// A JSON body of `T` (`type_name` as written in the handler).
    pub const fn json<T: ValidateInput>(type_name: &'static str) -> Self {
        Self { media_type: "application/json", type_name, schema: T::request_schema }
    }

    /// A form body (`application/x-www-form-urlencoded`) of `T`.
    pub const fn form<T: ValidateInput>(type_name: &'static str) -> Self {
        Self { media_type: "application/x-www-form-urlencoded", type_name, schema: T::request_schema }
    }

    /// A body of `media_type` whose schema `schema` builds; what `#[secure(validate)]` records.
    #[doc(hidden)]
    pub const fn from_parts(
        media_type: &'static str,
        type_name: &'static str,
        schema: fn(&mut SchemaRegistry) -> Option<serde_json::Value>,
    ) -> Self {
        Self { media_type, type_name, schema }
    }

    /// The media type the handler accepts.
    pub const fn media_type(&self) -> &'static str {
        self.media_type
    }

    /// The input type as written in the handler (`NewItem`).
    pub const fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The body's schema (a `$ref` into `registry` for request types), when its type has one.
    pub fn schema(&self, registry: &mut SchemaRegistry) -> Option<serde_json::Value> {
        (self.schema)(registry)
    }
}

// By media type and type name: function pointers have no reliable identity to compare.
impl PartialEq for RequestBody {
    fn eq(&self, other: &Self) -> bool {
        self.media_type == other.media_type && self.type_name == other.type_name
    }
}

impl Eq for RequestBody {}

/// A type that carries a route's policy; the macros generate one zero-sized type per handler.
pub trait Policy: Send + Sync + 'static {
    /// The route's policy.
    const POLICY: RoutePolicy;
}
