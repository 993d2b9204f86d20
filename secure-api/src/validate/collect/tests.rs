//! Unit tests of the collecting deserializer: every error at once, each at its `loc`.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::{Mode, deserialize};

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Item {
    name: String,
    price: f64,
    #[serde(default)]
    tags: Vec<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Order {
    customer: String,
    items: Vec<Item>,
    kind: Kind,
    count: u8,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Retail,
    Wholesale,
}

fn errors<T: DeserializeOwned>(value: serde_json::Value, mode: Mode) -> Vec<(String, String)> {
    let collected = deserialize::<T>(&value, mode);
    let mut found: Vec<(String, String)> = collected
        .errors
        .iter()
        .map(|error| {
            let loc: Vec<String> = error.loc().iter().map(ToString::to_string).collect();
            (loc.join("."), error.kind().to_owned())
        })
        .collect();
    found.sort();
    found
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    list.sort();
    list
}

#[test]
fn valid_input_is_one_pass_without_errors() {
    let value = json!({"name": "Café 東京 O'Brien", "price": 2.5, "note": null});
    let collected = deserialize::<Item>(&value, Mode::Json);
    assert!(collected.errors.is_empty());
    let item = collected.value.unwrap();
    assert_eq!(item.name, "Café 東京 O'Brien");
    assert_eq!(item.tags, Vec::<String>::new());
    assert_eq!(item.note, None);
}

#[test]
fn every_type_error_at_once() {
    let value = json!({"name": 5, "price": "cheap", "tags": ["ok", 3], "note": []});
    assert_eq!(
        errors::<Item>(value, Mode::Json),
        pairs(&[("name", "string_type"), ("price", "float_type"), ("tags.1", "string_type"), ("note", "string_type")])
    );
}

#[test]
fn missing_and_unknown_fields_are_all_found() {
    let value = json!({"isAdmin": true, "role": "root", "note": "x"});
    assert_eq!(
        errors::<Item>(value, Mode::Json),
        pairs(&[("isAdmin", "unknown_field"), ("role", "unknown_field"), ("name", "missing"), ("price", "missing")])
    );
}

#[test]
fn nested_lists_enums_and_ranges() {
    let value = json!({
        "customer": "Zoë",
        "items": [
            {"name": "a", "price": 1},
            {"name": "b"},
            {"name": "c", "price": 1, "extra": 1},
            {"name": ["x"], "price": 1}
        ],
        "kind": "bulk",
        "count": 300
    });
    assert_eq!(
        errors::<Order>(value, Mode::Json),
        pairs(&[
            ("count", "int_range"),
            ("items.1.price", "missing"),
            ("items.2.extra", "unknown_field"),
            ("items.3.name", "string_type"),
            ("kind", "enum"),
        ])
    );
}

#[test]
fn wrong_container_types_and_negative_unsigned() {
    let value = json!({"customer": "a", "items": {"name": "a"}, "kind": "retail", "count": -1});
    assert_eq!(errors::<Order>(value, Mode::Json), pairs(&[("count", "int_range"), ("items", "list_type")]));
    assert_eq!(errors::<Order>(json!([1, 2]), Mode::Json), pairs(&[("", "object_type")]));
}

#[test]
fn text_mode_parses_numbers_and_rejects_non_finite() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Search {
        q: String,
        page: u32,
        ratio: f64,
        exact: bool,
    }
    let ok = json!({"q": "tea", "page": "2", "ratio": "0.5", "exact": "true"});
    let collected = deserialize::<Search>(&ok, Mode::Text);
    assert!(collected.errors.is_empty(), "{:?}", collected.errors);
    assert_eq!(collected.value.unwrap().page, 2);
    let bad = json!({"q": "tea", "page": "two", "ratio": "inf", "exact": "yes", "x": "1"});
    assert_eq!(
        errors::<Search>(bad, Mode::Text),
        pairs(&[("exact", "bool_type"), ("page", "int_parsing"), ("ratio", "finite_number"), ("x", "unknown_field")])
    );
}

#[test]
fn map_keys_are_read_as_text() {
    let value = json!({"1": "a", "x": "b"});
    assert_eq!(errors::<HashMap<u32, String>>(value, Mode::Json), pairs(&[("x", "int_parsing")]));
}

#[test]
fn a_required_option_stays_required() {
    fn plain_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Option::<String>::deserialize(deserializer)
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Custom {
        #[serde(deserialize_with = "plain_option")]
        nickname: Option<String>,
    }
    let collected = deserialize::<Custom>(&json!({}), Mode::Json);
    assert!(collected.value.is_none() || !collected.errors.is_empty());
    assert_eq!(errors::<Custom>(json!({}), Mode::Json), pairs(&[("nickname", "missing")]));
}

#[test]
fn f32_overflow_is_not_infinity() {
    assert_eq!(errors::<f32>(json!(1e300), Mode::Json), pairs(&[("", "finite_number")]));
}

