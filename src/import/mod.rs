//! Importing offsets from where consumers keep them today, so that an existing consumer can
//! move to tidemark and resume exactly where it stopped.
//!
//! - [`parse_csv`] and [`write_csv`]: the `topic,partition,offset` CSV of Kafka's
//!   `kafka-consumer-groups --reset-offsets --export` / `--from-file` (pure functions);
//! - [`read_spark_checkpoint`]: the Kafka source offsets of the newest committed batch of a
//!   Spark Structured Streaming checkpoint folder (reads local files);
//! - `read_zookeeper` (cargo feature `zookeeper`): the old consumers' offsets at
//!   `/consumers/<group>/offsets/<topic>/<partition>` in ZooKeeper (async).
//!
//! Every importer returns [`Offsets`](crate::Offsets) holding the **next offset to consume**
//! for each partition, the convention of Kafka's committed offsets, of all three sources and
//! of tidemark's checkpoints: no value is shifted by one on the way in.
//!
//! Nothing here prints; every failure is an [`ImportError`] that names the file, line or node
//! it is about.
//!
//! ```
//! use tidemark::import::{parse_csv, write_csv};
//!
//! let offsets = parse_csv("orders,0,1042\norders,1,997\n")?;
//! assert_eq!(offsets.get("orders", 0), Some(1_042));
//! assert_eq!(write_csv(&offsets), "orders,0,1042\norders,1,997\n");
//! # Ok::<(), tidemark::import::ImportError>(())
//! ```

pub mod csv;
pub mod spark;
#[cfg(feature = "zookeeper")]
pub mod zookeeper;

use std::fmt;
use std::path::PathBuf;
#[cfg(feature = "zookeeper")]
use std::time::Duration;

pub use csv::{parse_csv, parse_csv_for_group, write_csv};
pub use spark::{
    SPARK_OFFSETS_VERSION, SparkImport, SparkSource, SparkSourceKind, read_spark_batch,
    read_spark_checkpoint, spark_completed_batches,
};
#[cfg(feature = "zookeeper")]
pub use zookeeper::{ZOOKEEPER_TIMEOUT, ZookeeperImport, read_zookeeper, write_zookeeper};

/// Why offsets could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A line of CSV input is not a valid `topic,partition,offset` line.
    #[error("csv line {line}: {problem}")]
    Csv {
        /// The line, counting from 1 (blank lines count).
        line: usize,
        /// What is wrong with it.
        problem: CsvProblem,
    },
    /// A file or folder could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The Spark checkpoint folder has no batch whose offsets file has a commit file: no batch
    /// completed (or the folder is not a checkpoint).
    #[error(
        "spark checkpoint {}: no committed batch ({} batch(es) in offsets/ without a file in commits/)",
        dir.display(),
        uncommitted.len()
    )]
    SparkNoCommittedBatch {
        /// The checkpoint folder.
        dir: PathBuf,
        /// Batch ids found in `offsets/` (none of them committed), ascending.
        uncommitted: Vec<u64>,
    },
    /// The offsets file starts with a log version this reader does not know.
    #[error(
        "{}:1: unsupported spark offsets log version {found:?}, this tidemark reads {supported:?}",
        path.display()
    )]
    SparkUnsupportedVersion {
        /// The offsets file.
        path: PathBuf,
        /// The first line of the file, e.g. `v2`.
        found: String,
        /// The version this reader supports, [`SPARK_OFFSETS_VERSION`].
        supported: &'static str,
    },
    /// A line of a Spark offsets file cannot be read.
    #[error("{}:{line}: {problem}", path.display())]
    SparkMalformed {
        /// The offsets file.
        path: PathBuf,
        /// The line, counting from 1 (1 is the version, 2 the metadata, 3 the first source).
        line: usize,
        /// What is wrong with it.
        problem: SparkProblem,
        /// The JSON parser's error, when the line is not valid JSON.
        #[source]
        json: Option<serde_json::Error>,
    },
    /// No Kafka source of the batch has all the requested topics (or, with no topics
    /// requested, the batch has no Kafka source).
    #[error(
        "{}: no kafka source {}; sources: {}",
        path.display(),
        wanted(.topics),
        SourceList(.sources)
    )]
    SparkNoMatchingSource {
        /// The offsets file.
        path: PathBuf,
        /// The requested topics.
        topics: Vec<String>,
        /// Every source line of the batch.
        sources: Vec<SparkSource>,
    },
    /// Several Kafka sources of the batch have all the requested topics (or, with no topics
    /// requested, the batch has several Kafka sources): name (more) topics to choose one.
    #[error(
        "{}: {} kafka sources {}, name topics that only one of them reads; sources: {}",
        path.display(),
        matching.len(),
        wanted(.topics),
        SourceList(.sources)
    )]
    SparkAmbiguousSource {
        /// The offsets file.
        path: PathBuf,
        /// The requested topics.
        topics: Vec<String>,
        /// Indexes of the matching sources.
        matching: Vec<usize>,
        /// Every source line of the batch.
        sources: Vec<SparkSource>,
    },
    /// An argument cannot be used, e.g. a consumer group name containing `/`.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        /// Which argument: `group`, `chroot`.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// No ZooKeeper session could be established.
    #[cfg(feature = "zookeeper")]
    #[error("cannot connect to zookeeper {connect}")]
    ZookeeperConnect {
        /// The connect string.
        connect: String,
        /// The client's error.
        #[source]
        source: zookeeper_client::Error,
    },
    /// A ZooKeeper operation (or connecting) did not finish in time.
    #[cfg(feature = "zookeeper")]
    #[error("zookeeper {connect}: {operation} {path} timed out after {after:?}")]
    ZookeeperTimeout {
        /// The connect string.
        connect: String,
        /// The operation: `connect`, `list`, `get`.
        operation: &'static str,
        /// The node (with the chroot), or `/` when connecting.
        path: String,
        /// The time waited.
        after: Duration,
    },
    /// A ZooKeeper operation failed.
    #[cfg(feature = "zookeeper")]
    #[error("zookeeper {operation} {path} failed")]
    Zookeeper {
        /// The operation: `list`, `get`, `exists`.
        operation: &'static str,
        /// The node (with the chroot).
        path: String,
        /// The client's error.
        #[source]
        source: zookeeper_client::Error,
    },
    /// The consumer group has no offsets in ZooKeeper.
    #[cfg(feature = "zookeeper")]
    #[error("consumer group {group} not found in zookeeper: {missing} does not exist")]
    ZookeeperGroupNotFound {
        /// The group.
        group: String,
        /// The node that does not exist (with the chroot): the group's node or its `offsets`.
        missing: String,
    },
    /// A partition node's name is not a partition number.
    #[cfg(feature = "zookeeper")]
    #[error("zookeeper node {path}: partition name {name:?} is not a non-negative 32-bit integer")]
    ZookeeperBadPartition {
        /// The partition node (with the chroot).
        path: String,
        /// Its name.
        name: String,
    },
    /// A partition node's value is not an offset.
    #[cfg(feature = "zookeeper")]
    #[error("zookeeper node {path}: value {value:?} is not a non-negative decimal offset")]
    ZookeeperBadOffset {
        /// The partition node (with the chroot).
        path: String,
        /// Its value (lossily decoded as UTF-8).
        value: String,
    },
}

