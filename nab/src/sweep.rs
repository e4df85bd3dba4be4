//! Per-row NAB weights: what a detection at each row would earn or cost.
//!
//! This follows NAB's sweeper: rows inside a label window earn a scaled sigmoid of their
//! position (earlier is better); rows outside cost a sigmoid of their distance past the
//! previous window (full cost before any window); probationary rows are not scored.

/// NAB's share of a file that forms the probationary period.
pub const PROBATION_PERCENT: f64 = 0.15;

/// NAB's scaled sigmoid: `2 / (1 + exp(5 p)) - 1`, and `-1` for `p > 3`.
pub fn scaled_sigmoid(position: f64) -> f64 {
    if position > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// Number of leading rows that are not scored: `min(floor(0.15 n), 0.15 * 5000)`.
pub fn probationary_length(rows: usize) -> usize {
    let by_share = (PROBATION_PERCENT * rows as f64).floor();
    by_share.min(PROBATION_PERCENT * 5000.0) as usize
}

/// The profile-independent label of one scorable row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowKind {
    /// Inside window number `window` (index into the file's windows); `reward` in `(0, 1]`
    /// is multiplied by the profile's true-positive weight.
    InWindow {
        /// Index of the window in the file's window list.
        window: usize,
        /// Unweighted reward of a detection here.
        reward: f64,
    },
    /// Outside every window; `cost` in `[-1, 1]` is multiplied by the profile's
    /// false-positive weight (it is negative except just after a window).
    Outside {
        /// Unweighted (signed) score of a detection here.
        cost: f64,
    },
}

/// Labels every row of a file of `rows` rows with inclusive label `windows` (row indices,
/// sorted, non-overlapping). Probationary rows get `None`.
pub fn label_rows(rows: usize, windows: &[(usize, usize)]) -> Vec<Option<RowKind>> {
    let probation = probationary_length(rows);
    let max_tp = scaled_sigmoid(-1.0);
    let mut labels = Vec::with_capacity(rows);
    let mut next_window = 0;
    let mut current: Option<(usize, usize, f64)> = None; // (index, right, width)
    let mut previous: Option<(usize, f64)> = None; // (right, width)
    for i in 0..rows {
        if let Some(&(start, end)) = windows.get(next_window)
            && start == i
        {
            current = Some((next_window, end, (end - i + 1) as f64));
            next_window += 1;
        }
        let kind = match (current, previous) {
            (Some((window, right, width)), _) => {
                let position = -((right - i + 1) as f64) / width;
                RowKind::InWindow {
                    window,
                    reward: scaled_sigmoid(position) / max_tp,
                }
            }
            (None, None) => RowKind::Outside { cost: -1.0 },
            (None, Some((right, width))) => {
                let position = i.abs_diff(right) as f64 / (width - 1.0);
                RowKind::Outside {
                    cost: scaled_sigmoid(position),
                }
            }
        };
        labels.push((i >= probation).then_some(kind));
        if let Some((_, right, width)) = current
            && right == i
        {
            previous = Some((right, width));
            current = None;
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_shape() {
        assert!((scaled_sigmoid(0.0)).abs() < 1e-12);
        assert!(scaled_sigmoid(-1.0) > 0.98);
        assert_eq!(scaled_sigmoid(3.5), -1.0);
        assert!(scaled_sigmoid(1.0) < -0.98);
    }

    #[test]
    fn probation_is_capped() {
        assert_eq!(probationary_length(100), 15);
        assert_eq!(probationary_length(4033), 604);
        assert_eq!(probationary_length(10_000), 750);
    }

    #[test]
    fn rows_get_window_rewards_and_costs() {
        let labels = label_rows(100, &[(50, 59)]);
        assert!(labels[..15].iter().all(Option::is_none));
        assert_eq!(labels[20], Some(RowKind::Outside { cost: -1.0 }));
        match labels[50] {
            Some(RowKind::InWindow { window: 0, reward }) => assert!((reward - 1.0).abs() < 1e-12),
            other => panic!("unexpected {other:?}"),
        }
        match labels[59] {
            Some(RowKind::InWindow { reward, .. }) => assert!(reward > 0.0 && reward < 0.3),
            other => panic!("unexpected {other:?}"),
        }
        match labels[60] {
            Some(RowKind::Outside { cost }) => assert!(cost < 0.0 && cost > -0.6),
            other => panic!("unexpected {other:?}"),
        }
        match labels[99] {
            Some(RowKind::Outside { cost }) => assert_eq!(cost, -1.0),
            other => panic!("unexpected {other:?}"),
        }
    }
}
