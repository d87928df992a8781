//! Operations on checkpoint streams that every front shares: what `streams` and `log` list,
//! the checkpoint at a time, diff, lag, progress rate, verification and compaction reports,
//! and resets of every mode (rewinding to a checkpoint included).
//!
//! Each operation returns a typed report (`serde::Serialize`): a table and JSON are two
//! renderings of the same value. The planning part of a reset is pure: the modes that ask
//! Kafka take what the cluster said as [`ResetInputs`], which `kafka_inputs` (feature
//! `kafka`) fills from a consumer. Operations that write validate everything before writing
//! anything.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tidemark::ops::{self, ResetTo, Scope};
//! use tidemark::store::{NewCheckpoint, Store, WriterConfig};
//! use tidemark::Offsets;
//!
//! let store = Store::open("memory://")?;
//! let mut writer = store.writer("billing", WriterConfig::new("billing-app", "1.0")).await?;
//! for n in [100, 250] {
//!     let offsets: Offsets = [("orders", 0, n), ("orders", 1, n / 2)].into_iter().collect();
//!     writer.commit(NewCheckpoint::new(offsets)).await?;
//! }
//!
//! // How far the newest checkpoint moved, then a rewind of partition 0 by 50 messages.
//! let diff = ops::diff(&store.get("billing", 2).await?, &store.get("billing", 3).await?);
//! assert_eq!(diff.total_delta, 150 + 75);
//! let base = ops::latest(&store, "billing").await?.checkpoint;
//! let plan = ops::plan_reset(
//!     &base,
//!     &ResetTo::ShiftBy(-50),
//!     &Scope::all().with_partitions("orders", [0]),
//!     &ops::ResetInputs::default(),
//! )?;
//! assert_eq!(plan.changes[0].after, 200);
//! // The writer above committed just now: it looks alive, so executing needs `force`.
//! let report = plan.execute(&store, &ops::Execution::default().force(true)).await?;
//! assert_eq!(store.get("billing", report.checkpoint_id.unwrap()).await?.offsets.get("orders", 0), Some(200));
//! # Ok::<(), ops::OpsError>(())
//! # }).unwrap();
//! ```

mod compare;
mod export;
mod inspect;
mod liveness;
mod operator;
mod reset;
mod tally;
mod time;

pub use compare::{
    DiffReport, LagReport, LagState, NewPartitionLag, PartitionDiff, PartitionLag, Progress, diff,
    lag, progress,
};
pub use export::ExportReport;
#[cfg(feature = "kafka")]
pub use export::export_to_kafka_group;
#[cfg(feature = "zookeeper")]
pub use export::export_to_zookeeper;
pub use inspect::{
    CompactReport, DamagedEntry, LogCheckpoint, LogEntry, LogReport, StreamSummary,
    StreamVerification, StreamsReport, VerificationReport, checkpoint_at, compact,
    compact_with_progress, latest, log, streams, verify,
};
pub use liveness::{DEFAULT_ALIVE_WINDOW, Liveness, writer_liveness};
pub use operator::{
    CopyReport, DeleteStreamReport, DescribeReport, QuarantineSummary, StreamDescription, closest,
    copy, delete_stream, describe, get, quarantine, require_stream, require_streams,
};
#[cfg(feature = "kafka")]
pub use reset::kafka_inputs;
pub use reset::{
    Clamp, ClampBound, Execution, GroupCheck, ImportProvenance, OffsetChange, ResetInputs,
    ResetPlan, ResetReport, ResetTo, Scope, load_inputs, plan_import, plan_reset, rewind,
};
pub use tally::{ReadTally, RunRead, ahead, tally, total};
pub use time::{DURATION_FORMS, TIME_FORMS, TimeError, parse_duration, parse_time};

use crate::store::StoreError;

