//! Reading a store: the latest checkpoint, the checkpoint at a time, the streams, a stream's
//! log, verification and compaction, as reports.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Latest, OpsError, progress};
use crate::store::{HistoryQuery, RetentionPolicy, Store};
use crate::{Checkpoint, Writer};

/// The newest valid checkpoint of `stream`, with the damaged objects newer than it that were
/// skipped; [`OpsError::NoCheckpoint`] when the stream has none.
pub async fn latest(store: &Store, stream: &str) -> Result<Latest, OpsError> {
    let report = store.latest_report(stream).await?;
    match report.checkpoint {
        Some(checkpoint) => Ok(Latest {
            checkpoint,
            skipped: report.skipped,
        }),
        None => Err(OpsError::NoCheckpoint {
            stream: stream.to_owned(),
            store: store.to_string(),
        }),
    }
}

/// The newest checkpoint of `stream` written at or before `at` (by the time the store lists
/// for it), or `None` when there is none.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use tidemark::store::{NewCheckpoint, Store, WriterConfig};
/// use tidemark::{Offsets, ops};
///
/// let store = Store::open("memory://")?;
/// let mut writer = store.writer("s", WriterConfig::new("app", "1")).await?;
/// writer.commit(NewCheckpoint::new([("t", 0, 5)].into_iter().collect())).await?;
/// let now = ops::checkpoint_at(&store, "s", SystemTime::now() + Duration::from_secs(1)).await?;
/// assert_eq!(now.map(|c| c.offsets.get("t", 0)), Some(Some(5)));
/// let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
/// assert!(ops::checkpoint_at(&store, "s", long_ago).await?.is_none());
/// # Ok::<(), tidemark::ops::OpsError>(())
/// # }).unwrap();
/// ```
pub async fn checkpoint_at(
    store: &Store,
    stream: &str,
    at: SystemTime,
) -> Result<Option<Checkpoint>, OpsError> {
    let query = HistoryQuery {
        until: Some(at),
        limit: Some(1),
        ..HistoryQuery::default()
    };
    match store.history(stream, &query).await?.into_iter().next() {
        Some(entry) => Ok(Some(store.get(stream, entry.id).await?)),
        None => Ok(None),
    }
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One stream of a [`StreamsReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamSummary {
    /// The stream's name.
    pub stream: String,
    /// The newest valid checkpoint's id (`None`: no valid checkpoint).
    pub latest_id: Option<u64>,
    /// Its batch time, in ms since the Unix epoch.
    pub batch_time_ms: Option<u64>,
    /// Its creation time, in ms since the Unix epoch.
    pub created_at_ms: Option<u64>,
    /// Its topics, sorted.
    pub topics: Vec<String>,
    /// Its number of partitions.
    pub partitions: usize,
    /// Its writer.
    pub writer: Option<Writer>,
    /// Damaged checkpoint objects newer than it.
    pub damaged_newer: usize,
}

/// What `tidemark streams` lists: every stream of a store and its newest valid checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamsReport {
    /// The streams, sorted by name.
    pub streams: Vec<StreamSummary>,
}

/// Every stream of the store with a summary of its newest valid checkpoint.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tidemark::store::{NewCheckpoint, Store, WriterConfig};
/// use tidemark::ops;
///
/// let store = Store::open("memory://")?;
/// let mut writer = store.writer("billing", WriterConfig::new("app", "1")).await?;
/// writer.commit(NewCheckpoint::new([("t", 0, 5), ("t", 1, 7)].into_iter().collect())).await?;
/// let report = ops::streams(&store).await?;
/// assert_eq!(report.streams[0].stream, "billing");
/// assert_eq!(report.streams[0].partitions, 2);
/// # Ok::<(), tidemark::ops::OpsError>(())
/// # }).unwrap();
/// ```
pub async fn streams(store: &Store) -> Result<StreamsReport, OpsError> {
    let mut streams = Vec::new();
    for stream in store.streams().await? {
        let report = store.latest_report(&stream).await?;
        let c = report.checkpoint.as_ref();
        streams.push(StreamSummary {
            latest_id: c.map(|c| c.id),
            batch_time_ms: c.map(|c| c.batch_time_ms),
            created_at_ms: c.map(|c| c.created_at_ms),
            topics: c.map_or_else(Vec::new, |c| {
                c.offsets.topics().map(|(t, _)| t.clone()).collect()
            }),
            partitions: c.map_or(0, |c| c.offsets.partition_count()),
            writer: c.map(|c| c.writer.clone()),
            damaged_newer: report.skipped.len(),
            stream,
        });
    }
    Ok(StreamsReport { streams })
}

/// A readable checkpoint of a [`LogEntry`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LogCheckpoint {
    /// Its creation time, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Its batch time, in ms since the Unix epoch.
    pub batch_time_ms: u64,
    /// Messages consumed since the previous checkpoint ([`progress`]); `None` for the oldest
    /// listed, or when the previous one cannot be read.
    pub messages_since_previous: Option<i64>,
    /// Messages moved back since the previous checkpoint (a reset, a rewind), as a positive
    /// number.
    pub messages_rewound: Option<i64>,
    /// Messages per second since the previous checkpoint (0 when unknown).
    pub messages_per_second: f64,
    /// Its writer.
    pub writer: Writer,
    /// Whether this checkpoint is its writer's claim (the writer's epoch is its id).
    pub writer_claim: bool,
    /// Whether its writer differs from the previous checkpoint's.
    pub writer_changed: bool,
    /// The operator's action it records, e.g. `reset --shift-by -100 by ops@host-1` (a
    /// checkpoint written by `reset` or `import`; LAYOUT.md §3).
    pub operator_action: Option<String>,
}

/// One checkpoint of a [`LogReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LogEntry {
    /// The checkpoint id.
    pub id: u64,
    /// When the store says the object was written, in ms since the Unix epoch.
    pub committed_at_ms: u64,
    /// Whether the checkpoint cannot be read.
    pub damaged: bool,
    /// Why it cannot be read, when damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// The checkpoint, when it can be read (its fields are flattened into this entry's JSON).
    #[serde(flatten)]
    pub checkpoint: Option<LogCheckpoint>,
}

