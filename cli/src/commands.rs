//! The subcommands: each calls the library and prints.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tidemark::store::{HistoryQuery, NewCheckpoint, RetentionPolicy, Store, WriterConfig};
use tidemark::{Checkpoint, Offsets, format};

use crate::cli::{CmdResult, Command, ExportFormat, Failure, ImportFrom, ResetTo, fail};
use crate::output::{self, Out, table};

pub(crate) async fn run(command: Command, out: &Out) -> CmdResult {
    match command {
        Command::Streams { store } => streams(&open(&store)?, out).await,
        Command::Show { target, id, at } => {
            let store = open(&target.store)?;
            let checkpoint = match (id, at) {
                (Some(id), _) => store.get(&target.stream, id).await?,
                (None, Some(at)) => {
                    at_time(&store, &target.stream, output::parse_time(&at)?).await?
                }
                (None, None) => latest(&store, &target.stream).await?,
            };
            show(&checkpoint, out)
        }
        Command::Log {
            target,
            limit,
            since,
            until,
        } => {
            let query = HistoryQuery {
                since: since.as_deref().map(output::parse_time).transpose()?,
                until: until.as_deref().map(output::parse_time).transpose()?,
                limit: Some(limit),
            };
            log(&open(&target.store)?, &target.stream, &query, out).await
        }
        Command::Diff { target, a, b } => {
            let store = open(&target.store)?;
            let (ca, cb) = (
                store.get(&target.stream, a).await?,
                store.get(&target.stream, b).await?,
            );
            diff(&ca, &cb, out)
        }
        Command::Verify { store, stream } => verify(&open(&store)?, stream, out).await,
        Command::Compact {
            target,
            ttl,
            keep,
            temporary_grace,
            dry_run,
        } => {
            let policy = RetentionPolicy {
                max_age: output::parse_duration(&ttl)?,
                keep_at_least: keep,
                temporary_grace: output::parse_duration(&temporary_grace)?,
            };
            compact(&open(&target.store)?, &target.stream, &policy, dry_run, out).await
        }
        Command::Reset {
            target,
            to,
            topics,
            bootstrap_servers,
            execute,
        } => {
            let store = open(&target.store)?;
            let base = latest(&store, &target.stream).await?;
            let scope = parse_scope(&topics)?;
            let changes =
                reset_offsets(&store, &base, &to, &scope, bootstrap_servers.as_deref()).await?;
            apply(
                &store,
                &target.stream,
                &base.offsets,
                changes,
                Some(&base),
                execute,
                "reset",
                out,
            )
            .await
        }
        Command::Lag {
            target,
            bootstrap_servers,
            watch,
            interval,
        } => {
            let store = open(&target.store)?;
            loop {
                lag(&store, &target.stream, &bootstrap_servers, watch, out).await?;
                if !watch {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(interval.max(1))).await;
            }
        }
        Command::Export { target, format, id } => {
            let store = open(&target.store)?;
            let checkpoint = match id {
                Some(id) => store.get(&target.stream, id).await?,
                None => latest(&store, &target.stream).await?,
            };
            match format {
                ExportFormat::Csv => {
                    out.print(&tidemark::import::csv::write_csv(&checkpoint.offsets))
                }
                ExportFormat::Json => out.json(&offsets_json(&checkpoint.offsets)),
            }
        }
        Command::Import {
            target,
            from,
            bootstrap_servers,
            group,
            chroot,
            topics,
            execute,
        } => {
            let store = open(&target.store)?;
            let base = store.latest(&target.stream).await?;
            let source = ImportSource {
                bootstrap: bootstrap_servers.as_deref(),
                group: group.as_deref(),
                chroot: chroot.as_deref(),
                topics: &topics,
            };
            let imported = import(&from, &source, out).await?;
            let current = base.as_ref().map(|c| c.offsets.clone()).unwrap_or_default();
            apply(
                &store,
                &target.stream,
                &current,
                imported,
                base.as_ref(),
                execute,
                "import",
                out,
            )
            .await
        }
        Command::Cat { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
            let decoded = format::decode_with_report(&bytes)
                .map_err(|e| fail(format!("{}: {}", file.display(), tidemark::error_chain(&e))))?;
            if out.json {
                out.print(&format::to_json(&decoded))
            } else {
                out.print(&format!(
                    "file: {} (format {})\n",
                    file.display(),
                    decoded.version
                ))?;
                for e in &decoded.skipped_extensions {
                    out.print(&format!(
                        "skipped extension: tag {} ({} bytes)\n",
                        e.tag, e.length
                    ))?;
                }
                show(&decoded.checkpoint, out)
            }
        }
        Command::Demo { dir, consumer_of } => match consumer_of {
            Some(bootstrap) => {
                let dir = dir.ok_or_else(|| fail("--consumer-of needs --dir"))?;
                crate::demo::consumer(&dir.to_string_lossy(), &bootstrap).await
            }
            None => crate::demo::run(dir, out).await,
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::Cli::command(), "tidemark", &mut buf);
            out.print(&String::from_utf8_lossy(&buf))
        }
    }
}

