//! One renderer per report: a table (or text) for people, or the report itself as JSON with
//! `--json` (the schema in the README, "JSON output").

use tidemark::ops::{
    CompactReport, CopyReport, DeleteStreamReport, DescribeReport, DiffReport, ExportReport,
    LagReport, LagState, LogReport, QuarantineSummary, ResetReport, StreamsReport,
    VerificationReport,
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
    for s in report.streams.iter().filter(|s| s.damaged_newer > 0) {
        out.note(&format!(
            "warning: stream {}: {} damaged checkpoint object(s) newer than {}, skipped (see tidemark verify)",
            s.stream,
            s.damaged_newer,
            s.latest_id.map_or("any valid one".into(), |id| format!("checkpoint {id}")),
        ));
    }
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
        let note = if let Some(action) = &c.operator_action {
            action.clone()
        } else if c.writer_claim {
            format!("writer {} claimed", writer_text(&c.writer))
        } else if c.writer_changed {
            format!("writer changed: {}", writer_text(&c.writer))
        } else {
            String::new()
        };
        rows.push(vec![
            e.id.to_string(),
            output::time_ms(c.created_at_ms),
            match (c.messages_since_previous, c.messages_rewound) {
                (Some(p), Some(r)) if r > 0 && p > 0 => format!("+{p} -{r}"),
                (_, Some(r)) if r > 0 => format!("-{r}"),
                (Some(p), _) => format!("+{p}"),
                _ => "-".into(),
            },
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
    out.summary(&text)
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
        "{}: {verb} {} checkpoint(s){} and {} temporary file(s), {}; kept {}\n",
        escape(&report.stream),
        output::count(report.deleted.len() as u64),
        match (report.deleted.first(), report.deleted.last()) {
            (Some(a), Some(b)) => format!(" (ids {a}..{b})"),
            _ => String::new(),
        },
        output::count(report.temporary_deleted.len() as u64),
        output::bytes(report.bytes_freed),
        output::count(report.kept as u64),
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
    if !report.foreign.is_empty() {
        text.push_str(&format!(
            "left in place: {} foreign object(s) (move them with --quarantine)\n",
            report.foreign.len()
        ));
    }
    if report.dry_run {
        text.push_str("dry run: nothing was deleted (add --execute to delete)\n");
    }
    out.summary(&text)
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
                c.clamped.map_or(String::new(), |k| {
                    let side = match k.to {
                        tidemark::ops::ClampBound::LogEnd => "above",
                        _ => "below",
                    };
                    format!("clamped: {} is {side} the {}", k.requested, k.to)
                }),
            ]
        })
        .collect();
    let mut text = table(
        &["topic", "partition", "before", "after", "change", ""],
        &rows,
        &[1, 2, 3, 4],
    );
    let clamps = report
        .changes
        .iter()
        .filter(|c| c.clamped.is_some())
        .count();
    if clamps > 0 {
        text.push_str(&format!(
            "{clamps} offset(s) clamped to the log range (or to 0 without a broker)\n"
        ));
    }
    match report.checkpoint_id {
        Some(id) => text.push_str(&format!("written as checkpoint {id} ({})\n", report.action)),
        None => {
            text.push_str("dry run: nothing written (add --execute to write a new checkpoint)\n")
        }
    }
    out.summary(&text)
}