/// What is wrong with a line of CSV input, in [`ImportError::Csv`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The line does not have three comma-separated fields.
    #[error("expected 3 fields topic,partition,offset, found {found}")]
    FieldCount {
        /// The number of fields found (4 for the multi-group export, which starts with the
        /// group).
        found: usize,
    },
    /// The topic field is empty.
    #[error("the topic is empty")]
    EmptyTopic,
    /// The partition field is not a decimal 32-bit integer.
    #[error("partition {value:?} is not a decimal 32-bit integer")]
    BadPartition {
        /// The field as written.
        value: String,
    },
    /// The partition is negative.
    #[error("partition {value} is negative")]
    NegativePartition {
        /// The partition.
        value: i32,
    },
    /// The offset field is not a decimal 64-bit integer.
    #[error("offset {value:?} is not a decimal 64-bit integer")]
    BadOffset {
        /// The field as written.
        value: String,
    },
    /// The offset is negative (the export writes `-1` for a partition without a committed
    /// offset).
    #[error("offset {value} is negative")]
    NegativeOffset {
        /// The offset.
        value: i64,
    },
    /// The topic/partition was already listed on an earlier line.
    #[error("partition {topic}/{partition} is listed twice (first on line {first_line})")]
    Duplicate {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The line where it was first listed.
        first_line: usize,
    },
    /// A quoted field (RFC 4180) is not closed before the end of the input.
    #[error("a quoted field is not closed")]
    UnterminatedQuote,
    /// Something other than spaces follows a quoted field's closing quote.
    #[error("text after the closing quote of a quoted field")]
    TextAfterQuote,
    /// The file (`group,topic,partition,offset`) holds several consumer groups and none was
    /// chosen.
    #[error("the file holds the offsets of {} consumer groups ({}): choose one with --group", groups.len(), groups.join(", "))]
    SeveralGroups {
        /// The groups in the file, sorted.
        groups: Vec<String>,
    },
    /// The group asked for is not in the file.
    #[error("consumer group {group:?} is not in the file (it holds: {})", groups.join(", "))]
    GroupNotFound {
        /// The group asked for.
        group: String,
        /// The groups in the file, sorted.
        groups: Vec<String>,
    },
}

/// What is wrong with a line of a Spark offsets file, in [`ImportError::SparkMalformed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SparkProblem {
    /// The file ends before this line.
    #[error("missing the {what} line")]
    MissingLine {
        /// `version` or `metadata`.
        what: &'static str,
    },
    /// The metadata line is not valid JSON.
    #[error("the metadata line is not valid json")]
    MetadataNotJson,
    /// The metadata line is JSON but not an object.
    #[error("the metadata line is not a json object")]
    MetadataNotObject,
    /// A metadata field is not a non-negative integer.
    #[error("metadata field {field} is not a non-negative integer")]
    MetadataField {
        /// The field, e.g. `batchTimestampMs`.
        field: &'static str,
    },
    /// A Kafka source names a partition that is not a non-negative 32-bit integer.
    #[error("topic {topic}: partition {partition:?} is not a non-negative 32-bit integer")]
    BadPartition {
        /// The topic.
        topic: String,
        /// The partition key as written.
        partition: String,
    },
    /// A Kafka source's offset is not a non-negative 64-bit integer (Spark writes `-2` and
    /// `-1` for "earliest" and "latest" only in options, never in a batch's offsets).
    #[error("{topic}/{partition}: offset {value} is not a non-negative 64-bit integer")]
    BadOffset {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset as written.
        value: String,
    },
}

fn wanted(topics: &[String]) -> String {
    if topics.is_empty() {
        "in the batch (no topics given)".to_owned()
    } else {
        format!("with all of the topics {}", topics.join(", "))
    }
}

/// Displays source lines as `source 0 (line 3): kafka topics a, b; source 1 (line 4): ...`.
struct SourceList<'a>(&'a [SparkSource]);

impl fmt::Display for SourceList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, source) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{source}")?;
        }
        Ok(())
    }
}
