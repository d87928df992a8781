//! The subcommands: each parses what clap left as text, calls `tidemark::ops` and renders
//! the report.

use std::time::{Duration, SystemTime};

use tidemark::ops::{self, ImportProvenance, ResetTo, Scope};
use tidemark::store::{HistoryQuery, RetentionPolicy, Store};
use tidemark::{Checkpoint, Offsets, format};

use crate::cli::{self as args, CmdResult, Command, ExportFormat, Failure, ImportFrom, fail};
use crate::output::{self, Out};
use crate::render;

pub(crate) async fn run(command: Command, out: &Out) -> CmdResult {
    match command {
        Command::Streams { store } => {
            let store = open(&store)?;
            let report = ops::streams(&store).await?;
            if report.streams.is_empty() {
                out.note(&format!("store {store} holds no stream"));
            }
            render::streams(&report, out)
        }
        Command::Show { target, pick } => {
            let store = open_stream(&target).await?;
            let checkpoint = picked(&store, &target.stream, &pick, out).await?;
            render::checkpoint(&checkpoint, out)
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
            log(&open_stream(&target).await?, &target.stream, &query, out).await
        }
        Command::Diff { target, a, b } => {
            let store = open_stream(&target).await?;
            let (ca, cb) = (
                ops::get(&store, &target.stream, a).await?,
                ops::get(&store, &target.stream, b).await?,
            );
            render::diff(&ops::diff(&ca, &cb), out)
        }
        Command::Verify { store, stream } => {
            let store = open(&store)?;
            match stream.as_deref() {
                Some(stream) => ops::require_stream(&store, stream).await?,
                None => drop(ops::require_streams(&store).await?),
            }
            verify(&store, stream.as_deref(), out).await
        }
        Command::Compact {
            target,
            ttl,
            keep,
            temporary_grace,
            dry_run: _,
            execute,
            quarantine,
        } => {
            let store = open_stream(&target).await?;
            if quarantine {
                let report = ops::quarantine(&store, &target.stream, !execute).await?;
                return render::quarantine(&report, out);
            }
            let ttl = ttl.ok_or_else(|| fail("give --ttl (or --quarantine)"))?;
            let policy = RetentionPolicy {
                max_age: output::parse_duration(&ttl)?,
                keep_at_least: keep,
                temporary_grace: output::parse_duration(&temporary_grace)?,
            };
            crate::operator::compact(&store, &target.stream, &policy, !execute, out).await
        }
        Command::Reset {
            target,
            to,
            topics,
            all_topics,
            allow_new_partitions,
            safety,
            kafka,
            export,
            execute,
        } => {
            let store = open_stream(&target).await?;
            let base = latest(&store, &target.stream, out).await?;
            let mut scope = if all_topics {
                Scope::all()
            } else {
                parse_scope(&topics)?
            };
            if allow_new_partitions {
                scope = scope.allow_new_partitions();
            }
            let to = reset_to(&to)?;
            let mut execution = execution(&safety);
            let mut inputs = ops::load_inputs(&store, &base, &to).await?;
            match kafka_options(&kafka)? {
                Some(options) => {
                    let group = safety.check_group.as_deref().unwrap_or(&target.stream);
                    let (from_kafka, members) = tokio::task::block_in_place(|| {
                        let consumer = tidemark::kafka::connect(&options, CLI_GROUP)?;
                        let now = SystemTime::now();
                        let found =
                            ops::kafka_inputs(&consumer, &base, &to, &scope, now, options.timeout)?;
                        let members =
                            tidemark::kafka::group_members(&consumer, group, options.timeout);
                        Ok::<_, Failure>((found, members))
                    })?;
                    execution = with_group_check(execution, group, members, &safety, execute, out)?;
                    if let Some(c) = inputs.checkpoint.take() {
                        inputs = from_kafka.with_checkpoint(c);
                    } else {
                        inputs = from_kafka;
                    }
                }
                None if to.asks_cluster() => return Err(needs_broker(to.flag())),
                None => {}
            }
            let plan = ops::plan_reset(&base, &to, &scope, &inputs)?;
            finish(
                &store,
                &plan,
                Finish {
                    execute,
                    export,
                    execution: &execution,
                },
                out,
            )
            .await
        }
        Command::Lag {
            target,
            kafka,
            watch,
            interval,
        } => {
            let store = open_stream(&target).await?;
            let options = kafka_options(&kafka)?.ok_or_else(|| needs_broker("lag"))?;
            let consumer =
                tokio::task::block_in_place(|| tidemark::kafka::connect(&options, CLI_GROUP))?;
            loop {
                let c = latest(&store, &target.stream, out).await?;
                let topics: Vec<&str> = c.offsets.topics().map(|(t, _)| t.as_str()).collect();
                let cluster = tokio::task::block_in_place(|| {
                    tidemark::kafka::cluster_state(&consumer, &topics, options.timeout)
                })?;
                render::lag(&ops::lag(&c, &cluster), watch, out)?;
                if !watch {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(interval.max(1))).await;
            }
        }
        Command::Export {
            target,
            format,
            pick,
            to_kafka_group,
            to_zookeeper,
            group,
            chroot,
            kafka,
            execute,
        } => {
            let store = open_stream(&target).await?;
            let checkpoint = picked(&store, &target.stream, &pick, out).await?;
            if let Some(g) = &to_kafka_group {
                let options =
                    kafka_options(&kafka)?.ok_or_else(|| needs_broker("--to-kafka-group"))?;
                let report = tokio::task::block_in_place(|| {
                    ops::export_to_kafka_group(&checkpoint, &options, g, execute)
                })?;
                return render::export(&report, out);
            }
            if let (Some(connect), Some(group)) = (&to_zookeeper, &group) {
                let report = ops::export_to_zookeeper(
                    &checkpoint,
                    connect,
                    group,
                    chroot.as_deref(),
                    execute,
                )
                .await?;
                return render::export(&report, out);
            }
            let json = if out.json {
                ExportFormat::Json
            } else {
                ExportFormat::Csv
            };
            match format.unwrap_or(json) {
                ExportFormat::Csv => {
                    out.print(&tidemark::import::csv::write_csv(&checkpoint.offsets))
                }
                _ => render::offsets(&checkpoint.offsets, out),
            }
        }
        Command::Import {
            target,
            from,
            kafka,
            safety,
            group,
            chroot,
            topics,
            execute,
        } => {
            let store = open_to_import(&target.store, execute, out)?;
            let base = store.latest(&target.stream).await?;
            let options = kafka_options(&kafka)?;
            let mut execution = execution(&safety);
            if let Some(options) = &options {
                let check = safety.check_group.as_deref().unwrap_or(&target.stream);
                let consumer =
                    tokio::task::block_in_place(|| tidemark::kafka::connect(options, CLI_GROUP))?;
                let members = tokio::task::block_in_place(|| {
                    tidemark::kafka::group_members(&consumer, check, options.timeout)
                });
                execution = with_group_check(execution, check, members, &safety, execute, out)?;
            }
            let source = ImportSource {
                kafka: options.as_ref(),
                group: group.as_deref(),
                chroot: chroot.as_deref(),
                topics: &topics,
            };
            let imported = import(&from, &source, out).await?;
            let plan = ops::plan_import(&target.stream, base.as_ref(), imported.offsets)?
                .with_description(imported.action)
                .with_provenance(&imported.provenance)?;
            let how = Finish {
                execute,
                export: false,
                execution: &execution,
            };
            finish(&store, &plan, how, out).await
        }
        Command::Cat { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
            let decoded = match format::decode_with_report(&bytes) {
                Ok(decoded) => decoded,
                Err(e) => return Err(render::decode_error(&e, out)),
            };
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
                render::checkpoint(&decoded.checkpoint, out)
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
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::definition(), "tidemark", &mut buf);
            out.print(&String::from_utf8_lossy(&buf))
        }
        Command::Describe {
            store,
            stream,
            alive_window,
            kafka,
        } => {
            let kafka = match kafka_options(&kafka)? {
                Some(options) => Some((
                    tokio::task::block_in_place(|| tidemark::kafka::connect(&options, CLI_GROUP))?,
                    options,
                )),
                None => None,
            };
            let store = open(&store)?;
            let mut report =
                crate::operator::describe(&store, stream.as_deref(), alive_window, out).await?;
            if let Some((consumer, options)) = &kafka {
                for s in &mut report.streams {
                    let Ok(latest) = ops::latest(&store, &s.stream).await else {
                        continue; // no valid checkpoint: nothing to measure
                    };
                    let c = latest.checkpoint;
                    let topics: Vec<&str> = c.offsets.topics().map(|(t, _)| t.as_str()).collect();
                    let cluster = tokio::task::block_in_place(|| {
                        tidemark::kafka::cluster_state(consumer, &topics, options.timeout)
                    })?;
                    s.lag = Some(ops::lag(&c, &cluster));
                }
            }
            render::describe(&report, out)
        }
        Command::DeleteStream {
            target,
            execute,
            force,
            alive_window,
        } => {
            let store = open(&target.store)?;
            let report = ops::delete_stream(
                &store,
                &target.stream,
                !execute,
                force,
                alive_window,
                SystemTime::now(),
            )
            .await?;
            render::delete_stream(&report, out)
        }
        Command::Copy {
            from,
            stream,
            to,
            as_name,
        } => {
            let from = Store::open_existing(&from)?;
            // Before the destination is opened (which creates a missing local folder).
            ops::require_stream(&from, &stream).await?;
            let to = Store::open(&to)?;
            crate::operator::copy(&from, &stream, &to, as_name.as_deref(), out).await
        }
        Command::Man => crate::operator::man(out),
    }
}