/// What `tidemark log` lists: a stream's history, newest first, with progress and writer
/// changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LogReport {
    /// The stream.
    pub stream: String,
    /// The checkpoints, newest first.
    pub entries: Vec<LogEntry>,
}

/// The history of `stream` the query selects, newest first, each checkpoint with its progress
/// since the one before it (one more is read than the limit asks, for the oldest one's
/// progress). A checkpoint that cannot be read is listed as damaged.
/// [`OpsError::NoCheckpoint`] when the query selects none.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tidemark::store::{HistoryQuery, NewCheckpoint, Store, WriterConfig};
/// use tidemark::ops;
///
/// let store = Store::open("memory://")?;
/// let mut writer = store.writer("s", WriterConfig::new("app", "1")).await?;
/// for n in [10, 30, 60] {
///     writer.commit(NewCheckpoint::new([("t", 0, n)].into_iter().collect())).await?;
/// }
/// let query = HistoryQuery { limit: Some(2), ..HistoryQuery::default() };
/// let log = ops::log(&store, "s", &query).await?;
/// let progress: Vec<_> = log.entries.iter()
///     .map(|e| e.checkpoint.as_ref().unwrap().messages_since_previous)
///     .collect();
/// assert_eq!(progress, [Some(30), Some(20)]);
/// # Ok::<(), tidemark::ops::OpsError>(())
/// # }).unwrap();
/// ```
pub async fn log(store: &Store, stream: &str, query: &HistoryQuery) -> Result<LogReport, OpsError> {
    let mut wider = query.clone();
    wider.limit = query.limit.map(|l| l.saturating_add(1));
    let history = store.history(stream, &wider).await?;
    if history.is_empty() {
        return Err(OpsError::NoCheckpoint {
            stream: stream.to_owned(),
            store: store.to_string(),
        });
    }
    let mut loaded = Vec::with_capacity(history.len());
    for e in &history {
        loaded.push(store.get(stream, e.id).await);
    }
    let shown = query.limit.unwrap_or(usize::MAX).min(loaded.len());
    let mut entries = Vec::with_capacity(shown);
    for i in 0..shown {
        let older = loaded.get(i + 1).and_then(|c| c.as_ref().ok());
        let checkpoint = match &loaded[i] {
            Ok(c) => c,
            Err(e) => {
                entries.push(LogEntry {
                    id: history[i].id,
                    committed_at_ms: ms(history[i].committed_at),
                    damaged: true,
                    unreadable: Some(crate::error_chain(e)),
                    checkpoint: None,
                });
                continue;
            }
        };
        let p = older.map(|o| progress(o, checkpoint));
        entries.push(LogEntry {
            id: checkpoint.id,
            committed_at_ms: ms(history[i].committed_at),
            damaged: false,
            unreadable: None,
            checkpoint: Some(LogCheckpoint {
                created_at_ms: checkpoint.created_at_ms,
                batch_time_ms: checkpoint.batch_time_ms,
                messages_since_previous: p.map(|p| p.messages),
                messages_rewound: p.map(|p| p.rewound),
                messages_per_second: p.map_or(0.0, |p| p.messages_per_second),
                writer: checkpoint.writer.clone(),
                writer_claim: checkpoint.writer.epoch == checkpoint.id,
                writer_changed: older.is_some_and(|o| o.writer.epoch != checkpoint.writer.epoch),
                operator_action: checkpoint
                    .metadata
                    .get(crate::store::OPERATOR_ACTION_KEY)
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            }),
        });
    }
    Ok(LogReport {
        stream: stream.to_owned(),
        entries,
    })
}

