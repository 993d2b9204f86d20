//! Property: the JSON body pipeline (`json::parse`, then [`deserialize`]) accepts exactly the
//! texts `serde_json` accepts, builds the same value from them, and refuses every other text.
//!
//! Two parsers that disagree on a request body are a classic bypass (a proxy, a WAF or another
//! service reads one thing, the handler another), so the differences are few, deliberate, and
//! stated here as the property's exceptions. Each one *refuses* what serde_json would accept;
//! the pipeline never accepts a text serde_json refuses, and never builds a different value.
//!
//! 1. **Duplicate keys.** serde_json takes the last value (into a `Value` or a map) or refuses
//!    a repeated struct field; the pipeline refuses every object with a repeated key (after
//!    unescaping: `"a"` and `"\u0061"` are the same key) as `duplicate_key`.
//! 2. **Depth.** Arrays and objects nested deeper than [`MAX_JSON_DEPTH`] (32) are refused as
//!    too deep (serde_json's own limit is 128).
//! 3. **A struct written as an array.** serde_json fills a struct (or a struct variant) from a
//!    JSON array in field order (`["abc", 2]`); the pipeline wants an object (`object_type`).
//! 4. **`f32` overflow.** serde_json turns a number that rounds beyond `f32::MAX` into
//!    infinity; the pipeline refuses it (`finite_number`). `3.4028235e38` is `f32::MAX` itself.
//!
//! The generated texts: values of nested objects and arrays, strings with every escape form
//! (short escapes, `\u` in both cases, surrogate pairs, raw non-ASCII), numbers of every shape
//! (`-0`, `1e999`, `-1e400`, `1e-400`, integers beyond `u64`, exponents with signs), keys drawn
//! from a small pool so objects repeat keys (in different spellings), and whitespace between
//! tokens; then the same texts broken: truncated, with trailing garbage, with bad escapes, lone
//! surrogates, raw control characters, leading zeros, `NaN`, trailing commas, and as bytes with
//! invalid UTF-8 spliced in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::sample::Index;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Mode, deserialize};
use crate::validate::json::{self, JsonIssue, MAX_JSON_DEPTH};

// ---------------------------------------------------------------------------------------------
// JSON texts, generated as a tree so each string, key, number and gap can be spelled many ways.

/// How a character of a string or key is written.
#[derive(Clone, Copy, Debug)]
enum Escape {
    /// As itself where JSON allows it, else as `\u`.
    Raw,
    /// `\n`, `\"`, `\/`, ... where one exists, else as itself.
    Short,
    /// `\u00e9`, `\uD83D\uDE00` for characters beyond the BMP.
    Unicode { upper: bool },
}

#[derive(Clone, Debug)]
enum Json {
    Null,
    Bool(bool),
    /// The literal as written (`-0`, `1E+2`, `18446744073709551616`).
    Number(String),
    Text(Vec<(char, Escape)>),
    /// Items, and the whitespace index used around its tokens.
    Array(Vec<Json>, usize),
    Object(Vec<(Vec<(char, Escape)>, Json)>, usize),
}

const GAPS: [&str; 5] = ["", " ", "\n", "\t", " \r\n "];

fn gap(index: usize) -> &'static str {
    GAPS.get(index % GAPS.len()).copied().unwrap_or("")
}

fn write_char(out: &mut String, character: char, escape: Escape) {
    let unicode = |out: &mut String, upper: bool| {
        let mut units = [0u16; 2];
        for unit in character.encode_utf16(&mut units) {
            let _ = if upper { write!(out, "\\u{unit:04X}") } else { write!(out, "\\u{unit:04x}") };
        }
    };
    match escape {
        Escape::Unicode { upper } => unicode(out, upper),
        Escape::Short => match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => write_char(out, character, Escape::Raw),
        },
        Escape::Raw if character == '"' || character == '\\' || character < ' ' => unicode(out, false),
        Escape::Raw => out.push(character),
    }
}

fn write_text(out: &mut String, text: &[(char, Escape)]) {
    out.push('"');
    for &(character, escape) in text {
        write_char(out, character, escape);
    }
    out.push('"');
}