fn open(url: &str) -> Result<Store, Failure> {
    Ok(Store::open(url)?)
}

async fn latest(store: &Store, stream: &str) -> Result<Checkpoint, Failure> {
    let report = store.latest_report(stream).await?;
    for s in &report.skipped {
        eprintln!("warning: skipped damaged {s}");
    }
    report
        .checkpoint
        .ok_or_else(|| fail(format!("stream={stream}: no checkpoint in {store}")))
}

async fn at_time(store: &Store, stream: &str, at: SystemTime) -> Result<Checkpoint, Failure> {
    let query = HistoryQuery {
        until: Some(at),
        limit: Some(1),
        ..HistoryQuery::default()
    };
    let entry = store
        .history(stream, &query)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            fail(format!(
                "stream={stream}: no checkpoint written at or before {}",
                output::time(at)
            ))
        })?;
    Ok(store.get(stream, entry.id).await?)
}

fn writer_json(c: &Checkpoint) -> Value {
    json!({
        "epoch": c.writer.epoch,
        "app_name": c.writer.app_name,
        "app_version": c.writer.app_version,
        "host": c.writer.host,
        "tidemark_version": c.writer.tidemark_version,
    })
}

fn offsets_json(offsets: &Offsets) -> Value {
    let mut topics = serde_json::Map::new();
    for (topic, partitions) in offsets.topics() {
        let p: serde_json::Map<String, Value> = partitions
            .iter()
            .map(|(p, o)| (p.to_string(), json!(o)))
            .collect();
        topics.insert(topic.clone(), Value::Object(p));
    }
    Value::Object(topics)
}

fn writer_text(c: &Checkpoint) -> String {
    let w = &c.writer;
    let mut s = format!("{} {}", w.app_name, w.app_version);
    if !w.host.is_empty() {
        s.push_str(&format!(" on {}", w.host));
    }
    format!("{} (epoch {})", s.trim(), w.epoch)
}

async fn streams(store: &Store, out: &Out) -> CmdResult {
    let names = store.streams().await?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for name in names {
        let report = store.latest_report(&name).await?;
        let Some(c) = report.checkpoint else {
            rows.push(vec![
                name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "0".into(),
                "0".into(),
                "(no valid checkpoint)".into(),
            ]);
            items.push(json!({"stream": name, "latest_id": null}));
            continue;
        };
        rows.push(vec![
            name.clone(),
            c.id.to_string(),
            output::time_ms(c.batch_time_ms),
            output::age(c.batch_time()),
            c.offsets.topic_count().to_string(),
            c.offsets.partition_count().to_string(),
            writer_text(&c),
        ]);
        items.push(json!({
            "stream": name,
            "latest_id": c.id,
            "batch_time_ms": c.batch_time_ms,
            "created_at_ms": c.created_at_ms,
            "topics": c.offsets.topics().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
            "partitions": c.offsets.partition_count(),
            "writer": writer_json(&c),
            "damaged_newer": report.skipped.len(),
        }));
    }
    if out.json {
        return out.json(&Value::Array(items));
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

fn show(c: &Checkpoint, out: &Out) -> CmdResult {
    if out.json {
        let metadata: serde_json::Map<String, Value> = c
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), json!(hex(v))))
            .collect();
        return out.json(&json!({
            "stream": c.stream,
            "id": c.id,
            "batch_time_ms": c.batch_time_ms,
            "created_at_ms": c.created_at_ms,
            "writer": writer_json(c),
            "offsets": offsets_json(&c.offsets),
            "metadata": metadata,
        }));
    }
    let mut text = format!(
        "stream:     {}\ncheckpoint: {}\nbatch time: {}\nwritten:    {} ({} ago)\nwriter:     {}\n",
        c.stream,
        c.id,
        output::time_ms(c.batch_time_ms),
        output::time_ms(c.created_at_ms),
        output::age(c.created_at()),
        writer_text(c),
    );
    for (k, v) in &c.metadata {
        text.push_str(&format!("metadata:   {k} = {}\n", printable(v)));
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
        _ => format!("0x{}", hex(bytes)),
    }
}

