//! Per-field exemptions: a route names fields of its input that some rule families skip, e.g. a
//! product description that holds markup on purpose:
//! `#[secure(..., threat(exempt(xss = ["body.description"])))]`. The macro checks at compile
//! time that `description` is a field of the route's `Json<T>` / `Form<T>` body type.

use super::Location;
use super::rules::ThreatFamily;

/// One field of a route's input and the rule families that do not inspect it. Exempting a field
/// also exempts everything nested in it (`body.attributes` covers `/attributes/0/value`).
///
/// Field paths: `body.<key>[.<key>...]` for a JSON or form body (keys as they appear in the
/// body, which are the field names of a `#[request]` type), `query.<name>` for a query
/// parameter.
///
/// # Examples
/// ```
/// use secure_api::threat::{FieldExemption, ThreatFamily};
///
/// const RICH_TEXT: FieldExemption = FieldExemption::new("body.description", &[ThreatFamily::Xss]);
/// assert_eq!(RICH_TEXT.families(), [ThreatFamily::Xss]);
/// ```
///
/// Written on a route, the macro builds it and checks the field exists in the body type:
/// ```
/// use axum::Json;
/// use secure_api::{public, request};
///
/// #[request]
/// struct Product {
///     #[validate(length(max = 100))]
///     name: String,
///     #[validate(length(max = 5000))]
///     description: String,
/// }
///
/// #[public(validate, threat(exempt(xss = ["body.description"])))]
/// async fn save(Json(product): Json<Product>) -> String {
///     product.description
/// }
/// ```
/// A field the type does not have is a compile error on the string that names it:
/// ```compile_fail,E0609
/// use axum::Json;
/// use secure_api::{public, request};
///
/// #[request]
/// struct Product {
///     #[validate(length(max = 100))]
///     name: String,
///     #[validate(length(max = 5000))]
///     description: String,
/// }
///
/// #[public(validate, threat(exempt(xss = ["body.descripton"])))]
/// async fn save(Json(product): Json<Product>) -> String {
///     product.description
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldExemption {
    field: &'static str,
    families: &'static [ThreatFamily],
}

impl FieldExemption {
    /// Exempts `field` (`body.description`, `query.q`) from the rules of `families`.
    pub const fn new(field: &'static str, families: &'static [ThreatFamily]) -> Self {
        Self { field, families }
    }

    /// The field path, as written in the attribute.
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// The rule families that skip this field.
    pub const fn families(&self) -> &'static [ThreatFamily] {
        self.families
    }

    /// Whether this exemption applies to an input found at `location`.
    fn covers(&self, location: &Location) -> bool {
        let mut field = self.field.split('.');
        match (field.next(), location) {
            (Some("body"), Location::Body(pointer)) => {
                let mut segments = pointer.split('/').skip(1);
                // Every segment of the field must match, in order; deeper segments of the
                // pointer are inside the exempted field.
                field.all(|expected| segments.next().is_some_and(|segment| unescape_eq(segment, expected)))
            }
            (Some("query"), Location::Query(name)) => {
                field.next().is_some_and(|expected| expected.eq_ignore_ascii_case(name)) && field.next().is_none()
            }
            _ => false,
        }
    }
}

/// Compares an RFC 6901 pointer segment (`~0` is `~`, `~1` is `/`) with a plain key.
fn unescape_eq(segment: &str, key: &str) -> bool {
    if segment.contains('~') { segment.replace("~1", "/").replace("~0", "~") == key } else { segment == key }
}

/// A set of families, as bits; what one input is not checked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct FamilySet(u8);

impl FamilySet {
    pub(crate) const EMPTY: Self = Self(0);

    fn bit(family: ThreatFamily) -> u8 {
        match family {
            ThreatFamily::SqlInjection => 1,
            ThreatFamily::Xss => 2,
            ThreatFamily::PathTraversal => 4,
            ThreatFamily::CommandInjection => 8,
            ThreatFamily::HeaderInjection => 16,
            ThreatFamily::LdapInjection => 32,
            ThreatFamily::FormatString => 64,
            // An oversized input is never exempt: the detector did not read it.
            ThreatFamily::Oversized => 0,
        }
    }

    pub(crate) fn contains(self, family: ThreatFamily) -> bool {
        self.0 & Self::bit(family) != 0
    }

    /// The families `exemptions` lift for an input at `location`.
    pub(crate) fn for_location(exemptions: &[FieldExemption], location: &Location) -> Self {
        let mut set = Self::EMPTY;
        for exemption in exemptions.iter().filter(|exemption| exemption.covers(location)) {
            for family in exemption.families {
                set.0 |= Self::bit(*family);
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_field_covers_itself_and_what_is_nested_in_it() {
        let exemption = FieldExemption::new("body.description", &[ThreatFamily::Xss]);
        assert!(exemption.covers(&Location::Body("/description".into())));
        assert!(exemption.covers(&Location::Body("/description/0/html".into())));
        assert!(!exemption.covers(&Location::Body("/name".into())));
        assert!(!exemption.covers(&Location::Body("/descriptions".into())));
        assert!(!exemption.covers(&Location::Body("".into())));
        assert!(!exemption.covers(&Location::Query("description".into())));
        let nested = FieldExemption::new("body.seo.html", &[ThreatFamily::Xss]);
        assert!(nested.covers(&Location::Body("/seo/html".into())));
        assert!(!nested.covers(&Location::Body("/seo".into())));
        assert!(FieldExemption::new("body.a/b", &[]).covers(&Location::Body("/a~1b".into())));
    }

    #[test]
    fn a_query_field_covers_that_parameter() {
        let exemption = FieldExemption::new("query.q", &[ThreatFamily::SqlInjection]);
        assert!(exemption.covers(&Location::Query("q".into())));
        assert!(!exemption.covers(&Location::Query("qq".into())));
        assert!(!exemption.covers(&Location::Path));
    }

    #[test]
    fn families_are_collected_from_every_matching_exemption() {
        let exemptions = [
            FieldExemption::new("body.description", &[ThreatFamily::Xss]),
            FieldExemption::new("body.description", &[ThreatFamily::SqlInjection]),
            FieldExemption::new("body.name", &[ThreatFamily::CommandInjection]),
        ];
        let set = FamilySet::for_location(&exemptions, &Location::Body("/description".into()));
        assert!(set.contains(ThreatFamily::Xss) && set.contains(ThreatFamily::SqlInjection));
        assert!(!set.contains(ThreatFamily::CommandInjection) && !set.contains(ThreatFamily::Oversized));
    }
}