fn write_json(out: &mut String, json: &Json) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Json::Number(literal) => out.push_str(literal),
        Json::Text(text) => write_text(out, text),
        Json::Array(items, ws) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                out.push_str(if index == 0 { gap(*ws) } else { "," });
                out.push_str(gap(ws + index));
                write_json(out, item);
            }
            out.push_str(gap(*ws + 1));
            out.push(']');
        }
        Json::Object(entries, ws) => {
            out.push('{');
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(gap(ws + index));
                write_text(out, key);
                out.push_str(gap(*ws));
                out.push(':');
                out.push_str(gap(ws + index + 1));
                write_json(out, value);
            }
            out.push_str(gap(*ws));
            out.push('}');
        }
    }
}

fn render(json: &Json) -> String {
    let mut out = String::new();
    write_json(&mut out, json);
    out
}

fn escape() -> impl Strategy<Value = Escape> {
    prop_oneof![
        3 => Just(Escape::Raw),
        1 => Just(Escape::Short),
        1 => any::<bool>().prop_map(|upper| Escape::Unicode { upper }),
    ]
}

fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => prop::sample::select(vec![
            '"', '\\', '/', '\n', '\t', '\r', '\u{8}', '\u{c}', '\0', '\u{1f}', '\u{7f}', 'é', '東', '😀',
            '\u{2028}', '\u{feff}', '\u{fffd}', '\u{ffff}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = Vec<(char, Escape)>> {
    prop::collection::vec((text_char(), escape()), 0..8)
}

/// The same few keys again and again, each character spelled its own way, so that objects
/// repeat keys in different spellings.
fn key() -> impl Strategy<Value = Vec<(char, Escape)>> {
    prop_oneof![
        4 => (prop::sample::select(vec!["a", "b", "id", "é", "", "😀"]), prop::collection::vec(escape(), 2))
            .prop_map(|(name, escapes)| spell(name, &escapes)),
        1 => text(),
    ]
}

/// `name`, each character written with the escapes in turn.
fn spell(name: &str, escapes: &[Escape]) -> Vec<(char, Escape)> {
    name.chars()
        .enumerate()
        .map(|(index, character)| {
            let escape = escapes.get(index % escapes.len().max(1)).copied().unwrap_or(Escape::Raw);
            (character, escape)
        })
        .collect()
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?",
        2 => prop::sample::select(vec![
            "0", "-0", "-0.0", "0e0", "-0E-0", "1e999", "-1e400", "1e-400", "1E+2", "1.5e308", "1.8e308",
            "4.9e-324", "2.5e-324", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
            "-9223372036854775809", "9007199254740993", "123456789012345678901234567890", "3.4028235e38",
            "3.4028236e38", "1e300", "-1e39", "255", "256", "-1", "4294967295", "4294967296",
        ])
        .prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|number| number.to_string()),
        1 => any::<u64>().prop_map(|number| number.to_string()),
        1 => any::<f64>().prop_filter("finite", |number| number.is_finite()).prop_map(|number| format!("{number:?}")),
    ]
}

fn value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number().prop_map(Json::Number),
        text().prop_map(Json::Text),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), 0..GAPS.len()).prop_map(|(items, ws)| Json::Array(items, ws)),
            (prop::collection::vec((key(), inner), 0..5), 0..GAPS.len())
                .prop_map(|(entries, ws)| Json::Object(entries, ws)),
        ]
    })
}

