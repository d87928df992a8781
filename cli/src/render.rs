//! One renderer per report: a table (or text) for people, or the report itself as JSON with
//! `--json` (the schema in the README, "JSON output").

use tidemark::ops::{
    CompactReport, DiffReport, LagReport, LogReport, ResetReport, StreamsReport, VerificationReport,
};
use tidemark::{Checkpoint, Offsets, Writer};

use crate::cli::{CmdResult, Failure, fail};
use crate::output::{self, Out, table};

/// Text from a store or a file (stream, topic, application and host names, object names, error
/// messages) made safe for a terminal: control characters (escape sequences, line breaks, tabs,
/// C1 controls) and the invisible characters that reorder text (bidirectional overrides and
/// marks) are shown as Rust escapes (`\u{1b}`, `\n`); everything else as is. Tables and text
/// output use it; JSON output escapes by itself.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `Writer` as one phrase: `billing 2.3.0 on host-1 (epoch 4)`.
fn writer_text(w: &Writer) -> String {
    let mut s = format!("{} {}", escape(&w.app_name), escape(&w.app_version));
    if !w.host.is_empty() {
        s.push_str(&format!(" on {}", escape(&w.host)));
    }
    format!("{} (epoch {})", s.trim(), w.epoch)
}

/// `tidemark streams`: JSON, an array of stream summaries.
pub(crate) fn streams(report: &StreamsReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(&report.streams);
    }
    let rows: Vec<Vec<String>> = report
        .streams
        .iter()
        .map(|s| match (s.latest_id, &s.writer) {
            (Some(id), Some(writer)) => vec![
                s.stream.clone(),
                id.to_string(),
                s.batch_time_ms.map_or("-".into(), output::time_ms),
                s.created_at_ms
                    .map_or("-".into(), |ms| output::age(output::system_time(ms))),
                s.topics.len().to_string(),
                s.partitions.to_string(),
                writer_text(writer),
            ],
            _ => vec![
                s.stream.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "0".into(),
                "0".into(),
                "(no valid checkpoint)".into(),
            ],
        })
        .collect();
    out.print(&table(
        &[
            "stream",
            "latest",
            "batch time",
            "age",
            "topics",
            "partitions",
            "writer",
        ],
        &rows,
        &[1, 4, 5],
    ))
}

/// A metadata value as text when it is printable, else as hex.
fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
        _ => format!("0x{}", tidemark::format::hex(bytes)),
    }
}

/// `tidemark show` (and `cat` without `--json`): JSON, the format's rendering of a checkpoint.
pub(crate) fn checkpoint(c: &Checkpoint, out: &Out) -> CmdResult {
    if out.json {
        return out.print(&tidemark::format::checkpoint_to_json(c));
    }
    let mut text = format!(
        "stream:     {}\ncheckpoint: {}\nbatch time: {}\nwritten:    {} ({} ago)\nwriter:     {}\n",
        escape(&c.stream),
        c.id,
        output::time_ms(c.batch_time_ms),
        output::time_ms(c.created_at_ms),
        output::age(c.created_at()),
        writer_text(&c.writer),
    );
    for (k, v) in &c.metadata {
        text.push_str(&format!("metadata:   {} = {}\n", escape(k), printable(v)));
    }
    text.push('\n');
    let rows: Vec<Vec<String>> = c
        .offsets
        .iter()
        .map(|(t, p, o)| vec![t.to_owned(), p.to_string(), o.to_string()])
        .collect();
    if rows.is_empty() {
        text.push_str("(no offsets)\n");
    } else {
        text.push_str(&table(
            &["topic", "partition", "next offset"],
            &rows,
            &[1, 2],
        ));
    }
    out.print(&text)
}

/// `tidemark log`: JSON, an array of entries, newest first.
pub(crate) fn log(report: &LogReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(&report.entries);
    }
    let mut rows = Vec::new();
    let mut rates = Vec::new();
    for e in &report.entries {
        let Some(c) = &e.checkpoint else {
            rows.push(vec![
                e.id.to_string(),
                output::time_ms(e.committed_at_ms),
                "-".into(),
                "-".into(),
                "DAMAGED".into(),
            ]);
            continue;
        };
        rates.push(c.messages_per_second);
        let note = if c.writer_claim {
            format!("writer {} claimed", writer_text(&c.writer))
        } else if c.writer_changed {
            format!("writer changed: {}", writer_text(&c.writer))
        } else {
            String::new()
        };
        rows.push(vec![
            e.id.to_string(),
            output::time_ms(c.created_at_ms),
            c.messages_since_previous
                .map_or("-".into(), |p| format!("+{p}")),
            if c.messages_per_second > 0.0 {
                format!("{:.0}/s", c.messages_per_second)
            } else {
                "-".into()
            },
            note,
        ]);
    }
    let mut text = table(
        &["id", "written", "progress", "rate", ""],
        &rows,
        &[0, 2, 3],
    );
    rates.reverse();
    text.push_str(&format!(
        "\nrate, oldest to newest: {}\n",
        output::sparkline(&rates)
    ));
    out.print(&text)
}

/// `tidemark diff`.
pub(crate) fn diff(report: &DiffReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let show = |o: Option<i64>| o.map_or("-".into(), |o| o.to_string());
    let rows: Vec<Vec<String>> = report
        .partitions
        .iter()
        .map(|d| {
            vec![
                d.topic.clone(),
                d.partition.to_string(),
                show(d.a),
                show(d.b),
                match (d.delta, d.a) {
                    (Some(delta), _) => format!("{delta:+}"),
                    (None, None) => "added".into(),
                    (None, Some(_)) => "removed".into(),
                },
            ]
        })
        .collect();
    let mut text = table(
        &[
            "topic",
            "partition",
            &format!("#{}", report.a),
            &format!("#{}", report.b),
            "delta",
        ],
        &rows,
        &[1, 2, 3, 4],
    );
    text.push_str(&format!("total: {:+} messages\n", report.total_delta));
    out.print(&text)
}

