//! Did-you-mean suggestions for unknown keys.
//!
//! A suggestion is a valid key within an optimal-string-alignment distance
//! ([`strsim::osa_distance`], case-insensitive) of 2 of the unknown one. The
//! valid keys are read from the defaults' JSON, so new sections are covered
//! automatically.

use super::AnalyticsConfig;

/// A valid key close to the unknown `name` found under `parent`: a sibling
/// field if one is close, otherwise the dotted path of a close field in
/// another section. The schema is read from the defaults, so new sections
/// are covered automatically.
pub(super) fn suggest(parent: &[String], name: &str) -> Option<String> {
    let schema = serde_json::to_value(AnalyticsConfig::default()).ok()?;
    let mut all = Vec::new();
    collect_fields(&schema, &mut Vec::new(), &mut all);
    let best = |candidates: &mut dyn Iterator<Item = &Vec<String>>| {
        candidates
            .filter_map(|path| {
                let last = path.last()?;
                let distance = strsim::osa_distance(&name.to_lowercase(), &last.to_lowercase());
                (distance <= 2).then_some((distance, path))
            })
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, path)| path.clone())
    };
    let siblings = best(&mut all.iter().filter(|path| path[..path.len() - 1] == *parent));
    if let Some(path) = siblings {
        return path.last().cloned();
    }
    best(&mut all.iter()).map(|path| path.join("."))
}

/// Appends to `out` the path of every key in `value`, depth first, each
/// object's key before the keys inside it.
pub(super) fn collect_fields(
    value: &serde_json::Value,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            prefix.push(key.clone());
            out.push(prefix.clone());
            collect_fields(child, prefix, out);
            prefix.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse_err;

    #[test]
    fn misspelt_nested_field_gets_a_suggestion() {
        let err = parse_err("{\n  \"anomaly\": {\n    \"windw_size\": 100\n  }\n}");
        assert_eq!(err.field(), Some("anomaly.windw_size"));
        assert_eq!(err.suggestion(), Some("window_size"));
        assert_eq!(err.line(), Some(3));
        assert_eq!(
            err.to_string(),
            "`anomaly.windw_size`: unknown field, expected one of `enabled`, `window_size`, \
             `z_score_threshold`, `score_threshold` (line 3, column 16); did you mean `window_size`?"
        );
    }

    #[test]
    fn suggestions_cover_case_separators_transpositions_and_other_sections() {
        let cases = [
            (r#"{"anomaly": {"WINDOW_SIZE": 3}}"#, "window_size"),
            (r#"{"anomaly": {"window-size": 3}}"#, "window_size"),
            (r#"{"anomaly": {"windowSize": 3}}"#, "window_size"),
            (r#"{"optimizer": {"intreval": 3}}"#, "interval"),
            (r#"{"Thresholds": {}}"#, "thresholds"),
            (r#"{"predictive": {"enable": true}}"#, "enabled"),
            // In the wrong section: the full path is suggested.
            (r#"{"window_size": 3}"#, "anomaly.window_size"),
            (r#"{"anomaly": {"interval": 3}}"#, "optimizer.interval"),
        ];
        for (text, expected) in cases {
            let err = parse_err(text);
            assert_eq!(err.suggestion(), Some(expected), "{err}");
        }
        let err = parse_err(r#"{"anomaly": {"sensitivity": 3}}"#);
        assert_eq!(err.suggestion(), None, "{err}");
    }

    // The distance the suggestions rely on: optimal string alignment, over
    // chars (this pinned the hand-written `edit_distance` that strsim replaced).
    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(strsim::osa_distance("", ""), 0);
        assert_eq!(strsim::osa_distance("abc", ""), 3);
        assert_eq!(strsim::osa_distance("window_size", "windw_size"), 1);
        assert_eq!(strsim::osa_distance("interval", "intreval"), 1);
        assert_eq!(strsim::osa_distance("kitten", "sitting"), 3);
        assert_eq!(strsim::osa_distance("größe", "grösse"), 2);
    }
}
