//! Reading NAB corpus files: `timestamp,value` series, label windows and detector results.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::error::NabError;
use super::timestamp::parse_timestamp;

/// One time series: parallel timestamps (microseconds, see [`parse_timestamp`]) and values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Timestamps in file order.
    pub timestamps: Vec<i64>,
    /// Raw timestamp text in file order (written back unchanged by the harness).
    pub timestamp_text: Vec<String>,
    /// The second column: the metric value, or the anomaly score of a results file.
    pub values: Vec<f64>,
}

impl Series {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Label windows per data file, keyed by relative path (`group/file.csv`).
pub type Labels = BTreeMap<String, Vec<(String, String)>>;

/// Parses two-column CSV text (`timestamp,value`, with or without a header line).
///
/// `path` is only used for error messages. For results files with more columns
/// (as NAB writes them) the value is taken from the column named `value_column`
/// when a header is present, else from the second column.
pub fn parse_series(text: &str, path: &Path, value_column: &str) -> Result<Series, NabError> {
    let mut series = Series::default();
    let mut column = 1;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',');
        let stamp = fields.next().unwrap_or_default();
        let err = |message: String| NabError::Parse {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let Some(ts) = parse_timestamp(stamp) else {
            if index == 0 {
                if let Some(pos) = line.split(',').position(|f| f.trim() == value_column) {
                    column = pos;
                }
                continue;
            }
            return Err(err(format!("bad timestamp {stamp:?}")));
        };
        let field = line
            .split(',')
            .nth(column)
            .ok_or_else(|| err("missing value column".into()))?;
        let value: f64 = field
            .trim()
            .parse()
            .map_err(|_| err(format!("bad number {field:?}")))?;
        series.timestamps.push(ts);
        series.timestamp_text.push(stamp.to_string());
        series.values.push(value);
    }
    Ok(series)
}

/// Reads a series file; see [`parse_series`].
pub fn read_series(path: &Path, value_column: &str) -> Result<Series, NabError> {
    let text = fs::read_to_string(path).map_err(|e| NabError::io(path, e))?;
    parse_series(&text, path, value_column)
}

/// Reads NAB's `combined_windows.json`.
pub fn read_labels(path: &Path) -> Result<Labels, NabError> {
    let text = fs::read_to_string(path).map_err(|e| NabError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| NabError::Labels {
        path: path.to_path_buf(),
        source,
    })
}

/// Lists the data files under `dir` as sorted relative paths `group/file.csv`.
pub fn list_data_files(dir: &Path) -> Result<Vec<String>, NabError> {
    let mut files = Vec::new();
    let groups = fs::read_dir(dir).map_err(|e| NabError::io(dir, e))?;
    for group in groups {
        let group = group.map_err(|e| NabError::io(dir, e))?;
        if !group.path().is_dir() {
            continue;
        }
        let group_name = group.file_name().to_string_lossy().into_owned();
        let entries = fs::read_dir(group.path()).map_err(|e| NabError::io(group.path(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| NabError::io(group.path(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".csv") {
                files.push(format!("{group_name}/{name}"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Converts label windows (timestamp text pairs) into inclusive row-index ranges of `timestamps`.
pub fn window_indices(
    file: &str,
    timestamps: &[i64],
    windows: &[(String, String)],
) -> Result<Vec<(usize, usize)>, NabError> {
    let find = |text: &String| {
        parse_timestamp(text)
            .and_then(|ts| timestamps.iter().position(|&t| t == ts))
            .ok_or_else(|| NabError::WindowLimit {
                file: file.to_string(),
                timestamp: text.clone(),
            })
    };
    windows
        .iter()
        .map(|(start, end)| Ok((find(start)?, find(end)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_header() {
        let text = "timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,2\n";
        let s = parse_series(text, Path::new("x.csv"), "value").unwrap();
        assert_eq!(s.values, vec![1.5, 2.0]);
        assert_eq!(s.timestamps[1] - s.timestamps[0], 300_000_000);
        assert_eq!(s.timestamp_text[0], "2014-04-01 00:00:00");
    }

    #[test]
    fn picks_named_column() {
        let text = "timestamp,value,anomaly_score\n2014-04-01 00:00:00,1.5,0.25\n";
        let s = parse_series(text, Path::new("x.csv"), "anomaly_score").unwrap();
        assert_eq!(s.values, vec![0.25]);
    }

    #[test]
    fn reports_bad_numbers() {
        let text = "timestamp,value\n2014-04-01 00:00:00,abc\n";
        assert!(parse_series(text, Path::new("x.csv"), "value").is_err());
    }

    #[test]
    fn maps_windows_to_rows() {
        let ts = [0, 1_000_000, 2_000_000, 3_000_000];
        let w = vec![(
            "1970-01-01 00:00:01.000000".to_string(),
            "1970-01-01 00:00:02".to_string(),
        )];
        assert_eq!(window_indices("f", &ts, &w).unwrap(), vec![(1, 2)]);
        let bad = vec![(
            "1970-01-01 00:00:09".to_string(),
            "1970-01-01 00:00:02".to_string(),
        )];
        assert!(window_indices("f", &ts, &bad).is_err());
    }
}