/// Messages consumed between two checkpoints: the sum of positive offset deltas.
fn progress_between(older: &Offsets, newer: &Offsets) -> i64 {
    newer
        .iter()
        .map(|(t, p, o)| (o - older.get(t, p).unwrap_or(o)).max(0))
        .sum()
}

pub(crate) async fn log(store: &Store, stream: &str, query: &HistoryQuery, out: &Out) -> CmdResult {
    // One more than asked, to compute the oldest shown entry's progress.
    let mut wider = query.clone();
    wider.limit = query.limit.map(|l| l + 1);
    let entries = store.history(stream, &wider).await?;
    if entries.is_empty() {
        return Err(fail(format!("stream={stream}: no checkpoint in {store}")));
    }
    let mut loaded = Vec::new();
    for e in &entries {
        let checkpoint = match store.get(stream, e.id).await {
            Ok(c) => Some(c),
            Err(err) => {
                eprintln!("warning: {}", tidemark::error_chain(&err));
                None
            }
        };
        loaded.push((e.clone(), checkpoint));
    }
    let shown = query.limit.unwrap_or(usize::MAX).min(loaded.len());
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let mut rates = Vec::new();
    for i in 0..shown {
        let (entry, c) = &loaded[i];
        let older = loaded.get(i + 1).and_then(|(_, c)| c.as_ref());
        let Some(c) = c else {
            rows.push(vec![
                entry.id.to_string(),
                output::time(entry.committed_at),
                "-".into(),
                "-".into(),
                "DAMAGED".into(),
            ]);
            items.push(json!({"id": entry.id, "damaged": true}));
            continue;
        };
        let progress = older.map(|o| progress_between(&o.offsets, &c.offsets));
        let seconds = older
            .map(|o| c.created_at_ms.saturating_sub(o.created_at_ms) as f64 / 1000.0)
            .unwrap_or(0.0);
        let rate = match progress {
            Some(p) if seconds > 0.0 => p as f64 / seconds,
            _ => 0.0,
        };
        rates.push(rate);
        let writer_changed = older.is_some_and(|o| o.writer.epoch != c.writer.epoch);
        let mut note = String::new();
        if c.writer.epoch == c.id {
            note.push_str(&format!("writer {} claimed", writer_text(c)));
        } else if writer_changed {
            note.push_str(&format!("writer changed: {}", writer_text(c)));
        }
        rows.push(vec![
            c.id.to_string(),
            output::time_ms(c.created_at_ms),
            progress.map_or("-".into(), |p| format!("+{p}")),
            if rate > 0.0 {
                format!("{rate:.0}/s")
            } else {
                "-".into()
            },
            note,
        ]);
        items.push(json!({
            "id": c.id,
            "created_at_ms": c.created_at_ms,
            "batch_time_ms": c.batch_time_ms,
            "messages_since_previous": progress,
            "messages_per_second": rate,
            "writer": writer_json(c),
            "writer_claim": c.writer.epoch == c.id,
            "writer_changed": writer_changed,
        }));
    }
    if out.json {
        return out.json(&Value::Array(items));
    }
    let mut text = table(
        &["id", "written", "progress", "rate", ""],
        &rows,
        &[0, 2, 3],
    );
    let oldest_first: Vec<f64> = rates.iter().rev().cloned().collect();
    text.push_str(&format!(
        "\nrate, oldest to newest: {}\n",
        output::sparkline(&oldest_first)
    ));
    out.print(&text)
}

