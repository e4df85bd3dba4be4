//! Parsing JSON text or bytes into an [`AnalyticsConfig`].
//!
//! Holds the parse entry points, the classification of serde's errors into
//! [`ConfigError`]s (dotted field paths, lines and columns, what the
//! top-level value is when it is not an object), and `object_only`, the
//! deserializer adaptor that makes every section accept only a JSON object.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::suggest::suggest;
use super::{AnalyticsConfig, ConfigError};

/// Parses and validates a configuration from the bytes of `file` (or of no
/// file): a UTF-8 BOM is skipped, invalid UTF-8 is a syntax error.
pub(super) fn parse_bytes(
    bytes: &[u8],
    file: Option<&Path>,
) -> Result<AnalyticsConfig, ConfigError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes); // UTF-8 BOM
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text, file),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            Err(ConfigError::Syntax {
                file: file.map(Path::to_path_buf),
                message: "invalid UTF-8 (the file must be UTF-8 text)".to_owned(),
                line,
                column: valid.len() - line_start + 1,
            })
        }
    }
}

/// Parses and validates a configuration from text; errors name `file`.
pub(super) fn parse_str(text: &str, file: Option<&Path>) -> Result<AnalyticsConfig, ConfigError> {
    parse_unvalidated(text)
        .and_then(|config| config.validate().map(|()| config))
        .map_err(|err| err.in_file(file))
}

/// Parses without checking the rules.
fn parse_unvalidated(text: &str) -> Result<AnalyticsConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_matches(is_json_whitespace).is_empty() {
        return Err(ConfigError::Empty { file: None });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let config: AnalyticsConfig =
        serde_path_to_error::deserialize(ObjectOnly(&mut de)).map_err(|err| classify(err, text))?;
    de.end().map_err(syntax_error)?;
    Ok(config)
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `err`'s message without serde_json's " at line L column C" suffix.
fn bare_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match full.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => full,
    }
}

fn syntax_error(err: serde_json::Error) -> ConfigError {
    ConfigError::Syntax {
        file: None,
        message: bare_message(&err),
        line: err.line(),
        column: err.column(),
    }
}

fn classify(err: serde_path_to_error::Error<serde_json::Error>, text: &str) -> ConfigError {
    let segments: Vec<String> = err
        .path()
        .iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Unknown => "?".to_owned(),
        })
        .collect();
    let inner = err.into_inner();
    let (line, column) = (inner.line(), inner.column());
    // A number too large for f64 (`1e400`) is a syntax error to serde_json,
    // but to the user it is a bad value of a field, so name the field.
    let mut message = bare_message(&inner);
    if message == "number out of range" && !segments.is_empty() {
        return ConfigError::Field {
            file: None,
            field: segments.join("."),
            message,
            suggestion: None,
            line,
            column,
        };
    }
    if inner.classify() != serde_json::error::Category::Data {
        return syntax_error(inner);
    }
    if segments.is_empty() {
        if let Some(found) = top_level_kind(text) {
            return ConfigError::NotAnObject {
                file: None,
                found,
                line,
                column,
            };
        }
    }
    let mut segments = segments;
    let mut suggestion = None;
    // serde reports unknown fields as "unknown field `k`, expected ..."
    // (with `k` already the last path segment) and repeated ones as
    // "duplicate field `k`" (at the parent's path).
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some(end) = rest
            .rfind("`, expected ")
            .or_else(|| rest.rfind("`, there are no fields"))
        {
            let name = &rest[..end];
            if segments.last().map(String::as_str) != Some(name) {
                segments.push(name.to_owned());
            }
            message = format!("unknown field{}", &rest[end + 1..]);
        }
        if let Some((name, parent)) = segments.split_last() {
            suggestion = suggest(parent, name);
        }
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        if let Some(name) = rest.strip_suffix('`') {
            segments.push(name.to_owned());
            message = "duplicate field: it appears more than once in the same object".to_owned();
        }
    }
    ConfigError::Field {
        file: None,
        field: segments.join("."),
        message,
        suggestion,
        line,
        column,
    }
}

/// What the top-level value is when it is not an object.
fn top_level_kind(text: &str) -> Option<&'static str> {
    match text.trim_start_matches(is_json_whitespace).bytes().next()? {
        b'{' => None,
        b'[' => Some("an array"),
        b'"' => Some("a string"),
        b't' | b'f' => Some("a boolean"),
        b'n' => Some("null"),
        _ => Some("a number"),
    }
}

// ---------------------------------------------------------------------------
// Sections must be JSON objects
// ---------------------------------------------------------------------------

/// Deserializes a section, accepting only a JSON object.
///
/// Derived struct impls also accept a JSON array (fields by position),
/// which is confusing in a configuration file; this turns that into a type
/// error that names the section.
pub(super) fn object_only<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(ObjectOnly(deserializer))
}