/// `tidemark lag`; with `--watch` the screen is cleared first.
pub(crate) fn lag(report: &LagReport, watch: bool, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let number = |n: Option<i64>| n.map_or("-".into(), |n| n.to_string());
    let mut rows: Vec<Vec<String>> = report
        .partitions
        .iter()
        .map(|p| {
            vec![
                p.topic.clone(),
                p.partition.to_string(),
                p.checkpointed.to_string(),
                number(p.log_start),
                number(p.log_end),
                number(p.lag),
                match p.state {
                    LagState::Ok => String::new(),
                    LagState::BehindLogStart => format!(
                        "{} records deleted before they were read",
                        p.lost.unwrap_or(0)
                    ),
                    LagState::AheadOfLogEnd => {
                        "checkpoint past the log end (topic re-created?)".into()
                    }
                    LagState::NotInCluster => "not in the cluster".into(),
                    _ => format!("{:?}", p.state),
                },
            ]
        })
        .collect();
    rows.extend(report.new_partitions.iter().map(|p| {
        vec![
            p.topic.clone(),
            p.partition.to_string(),
            "-".into(),
            p.log_start.to_string(),
            p.log_end.to_string(),
            p.lag.to_string(),
            "new partition: a resume starts at its log start".into(),
        ]
    }));
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
        &[
            "topic",
            "partition",
            "checkpointed",
            "log start",
            "log end",
            "lag",
            "note",
        ],
        &rows,
        &[1, 2, 3, 4, 5],
    ));
    text.push_str(&format!("total lag: {}", report.total_lag));
    if !report.new_partitions.is_empty() {
        text.push_str(&format!(
            " (+{} in {} new partition(s))",
            report.new_partitions_lag,
            report.new_partitions.len()
        ));
    }
    if report.total_lost > 0 {
        text.push_str(&format!(
            "; {} records deleted before they were read",
            report.total_lost
        ));
    }
    text.push('\n');
    out.print(&text)
}

/// `tidemark export --to-kafka-group` and `--to-zookeeper`.
pub(crate) fn export(report: &ExportReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let rows: Vec<Vec<String>> = report
        .offsets
        .iter()
        .map(|(t, p, o)| vec![t.to_owned(), p.to_string(), o.to_string()])
        .collect();
    let mut text = table(&["topic", "partition", "offset"], &rows, &[1, 2]);
    text.push_str(&if report.dry_run {
        format!(
            "dry run: nothing written to {} (add --execute to write checkpoint {})\n",
            report.destination, report.checkpoint
        )
    } else {
        format!(
            "checkpoint {} written to {}\n",
            report.checkpoint, report.destination
        )
    });
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

/// `tidemark describe`: one block per stream.
pub(crate) fn describe(report: &DescribeReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let mut text = String::new();
    for (i, s) in report.streams.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let field = |text: &mut String, name: &str, value: String| {
            text.push_str(&format!("{name:<12}{value}\n"));
        };
        field(&mut text, "stream:", s.stream.clone());
        field(
            &mut text,
            "latest:",
            match (s.latest_id, s.range) {
                (Some(id), Some((lo, hi))) => format!(
                    "checkpoint {id} ({} checkpoints, ids {lo}..{hi}, {})",
                    output::count(s.checkpoints as u64),
                    output::bytes(s.bytes)
                ),
                _ => "no valid checkpoint".into(),
            },
        );
        if let Some(ms) = s.last_write_ms {
            field(
                &mut text,
                "last write:",
                format!(
                    "{} ({} ago)",
                    output::time_ms(ms),
                    output::age(output::system_time(ms))
                ),
            );
        }
        if let Some(ms) = s.batch_time_ms {
            field(&mut text, "batch time:", output::time_ms(ms));
        }
        if let Some(w) = &s.writer {
            let window = output::age(
                std::time::SystemTime::now() - std::time::Duration::from_millis(s.alive_window_ms),
            );
            field(
                &mut text,
                "writer:",
                format!(
                    "{} — {}",
                    writer_text(w),
                    if s.writer_alive {
                        format!("looks alive (wrote within {window})")
                    } else {
                        format!("looks stopped (no write within {window})")
                    }
                ),
            );
        }
        field(
            &mut text,
            "offsets:",
            format!(
                "{} topic(s), {} partition(s): {}",
                s.topics.len(),
                s.partitions,
                s.topics.join(", ")
            ),
        );
        if let Some(lag) = &s.lag {
            let missing = lag.partitions.iter().filter(|p| p.lag.is_none()).count();
            field(
                &mut text,
                "lag:",
                format!(
                    "{} message(s) behind the log ends{}",
                    output::count(lag.total_lag.max(0) as u64),
                    if missing > 0 {
                        format!(", {missing} partition(s) not in the cluster")
                    } else {
                        String::new()
                    }
                ),
            );
        }
        let mut health = Vec::new();
        if !s.damaged.is_empty() {
            health.push(format!("{} damaged", s.damaged.len()));
        }
        if !s.gaps.is_empty() {
            health.push(format!("{} gap(s)", s.gaps.len()));
        }
        if !s.foreign.is_empty() {
            health.push(format!("{} foreign object(s)", s.foreign.len()));
        }
        if !s.temporary.is_empty() {
            health.push(format!(
                "{} leftover temporary file(s), harmless",
                s.temporary.len()
            ));
        }
        let verdict = if s.healthy { "ok" } else { "PROBLEMS" };
        field(
            &mut text,
            "health:",
            if health.is_empty() {
                verdict.to_owned()
            } else {
                format!("{verdict}: {}", health.join(", "))
            },
        );
        for d in &s.damaged {
            text.push_str(&format!("  damaged {}\n", d.reason));
        }
        for (lo, hi) in &s.gaps {
            text.push_str(&format!("  missing ids {lo}..{hi}\n"));
        }
        for f in &s.foreign {
            text.push_str(&format!("  foreign object {f}\n"));
        }
    }
    out.print(&text)
}