/// A damaged checkpoint object found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DamagedEntry {
    /// The id in the object's name.
    pub id: u64,
    /// What is wrong with it, as one line naming the checkpoint (`checkpoint 3: ...`).
    pub reason: String,
    /// A stable identifier of the damage ([`Damage::kind`](crate::store::Damage::kind):
    /// a format error kind such as `checksum_mismatch`, or `wrong_stream`, `wrong_id`).
    pub kind: String,
}

/// One stream of a [`VerificationReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamVerification {
    /// The stream.
    pub stream: String,
    /// Checkpoints read.
    pub checked: usize,
    /// Valid checkpoints.
    pub valid: usize,
    /// Damaged checkpoint objects.
    pub damaged: Vec<DamagedEntry>,
    /// Valid files not in canonical form (a later minor version, or another writer).
    pub non_canonical: Vec<u64>,
    /// Missing id ranges, `[first, last]`.
    pub gaps: Vec<(u64, u64)>,
    /// Temporary files left by interrupted writes.
    pub temporary: Vec<String>,
    /// Objects tidemark did not write.
    pub foreign: Vec<String>,
    /// The lowest and highest ids present.
    pub range: Option<(u64, u64)>,
    /// Whether anything is wrong.
    pub problems: bool,
}

/// What `tidemark verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerificationReport {
    /// Each stream verified.
    pub streams: Vec<StreamVerification>,
    /// Whether any stream has a problem.
    pub problems: bool,
}

/// Reads every checkpoint of `stream` (every stream of the store when `None`) and reports what
/// is wrong; `progress(stream, done, total)` is called as checkpoints are read.
pub async fn verify(
    store: &Store,
    stream: Option<&str>,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<VerificationReport, OpsError> {
    let names = match stream {
        Some(s) => vec![s.to_owned()],
        None => store.streams().await?,
    };
    let mut streams = Vec::with_capacity(names.len());
    for name in names {
        let r = store
            .verify(&name, |done, total| progress(&name, done, total))
            .await?;
        streams.push(StreamVerification {
            checked: r.checked,
            valid: r.valid,
            damaged: r
                .damaged
                .iter()
                .map(|d| DamagedEntry {
                    id: d.id,
                    reason: d.to_string(),
                    kind: d.reason.kind().to_owned(),
                })
                .collect(),
            problems: r.has_problems(),
            non_canonical: r.non_canonical,
            gaps: r.gaps,
            temporary: r.temporary,
            foreign: r.foreign,
            range: r.range,
            stream: name,
        });
    }
    let problems = streams.iter().any(|s| s.problems);
    Ok(VerificationReport { streams, problems })
}

/// What `tidemark compact` did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CompactReport {
    /// The stream.
    pub stream: String,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// The newest valid checkpoint, always kept.
    pub newest_valid: Option<u64>,
    /// Checkpoints kept.
    pub kept: usize,
    /// Ids deleted (or to delete), ascending.
    pub deleted: Vec<u64>,
    /// Bytes freed (or to free).
    pub bytes_freed: u64,
    /// Temporary files deleted (or to delete).
    pub temporary_deleted: Vec<String>,
    /// Damaged objects newer than the newest valid checkpoint, left in place.
    pub skipped: Vec<String>,
    /// Objects tidemark did not write, left in place.
    pub foreign: Vec<String>,
}

/// Compacts `stream` under `policy` ([`Store::compact`]), as a report.
pub async fn compact(
    store: &Store,
    stream: &str,
    policy: &RetentionPolicy,
    dry_run: bool,
) -> Result<CompactReport, OpsError> {
    compact_with_progress(store, stream, policy, dry_run, |_, _| {}).await
}

/// [`compact`], calling `progress(deleted, total)` as deletions go
/// ([`Store::compact_with_progress`]).
pub async fn compact_with_progress(
    store: &Store,
    stream: &str,
    policy: &RetentionPolicy,
    dry_run: bool,
    progress: impl FnMut(usize, usize),
) -> Result<CompactReport, OpsError> {
    let r = store
        .compact_with_progress(stream, policy, dry_run, progress)
        .await?;
    Ok(CompactReport {
        stream: stream.to_owned(),
        dry_run: r.dry_run,
        newest_valid: r.newest_valid,
        kept: r.kept,
        deleted: r.deleted,
        bytes_freed: r.bytes_freed,
        temporary_deleted: r.temporary_deleted,
        skipped: r.skipped.iter().map(ToString::to_string).collect(),
        foreign: r.foreign,
    })
}