fn diff(a: &Checkpoint, b: &Checkpoint, out: &Out) -> CmdResult {
    let mut keys: Vec<(String, i32)> = a
        .offsets
        .iter()
        .map(|(t, p, _)| (t.to_owned(), p))
        .collect();
    keys.extend(b.offsets.iter().map(|(t, p, _)| (t.to_owned(), p)));
    keys.sort();
    keys.dedup();
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let mut total = 0i64;
    for (t, p) in keys {
        let (oa, ob) = (a.offsets.get(&t, p), b.offsets.get(&t, p));
        let delta = match (oa, ob) {
            (Some(x), Some(y)) => Some(y - x),
            _ => None,
        };
        total += delta.unwrap_or(0);
        let show = |o: Option<i64>| o.map_or("-".into(), |o| o.to_string());
        rows.push(vec![
            t.clone(),
            p.to_string(),
            show(oa),
            show(ob),
            match (delta, oa, ob) {
                (Some(d), _, _) => format!("{d:+}"),
                (None, None, Some(_)) => "added".into(),
                _ => "removed".into(),
            },
        ]);
        items.push(json!({"topic": t, "partition": p, "a": oa, "b": ob, "delta": delta}));
    }
    if out.json {
        return out.json(&json!({"a": a.id, "b": b.id, "partitions": items, "total_delta": total}));
    }
    let mut text = table(
        &[
            "topic",
            "partition",
            &format!("#{}", a.id),
            &format!("#{}", b.id),
            "delta",
        ],
        &rows,
        &[1, 2, 3, 4],
    );
    text.push_str(&format!("total: {total:+} messages\n"));
    out.print(&text)
}

pub(crate) async fn verify(store: &Store, stream: Option<String>, out: &Out) -> CmdResult {
    let streams = match stream {
        Some(s) => vec![s],
        None => store.streams().await?,
    };
    let mut problems = false;
    let mut items = Vec::new();
    let mut text = String::new();
    for name in &streams {
        let bar = output::progress(out, 0, name);
        let report = store
            .verify(name, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })
            .await?;
        bar.finish_and_clear();
        problems |= report.has_problems();
        let range = report
            .range
            .map_or("none".into(), |(lo, hi)| format!("{lo}..{hi}"));
        text.push_str(&format!(
            "{name}: {} checkpoints ({range}), {} valid, {} damaged, {} gaps, {} temporary, {} foreign{}\n",
            report.checked,
            report.valid,
            report.damaged.len(),
            report.gaps.len(),
            report.temporary.len(),
            report.foreign.len(),
            if report.has_problems() { "  PROBLEMS" } else { "  ok" },
        ));
        for d in &report.damaged {
            text.push_str(&format!("  damaged {d}\n"));
        }
        for (lo, hi) in &report.gaps {
            text.push_str(&format!("  missing ids {lo}..{hi}\n"));
        }
        for t in &report.temporary {
            text.push_str(&format!("  temporary file {t}\n"));
        }
        for f in &report.foreign {
            text.push_str(&format!("  foreign object {f}\n"));
        }
        if !report.non_canonical.is_empty() {
            text.push_str(&format!(
                "  note: {} valid file(s) not in canonical 1.0 form (later minor version?)\n",
                report.non_canonical.len()
            ));
        }
        items.push(json!({
            "stream": name,
            "checked": report.checked,
            "valid": report.valid,
            "damaged": report.damaged.iter().map(|d| json!({"id": d.id, "reason": d.to_string()})).collect::<Vec<_>>(),
            "non_canonical": report.non_canonical,
            "gaps": report.gaps.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
            "temporary": report.temporary,
            "foreign": report.foreign,
            "problems": report.has_problems(),
        }));
    }
    if out.json {
        out.json(&json!({"streams": items, "problems": problems}))?;
    } else {
        text.push_str(&format!(
            "{} stream(s) verified: {}\n",
            streams.len(),
            if problems {
                "problems found"
            } else {
                "no problems"
            }
        ));
        out.print(&text)?;
    }
    if problems {
        Err(Failure::Problems)
    } else {
        Ok(())
    }
}