/// What is done to a valid text to (most likely) break it.
#[derive(Clone, Debug)]
enum Breakage {
    Truncate(Index),
    Append(&'static str),
    Insert(Index, &'static str),
    Remove(Index),
}

fn breakage() -> impl Strategy<Value = Breakage> {
    let garbage = prop::sample::select(vec![
        "x", "}", "]", ",", "1", "\"", "//c", "/*c*/", "\0", "nul", " 0", "\u{feff}", "{}", "\\",
    ]);
    let token = prop::sample::select(vec![
        "\\x",
        "\\u12",
        "\\u12g4",
        "\\ud800",
        "\\udc00",
        "\\ud800\\u0041",
        "\\udbff\\udfff",
        "\\ud800\\ud800",
        "\\U0041",
        "\\'",
        "\u{1}",
        "\n",
        "\t",
        "01",
        "-01",
        "+1",
        ".5",
        "1.",
        "1e",
        "1e+",
        "-",
        "NaN",
        "Infinity",
        "-Infinity",
        "'a'",
        ",",
        ":",
        "[",
        "{",
        "}",
        "]",
        "tru",
        "nulll",
        "\\",
        "\"",
        ",]",
        ",}",
        "0x10",
        "1_000",
    ]);
    prop_oneof![
        any::<Index>().prop_map(Breakage::Truncate),
        garbage.prop_map(Breakage::Append),
        (any::<Index>(), token).prop_map(|(at, token)| Breakage::Insert(at, token)),
        any::<Index>().prop_map(Breakage::Remove),
    ]
}

/// The char boundary of `text` that `at` points to (`0..=len`).
fn boundary(text: &str, at: &Index) -> usize {
    let boundaries: Vec<usize> = text.char_indices().map(|(offset, _)| offset).chain([text.len()]).collect();
    boundaries.get(at.index(boundaries.len())).copied().unwrap_or(0)
}

fn apply(text: &str, breakage: &Breakage) -> String {
    let mut broken = text.to_owned();
    match breakage {
        Breakage::Truncate(at) => broken.truncate(boundary(text, at)),
        Breakage::Append(garbage) => broken.push_str(garbage),
        Breakage::Insert(at, token) => broken.insert_str(boundary(text, at), token),
        Breakage::Remove(at) => {
            let offset = boundary(text, at);
            if offset < broken.len() {
                broken.remove(offset);
            }
        }
    }
    broken
}

/// Bytes that are not UTF-8 (a lone continuation byte, a truncated sequence, an encoded
/// surrogate, an overlong slash, bytes never valid), spliced into a text.
fn bad_utf8() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"\x80"[..],
        &b"\xff"[..],
        &b"\xc3"[..],
        &b"\xe6\x9d"[..],
        &b"\xed\xa0\x80"[..],
        &b"\xc0\xaf"[..],
        &b"\xf4\x90\x80\x80"[..],
        &b"\xfe\xfe"[..],
    ])
}

// ---------------------------------------------------------------------------------------------
// An independent view of what serde_json's tokenizer saw: repeated keys and nesting depth.

/// Whether an object repeats a key (compared after unescaping), and how deep containers nest
/// (a scalar is 0, `[]` is 1, `[[]]` is 2).
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    duplicate: bool,
    depth: usize,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut shape = Shape { duplicate: false, depth: 1 };
        while let Some(item) = seq.next_element::<Shape>()? {
            shape.duplicate |= item.duplicate;
            shape.depth = shape.depth.max(item.depth + 1);
        }
        Ok(shape)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape { duplicate: false, depth: 1 };
        let mut keys: Vec<String> = Vec::new();
        while let Some((key, item)) = map.next_entry::<String, Shape>()? {
            shape.duplicate |= keys.contains(&key) || item.duplicate;
            shape.depth = shape.depth.max(item.depth + 1);
            keys.push(key);
        }
        Ok(shape)
    }
}

// ---------------------------------------------------------------------------------------------
// The two sides.

/// What the pipeline made of a body.
#[derive(Debug)]
enum Outcome<T> {
    Accepted(T),
    Duplicate,
    TooDeep,
    /// Syntax, a non-finite number, or the model refused it: the errors found.
    Refused(String),
    /// Refused without a single error to report: never allowed.
    Silent,
}

fn pipeline<T: DeserializeOwned>(bytes: &[u8]) -> Outcome<T> {
    let value = match json::parse(bytes, MAX_JSON_DEPTH) {
        Ok(value) => value,
        Err(JsonIssue::Field(error)) if error.kind() == "duplicate_key" => return Outcome::Duplicate,
        Err(JsonIssue::TooDeep { .. }) => return Outcome::TooDeep,
        Err(issue) => return Outcome::Refused(format!("{issue:?}")),
    };
    let collected = deserialize::<T>(&value, Mode::Json);
    match collected.value {
        Some(built) if collected.errors.is_empty() => Outcome::Accepted(built),
        _ if collected.errors.is_empty() => Outcome::Silent,
        _ => {
            let kinds: Vec<String> = collected
                .errors
                .iter()
                .map(|error| {
                    let loc: Vec<String> = error.loc().iter().map(ToString::to_string).collect();
                    format!("{}@{}", error.kind(), loc.join("."))
                })
                .collect();
            Outcome::Refused(kinds.join(", "))
        }
    }
}