/// The store `STORE` (or `$TIDEMARK_STORE`) names, opened to read: nothing is created, a
/// missing local folder is an error.
fn open(url: &Option<String>) -> Result<Store, Failure> {
    Ok(Store::open_existing(store_url(url)?)?)
}

/// The store to write to (a missing local folder is created).
fn open_to_write(url: &Option<String>) -> Result<Store, Failure> {
    Ok(Store::open(store_url(url)?)?)
}

/// The store an import writes to: created only by `--execute`. A dry run into a local folder
/// that does not exist yet plans against an empty stream (an empty in-memory store stands in)
/// and creates nothing.
fn open_to_import(url: &Option<String>, execute: bool, out: &Out) -> Result<Store, Failure> {
    if execute {
        return open_to_write(url);
    }
    match Store::open_existing(store_url(url)?) {
        Err(tidemark::store::StoreError::StoreNotFound { store, .. }) => {
            out.note(&format!(
                "store {store} does not exist yet: --execute creates it"
            ));
            Ok(Store::open("memory:///")?)
        }
        opened => Ok(opened?),
    }
}

fn store_url(url: &Option<String>) -> Result<&str, Failure> {
    url.as_deref()
        .ok_or_else(|| fail("no store given: name one (a folder or a URL) or set TIDEMARK_STORE"))
}

