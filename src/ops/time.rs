//! Time and duration arguments, parsed one way for every front and every flag (`--at`,
//! `--since`, `--until`, `--to-datetime`, `--ttl`, ...).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The forms [`parse_time`] accepts, as its errors list them.
pub const TIME_FORMS: &str = "RFC 3339 with any offset (2026-12-01T21:59:00+02:00, \
    2026-12-01T19:59:00Z; no offset means UTC), a date (2026-12-01, midnight UTC), a duration \
    ago (90m, 2h, 3d, 1h30m, `2h ago`), `now`, or milliseconds since the Unix epoch";

/// The forms [`parse_duration`] accepts.
pub const DURATION_FORMS: &str = "a number and a unit, repeatable: 500ms, 30s, 90m, 12h, \
    30d, 2w, 1h30m, `1h 30m` (units ms, s, m, h, d, w, M (30.44 days), y (365.25 days) and \
    their English names)";

/// Why a time or duration argument cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Not a time in any accepted form.
    #[error("cannot read time {text:?}: use {TIME_FORMS}")]
    Time {
        /// The text given.
        text: String,
    },
    /// Not a duration.
    #[error("cannot read duration {text:?}: use {DURATION_FORMS}")]
    Duration {
        /// The text given.
        text: String,
    },
    /// A well-formed value outside what a time can hold (before 1970, or too far ahead).
    #[error("time {text:?} is out of range (before 1970-01-01 or too far in the future)")]
    OutOfRange {
        /// The text given.
        text: String,
    },
}

/// Parses a duration: `500ms`, `30s`, `90m`, `12h`, `30d`, `2w`, `1h30m`, `1h 30m`.
///
/// ```
/// use std::time::Duration;
/// use tidemark::ops::parse_duration;
/// assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
/// assert!(parse_duration("2 fortnights").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, TimeError> {
    let bad = || TimeError::Duration {
        text: text.to_owned(),
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit_ms: u64 = match &rest[..letters] {
            "ms" | "msec" | "millis" | "milliseconds" => 1,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "w" | "week" | "weeks" => 604_800_000,
            // As humantime (which parsed these flags before): 30.44 days, 365.25 days.
            "M" | "month" | "months" => 2_630_016_000,
            "y" | "year" | "years" => 31_557_600_000,
            _ => return Err(bad()),
        };
        rest = rest[letters..].trim_start();
        let ms = n.checked_mul(unit_ms).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Parses a time argument, relative to `now` for durations ago. Accepted:
///
/// - RFC 3339 with any offset: `2026-12-01T21:59:00+02:00`, `2026-12-01T19:59:00.250Z`; a
///   space may stand for the `T`, seconds may be left out, and no offset means UTC;
/// - a date, `2026-12-01`: midnight UTC that day;
/// - a duration ago: `90m`, `2h`, `3d`, `1h30m`, optionally followed by `ago`; `now`;
/// - milliseconds since the Unix epoch: `1764633540000`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tidemark::ops::parse_time;
/// let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
/// let t = parse_time("2026-12-01T21:59:00+02:00", now).unwrap();
/// assert_eq!(t, parse_time("2026-12-01T19:59:00Z", now).unwrap());
/// assert_eq!(parse_time("2h", now).unwrap(), now - Duration::from_secs(7200));
/// assert_eq!(parse_time("1970-01-02", now).unwrap(), UNIX_EPOCH + Duration::from_secs(86_400));
/// ```
pub fn parse_time(text: &str, now: SystemTime) -> Result<SystemTime, TimeError> {
    let t = text.trim();
    let bad = || TimeError::Time {
        text: text.to_owned(),
    };
    let out_of_range = || TimeError::OutOfRange {
        text: text.to_owned(),
    };
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms: u64 = t.parse().map_err(|_| out_of_range())?;
        return UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(out_of_range);
    }
    let ago = t.strip_suffix("ago").map(str::trim_end).unwrap_or(t);
    if ago.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(d) = parse_duration(ago)
    {
        return now.checked_sub(d).ok_or_else(out_of_range);
    }
    let ms = rfc3339_ms(t).ok_or_else(bad)?;
    let ms = u64::try_from(ms).map_err(|_| out_of_range())?;
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .ok_or_else(out_of_range)
}

/// Milliseconds since the epoch of `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM|±HHMM]`.
fn rfc3339_ms(t: &str) -> Option<i128> {
    let b = t.as_bytes();
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut ms = i128::from(days) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (hour, minute) = (num(&t[11..13])?, num(&t[14..16])?);
    let mut rest = &t[16..];
    let mut second = 0;
    let mut millis = 0;
    if let Some(r) = rest.strip_prefix(':') {
        second = num(r.get(0..2)?)?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix(['.', ',']) {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if digits == 0 {
                return None;
            }
            let frac = &r[..digits.min(3)];
            millis = num(frac)? * 10_i64.pow(3 - frac.len() as u32);
            rest = &r[digits..];
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset_minutes = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = &rest[1..];
            let (h, m) = match o.len() {
                5 if o.as_bytes()[2] == b':' => (num(&o[0..2])?, num(&o[3..5])?),
                4 => (num(&o[0..2])?, num(&o[2..4])?),
                2 => (num(o)?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    ms +=
        i128::from((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + i128::from(millis);
    Some(ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Result<u64, TimeError> {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        parse_time(text, now).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64)
    }

    #[test]
    fn every_form_of_a_time() {
        let utc = at("2026-12-01T19:59:00Z").unwrap();
        assert_eq!(utc, 1_796_155_140_000);
        for same in [
            "2026-12-01T21:59:00+02:00",
            "2026-12-01T14:59:00-05:00",
            "2026-12-01T21:59+0200",
            "2026-12-01 19:59:00",
            "2026-12-01t19:59:00z",
            "2026-12-01T19:59",
            "1796155140000",
        ] {
            assert_eq!(at(same).unwrap(), utc, "{same}");
        }
        assert_eq!(at("2026-12-01T19:59:00.25Z").unwrap(), utc + 250);
        assert_eq!(at("2026-12-01").unwrap(), 1_796_083_200_000);
        assert_eq!(at("1970-01-01").unwrap(), 0);
        assert_eq!(at("2024-02-29").unwrap(), 1_709_164_800_000);
        let now = 1_800_000_000_000;
        assert_eq!(at("2h").unwrap(), now - 7_200_000);
        assert_eq!(at("2h ago").unwrap(), now - 7_200_000);
        assert_eq!(at("3d").unwrap(), now - 259_200_000);
        assert_eq!(at("90m").unwrap(), now - 5_400_000);
        assert_eq!(at("1h30m").unwrap(), now - 5_400_000);
        assert_eq!(at("now").unwrap(), now);
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-12-01T25:00:00Z",
            "2026-12-01T10:00:00+2",
            "2026-12-01X10:00",
            "12/01/2026",
        ] {
            let e = at(bad).unwrap_err();
            assert!(matches!(e, TimeError::Time { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("2026-12-01T21:59:00+02:00"), "{e}");
        }
        assert!(matches!(
            at("1969-12-31"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            at("99999999999999999999999"),
            Err(TimeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(1_209_600)
        );
        assert_eq!(
            parse_duration("30days").unwrap(),
            Duration::from_secs(2_592_000)
        );
        for bad in ["", "h", "5", "5x", "-5m", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