/// The newest valid checkpoint of a stream and the damaged objects newer than it, which
/// [`latest`] skipped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Latest {
    /// The newest valid checkpoint.
    pub checkpoint: crate::Checkpoint,
    /// Damaged checkpoint objects newer than it, newest first: worth a warning.
    pub skipped: Vec<crate::store::SkippedObject>,
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stream has no valid checkpoint.
    #[error("stream={stream}: no checkpoint in {store}")]
    NoCheckpoint {
        /// The stream.
        stream: String,
        /// The store, without secrets.
        store: String,
    },
    /// The stream is not in the store.
    #[error(
        "stream {stream:?} not found in {store}{}",
        operator::unknown_stream_hint(suggestion, streams)
    )]
    UnknownStream {
        /// The stream asked for.
        stream: String,
        /// The store, without secrets.
        store: String,
        /// The closest name present, when one looks like a typo of it.
        suggestion: Option<String>,
        /// The streams present, sorted.
        streams: Vec<String>,
    },
    /// The store holds no stream at all (often a wrong path, bucket or prefix).
    #[error("store {store} holds no stream (is the path or URL right?)")]
    EmptyStore {
        /// The store, without secrets.
        store: String,
    },
    /// No checkpoint has this id.
    #[error("stream={stream}: no checkpoint {id}; {}", match range {
        Some((lo, hi)) => format!("ids present: {lo}..{hi} ({count} checkpoints)"),
        None => "the stream holds no checkpoint".to_owned(),
    })]
    NoSuchCheckpoint {
        /// The stream.
        stream: String,
        /// The id asked for.
        id: u64,
        /// The lowest and highest ids present.
        range: Option<(u64, u64)>,
        /// How many checkpoint objects are present.
        count: usize,
    },
    /// A copy's destination stream already holds objects: nothing was written.
    #[error(
        "stream {stream:?} already exists in {store} ({objects} objects): nothing copied; choose another name or delete it first"
    )]
    DestinationExists {
        /// The destination store.
        store: String,
        /// The destination stream.
        stream: String,
        /// Objects in its folder.
        objects: usize,
    },
    /// After a copy, the destination does not hold the checkpoints written.
    #[error("stream={stream}: the copy holds {found} valid checkpoints, {expected} were written")]
    CopyMismatch {
        /// The destination stream.
        stream: String,
        /// Valid checkpoints written.
        expected: usize,
        /// Valid checkpoints found.
        found: usize,
    },
    /// A reset or import selected no partition.
    #[error("{operation}: no partition selected; nothing to do")]
    NothingSelected {
        /// `reset` or `import`.
        operation: String,
    },
    /// A partition a reset asks about is not in the cluster's data.
    #[error("topic {topic:?} partition {partition} is not in the cluster")]
    NotInCluster {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A reset mode needs data that was not given in [`ResetInputs`].
    #[error("reset {mode} needs {needs}")]
    MissingInput {
        /// The mode, as the command line names it (`--to-earliest`, ...).
        mode: &'static str,
        /// What is missing.
        needs: &'static str,
    },
    /// A partition is neither in the base checkpoint nor in the cluster (refused unless
    /// allowed with [`Scope::allow_new_partitions`]).
    #[error("topic {topic:?} partition {partition} is not in the checkpoint{}; check the name, or allow it with --allow-new-partitions", if *cluster_checked { " nor in the cluster" } else { " (give a broker to check the cluster)" })]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Whether the cluster was asked.
        cluster_checked: bool,
    },
    /// The stream's writer looks alive: writing would fence it mid-stream.
    #[error("stream={stream}: its writer {} {} looks alive (checkpoint {} written {}s ago, within {}s); stop it first, or give --force", writer.app_name, writer.app_version, liveness.checkpoint, liveness.age_ms / 1000, liveness.window_ms / 1000)]
    WriterAlive {
        /// The stream.
        stream: String,
        /// Its newest checkpoint's writer.
        writer: Box<crate::Writer>,
        /// Why it looks alive.
        liveness: Liveness,
    },
    /// The consumer group has members: writing would race them.
    #[error("consumer group {group:?} has {} active member(s): {}; stop them first, or give --force", members.len(), members.join(", "))]
    GroupActive {
        /// The group.
        group: String,
        /// Its members (`client-id on host`).
        members: Vec<String>,
    },
    /// A new offset would be negative, or a partition number is negative.
    #[error("topic {topic:?} partition {partition}: offset {offset} cannot be written")]
    InvalidOffset {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
    },
    /// The new checkpoint breaks a rule of the format (too many partitions, a name too long):
    /// nothing was written.
    #[error("stream={stream}: the new checkpoint cannot be written")]
    Invalid {
        /// The stream.
        stream: String,
        /// The format's reason.
        #[source]
        source: crate::format::FormatError,
    },
    /// Reading or writing another system's offsets failed (ZooKeeper, a CSV file).
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// Kafka failed.
    #[cfg(feature = "kafka")]
    #[error(transparent)]
    Kafka(#[from] crate::kafka::KafkaIntegrationError),
}