/// The store, opened to read, and a check that the stream is there ("did you mean").
async fn open_stream(target: &args::StreamArgs) -> Result<Store, Failure> {
    let store = open(&target.store)?;
    ops::require_stream(&store, &target.stream).await?;
    Ok(store)
}

/// The checkpoint `pick` names: by id, the newest written at or before a time, or the latest.
async fn picked(
    store: &Store,
    stream: &str,
    pick: &args::CheckpointPick,
    out: &Out,
) -> Result<Checkpoint, Failure> {
    match (pick.id, &pick.at) {
        (Some(id), _) => Ok(ops::get(store, stream, id).await?),
        (None, Some(at)) => {
            let at = output::parse_time(at)?;
            ops::checkpoint_at(store, stream, at).await?.ok_or_else(|| {
                fail(format!(
                    "stream={stream}: no checkpoint written at or before {}",
                    output::time(at)
                ))
            })
        }
        (None, None) => latest(store, stream, out).await,
    }
}

/// The latest checkpoint; damaged newer ones are a warning (hidden by -q).
async fn latest(store: &Store, stream: &str, out: &Out) -> Result<Checkpoint, Failure> {
    let latest = ops::latest(store, stream).await?;
    for s in &latest.skipped {
        out.note(&format!("warning: skipped damaged {s}"));
    }
    Ok(latest.checkpoint)
}

/// `tidemark log`; also the demo's last steps.
pub(crate) async fn log(store: &Store, stream: &str, query: &HistoryQuery, out: &Out) -> CmdResult {
    let report = ops::log(store, stream, query).await?;
    for e in &report.entries {
        if let Some(why) = &e.unreadable {
            out.note(&format!("warning: {why}"));
        }
    }
    render::log(&report, out)
}

