//! Printing: tables, JSON, times, sparklines; stdout errors other than a broken pipe are
//! reported, a broken pipe ends quietly.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::{Failure, fail};

/// Where results go.
pub(crate) struct Out {
    pub json: bool,
    pub quiet: bool,
}

impl Out {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        Out { json, quiet }
    }

    /// Writes text to stdout.
    pub(crate) fn print(&self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes()).map_err(io_failure)
    }

    /// Writes a value (a report) as JSON, pretty, with a final newline.
    pub(crate) fn json(&self, value: &impl serde::Serialize) -> Result<(), Failure> {
        let mut text = serde_json::to_string_pretty(value).map_err(|e| fail(e.to_string()))?;
        text.push('\n');
        self.print(&text)
    }

    /// The text of a command run for its effect or verdict (verify, compact, reset, ...):
    /// printed unless -q.
    pub(crate) fn summary(&self, text: &str) -> Result<(), Failure> {
        if self.quiet {
            return Ok(());
        }
        self.print(text)
    }

    /// A note on stderr (suppressed by -q).
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        fail(format!("cannot write to stdout: {e}"))
    }
}

/// Renders rows as aligned columns, every cell made safe for a terminal
/// ([`escape`](crate::render::escape)); columns listed in `right` are right-aligned.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| crate::render::escape(cell).into_owned())
                .collect()
        })
        .collect();
    let rows = &rows[..];
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(columns) {
            widths[c] = widths[c].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if right.contains(&c) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if c + 1 < cells.len() {
                    text.push_str(&" ".repeat(pad));
                }
            }
            if c + 1 < cells.len() {
                text.push_str("  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// A time as RFC 3339 (UTC, seconds): `2026-11-24T16:05:40Z`. Every time renders, whatever
/// its value: a year past 9999 in ISO 8601's expanded form with a sign (`+55840-11-08T22:13:20Z`), a
/// time before year 0 with a `-` (the README, "The `tidemark` command").
pub(crate) fn time(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        // Before 1970: round down to the whole second.
        Err(e) => {
            let d = e.duration();
            -i128::from(d.as_secs()) - i128::from(d.subsec_nanos() > 0)
        }
    };
    time_secs(secs)
}

/// A time in ms since the epoch as RFC 3339 (see [`time`]); every `u64` renders.
pub(crate) fn time_ms(ms: u64) -> String {
    time_secs(i128::from(ms / 1000))
}

/// Seconds since the epoch as RFC 3339, in the proleptic Gregorian calendar (days to a civil
/// date as in H. Hinnant's `civil_from_days`), for any value.
fn time_secs(secs: i128) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    let year = match year {
        0..=9999 => format!("{year:04}"),
        10_000.. => format!("+{year}"),
        _ => format!("-{:04}", -year),
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// A time in ms since the epoch (the latest time the platform holds, for larger values).
pub(crate) fn system_time(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 2))
}

/// How long ago, roughly: `3m`, `2h 5m`, `4d`.
pub(crate) fn age(t: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let rounded = match secs {
        0..=59 => secs,
        60..=3599 => secs / 60 * 60,
        3600..=86_399 => secs / 60 * 60,
        _ => secs / 3600 * 3600,
    };
    humantime::format_duration(Duration::from_secs(rounded)).to_string()
}

/// Parses a time argument: RFC 3339 with any offset, a date, a duration ago, or ms since the
/// epoch ([`tidemark::ops::parse_time`], the one parser of every time flag).
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, Failure> {
    Ok(tidemark::ops::parse_time(text, SystemTime::now())?)
}

/// Parses a duration such as `30d`, `12h`, `1h 30m` ([`tidemark::ops::parse_duration`]).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, Failure> {
    Ok(tidemark::ops::parse_duration(text)?)
}

/// A count with thousands separators: `19,999`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes for people: `812 B`, `3.1 MiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A sparkline of non-negative values.
pub(crate) fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().cloned().fold(0.0, f64::max);
    values
        .iter()
        .map(|&v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// A progress bar on stderr, hidden with -q, --json or when stderr is not a terminal.
pub(crate) fn progress(out: &Out, total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = if out.quiet || out.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_like_rfc_3339_in_the_usual_range_and_never_panic_outside_it() {
        // The same text as humantime wherever it has one (years 1970 to 9999).
        for ms in [
            0,
            1_000,
            951_782_400_000,
            1_700_000_000_000,
            1_764_633_600_999,
            4_107_542_399_000,
            253_402_300_799_999,
        ] {
            let expected = humantime::format_rfc3339_seconds(system_time(ms)).to_string();
            assert_eq!(time_ms(ms), expected, "{ms}");
        }
        assert_eq!(time_ms(253_402_300_800_000), "+10000-01-01T00:00:00Z");
        assert_eq!(time_ms(1_700_000_000_000_000), "+55840-11-08T22:13:20Z");
        assert_eq!(time_ms(u64::MAX), "+584556019-04-03T14:25:51Z");
        assert_eq!(
            time(UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            time(UNIX_EPOCH - Duration::from_secs(62_167_219_201)),
            "-0001-12-31T23:59:59Z"
        );
    }
}