async fn compact(
    store: &Store,
    stream: &str,
    policy: &RetentionPolicy,
    dry_run: bool,
    out: &Out,
) -> CmdResult {
    let bar = output::progress(out, 1, if dry_run { "planning" } else { "compacting" });
    bar.enable_steady_tick(Duration::from_millis(200));
    let report = store.compact(stream, policy, dry_run).await?;
    bar.finish_and_clear();
    if out.json {
        return out.json(&json!({
            "dry_run": report.dry_run,
            "newest_valid": report.newest_valid,
            "kept": report.kept,
            "deleted": report.deleted,
            "bytes_freed": report.bytes_freed,
            "temporary_deleted": report.temporary_deleted,
            "skipped": report.skipped.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "foreign": report.foreign,
        }));
    }
    let verb = if dry_run { "would delete" } else { "deleted" };
    let mut text = format!(
        "{stream}: kept {}, {verb} {} checkpoint(s){} and {} temporary file(s), {} bytes\n",
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
        text.push_str(&format!("left in place: damaged {s}\n"));
    }
    if dry_run {
        text.push_str("dry run: nothing was deleted\n");
    }
    out.print(&text)
}

/// `--topic t` or `--topic t:0,1,2`: topic → partitions (empty: all).
fn parse_scope(topics: &[String]) -> Result<BTreeMap<String, Vec<i32>>, Failure> {
    let mut scope = BTreeMap::new();
    for spec in topics {
        let (topic, parts) = match spec.rsplit_once(':') {
            Some((t, p)) => (t, Some(p)),
            None => (spec.as_str(), None),
        };
        if topic.is_empty() {
            return Err(fail(format!("--topic {spec:?}: empty topic name")));
        }
        let partitions = match parts {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .ok()
                        .filter(|p| *p >= 0)
                        .ok_or_else(|| {
                            fail(format!("--topic {spec:?}: {p:?} is not a partition number"))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        scope.insert(topic.to_owned(), partitions);
    }
    Ok(scope)
}

/// The partitions a reset touches: the scope's explicit partitions, else the topic's
/// partitions in the checkpoint (or in the cluster, when given and the checkpoint lacks it).
fn scoped(
    base: &Offsets,
    scope: &BTreeMap<String, Vec<i32>>,
    cluster: Option<&tidemark::plan::ClusterState>,
) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    if scope.is_empty() {
        return base.iter().map(|(t, p, _)| (t.to_owned(), p)).collect();
    }
    for (topic, partitions) in scope {
        if !partitions.is_empty() {
            out.extend(partitions.iter().map(|p| (topic.clone(), *p)));
        } else if let Some(ps) = base.topic(topic) {
            out.extend(ps.keys().map(|p| (topic.clone(), *p)));
        } else if let Some(ps) = cluster.and_then(|c| c.topic(topic)) {
            out.extend(ps.keys().map(|p| (topic.clone(), *p)));
        }
    }
    out
}

fn kafka_consumer(
    bootstrap: Option<&str>,
    flag: &str,
) -> Result<tidemark::kafka::ToolConsumer, Failure> {
    let bootstrap =
        bootstrap.ok_or_else(|| fail(format!("{flag} asks Kafka: give --bootstrap-servers")))?;
    Ok(tidemark::kafka::tool_consumer(bootstrap, "tidemark-cli")?)
}

const KAFKA_TIMEOUT: Duration = Duration::from_secs(15);

async fn reset_offsets(
    store: &Store,
    base: &Checkpoint,
    to: &ResetTo,
    scope: &BTreeMap<String, Vec<i32>>,
    bootstrap: Option<&str>,
) -> Result<Offsets, Failure> {
    let current = &base.offsets;
    let mut changes = Offsets::new();
    if let Some(file) = &to.from_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
        let from_file = tidemark::import::csv::parse_csv(&text)
            .map_err(|e| fail(format!("{}: {e}", file.display())))?;
        for (t, p, o) in from_file.iter() {
            if scope.is_empty() || scoped(current, scope, None).contains(&(t.to_owned(), p)) {
                changes.insert(t, p, o);
            }
        }
        return Ok(changes);
    }
    if let Some(id) = to.to_checkpoint {
        let older = store.get(&base.stream, id).await?;
        for (t, p) in scoped(current, scope, None) {
            if let Some(o) = older.offsets.get(&t, p) {
                changes.insert(t, p, o);
            }
        }
        return Ok(changes);
    }
    if let Some(n) = to.to_offset {
        for (t, p) in scoped(current, scope, None) {
            changes.insert(t, p, n);
        }
        return Ok(changes);
    }
    if let Some(n) = to.shift_by {
        for (t, p) in scoped(current, scope, None) {
            let o = current.get(&t, p).unwrap_or(0);
            changes.insert(t, p, o.saturating_add(n).max(0));
        }
        return Ok(changes);
    }
    // The rest ask Kafka.
    let flag = if to.to_earliest {
        "--to-earliest"
    } else if to.to_latest {
        "--to-latest"
    } else if to.to_datetime.is_some() {
        "--to-datetime"
    } else {
        "--by-duration"
    };
    let consumer = kafka_consumer(bootstrap, flag)?;
    let topics: Vec<String> = if scope.is_empty() {
        current.topics().map(|(t, _)| t.clone()).collect()
    } else {
        scope.keys().cloned().collect()
    };
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let cluster = tokio::task::block_in_place(|| {
        tidemark::kafka::cluster_state(&consumer, &topic_refs, KAFKA_TIMEOUT)
    })?;
    let targets = scoped(current, scope, Some(&cluster));
    let watermarks = |t: &str, p: i32| cluster.topic(t).and_then(|ps| ps.get(&p)).copied();
    let time = match (&to.to_datetime, &to.by_duration) {
        (Some(t), _) => Some(output::parse_time(t)?),
        (_, Some(d)) => Some(SystemTime::now() - output::parse_duration(d)?),
        _ => None,
    };
    match time {
        None => {
            for (t, p) in &targets {
                let wm = watermarks(t, *p).ok_or_else(|| {
                    fail(format!("topic {t:?} partition {p} is not in the cluster"))
                })?;
                changes.insert(t.clone(), *p, if to.to_earliest { wm.low } else { wm.high });
            }
        }
        Some(at) => {
            let ms = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            changes = tokio::task::block_in_place(|| {
                tidemark::kafka::offsets_for_time(&consumer, &targets, ms, &cluster, KAFKA_TIMEOUT)
            })?;
        }
    }
    Ok(changes)
}

/// Shows before/after and, with `execute`, writes `current` with `changes` applied as a new
/// checkpoint.
#[allow(clippy::too_many_arguments)]
async fn apply(
    store: &Store,
    stream: &str,
    current: &Offsets,
    changes: Offsets,
    base: Option<&Checkpoint>,
    execute: bool,
    what: &str,
    out: &Out,
) -> CmdResult {
    if changes.is_empty() {
        return Err(fail(format!(
            "{what}: no partition selected; nothing to do"
        )));
    }
    let mut next = current.clone();
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for (t, p, after) in changes.iter() {
        let before = current.get(t, p);
        next.insert(t, p, after);
        rows.push(vec![
            t.to_owned(),
            p.to_string(),
            before.map_or("-".into(), |o| o.to_string()),
            after.to_string(),
            before.map_or("new".into(), |b| format!("{:+}", after - b)),
        ]);
        items.push(json!({"topic": t, "partition": p, "before": before, "after": after}));
    }
    let mut written = None;
    if execute {
        out.note(&format!(
            "warning: writing a new checkpoint of stream {stream}; a writer still running on it will be fenced"
        ));
        let mut writer = store
            .writer(
                stream,
                WriterConfig::new(format!("tidemark {what}"), tidemark::VERSION),
            )
            .await?;
        let mut new = NewCheckpoint::new(next.clone());
        if let Some(b) = base {
            new.metadata = b.metadata.clone();
            new.batch_time_ms = b.batch_time_ms;
        }
        written = Some(writer.commit(new).await?.id);
    }
    if out.json {
        return out.json(&json!({"dry_run": !execute, "changes": items, "checkpoint_id": written}));
    }
    let mut text = table(
        &["topic", "partition", "before", "after", "change"],
        &rows,
        &[1, 2, 3, 4],
    );
    match written {
        Some(id) => text.push_str(&format!("written as checkpoint {id}\n")),
        None => {
            text.push_str("dry run: nothing written (add --execute to write a new checkpoint)\n")
        }
    }
    out.print(&text)
}

async fn lag(store: &Store, stream: &str, bootstrap: &str, watch: bool, out: &Out) -> CmdResult {
    let c = latest(store, stream).await?;
    let consumer = kafka_consumer(Some(bootstrap), "lag")?;
    let topics: Vec<&str> = c.offsets.topics().map(|(t, _)| t.as_str()).collect();
    let cluster = tokio::task::block_in_place(|| {
        tidemark::kafka::cluster_state(&consumer, &topics, KAFKA_TIMEOUT)
    })?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let mut total = 0i64;
    for (t, p, o) in c.offsets.iter() {
        let end = cluster.topic(t).and_then(|ps| ps.get(&p)).map(|w| w.high);
        let lag = end.map(|e| (e - o).max(0));
        total += lag.unwrap_or(0);
        rows.push(vec![
            t.to_owned(),
            p.to_string(),
            o.to_string(),
            end.map_or("-".into(), |e| e.to_string()),
            lag.map_or("(not in cluster)".into(), |l| l.to_string()),
        ]);
        items.push(
            json!({"topic": t, "partition": p, "checkpointed": o, "log_end": end, "lag": lag}),
        );
    }
    if out.json {
        return out.json(&json!({"checkpoint": c.id, "partitions": items, "total_lag": total}));
    }
    let mut text = String::new();
    if watch {
        text.push_str("\x1b[2J\x1b[H");
    }
    text.push_str(&format!(
        "stream {stream}, checkpoint {} ({} ago)\n",
        c.id,
        output::age(c.created_at())
    ));
    text.push_str(&table(
        &["topic", "partition", "checkpointed", "log end", "lag"],
        &rows,
        &[1, 2, 3, 4],
    ));
    text.push_str(&format!("total lag: {total}\n"));
    out.print(&text)
}

/// Where `import` reads from, besides the chosen source flag.
struct ImportSource<'a> {
    bootstrap: Option<&'a str>,
    group: Option<&'a str>,
    chroot: Option<&'a str>,
    topics: &'a [String],
}