/// The property for any target `T`, given the exceptions that apply to `T` when serde_json
/// accepted the text (`exception` names the refusal expected instead, from serde_json's value).
fn check<T: DeserializeOwned + std::fmt::Debug>(
    bytes: &[u8],
    exception: impl FnOnce(&T) -> Option<&'static str>,
) -> Result<(), TestCaseError> {
    let shown = String::from_utf8_lossy(bytes);
    let ours = pipeline::<T>(bytes);
    prop_assert!(!matches!(ours, Outcome::Silent), "{shown:?}: refused with no error to report");
    let theirs = serde_json::from_slice::<T>(bytes);
    let shape = serde_json::from_slice::<Shape>(bytes).ok();
    let duplicate = shape.is_some_and(|shape| shape.duplicate);
    let too_deep = shape.is_some_and(|shape| shape.depth > MAX_JSON_DEPTH);
    match (theirs, ours) {
        // Whatever serde_json refuses, the pipeline refuses.
        (Err(_), Outcome::Accepted(built)) => {
            prop_assert!(false, "accepted what serde_json refuses: {shown:?} -> {built:?}");
        }
        (Err(_), _) => {}
        // Exceptions 1 and 2: found while parsing, whatever the target.
        (Ok(_), Outcome::Duplicate) if duplicate => {}
        (Ok(_), Outcome::TooDeep) if too_deep => {}
        (Ok(theirs), ours) if duplicate || too_deep => {
            prop_assert!(false, "{shown:?}: serde_json built {theirs:?}; expected a refusal, got {ours:?}");
        }
        (Ok(theirs), ours) => match (exception(&theirs), ours) {
            (None, Outcome::Accepted(built)) => {
                // Debug tells -0.0 from 0.0 and shows every field; the targets have no
                // unordered containers.
                prop_assert_eq!(format!("{built:?}"), format!("{theirs:?}"), "{:?}", shown);
            }
            (Some(kind), Outcome::Refused(errors)) => {
                prop_assert!(errors.contains(kind), "{shown:?}: expected {kind}, got {errors}");
            }
            (expected, ours) => {
                prop_assert!(false, "{shown:?}: serde_json built {theirs:?}; expected {expected:?}, got {ours:?}");
            }
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A typed target: the shapes a request model has.

// Fields are read through `Debug`, which the property compares.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    name: String,
    count: Option<u8>,
    price: Option<f64>,
    ratio: Option<f32>,
    big: Option<i64>,
    tags: Option<Vec<String>>,
    line: Option<Line>,
    stock: Option<BTreeMap<u32, bool>>,
    kind: Option<Kind>,
    #[serde(default)]
    flag: bool,
}

// Fields are read through `Debug`, which the property compares.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    sku: String,
    qty: u32,
}

// Fields are read through `Debug`, which the property compares.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
enum Kind {
    Retail,
    Bulk(u8),
    Crate { size: u8 },
}

/// Exception 4 for [`Order`], read from the value serde_json built.
fn order_exception(order: &Order) -> Option<&'static str> {
    let ratio_overflows = order.ratio.is_some_and(|ratio| !ratio.is_finite());
    ratio_overflows.then_some("finite_number")
}

/// Exception 3 for [`Order`]: serde_json accepted a struct written as an array, which the
/// pipeline refuses. Read from the text, since serde_json's `Order` no longer shows it.
fn struct_as_array(bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    value.is_array()
        || value.get("line").is_some_and(Value::is_array)
        || value.get("kind").and_then(|kind| kind.get("Crate")).is_some_and(Value::is_array)
}

fn int_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (-5i64..300).prop_map(|number| number.to_string()),
        1 => number(),
    ]
}

