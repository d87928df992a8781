//! Argument parsing, dispatch, exit codes and error printing.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code: everything fine.
const OK: u8 = 0;
/// Exit code: the command ran and found problems (verify).
const PROBLEMS: u8 = 1;
/// Exit code: an error or bad usage.
const ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "tidemark",
    version,
    about = "Inspect, verify, compact, rewind and migrate stream-consumer checkpoints",
    long_about = "Inspect, verify, compact, rewind and migrate stream-consumer checkpoints.\n\n\
        STORE is a folder, file:///path, s3://bucket/prefix (AWS_* variables; \
        ?endpoint=...&allow_http=true for S3-compatible servers), gs://, az://, hdfs:// or memory://; \
        when left out, the TIDEMARK_STORE environment variable. Commands that only read never \
        create anything: a missing folder or stream is an error.\n\n\
        TIME arguments (--at, --since, --until, --to-datetime) take RFC 3339 with any offset \
        (2026-12-01T21:59:00+02:00; no offset means UTC), a date (2026-12-01: midnight UTC), \
        a duration ago (90m, 2h, 3d) or milliseconds since the epoch.\n\n\
        Exit codes: 0 ok, 1 problems found, 2 error or bad usage.",
    after_help = "Examples:\n  tidemark streams ./checkpoints\n  tidemark show ./checkpoints billing\n  tidemark log s3://bucket/ckpt billing --limit 20"
)]
pub(crate) struct Cli {
    /// Print machine-readable JSON instead of tables (schema: README, "JSON output").
    #[arg(long, global = true)]
    json: bool,
    /// Only print errors and the data asked for: no warnings, notes or progress; commands run
    /// for their effect or verdict (verify, compact, reset, import, delete-stream, copy) print
    /// nothing unless --json; the exit code tells.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More logging on stderr: -v every store operation (read, list, create, delete) and
    /// tidemark's info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// A store and a stream.
#[derive(Args, Debug, Clone)]
pub(crate) struct StreamArgs {
    /// The store: a folder or a URL [default: $TIDEMARK_STORE].
    #[arg(env = "TIDEMARK_STORE", hide_env = true)]
    pub(crate) store: Option<String>,
    /// The stream's name.
    pub(crate) stream: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Every stream: latest id, batch time and age, topics, partitions, writer.
    #[command(after_help = "Example:\n  tidemark streams ./checkpoints")]
    Streams {
        /// The store: a folder or a URL [default: $TIDEMARK_STORE].
        #[arg(env = "TIDEMARK_STORE", hide_env = true)]
        store: Option<String>,
    },
    /// The offsets of one checkpoint (the latest by default), as a table.
    #[command(
        after_help = "Examples:\n  tidemark show ./checkpoints billing\n  tidemark show ./checkpoints billing --id 42\n  tidemark show ./checkpoints billing --at 2026-11-24T08:00:00Z"
    )]
    Show {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        pick: CheckpointPick,
    },
    /// History, newest first, with progress per checkpoint and writer changes.
    #[command(
        after_help = "Examples:\n  tidemark log ./checkpoints billing --limit 20 --since 2026-11-24T00:00:00Z\n  tidemark log ./checkpoints billing --since 2h"
    )]
    Log {
        #[command(flatten)]
        target: StreamArgs,
        /// At most this many checkpoints.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only checkpoints written at or after this TIME (RFC 3339, date, 2h ago, ms).
        #[arg(long)]
        since: Option<String>,
        /// Only checkpoints written at or before this TIME.
        #[arg(long)]
        until: Option<String>,
    },
    /// Per-partition offset deltas between two checkpoints (B minus A).
    #[command(after_help = "Example:\n  tidemark diff ./checkpoints billing 40 42")]
    Diff {
        #[command(flatten)]
        target: StreamArgs,
        /// The older checkpoint id.
        a: u64,
        /// The newer checkpoint id.
        b: u64,
    },
    /// Read every checkpoint and check checksums, versions, canonical form, id gaps, leftovers
    /// and foreign objects; exit 1 when anything is wrong.
    #[command(
        after_help = "Examples:\n  tidemark verify ./checkpoints\n  tidemark verify ./checkpoints billing"
    )]
    Verify {
        /// The store: a folder or a URL [default: $TIDEMARK_STORE].
        #[arg(env = "TIDEMARK_STORE", hide_env = true)]
        store: Option<String>,
        /// Only this stream (all streams by default).
        stream: Option<String>,
    },
    /// Delete checkpoints past their retention (the newest valid one is always kept); with
    /// --quarantine, move damaged and foreign objects into the store's quarantine folder
    /// instead. Dry run unless --execute.
    #[command(
        after_help = "Examples:\n  tidemark compact ./checkpoints billing --ttl 30d --keep 10\n  tidemark compact ./checkpoints billing --ttl 30d --keep 10 --execute\n  tidemark compact ./checkpoints billing --quarantine --execute"
    )]
    Compact {
        #[command(flatten)]
        target: StreamArgs,
        /// Maximum age, e.g. 30d, 12h.
        #[arg(long, required_unless_present = "quarantine")]
        ttl: Option<String>,
        /// Keep at least this many newest checkpoints whatever their age.
        #[arg(long, default_value_t = 1)]
        keep: usize,
        /// Delete temporary files older than this (e.g. 1h).
        #[arg(long, default_value = "1h")]
        temporary_grace: String,
        /// Only report what would be done (the default; kept for scripts).
        #[arg(long, conflicts_with = "execute")]
        dry_run: bool,
        /// Delete (or, with --quarantine, move) for real.
        #[arg(long)]
        execute: bool,
        /// Move damaged checkpoint objects and foreign objects out of the stream's folder into
        /// quarantine/<stream>/<time>/ in the store (nothing is deleted), instead of compacting.
        #[arg(long, conflicts_with_all = ["ttl", "keep"])]
        quarantine: bool,
    },
    /// Write a new checkpoint with changed offsets. Dry run (a before/after table) unless
    /// --execute.
    #[command(group = clap::ArgGroup::new("scope").required(true).multiple(false).args(["topics", "all_topics"]))]
    #[command(
        after_help = "Examples:\n  tidemark reset ./checkpoints billing --shift-by -100 --topic orders:0,1\n  tidemark reset ./checkpoints billing --to-checkpoint 40 --execute\n  tidemark reset ./checkpoints billing --to-earliest --bootstrap-servers 127.0.0.1:9092 --execute"
    )]
    Reset {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        to: ResetTo,
        /// Limit to a topic, or to some of its partitions: `t` or `t:0,1,2` (repeatable).
        #[arg(long = "topic", group = "scope")]
        topics: Vec<String>,
        /// Every partition of the stream's latest checkpoint.
        #[arg(long, group = "scope")]
        all_topics: bool,
        /// Allow partitions neither in the checkpoint nor in the cluster.
        #[arg(long)]
        allow_new_partitions: bool,
        #[command(flatten)]
        safety: ResetSafety,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Print the planned offsets as CSV (`topic,partition,offset`) instead of the table.
        #[arg(long)]
        export: bool,
        /// Write the new checkpoint.
        #[arg(long)]
        execute: bool,
    },
    /// Checkpointed offset, log end and lag per partition, with totals.
    #[command(
        after_help = "Example:\n  tidemark lag ./checkpoints billing --bootstrap-servers 127.0.0.1:9092 --watch"
    )]
    Lag {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Refresh every few seconds until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between refreshes with --watch.
        #[arg(long, default_value_t = 5)]
        interval: u64,
    },
    /// Print a checkpoint's offsets as CSV (`topic,partition,offset`, as kafka-consumer-groups
    /// --export) or JSON.
    #[command(
        after_help = "Examples:\n  tidemark export ./checkpoints billing > offsets.csv\n  tidemark export ./checkpoints billing --at 2h"
    )]
    Export {
        #[command(flatten)]
        target: StreamArgs,
        /// Output format [default: csv, json with --json].
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        #[command(flatten)]
        pick: CheckpointPick,
        /// Commit the offsets to this Kafka consumer group instead of printing them (refused
        /// while the group has members; dry run unless --execute).
        #[arg(long, value_name = "GROUP", conflicts_with = "to_zookeeper")]
        to_kafka_group: Option<String>,
        /// Write the offsets to ZooKeeper (HOST:PORT) at /consumers/<--group>/offsets/<topic>/<partition>,
        /// where Burrow and old tools read them (dry run unless --execute).
        #[arg(long, value_name = "HOST:PORT", requires = "group")]
        to_zookeeper: Option<String>,
        /// The consumer group (for --to-zookeeper).
        #[arg(long)]
        group: Option<String>,
        /// A ZooKeeper chroot, e.g. /kafka (for --to-zookeeper).
        #[arg(long, requires = "to_zookeeper")]
        chroot: Option<String>,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Write to the group or to ZooKeeper.
        #[arg(long)]
        execute: bool,
    },
    /// Write a checkpoint from another system's offsets. Dry run unless --execute. The
    /// checkpoint records the action (metadata `tidemark.operator`) and where the offsets came
    /// from (`tidemark.import`: source, location, file, a Spark batch's id and time).
    #[command(
        after_help = "Examples:\n  tidemark import ./checkpoints billing --from-csv offsets.csv --execute\n  tidemark import ./checkpoints billing --from-kafka-group billing --bootstrap-servers 127.0.0.1:9092"
    )]
    Import {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        from: ImportFrom,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        safety: ResetSafety,
        /// The consumer group (for --from-zookeeper, and --from-csv when the file has a group
        /// column with several groups).
        #[arg(long)]
        group: Option<String>,
        /// A ZooKeeper chroot, e.g. /kafka (for --from-zookeeper).
        #[arg(long, requires = "from_zookeeper")]
        chroot: Option<String>,
        /// The topics whose source to take (for --from-spark-checkpoint; repeatable).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Write the checkpoint.
        #[arg(long)]
        execute: bool,
    },
    /// One screen per stream: latest checkpoint, last write, writer and whether it looks alive,
    /// health (damaged objects, gaps, leftovers). Every checkpoint is read.
    #[command(
        after_help = "Examples:\n  tidemark describe ./checkpoints\n  tidemark describe ./checkpoints billing --json"
    )]
    Describe {
        /// The store: a folder or a URL [default: $TIDEMARK_STORE].
        #[arg(env = "TIDEMARK_STORE", hide_env = true)]
        store: Option<String>,
        /// Only this stream (all streams by default).
        stream: Option<String>,
        /// A writer looks alive when its newest checkpoint is younger than this.
        #[arg(long, default_value = "5m", value_parser = duration_arg)]
        alive_window: std::time::Duration,
        /// With --bootstrap-server: also each stream's lag behind the log ends.
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// Delete a stream: its checkpoints, hint and temporary files (foreign objects stay). Dry
    /// run unless --execute; refused while its writer looks alive (written within 5 minutes)
    /// unless --force.
    #[command(
        after_help = "Example:\n  tidemark delete-stream ./checkpoints old-billing\n  tidemark delete-stream ./checkpoints old-billing --execute"
    )]
    DeleteStream {
        #[command(flatten)]
        target: StreamArgs,
        /// Delete for real.
        #[arg(long)]
        execute: bool,
        /// Delete even if its writer looks alive.
        #[arg(long, requires = "execute")]
        force: bool,
        /// A writer whose newest checkpoint is younger than this is alive.
        #[arg(long, default_value = "5m", value_parser = duration_arg)]
        alive_window: std::time::Duration,
    },
    /// Copy a stream with its whole history to another store (local disk, S3, HDFS, ...):
    /// byte-identical files, every one read back and verified. Refused when the destination
    /// stream exists.
    #[command(
        after_help = "Examples:\n  tidemark copy ./checkpoints billing s3://bucket/ckpt\n  tidemark copy s3://bucket/ckpt billing ./backup --as billing-2026-12-01"
    )]
    Copy {
        /// The source store.
        from: String,
        /// The stream to copy.
        stream: String,
        /// The destination store (created if missing).
        to: String,
        /// The name in the destination (default: the same); checkpoints name their stream, so
        /// a renamed copy is re-encoded (same offsets, times, writer and metadata), and damaged
        /// objects are left out.
        #[arg(long = "as")]
        as_name: Option<String>,
    },
    /// Print the manual page (roff), generated from this command's own definition.
    #[command(after_help = "Example:\n  tidemark man > tidemark.1 && man ./tidemark.1")]
    Man,
    /// Decode one checkpoint file from disk, wherever it is.
    #[command(
        after_help = "Example:\n  tidemark cat ./checkpoints/streams/billing/00000000000000000042.tdm"
    )]
    Cat {
        /// The file.
        file: std::path::PathBuf,
    },
    /// The whole idea in a minute, with no server: an in-process Kafka, a consumer that
    /// checkpoints to a local folder, a crash mid-stream, an exact resume, then log and verify.
    #[command(after_help = "Example:\n  tidemark demo\n  tidemark demo --dir ./demo-checkpoints")]
    Demo {
        /// Folder for the checkpoints (default: a new temporary folder).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Internal: run only the demo's consumer against these bootstrap servers.
        #[arg(long, hide = true, requires = "dir")]
        consumer_of: Option<String>,
    },
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  tidemark completions bash > /etc/bash_completion.d/tidemark"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct ResetTo {
    /// The log start of every partition (asks Kafka).
    #[arg(long)]
    pub(crate) to_earliest: bool,
    /// The log end of every partition (asks Kafka).
    #[arg(long)]
    pub(crate) to_latest: bool,
    /// This offset.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) to_offset: Option<i64>,
    /// Move by N (negative: back).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) shift_by: Option<i64>,
    /// The first offset at or after this time (asks Kafka).
    #[arg(long)]
    pub(crate) to_datetime: Option<String>,
    /// The first offset at or after now minus this duration, e.g. 2h (asks Kafka).
    #[arg(long)]
    pub(crate) by_duration: Option<String>,
    /// The offsets of an earlier checkpoint.
    #[arg(long)]
    pub(crate) to_checkpoint: Option<u64>,
    /// The offsets in a CSV file (`topic,partition,offset`).
    #[arg(long)]
    pub(crate) from_file: Option<std::path::PathBuf>,
    /// The current offsets (with a broker: clamped to the log range).
    #[arg(long)]
    pub(crate) to_current: bool,
}

