//! Parsing of NAB timestamps (`YYYY-MM-DD HH:MM:SS[.ffffff]`) into comparable integers.

/// Parses a NAB timestamp into microseconds since 1970-01-01 00:00:00 (naive, no time zone).
///
/// Accepts an optional fractional part of up to six digits, as used by the label files.
/// Returns `None` when the text is not a valid timestamp.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let (main, frac) = match text.split_once('.') {
        Some((m, f)) => (m, f),
        None => (text, ""),
    };
    let (date, time) = main.split_once([' ', 'T'])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let mut time_parts = time.splitn(3, ':');
    let hour: i64 = time_parts.next()?.parse().ok()?;
    let minute: i64 = time_parts.next()?.parse().ok()?;
    let second: i64 = time_parts.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10_i64.pow(6 - frac.len() as u32)
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_zero() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
    }

    #[test]
    fn fraction_is_optional_and_equal_when_zero() {
        assert_eq!(
            parse_timestamp("2014-04-10 07:15:00.000000"),
            parse_timestamp("2014-04-10 07:15:00")
        );
        assert_eq!(
            parse_timestamp("2014-04-10 07:15:00.5").unwrap()
                - parse_timestamp("2014-04-10 07:15:00").unwrap(),
            500_000
        );
    }

    #[test]
    fn known_date() {
        // 2000-03-01 is day 11017 after the epoch.
        assert_eq!(
            parse_timestamp("2000-03-01 00:00:01"),
            Some(11_017 * 86_400_000_000 + 1_000_000)
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_timestamp("timestamp"), None);
        assert_eq!(parse_timestamp("2014-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp("2014-01-01"), None);
    }
}