async fn import(
    from: &ImportFrom,
    source: &ImportSource<'_>,
    out: &Out,
) -> Result<Offsets, Failure> {
    if let Some(file) = &from.from_csv {
        let text = std::fs::read_to_string(file)
            .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
        return tidemark::import::csv::parse_csv(&text)
            .map_err(|e| fail(format!("{}: {e}", file.display())));
    }
    if let Some(group) = &from.from_kafka_group {
        let bootstrap = source
            .bootstrap
            .ok_or_else(|| fail("--from-kafka-group asks Kafka: give --bootstrap-servers"))?;
        let offsets = tokio::task::block_in_place(|| {
            tidemark::kafka::group_offsets(bootstrap, group, KAFKA_TIMEOUT)
        })?;
        if offsets.is_empty() {
            return Err(fail(format!(
                "consumer group {group:?} has no committed offsets"
            )));
        }
        return Ok(offsets);
    }
    if let Some(dir) = &from.from_spark_checkpoint {
        let topics: Vec<&str> = source.topics.iter().map(String::as_str).collect();
        let found = tidemark::import::spark::read_spark_checkpoint(dir, &topics)?;
        out.note(&format!(
            "spark checkpoint {}: batch {} (newest committed), source {} of {}",
            dir.display(),
            found.batch_id,
            found.source_index,
            found.sources.len()
        ));
        return Ok(found.offsets);
    }
    if let Some(connect) = &from.from_zookeeper {
        let group = source
            .group
            .ok_or_else(|| fail("--from-zookeeper needs --group"))?;
        let found =
            tidemark::import::zookeeper::read_zookeeper(connect, group, source.chroot).await?;
        out.note(&format!("zookeeper {connect}: read {}", found.offsets_path));
        return Ok(found.offsets);
    }
    Err(fail(
        "give one of --from-csv, --from-kafka-group, --from-spark-checkpoint, --from-zookeeper",
    ))
}