/// An `Order` mostly as it should be, each field sometimes of the wrong type, misspelt by
/// escapes, repeated, missing, or joined by an unknown one.
fn order() -> impl Strategy<Value = Json> {
    let line = prop_oneof![
        3 => (text(), int_literal(), any::<bool>(), 0..GAPS.len()).prop_map(|(sku, qty, extra, ws)| {
            let mut entries = vec![(spell("sku", &[Escape::Raw]), Json::Text(sku)), (spell("qty", &[Escape::Raw]), Json::Number(qty))];
            if extra {
                entries.push((spell("note", &[Escape::Raw]), Json::Null));
            }
            Json::Object(entries, ws)
        }),
        1 => (text(), int_literal()).prop_map(|(sku, qty)| Json::Array(vec![Json::Text(sku), Json::Number(qty)], 0)),
    ];
    let stock_key = prop_oneof![
        2 => prop::sample::select(vec![
            "0", "1", "01", "00", "+1", " 1", "1 ", "-0", "-1", "4294967295", "4294967296", "1.0", "1e0", "x", "",
            "\u{661}", "0x1",
        ])
        .prop_map(|key| spell(key, &[Escape::Raw])),
        1 => any::<u32>().prop_map(|key| spell(&key.to_string(), &[Escape::Raw])),
    ];
    let stock = (prop::collection::vec((stock_key, any::<bool>().prop_map(Json::Bool)), 0..4), 0..GAPS.len())
        .prop_map(|(entries, ws)| Json::Object(entries, ws));
    let kind = prop_oneof![
        prop::sample::select(vec!["Retail", "Bulk", "Crate", "retail", "Other"])
            .prop_map(|name| Json::Text(spell(name, &[Escape::Raw]))),
        int_literal().prop_map(|size| Json::Object(vec![(spell("Bulk", &[Escape::Raw]), Json::Number(size))], 0)),
        (int_literal(), any::<bool>()).prop_map(|(size, as_array)| {
            let content = if as_array {
                Json::Array(vec![Json::Number(size)], 0)
            } else {
                Json::Object(vec![(spell("size", &[Escape::Raw]), Json::Number(size))], 1)
            };
            Json::Object(vec![(spell("Crate", &[Escape::Raw]), content)], 0)
        }),
        Just(Json::Object(vec![(spell("Retail", &[Escape::Raw]), Json::Null)], 0)),
    ];
    let tags = prop::collection::vec(text().prop_map(Json::Text), 0..3).prop_map(|items| Json::Array(items, 1));
    let fitting = |name: &'static str, strategy: BoxedStrategy<Json>| {
        (prop_oneof![4 => strategy, 1 => value()], prop::collection::vec(escape(), 2))
            .prop_map(move |(json, escapes)| (spell(name, &escapes), json))
    };
    let field = prop_oneof![
        fitting("name", text().prop_map(Json::Text).boxed()),
        fitting("count", int_literal().prop_map(Json::Number).boxed()),
        fitting("price", number().prop_map(Json::Number).boxed()),
        fitting(
            "ratio",
            prop_oneof![
                number(),
                // Around `f32`'s limits: `3.4028235e38` is `f32::MAX`, `3.4028236e38` rounds beyond it.
                prop::sample::select(vec![
                    "3.4028235e38",
                    "-3.4028235e38",
                    "3.40282356e38",
                    "3.4028236e38",
                    "3.4028234663852886e38",
                    "3.4028235677973366e38",
                    "1e39",
                    "1.17549435e-38",
                    "1e-46",
                    "-1e-50",
                ])
                .prop_map(str::to_owned),
            ]
            .prop_map(Json::Number)
            .boxed()
        ),
        fitting("big", number().prop_map(Json::Number).boxed()),
        fitting("tags", tags.boxed()),
        fitting("line", line.boxed()),
        fitting("stock", stock.boxed()),
        fitting("kind", kind.boxed()),
        fitting("flag", any::<bool>().prop_map(Json::Bool).boxed()),
        fitting("extra", value().boxed()),
    ];
    let name = text().prop_map(|name| (spell("name", &[Escape::Raw]), Json::Text(name)));
    (name, prop::collection::vec(field, 0..6), 0..GAPS.len(), Index::arbitrary()).prop_map(
        |(name, mut fields, ws, at)| {
            // `name` is required: put it in most objects, somewhere.
            let position = at.index(fields.len() + 1);
            if position < fields.len() || fields.is_empty() {
                fields.insert(position.min(fields.len()), name);
            }
            Json::Object(fields, ws)
        },
    )
}

/// A request type as handlers declare them (`#[request]`: serde with unknown fields refused,
/// and rules, which this property does not run: it is about reading the model).
#[crate::request]
#[derive(Debug)]
#[serde(rename_all = "camelCase")]
struct NewItem {
    #[validate(length(min = 1, max = 100))]
    item_name: String,
    price: f64,
    #[validate(length(max = 5))]
    tags: Vec<String>,
    #[validate(length(max = 20))]
    note: Option<String>,
}

/// Bodies for [`NewItem`]: each field mostly fitting, sometimes absent or of any type, and now
/// and then the snake_case name `rename_all` replaced.
fn new_item() -> impl Strategy<Value = Json> {
    let field = |name: &'static str, fitting: BoxedStrategy<Json>| {
        proptest::option::weighted(
            0.85,
            (prop_oneof![5 => fitting, 1 => value()], prop::collection::vec(escape(), 2))
                .prop_map(move |(json, escapes)| (spell(name, &escapes), json)),
        )
    };
    let tags = prop::collection::vec(text().prop_map(Json::Text), 0..3).prop_map(|items| Json::Array(items, 0));
    (
        field("itemName", text().prop_map(Json::Text).boxed()),
        field("price", number().prop_map(Json::Number).boxed()),
        field("tags", tags.boxed()),
        field("note", prop_oneof![text().prop_map(Json::Text), Just(Json::Null)].boxed()),
        proptest::option::weighted(0.1, text().prop_map(|name| (spell("item_name", &[Escape::Raw]), Json::Text(name)))),
        0..GAPS.len(),
    )
        .prop_map(|(name, price, tags, note, snake, ws)| {
            Json::Object([name, price, tags, note, snake].into_iter().flatten().collect(), ws)
        })
}