/// `tidemark verify`; also the demo's last step. Problems found make the exit code 1.
pub(crate) async fn verify(store: &Store, stream: Option<&str>, out: &Out) -> CmdResult {
    let bar = output::progress(out, 0, "verifying");
    let report = ops::verify(store, stream, |name, done, total| {
        bar.set_message(name.to_owned());
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    render::verify(&report, out)?;
    if report.problems {
        Err(Failure::Problems)
    } else {
        Ok(())
    }
}

/// How a planned reset or import ends.
struct Finish<'a> {
    execute: bool,
    /// Print the plan as CSV instead of the table.
    export: bool,
    execution: &'a ops::Execution,
}

/// Renders a planned reset or import and, with `execute`, writes it first; a dry run says
/// when executing would be refused.
async fn finish(store: &Store, plan: &ops::ResetPlan, how: Finish<'_>, out: &Out) -> CmdResult {
    let report = if how.execute {
        let report = plan.execute(store, how.execution).await?;
        out.note(&format!(
            "wrote one checkpoint of stream {}: any writer still running on it is fenced",
            plan.stream
        ));
        report
    } else {
        if let Err(e) = plan.check(store, how.execution).await {
            out.note(&format!(
                "warning: --execute would be refused now: {}",
                tidemark::error_chain(&e)
            ));
        }
        plan.dry_run()
    };
    if how.export {
        return out.print(&tidemark::import::csv::write_csv(&report.new_offsets()));
    }
    render::reset(&report, out)
}

fn execution(safety: &args::ResetSafety) -> ops::Execution {
    ops::Execution::default()
        .force(safety.force)
        .with_alive_window(safety.alive_window)
}

/// Adds the members of `group` to what `--execute` checks. When the broker would not tell
/// them (no Describe permission on the group, a broker without the request), the write cannot
/// be shown to be safe: an error for `--execute`, unless `--force`; a warning otherwise.
fn with_group_check(
    execution: ops::Execution,
    group: &str,
    members: Result<Vec<tidemark::kafka::GroupMember>, tidemark::kafka::KafkaIntegrationError>,
    safety: &args::ResetSafety,
    execute: bool,
    out: &Out,
) -> Result<ops::Execution, Failure> {
    match members {
        Ok(members) => Ok(execution.with_group(group, describe_members(&members))),
        Err(e) if execute && !safety.force => Err(fail(format!(
            "cannot tell whether consumer group {group:?} has members: {}; --force writes \
             anyway, --check-group names another group",
            tidemark::error_chain(&e)
        ))),
        Err(e) => {
            out.note(&format!(
                "warning: cannot tell whether consumer group {group:?} has members: {}",
                tidemark::error_chain(&e)
            ));
            Ok(execution)
        }
    }
}

fn describe_members(members: &[tidemark::kafka::GroupMember]) -> Vec<String> {
    members
        .iter()
        .map(|m| format!("{} on {}", m.client_id, m.host))
        .collect()
}

/// The reset mode from the flags (clap lets exactly one through).
fn reset_to(to: &args::ResetTo) -> Result<ResetTo, Failure> {
    Ok(if to.to_earliest {
        ResetTo::Earliest
    } else if to.to_latest {
        ResetTo::Latest
    } else if let Some(n) = to.to_offset {
        ResetTo::Offset(n)
    } else if let Some(n) = to.shift_by {
        ResetTo::ShiftBy(n)
    } else if let Some(t) = &to.to_datetime {
        ResetTo::Datetime(output::parse_time(t)?)
    } else if let Some(d) = &to.by_duration {
        ResetTo::ByDuration(output::parse_duration(d)?)
    } else if let Some(id) = to.to_checkpoint {
        ResetTo::Checkpoint(id)
    } else if let Some(file) = &to.from_file {
        ResetTo::Offsets(read_csv(file, None)?)
    } else if to.to_current {
        ResetTo::Current
    } else {
        return Err(fail("give one way to reset (see tidemark reset --help)"));
    })
}

fn read_csv(file: &std::path::Path, group: Option<&str>) -> Result<Offsets, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| fail(format!("cannot read {}: {e}", file.display())))?;
    tidemark::import::csv::parse_csv_for_group(&text, group)
        .map_err(|e| fail(format!("{}: {e}", file.display())))
}