/// How to reach Kafka, as every Kafka tool takes it.
#[derive(Args, Debug, Clone)]
pub(crate) struct KafkaArgs {
    /// Kafka bootstrap servers, host:port[,host:port].
    #[arg(
        long = "bootstrap-server",
        visible_alias = "bootstrap-servers",
        env = "TIDEMARK_BOOTSTRAP_SERVERS",
        value_name = "HOST:PORT"
    )]
    pub(crate) bootstrap_server: Option<String>,
    /// Kafka client properties file (security.protocol, sasl.*, ssl.*; Java .properties syntax,
    /// as kafka-consumer-groups --command-config).
    #[arg(long, value_name = "FILE")]
    pub(crate) command_config: Option<std::path::PathBuf>,
    /// A librdkafka client property, e.g. -X security.protocol=SSL (repeatable; wins over
    /// --command-config).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub(crate) property: Vec<String>,
    /// How long each Kafka request may take, e.g. 15s, 1m.
    #[arg(long, default_value = "15s", value_parser = duration_arg)]
    pub(crate) timeout: std::time::Duration,
}

/// A duration flag, parsed as every duration is ([`tidemark::ops::parse_duration`]).
fn duration_arg(text: &str) -> Result<std::time::Duration, String> {
    tidemark::ops::parse_duration(text).map_err(|e| e.to_string())
}