#[test]
fn learning_is_bounded_by_the_model_not_the_input() {
    // A thousand items each missing the same required field: one pass learns it for `Item`.
    let items: Vec<serde_json::Value> = (0..1000).map(|_| json!({"name": "a"})).collect();
    let value = json!({"customer": "a", "items": items, "kind": "retail", "count": 1});
    let found = errors::<Order>(value, Mode::Json);
    assert_eq!(found.len(), 1000);
    assert!(found.iter().all(|(loc, kind)| loc.ends_with(".price") && kind == "missing"));
}

#[test]
fn a_value_no_placeholder_can_satisfy_still_reports_what_it_found() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithId {
        name: String,
        id: std::num::NonZeroU32,
    }
    // `id` comes first and ends the pass; what was found is reported, never nothing.
    let found = errors::<WithId>(json!({"name": 1, "id": 0}), Mode::Json);
    assert_eq!(found, pairs(&[("id", "invalid")]));
    let found = errors::<WithId>(json!({"name": "a", "id": 0}), Mode::Json);
    assert_eq!(found, pairs(&[("id", "invalid")]));
}

/// Regression (found by the serde_json property): integer keys were trimmed and parsed leniently,
/// so `"01"`, `"+1"`, `" 1"` and `"-0"` passed the duplicate-key check as keys of their own and
/// then became the same map entry, the later replacing the earlier: a duplicate key by another
/// spelling. serde_json refuses them all; so does the collector now, in both modes.
#[test]
fn an_integer_key_is_read_only_in_its_canonical_spelling() {
    for mode in [Mode::Json, Mode::Text] {
        let collected = deserialize::<HashMap<u32, String>>(&json!({"1": "a", "01": "b"}), mode);
        assert!(collected.value.is_none() || !collected.errors.is_empty(), "{mode:?}: accepted as one entry");
        assert_eq!(errors::<HashMap<u32, String>>(json!({"1": "a", "01": "b"}), mode), pairs(&[("01", "int_parsing")]));
        for key in ["+1", " 1", "1 ", "-0", "00", "1.0", "1e0", "\u{661}"] {
            let found = errors::<HashMap<i32, String>>(json!({ key: "a" }), mode);
            assert_eq!(found, pairs(&[(key, "int_parsing")]), "{mode:?} {key:?}");
        }
        let collected = deserialize::<HashMap<i64, String>>(&json!({"0": "a", "-7": "b", "10": "c"}), mode);
        assert!(collected.errors.is_empty(), "{mode:?}: {:?}", collected.errors);
        assert_eq!(collected.value.map(|map| map.len()), Some(3));
    }
    // Values read as text keep their lenient parsing (query strings: `?page=+2`).
    #[derive(Debug, Deserialize)]
    struct Page {
        page: u32,
    }
    let collected = deserialize::<Page>(&json!({"page": "+2"}), Mode::Text);
    assert_eq!(collected.value.map(|page| page.page), Some(2));
}

/// A number key is read by the JSON number grammar, as serde_json reads one: Rust's own `f64`
/// parser would also take `"+1"`, `".5"`, `"1."`, `" 1"` and `"inf"`.
#[test]
fn a_number_key_is_read_as_json_reads_it() {
    /// A map key read as an `f64`, compared by its bits.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Bits(u64);
    impl<'de> Deserialize<'de> for Bits {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            f64::deserialize(deserializer).map(|number| Self(number.to_bits()))
        }
    }
    let collected = deserialize::<BTreeMap<Bits, u8>>(&json!({"1.5": 1, "-2e3": 2}), Mode::Json);
    assert!(collected.errors.is_empty(), "{:?}", collected.errors);
    let keys: Vec<Bits> = collected.value.unwrap().into_keys().collect();
    assert_eq!(keys, [Bits(1.5f64.to_bits()), Bits((-2000.0f64).to_bits())]); // ordered by bits
    for key in ["+1", ".5", "1.", " 1", "1 ", "inf", "NaN", "1e999", "0x1"] {
        assert_eq!(
            errors::<BTreeMap<Bits, u8>>(json!({ key: 1 }), Mode::Json),
            pairs(&[(key, "float_parsing")]),
            "{key:?}"
        );
    }
}

/// Regression (found by the serde_json property): `f32` fields refused numbers above `f32::MAX`
/// as an `f64`, so `3.4028235e38`, which is how `f32::MAX` itself is written, was refused. The
/// bound is now on the value rounded to `f32`, as serde_json rounds it.
#[test]
fn f32_max_is_accepted_and_beyond_it_refused() {
    for text in ["3.4028235e38", "-3.4028235e38", "3.40282356e38"] {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let collected = deserialize::<f32>(&value, Mode::Json);
        assert!(collected.errors.is_empty(), "{text}: {:?}", collected.errors);
        assert_eq!(collected.value.map(f32::abs), Some(f32::MAX), "{text}");
    }
    for text in ["3.4028236e38", "-3.5e38", "1e39"] {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(errors::<f32>(value, Mode::Json), pairs(&[("", "finite_number")]), "{text}");
    }
    assert_eq!(errors::<f32>(json!("3.4028236e38"), Mode::Text), pairs(&[("", "finite_number")]));
}