/// `tidemark delete-stream`.
pub(crate) fn delete_stream(report: &DeleteStreamReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let mut text = format!(
        "{}: {} {} checkpoint(s){}, the _latest hint and {} temporary file(s), {}\n",
        report.stream,
        if report.dry_run {
            "would delete"
        } else {
            "deleted"
        },
        output::count(report.checkpoints as u64),
        report
            .range
            .map_or(String::new(), |(lo, hi)| format!(" (ids {lo}..{hi})")),
        report.temporary.len(),
        output::bytes(report.bytes),
    );
    if let Some(ms) = report.last_write_ms {
        text.push_str(&format!(
            "last written {} ago{}\n",
            output::age(output::system_time(ms)),
            if report.writer_alive {
                ": its writer looks alive"
            } else {
                ""
            }
        ));
    }
    for f in &report.foreign_left {
        text.push_str(&format!("left in place: foreign object {f}\n"));
    }
    if report.dry_run {
        text.push_str("dry run: nothing was deleted (add --execute to delete)\n");
    }
    out.summary(&text)
}

/// `tidemark copy`.
pub(crate) fn copy(report: &CopyReport, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let mut text = format!(
        "copied {} checkpoint(s){}, {}, to stream {} of {}: {}; {} valid checkpoint(s) verified\n",
        output::count(report.copied as u64),
        report
            .range
            .map_or(String::new(), |(lo, hi)| format!(" (ids {lo}..{hi})")),
        output::bytes(report.bytes),
        report.to_stream,
        report.to_store,
        if report.identical {
            "byte-identical"
        } else {
            "re-encoded under the new name"
        },
        output::count(report.verified_valid as u64),
    );
    for d in &report.damaged {
        text.push_str(&format!(
            "{} damaged {}\n",
            if report.damaged_copied {
                "copied as is:"
            } else {
                "left out:"
            },
            d.reason
        ));
    }
    for n in &report.not_copied {
        text.push_str(&format!("not copied: {n}\n"));
    }
    out.summary(&text)
}

/// `tidemark compact --quarantine`.
pub(crate) fn quarantine(report: &QuarantineSummary, out: &Out) -> CmdResult {
    if out.json {
        return out.json(report);
    }
    let mut text = format!(
        "{}: {} {} damaged and {} foreign object(s), {}, to {}\n",
        report.stream,
        if report.dry_run {
            "would move"
        } else {
            "moved"
        },
        report.damaged.len(),
        report.foreign.len(),
        output::bytes(report.bytes),
        report.folder,
    );
    for d in &report.damaged {
        text.push_str(&format!("  damaged {}\n", d.reason));
    }
    for f in &report.foreign {
        text.push_str(&format!("  foreign {f}\n"));
    }
    for l in &report.left {
        text.push_str(&format!("left in place: {l}\n"));
    }
    if report.dry_run {
        text.push_str("dry run: nothing was moved (add --execute to move)\n");
    }
    out.summary(&text)
}
