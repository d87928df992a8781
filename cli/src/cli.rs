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
        ?endpoint=...&allow_http=true for S3-compatible servers), gs://, az://, hdfs:// or memory://.\n\n\
        Exit codes: 0 ok, 1 problems found, 2 error or bad usage.",
    after_help = "Examples:\n  tidemark streams ./checkpoints\n  tidemark show ./checkpoints billing\n  tidemark log s3://bucket/ckpt billing --limit 20"
)]
pub(crate) struct Cli {
    /// Print machine-readable JSON instead of tables (schema: README, "JSON output").
    #[arg(long, global = true)]
    json: bool,
    /// Only print errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More logging (-v info, -vv debug, -vvv trace), on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// A store and a stream.
#[derive(Args, Debug, Clone)]
pub(crate) struct StreamArgs {
    /// The store: a folder or a URL.
    pub(crate) store: String,
    /// The stream's name.
    pub(crate) stream: String,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Every stream: latest id, batch time and age, topics, partitions, writer.
    #[command(after_help = "Example:\n  tidemark streams ./checkpoints")]
    Streams {
        /// The store: a folder or a URL.
        store: String,
    },
    /// The offsets of one checkpoint (the latest by default), as a table.
    #[command(
        after_help = "Examples:\n  tidemark show ./checkpoints billing\n  tidemark show ./checkpoints billing --id 42\n  tidemark show ./checkpoints billing --at 2026-11-24T08:00:00Z"
    )]
    Show {
        #[command(flatten)]
        target: StreamArgs,
        /// This checkpoint id.
        #[arg(long, conflicts_with = "at")]
        id: Option<u64>,
        /// The newest checkpoint written at or before this time (RFC 3339, or ms since the epoch).
        #[arg(long)]
        at: Option<String>,
    },
    /// History, newest first, with progress per checkpoint and writer changes.
    #[command(
        after_help = "Example:\n  tidemark log ./checkpoints billing --limit 20 --since 2026-11-24T00:00:00Z"
    )]
    Log {
        #[command(flatten)]
        target: StreamArgs,
        /// At most this many checkpoints.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only checkpoints written at or after this time.
        #[arg(long)]
        since: Option<String>,
        /// Only checkpoints written at or before this time.
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
        /// The store: a folder or a URL.
        store: String,
        /// Only this stream (all streams by default).
        stream: Option<String>,
    },
    /// Delete checkpoints past their retention; the newest valid one is always kept.
    #[command(
        after_help = "Example:\n  tidemark compact ./checkpoints billing --ttl 30d --keep 10 --dry-run"
    )]
    Compact {
        #[command(flatten)]
        target: StreamArgs,
        /// Maximum age, e.g. 30d, 12h.
        #[arg(long)]
        ttl: String,
        /// Keep at least this many newest checkpoints whatever their age.
        #[arg(long, default_value_t = 1)]
        keep: usize,
        /// Delete temporary files older than this (e.g. 1h).
        #[arg(long, default_value = "1h")]
        temporary_grace: String,
        /// Only report what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a new checkpoint with changed offsets. Dry run (a before/after table) unless
    /// --execute.
    #[command(
        after_help = "Examples:\n  tidemark reset ./checkpoints billing --shift-by -100 --topic orders:0,1\n  tidemark reset ./checkpoints billing --to-checkpoint 40 --execute\n  tidemark reset ./checkpoints billing --to-earliest --bootstrap-servers 127.0.0.1:9092 --execute"
    )]
    Reset {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        to: ResetTo,
        /// Limit to a topic, or to some of its partitions: `t` or `t:0,1,2` (repeatable).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Kafka bootstrap servers (for --to-earliest, --to-latest, --to-datetime, --by-duration).
        #[arg(long)]
        bootstrap_servers: Option<String>,
        /// Write the new checkpoint (a running writer of the stream will be fenced).
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
        /// Kafka bootstrap servers.
        #[arg(long)]
        bootstrap_servers: String,
        /// Refresh every few seconds until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between refreshes with --watch.
        #[arg(long, default_value_t = 5)]
        interval: u64,
    },
    /// Print a checkpoint's offsets as CSV (`topic,partition,offset`, as kafka-consumer-groups
    /// --export) or JSON.
    #[command(after_help = "Example:\n  tidemark export ./checkpoints billing > offsets.csv")]
    Export {
        #[command(flatten)]
        target: StreamArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// This checkpoint id (the latest by default).
        #[arg(long)]
        id: Option<u64>,
    },
    /// Write a checkpoint from another system's offsets. Dry run unless --execute.
    #[command(
        after_help = "Examples:\n  tidemark import ./checkpoints billing --from-csv offsets.csv --execute\n  tidemark import ./checkpoints billing --from-kafka-group billing --bootstrap-servers 127.0.0.1:9092"
    )]
    Import {
        #[command(flatten)]
        target: StreamArgs,
        #[command(flatten)]
        from: ImportFrom,
        /// Kafka bootstrap servers (for --from-kafka-group).
        #[arg(long)]
        bootstrap_servers: Option<String>,
        /// The consumer group (for --from-zookeeper).
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
    #[arg(long, allow_negative_numbers = false)]
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

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDEMARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("tidemark={level},warn")));
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