/// `--topic t` or `--topic t:0,1,2`: a whole topic or some of its partitions.
fn parse_scope(topics: &[String]) -> Result<Scope, Failure> {
    let mut scope = Scope::all();
    for spec in topics {
        let (topic, parts) = match spec.rsplit_once(':') {
            Some((t, p)) => (t, Some(p)),
            None => (spec.as_str(), None),
        };
        if topic.is_empty() {
            return Err(fail(format!("--topic {spec:?}: empty topic name")));
        }
        scope = match parts {
            None => scope.with_topic(topic),
            Some(list) => {
                let partitions = list
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
                    .collect::<Result<Vec<_>, _>>()?;
                scope.with_partitions(topic, partitions)
            }
        };
    }
    Ok(scope)
}

/// The consumer group the command's own Kafka client uses (it never joins it).
const CLI_GROUP: &str = "tidemark-cli";

/// How to reach Kafka, from the flags (`None`: no bootstrap servers given).
pub(crate) fn kafka_options(
    args: &args::KafkaArgs,
) -> Result<Option<tidemark::kafka::KafkaOptions>, Failure> {
    let Some(bootstrap) = &args.bootstrap_server else {
        return Ok(None);
    };
    let mut properties = match &args.command_config {
        Some(file) => tidemark::kafka::read_properties_file(file)?,
        None => Vec::new(),
    };
    for p in &args.property {
        properties.push(tidemark::kafka::parse_property(p)?);
    }
    Ok(Some(
        tidemark::kafka::KafkaOptions::new(bootstrap.as_str())
            .with_properties(properties)
            .with_timeout(args.timeout),
    ))
}

fn needs_broker(what: &str) -> Failure {
    fail(format!(
        "{what} asks Kafka: give --bootstrap-server (or set TIDEMARK_BOOTSTRAP_SERVERS)"
    ))
}

/// Where `import` reads from, besides the chosen source flag.
struct ImportSource<'a> {
    kafka: Option<&'a tidemark::kafka::KafkaOptions>,
    group: Option<&'a str>,
    chroot: Option<&'a str>,
    topics: &'a [String],
}

/// What an import read: the offsets, the action to record (`import --from-csv
/// offsets.csv`) and where they came from.
struct Imported {
    offsets: Offsets,
    action: String,
    provenance: ImportProvenance,
}

async fn import(
    from: &ImportFrom,
    source: &ImportSource<'_>,
    out: &Out,
) -> Result<Imported, Failure> {
    let (offsets, action, provenance) = import_offsets(from, source, out).await?;
    Ok(Imported {
        offsets,
        action: format!("import {action}"),
        provenance,
    })
}

async fn import_offsets(
    from: &ImportFrom,
    source: &ImportSource<'_>,
    out: &Out,
) -> Result<(Offsets, String, ImportProvenance), Failure> {
    if let Some(file) = &from.from_csv {
        let action = format!("--from-csv {}", file.display());
        let path = file.display().to_string();
        let provenance = ImportProvenance::new("csv", &path).with_file(path);
        return Ok((read_csv(file, source.group)?, action, provenance));
    }
    if let Some(group) = &from.from_kafka_group {
        let options = source
            .kafka
            .ok_or_else(|| needs_broker("--from-kafka-group"))?;
        let offsets =
            tokio::task::block_in_place(|| tidemark::kafka::group_offsets(options, group))?;
        if offsets.is_empty() {
            return Err(fail(format!(
                "consumer group {group:?} has no committed offsets"
            )));
        }
        let provenance = ImportProvenance::new("kafka-group", group);
        return Ok((offsets, format!("--from-kafka-group {group}"), provenance));
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
        let action = format!("--from-spark-checkpoint {}", dir.display());
        let provenance = ImportProvenance::new("spark-checkpoint", dir.display().to_string())
            .with_file(found.offsets_file.display().to_string())
            .with_spark_batch(found.batch_id, found.batch_timestamp_ms);
        return Ok((found.offsets, action, provenance));
    }
    if let Some(connect) = &from.from_zookeeper {
        let group = source
            .group
            .ok_or_else(|| fail("--from-zookeeper needs --group"))?;
        let found =
            tidemark::import::zookeeper::read_zookeeper(connect, group, source.chroot).await?;
        out.note(&format!("zookeeper {connect}: read {}", found.offsets_path));
        let action = format!("--from-zookeeper {connect} --group {group}");
        let provenance =
            ImportProvenance::new("zookeeper", format!("{connect}{}", found.offsets_path));
        return Ok((found.offsets, action, provenance));
    }
    Err(fail(
        "give one of --from-csv, --from-kafka-group, --from-spark-checkpoint, --from-zookeeper",
    ))
}
