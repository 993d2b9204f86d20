//! serde's `rename_all` rules, as serde_derive applies them (`internals/case.rs`): a field is
//! converted from its snake_case name, a variant from its PascalCase name, by simple ASCII
//! rules. The wire names in `FieldName`s and the schema must be exactly the names serde
//! accepts, so these follow serde rather than a general case-conversion crate: `heck`, the
//! common one, splits words differently (`HTTPMethod` is `http_method` for heck but
//! `h_t_t_p_method` for serde; `a__b` loses an underscore), and `lowercase` on a field is
//! the field unchanged for serde. The tests compare each rule with serde's own output.

/// One `#[serde(rename_all = "...")]` value.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum RenameRule {
    /// No `rename_all` (or one serde itself refuses): names as written.
    #[default]
    None,
    LowerCase,
    UpperCase,
    PascalCase,
    CamelCase,
    SnakeCase,
    ScreamingSnakeCase,
    KebabCase,
    ScreamingKebabCase,
}

/// Every value serde accepts, spelt as serde spells it.
const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::LowerCase),
    ("UPPERCASE", RenameRule::UpperCase),
    ("PascalCase", RenameRule::PascalCase),
    ("camelCase", RenameRule::CamelCase),
    ("snake_case", RenameRule::SnakeCase),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnakeCase),
    ("kebab-case", RenameRule::KebabCase),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebabCase),
];

impl RenameRule {
    /// The rule named `name`; an unknown name is serde's error to report, and renames nothing
    /// here.
    pub(super) fn from_name(name: &str) -> Self {
        RULES.iter().find(|(rule_name, _)| *rule_name == name).map_or(Self::None, |(_, rule)| *rule)
    }

    /// A field's wire name from its (snake_case) Rust name.
    pub(super) fn apply_to_field(self, field: &str) -> String {
        match self {
            Self::None | Self::LowerCase | Self::SnakeCase => field.to_owned(),
            Self::UpperCase | Self::ScreamingSnakeCase => field.to_ascii_uppercase(),
            Self::PascalCase => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            Self::CamelCase => lower_first(&Self::PascalCase.apply_to_field(field)),
            Self::KebabCase => field.replace('_', "-"),
            Self::ScreamingKebabCase => field.to_ascii_uppercase().replace('_', "-"),
        }
    }

    /// A unit variant's wire name from its (PascalCase) Rust name.
    pub(super) fn apply_to_variant(self, variant: &str) -> String {
        let snake = || {
            let mut snake = String::new();
            for (index, ch) in variant.char_indices() {
                if index > 0 && ch.is_uppercase() {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_lowercase());
            }
            snake
        };
        match self {
            Self::None | Self::PascalCase => variant.to_owned(),
            Self::LowerCase => variant.to_ascii_lowercase(),
            Self::UpperCase => variant.to_ascii_uppercase(),
            Self::CamelCase => lower_first(variant),
            Self::SnakeCase => snake(),
            Self::ScreamingSnakeCase => snake().to_ascii_uppercase(),
            Self::KebabCase => snake().replace('_', "-"),
            Self::ScreamingKebabCase => snake().to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// The first character in ASCII lower case (serde's `s[..1].to_ascii_lowercase() + &s[1..]`,
/// without its panic on an empty or non-ASCII start).
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// The wire names serde gives `T`'s fields (each field holds its declaration index, since
    /// a JSON object's keys come back sorted) or the variants of a list, in declaration order.
    fn serde_names<T: Serialize>(value: &T) -> Vec<String> {
        match serde_json::to_value(value).expect("serializes") {
            serde_json::Value::Object(map) => {
                let mut fields: Vec<(u64, String)> =
                    map.into_iter().map(|(name, index)| (index.as_u64().expect("an index"), name)).collect();
                fields.sort();
                fields.into_iter().map(|(_, name)| name).collect()
            }
            serde_json::Value::Array(items) => {
                items.iter().map(|item| item.as_str().expect("a unit variant").to_owned()).collect()
            }
            other => panic!("unexpected {other}"),
        }
    }

    /// The fields and variants below, renamed by `rule` through this module.
    fn ours(rule: &str, names: &[&str], variant: bool) -> Vec<String> {
        let rule = RenameRule::from_name(rule);
        assert!(rule != RenameRule::None, "a rule serde supports");
        names.iter().map(|name| if variant { rule.apply_to_variant(name) } else { rule.apply_to_field(name) }).collect()
    }

    // Field names chosen for the edge cases: digits, a double and a leading underscore, one
    // letter words, and (allowed with `non_snake_case`) capitals inside a field name.
    const FIELDS: &[&str] =
        &["unit_price", "line2_total", "a_b_c", "x", "sku_id_v2", "double__under", "_leading", "mixedCase"];
    const VARIANTS: &[&str] = &["BulkOrder", "HTTPMethod", "V2", "A", "RetailB2B"];

    macro_rules! compare {
        ($rule:literal) => {{
            #[allow(non_snake_case)]
            #[derive(Serialize, Deserialize)]
            #[serde(rename_all = $rule)]
            struct Fields {
                unit_price: u8,
                line2_total: u8,
                a_b_c: u8,
                x: u8,
                sku_id_v2: u8,
                double__under: u8,
                _leading: u8,
                mixedCase: u8,
            }
            #[derive(Serialize, Deserialize)]
            #[serde(rename_all = $rule)]
            enum Variant {
                BulkOrder,
                HTTPMethod,
                V2,
                A,
                RetailB2B,
            }
            let variants = [Variant::BulkOrder, Variant::HTTPMethod, Variant::V2, Variant::A, Variant::RetailB2B];
            let fields = Fields {
                unit_price: 0,
                line2_total: 1,
                a_b_c: 2,
                x: 3,
                sku_id_v2: 4,
                double__under: 5,
                _leading: 6,
                mixedCase: 7,
            };
            assert_eq!(ours($rule, FIELDS, false), serde_names(&fields), "fields, {}", $rule);
            assert_eq!(ours($rule, VARIANTS, true), serde_names(&variants), "variants, {}", $rule);
        }};
    }

    #[test]
    fn every_rule_renames_as_serde_does() {
        compare!("lowercase");
        compare!("UPPERCASE");
        compare!("PascalCase");
        compare!("camelCase");
        compare!("snake_case");
        compare!("SCREAMING_SNAKE_CASE");
        compare!("kebab-case");
        compare!("SCREAMING-KEBAB-CASE");
    }

    #[test]
    fn no_rule_or_an_unknown_one_renames_nothing() {
        assert_eq!(RenameRule::from_name("Title Case"), RenameRule::None);
        assert_eq!(RenameRule::None.apply_to_field("unit_price"), "unit_price");
        assert_eq!(RenameRule::None.apply_to_variant("BulkOrder"), "BulkOrder");
    }
}