/// Which checkpoint a command reads: the latest, unless one of these picks another (the same
/// two flags wherever one checkpoint is read).
#[derive(Args, Debug, Clone)]
pub(crate) struct CheckpointPick {
    /// This checkpoint id.
    #[arg(long, conflicts_with = "at")]
    pub(crate) id: Option<u64>,
    /// The newest checkpoint written at or before this TIME (RFC 3339, date, 2h ago, ms).
    #[arg(long)]
    pub(crate) at: Option<String>,
}

/// What makes a write refuse to run, and how to override it.
#[derive(Args, Debug, Clone)]
pub(crate) struct ResetSafety {
    /// Write even while the stream's writer looks alive (a checkpoint within --alive-window)
    /// or its consumer group has members.
    #[arg(long)]
    pub(crate) force: bool,
    /// A writer whose newest checkpoint is younger than this is alive.
    #[arg(long, default_value = "5m", value_parser = duration_arg)]
    pub(crate) alive_window: std::time::Duration,
    /// The consumer group whose members are checked when a broker is given (default: the
    /// stream's name).
    #[arg(long = "check-group", value_name = "GROUP")]
    pub(crate) check_group: Option<String>,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct ImportFrom {
    /// A CSV file `topic,partition,offset` (kafka-consumer-groups --export).
    #[arg(long)]
    pub(crate) from_csv: Option<std::path::PathBuf>,
    /// A Kafka consumer group's committed offsets.
    #[arg(long)]
    pub(crate) from_kafka_group: Option<String>,
    /// A Spark Structured Streaming checkpoint folder: its newest committed batch; the source
    /// is chosen by --topic when the query has several.
    #[arg(long)]
    pub(crate) from_spark_checkpoint: Option<std::path::PathBuf>,
    /// A ZooKeeper connect string (HOST:PORT) holding /consumers/<group>/offsets/<topic>/<partition>.
    #[arg(long, requires = "group")]
    pub(crate) from_zookeeper: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    Csv,
    Json,
}

/// A command's failure: a message with its causes, or "problems found".
pub(crate) enum Failure {
    Error(String),
    Problems,
    /// An error already reported on stdout (`cat --json`): exit 2, print nothing more.
    Reported,
    /// stdout was closed by its reader (`| head`): not an error.
    BrokenPipe,
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(tidemark::error_chain(&e))
    }
}