/// `tidemark verify`.
pub(crate) fn verify(report: &VerificationReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let mut text = String::new();
    for s in &report.streams {
        let range = s
            .range
            .map_or("none".into(), |(lo, hi)| format!("{lo}..{hi}"));
        text.push_str(&format!(
            "{}: {} checkpoints ({range}), {} valid, {} damaged, {} gaps, {} temporary, {} foreign{}\n",
            escape(&s.stream),
            s.checked,
            s.valid,
            s.damaged.len(),
            s.gaps.len(),
            s.temporary.len(),
            s.foreign.len(),
            if s.problems { "  PROBLEMS" } else { "  ok" },
        ));
        for d in &s.damaged {
            text.push_str(&format!("  damaged {}\n", escape(&d.reason.to_string())));
        }
        for (lo, hi) in &s.gaps {
            text.push_str(&format!("  missing ids {lo}..{hi}\n"));
        }
        for t in &s.temporary {
            text.push_str(&format!("  temporary file {}\n", escape(t)));
        }
        for f in &s.foreign {
            text.push_str(&format!("  foreign object {}\n", escape(f)));
        }
        if !s.non_canonical.is_empty() {
            text.push_str(&format!(
                "  note: {} valid file(s) not in canonical 1.0 form (later minor version?)\n",
                s.non_canonical.len()
            ));
        }
    }
    text.push_str(&format!(
        "{} stream(s) verified: {}\n",
        report.streams.len(),
        if report.problems {
            "problems found"
        } else {
            "no problems"
        }
    ));
    out.print(&text)
}

/// `tidemark compact`.
pub(crate) fn compact(report: &CompactReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let mut text = format!(
        "{}: kept {}, {verb} {} checkpoint(s){} and {} temporary file(s), {} bytes\n",
        escape(&report.stream),
        report.kept,
        report.deleted.len(),
        match (report.deleted.first(), report.deleted.last()) {
            (Some(a), Some(b)) => format!(" (ids {a}..{b})"),
            _ => String::new(),
        },
        report.temporary_deleted.len(),
        report.bytes_freed,
    );
    if let Some(id) = report.newest_valid {
        text.push_str(&format!("newest valid checkpoint {id} is always kept\n"));
    }
    for s in &report.skipped {
        text.push_str(&format!(
            "left in place: damaged {}\n",
            escape(&s.to_string())
        ));
    }
    if report.dry_run {
        text.push_str("dry run: nothing was deleted\n");
    }
    out.print(&text)
}

/// `tidemark reset` and `tidemark import`.
pub(crate) fn reset(report: &ResetReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let rows: Vec<Vec<String>> = report
        .changes
        .iter()
        .map(|c| {
            vec![
                c.topic.clone(),
                c.partition.to_string(),
                c.before.map_or("-".into(), |o| o.to_string()),
                c.after.to_string(),
                c.change.map_or("new".into(), |d| format!("{d:+}")),
            ]
        })
        .collect();
    let mut text = table(
        &["topic", "partition", "before", "after", "change"],
        &rows,
        &[1, 2, 3, 4],
    );
    match report.checkpoint_id {
        Some(id) => text.push_str(&format!("written as checkpoint {id}\n")),
        None => {
            text.push_str("dry run: nothing written (add --execute to write a new checkpoint)\n")
        }
    }
    out.print(&text)
}

/// `tidemark lag`; with `--watch` the screen is cleared first.
pub(crate) fn lag(report: &LagReport, watch: bool, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let rows: Vec<Vec<String>> = report
        .partitions
        .iter()
        .map(|p| {
            vec![
                p.topic.clone(),
                p.partition.to_string(),
                p.checkpointed.to_string(),
                p.log_end.map_or("-".into(), |e| e.to_string()),
                p.lag.map_or("(not in cluster)".into(), |l| l.to_string()),
            ]
        })
        .collect();
    let mut text = String::new();
    if watch {
        text.push_str("\x1b[2J\x1b[H");
    }
    text.push_str(&format!(
        "stream {}, checkpoint {} ({} ago)\n",
        escape(&report.stream),
        report.checkpoint,
        output::age(output::system_time(report.created_at_ms))
    ));
    text.push_str(&table(
        &["topic", "partition", "checkpointed", "log end", "lag"],
        &rows,
        &[1, 2, 3, 4],
    ));
    text.push_str(&format!("total lag: {}\n", report.total_lag));
    out.print(&text)
}

/// `tidemark export --format json`: `{topic: {partition: offset}}`.
pub(crate) fn offsets(offsets: &Offsets, out: &Out) -> CmdResult {
    out.json(offsets)
}

/// A file that does not decode (FORMAT.md §9): `error: <kind>: <message>` on stderr, or with
/// `--json` `{"error": "<kind>", "message": "<message>"}` on stdout; a failure either way.
pub(crate) fn decode_error(e: &tidemark::format::FormatError, out: &Out) -> Failure {
    #[derive(serde::Serialize)]
    struct DecodeError<'a> {
        error: &'a str,
        message: String,
    }
    let report = DecodeError {
        error: e.kind().as_str(),
        message: tidemark::error_chain(e),
    };
    if !out.json {
        return fail(format!("{}: {}", report.error, report.message));
    }
    match out.json(&report) {
        Ok(()) => Failure::Reported,
        Err(failure) => failure,
    }
}