/// Forwards to the inner deserializer, but reads structs as maps.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(MapOnly(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// A struct visitor that accepts only maps and expects "a JSON object".
struct MapOnly<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapOnly<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::suggest::collect_fields;
    use crate::config::tests::{assert_contains, parse_err};
    use serde_json::{Value, json};

    /// Dotted paths of every leaf field, read from the defaults.
    fn leaf_fields() -> Vec<Vec<String>> {
        let schema = serde_json::to_value(AnalyticsConfig::default()).unwrap();
        let mut all = Vec::new();
        collect_fields(&schema, &mut Vec::new(), &mut all);
        all.into_iter()
            .filter(|path| !pointer(&schema, path).is_object())
            .collect()
    }

    fn pointer<'a>(value: &'a Value, path: &[String]) -> &'a Value {
        path.iter().fold(value, |v, key| &v[key.as_str()])
    }

    /// `{"a": {"b": value}}` for the path `a.b`.
    fn nested(path: &[String], value: Value) -> Value {
        path.iter()
            .rev()
            .fold(value, |inner, key| json!({ key.as_str(): inner }))
    }

    #[test]
    fn utf8_bom_is_accepted() {
        assert_eq!(
            AnalyticsConfig::from_json_str("\u{feff}{}").unwrap(),
            AnalyticsConfig::default()
        );
    }

    #[test]
    fn wrong_type_names_the_field_path_and_line() {
        let err = parse_err("{\n  \"anomaly\": {\n    \"window_size\": \"100\"\n  }\n}");
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("anomaly.window_size"));
        assert_eq!(err.line(), Some(3));
        assert_eq!(
            err.to_string(),
            "`anomaly.window_size`: invalid type: string \"100\", expected usize (line 3, column 24)"
        );

        let err = parse_err(r#"{"enabled": "yes"}"#);
        assert_eq!(err.field(), Some("enabled"));
        assert_contains(&err, &["invalid type", "expected a boolean"]);

        let err = parse_err(r#"{"anomaly": {"window_size": 1.5}}"#);
        assert_eq!(err.field(), Some("anomaly.window_size"));
        assert_contains(&err, &["floating point `1.5`", "expected usize"]);
    }

    #[test]
    fn every_leaf_field_names_itself_on_a_type_error() {
        for path in leaf_fields() {
            let text = nested(&path, json!({"not": "a value"})).to_string();
            let err = parse_err(&text);
            assert_eq!(err.field(), Some(path.join(".").as_str()), "{err}");
            assert_eq!(err.line(), Some(1));
            assert_contains(&err, &["invalid type", "expected"]);
        }
    }

    #[test]
    fn section_of_the_wrong_type_names_the_section() {
        let schema = serde_json::to_value(AnalyticsConfig::default()).unwrap();
        let sections: Vec<&String> = schema
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.is_object())
            .map(|(k, _)| k)
            .collect();
        assert!(sections.len() >= 5);
        for section in sections {
            // An array would otherwise fill the fields by position.
            for value in [json!([]), json!([true, 5, 2.0]), json!(5), json!(null)] {
                let text = json!({ section.as_str(): value }).to_string();
                let err = parse_err(&text);
                assert_eq!(err.field(), Some(section.as_str()), "{err}");
                assert_contains(&err, &["invalid type", "expected a JSON object"]);
            }
        }
    }

    #[test]
    fn number_too_large_for_f64_names_the_field() {
        let err = parse_err(r#"{"thresholds": {"cpu_high": 1e400}}"#);
        assert_eq!(err.field(), Some("thresholds.cpu_high"));
        assert_eq!(err.line(), Some(1));
        assert_contains(&err, &["number out of range"]);

        let err = parse_err(r#"{"optimizer": {"interval": 100000000000000000000000}}"#);
        assert_eq!(err.field(), Some("optimizer.interval"));
        assert_contains(&err, &["expected u64"]);
    }

    #[test]
    fn negative_unsigned_is_a_type_error_naming_the_field() {
        let err = parse_err(r#"{"memory": {"max_history_size": -5}}"#);
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("memory.max_history_size"));
        assert_contains(&err, &["integer `-5`", "expected usize", "line 1"]);

        let err = parse_err(r#"{"optimizer": {"interval": -1}}"#);
        assert_eq!(err.field(), Some("optimizer.interval"));
        assert_contains(&err, &["integer `-1`", "expected u64"]);
    }

    #[test]
    fn unknown_top_level_field() {
        let err = parse_err(r#"{"bogus": 1}"#);
        assert!(matches!(err, ConfigError::Field { .. }));
        assert_eq!(err.field(), Some("bogus"));
        assert_eq!(err.suggestion(), None);
        assert_eq!(
            err.to_string(),
            "`bogus`: unknown field, expected one of `enabled`, `predictive`, `anomaly`, \
             `optimizer`, `memory`, `thresholds`, `resources`, `reporting`, `persistence`, `export` \
             (line 1, column 8)"
        );

        let err = parse_err(r#"{"anomoly": {}}"#);
        assert_eq!(err.field(), Some("anomoly"));
        assert_eq!(err.suggestion(), Some("anomaly"));
        assert_contains(&err, &["did you mean `anomaly`?"]);
    }

    #[test]
    fn duplicate_field_names_the_field() {
        let err = parse_err(r#"{"anomaly": {"enabled": true, "enabled": false}}"#);
        assert_eq!(err.field(), Some("anomaly.enabled"));
        assert_contains(&err, &["duplicate field"]);
    }

    #[test]
    fn truncated_json_names_the_line() {
        let text = "{\n  \"enabled\": true,\n  \"anomaly\": {\n    \"window_size\": 10\n";
        let err = parse_err(text);
        assert!(matches!(err, ConfigError::Syntax { .. }));
        assert_eq!(err.line(), Some(5));
        assert_eq!(err.column(), Some(0));
        assert_eq!(
            err.to_string(),
            "config is not valid JSON: EOF while parsing an object at line 5, column 0"
        );
    }

    #[test]
    fn other_syntax_errors_name_the_line() {
        for (text, words) in [
            (
                "{\"anomaly\": {\"window_size\": 1,}}",
                &["trailing comma"][..],
            ),
            ("{}\n{}", &["trailing characters", "line 2"][..]),
            ("{\"enabled\": tru}", &["expected ident"][..]),
            ("{enabled: true}", &["key must be a string"][..]),
        ] {
            let err = parse_err(text);
            assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
            assert!(err.line().is_some());
            assert_contains(&err, words);
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = parse_bytes(b"{\n  \"a\xff\": 1}", Some(Path::new("x.json"))).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }));
        assert_eq!((err.line(), err.column()), (Some(2), Some(5)));
        assert_contains(&err, &["x.json", "invalid UTF-8"]);
    }

    #[test]
    fn top_level_non_object_is_named() {
        let err = parse_err("[]");
        assert!(matches!(err, ConfigError::NotAnObject { .. }));
        assert_eq!(err.line(), Some(1));
        assert_eq!(
            err.to_string(),
            "config must hold a JSON object such as `{\"enabled\": true}` at the top level, \
             found an array (line 1, column 0)"
        );
        for (text, found) in [
            ("42", "found a number"),
            ("-1", "found a number"),
            ("\"x\"", "found a string"),
            ("true", "found a boolean"),
            ("null", "found null"),
            ("[false]", "found an array"),
        ] {
            let err = parse_err(text);
            assert!(matches!(err, ConfigError::NotAnObject { .. }), "{err:?}");
            assert_contains(&err, &[found]);
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const NAMES: &[&str] = &[
            "enabled",
            "predictive",
            "anomaly",
            "optimizer",
            "memory",
            "thresholds",
            "min_history",
            "confidence_threshold",
            "window_size",
            "z_score_threshold",
            "interval",
            "max_history_size",
            "cleanup_interval",
            "phase_slow",
            "memory_high",
            "cpu_high",
        ];

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                6 => prop::sample::select(NAMES).prop_map(str::to_owned),
                1 => prop::sample::select(NAMES).prop_map(|n| n.to_uppercase()),
                1 => (prop::sample::select(NAMES), any::<prop::sample::Index>())
                    .prop_map(|(n, i)| { let mut n = n.to_owned(); n.remove(i.index(n.len())); n }),
                2 => "[a-zA-Z_.` -]{0,12}",
                1 => any::<String>(),
            ]
        }

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                (0u64..3_000).prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (-2.0f64..3.0).prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[ -~]{0,6}".prop_map(Value::from),
            ]
        }

        fn object<S: Strategy<Value = Value>>(inner: S) -> impl Strategy<Value = Value> {
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
        }

        fn value() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(4, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    object(inner),
                ]
            })
        }

        /// A document shaped like the schema: an object of objects.
        fn document() -> impl Strategy<Value = Value> {
            prop_oneof![
                3 => object(prop_oneof![3 => object(leaf()), 1 => leaf()]),
                1 => value(),
            ]
        }

        fn check(text: &str) -> Result<(), TestCaseError> {
            match AnalyticsConfig::from_json_str(text) {
                Ok(config) => {
                    prop_assert!(config.validate().is_ok());
                    let again = serde_json::to_string(&config).unwrap();
                    prop_assert_eq!(AnalyticsConfig::from_json_str(&again).unwrap(), config);
                }
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(!message.is_empty());
                    if text.trim_matches(is_json_whitespace).is_empty() {
                        prop_assert!(matches!(err, ConfigError::Empty { .. }), "{:?}", err);
                    } else {
                        prop_assert!(
                            err.field().is_some() || err.line().is_some(),
                            "names neither a field nor a line: {}",
                            message
                        );
                    }
                    if let ConfigError::Field { field, .. } = &err {
                        let quoted = format!("`{field}`");
                        prop_assert!(message.contains(&quoted), "{}", message);
                    }
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_documents_never_panic_and_errors_are_located(
                doc in document(),
                pretty in any::<bool>(),
            ) {
                let text = if pretty {
                    serde_json::to_string_pretty(&doc).unwrap()
                } else {
                    serde_json::to_string(&doc).unwrap()
                };
                check(&text)?;
            }

            #[test]
            fn truncated_documents_never_panic_and_errors_are_located(
                doc in document(),
                cut in any::<prop::sample::Index>(),
            ) {
                let text = serde_json::to_string_pretty(&doc).unwrap();
                let mut end = cut.index(text.len() + 1);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                check(&text[..end])?;
            }

            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                check(&text)?;
            }
        }
    }
}