fn check_order(bytes: &[u8]) -> Result<(), TestCaseError> {
    let as_array = struct_as_array(bytes);
    check::<Order>(bytes, |order| if as_array { Some("object_type") } else { order_exception(order) })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Valid texts of any shape into a `Value`: the same value, or one of exceptions 1 and 2.
    #[test]
    fn a_value_is_read_as_serde_json_reads_it(json in value(), outer in 0..GAPS.len()) {
        let text = format!("{}{}{}", gap(outer), render(&json), gap(outer + 1));
        check::<Value>(text.as_bytes(), |_| None)?;
    }

    /// The same texts broken (truncated, trailing garbage, bad escapes, lone surrogates, ...):
    /// refused whenever serde_json refuses them; the few that stay valid still agree.
    #[test]
    fn a_broken_value_is_refused_as_serde_json_refuses_it(json in value(), breakage in breakage()) {
        let text = apply(&render(&json), &breakage);
        check::<Value>(text.as_bytes(), |_| None)?;
    }

    /// Bytes that are not UTF-8, anywhere in a text: refused, as serde_json refuses them.
    #[test]
    fn invalid_utf8_is_refused(json in value(), at in any::<Index>(), bad in bad_utf8()) {
        let text = render(&json);
        let offset = boundary(&text, &at);
        let mut bytes = text.into_bytes();
        bytes.splice(offset..offset, bad.iter().copied());
        check::<Value>(&bytes, |_| None)?;
    }

    /// Request-shaped texts into a typed model: the same struct, or exceptions 1, 3 and 4.
    #[test]
    fn a_typed_body_is_read_as_serde_json_reads_it(json in order()) {
        check_order(render(&json).as_bytes())?;
    }

    /// Request-shaped texts, broken.
    #[test]
    fn a_broken_typed_body_is_refused_as_serde_json_refuses_it(json in order(), breakage in breakage()) {
        check_order(apply(&render(&json), &breakage).as_bytes())?;
    }

    /// A `#[request]` type: the same struct, or exception 1.
    #[test]
    fn a_request_type_is_read_as_serde_json_reads_it(json in new_item(), breakage in proptest::option::of(breakage())) {
        let text = render(&json);
        let text = breakage.map_or(text.clone(), |breakage| apply(&text, &breakage));
        check::<NewItem>(text.as_bytes(), |_| None)?;
    }

    /// Nesting at and around the limit: accepted up to [`MAX_JSON_DEPTH`], refused as too deep
    /// beyond it (exception 2), whatever mix of arrays and objects.
    #[test]
    fn depth_is_bounded_at_the_limit(kinds in prop::collection::vec(any::<bool>(), 0..48)) {
        let mut text = String::from("0");
        for &object in kinds.iter().rev() {
            text = if object { format!("{{\"k\":{text}}}") } else { format!("[{text}]") };
        }
        let ours = pipeline::<Value>(text.as_bytes());
        if kinds.len() > MAX_JSON_DEPTH {
            prop_assert!(matches!(ours, Outcome::TooDeep), "{} levels: {:?}", kinds.len(), ours);
        }
        check::<Value>(text.as_bytes(), |_| None)?;
    }
}

/// The oracle itself: a repeated key is seen after unescaping, and depth counts containers.
#[test]
fn the_shape_oracle_sees_duplicates_and_depth() {
    let shape = |text: &str| serde_json::from_str::<Shape>(text).unwrap();
    assert!(shape(r#"{"a": 1, "\u0061": 2}"#).duplicate);
    assert!(shape(r#"[{"b": {"x": 1, "x": 1}}]"#).duplicate);
    assert!(!shape(r#"{"a": {"a": 1}, "b": [{"a": 1}]}"#).duplicate);
    assert_eq!(shape("0").depth, 0);
    assert_eq!(shape(r#"[{"a": []}]"#).depth, 3);
}