pub(crate) type CmdResult = Result<(), Failure>;

pub(crate) fn fail(message: impl Into<String>) -> Failure {
    Failure::Error(message.into())
}

/// The command line's definition: the derived one, where a left-out STORE (taken from
/// `TIDEMARK_STORE`) lets `tidemark show billing` name the stream.
pub(crate) fn definition() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().mut_subcommands(|c| {
        // Only where a required STREAM follows STORE: `verify X` keeps X as the store.
        let stream_required = c
            .get_positionals()
            .any(|a| a.is_required_set() && a.get_id() == "stream");
        c.allow_missing_positional(stream_required)
    })
}

pub(crate) fn main() -> ExitCode {
    use clap::FromArgMatches;
    let parsed = definition()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { ERROR } else { OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        // -v: store operations (debug events of tidemark::store::backend) and tidemark's info.
        (false, 1) => "info,tidemark::store::backend=debug",
        (false, 2) => "debug",
        _ => "trace",
    };
    // librdkafka's own log lines (target `librdkafka`, and the rdkafka crate's) only with -v.
    let kafka = if level == "warn" || level == "error" {
        "off"
    } else {
        level
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDEMARK_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "tidemark={level},librdkafka={kafka},rdkafka={kafka},warn"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(ERROR);
        }
    };
    let out = crate::output::Out::new(cli.json, cli.quiet);
    let result = runtime.block_on(crate::commands::run(cli.command, &out));
    let flushed = std::io::stdout().flush();
    match (result, flushed) {
        (Err(Failure::BrokenPipe), _) => ExitCode::from(OK),
        (_, Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(OK),
        (Ok(()), _) => ExitCode::from(OK),
        (Err(Failure::Problems), _) => ExitCode::from(PROBLEMS),
        (Err(Failure::Reported), _) => ExitCode::from(ERROR),
        (Err(Failure::Error(message)), _) => {
            eprintln!("error: {}", crate::render::escape(&message));
            ExitCode::from(ERROR)
        }
    }
}
