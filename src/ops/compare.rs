//! Comparing offsets: two checkpoints (diff, progress) or a checkpoint and the log ends (lag).

use serde::Serialize;

use crate::Checkpoint;
use crate::plan::ClusterState;

/// One partition of a [`DiffReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PartitionDiff {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its offset in checkpoint A (absent: added in B).
    pub a: Option<i64>,
    /// Its offset in checkpoint B (absent: removed in B).
    pub b: Option<i64>,
    /// `b - a`, when both have the partition.
    pub delta: Option<i64>,
}

/// Per-partition offset deltas between two checkpoints, B minus A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DiffReport {
    /// Checkpoint A's id.
    pub a: u64,
    /// Checkpoint B's id.
    pub b: u64,
    /// Every partition of either checkpoint, sorted by topic and partition.
    pub partitions: Vec<PartitionDiff>,
    /// The sum of the deltas (partitions in only one checkpoint count 0).
    pub total_delta: i64,
}

/// Compares two checkpoints partition by partition (B minus A).
///
/// ```
/// use tidemark::{Checkpoint, Offsets, ops};
///
/// let a = Checkpoint::new("s", [("t", 0, 10), ("t", 1, 5)].into_iter().collect()).with_id(1);
/// let b = Checkpoint::new("s", [("t", 0, 15), ("u", 0, 1)].into_iter().collect()).with_id(2);
/// let d = ops::diff(&a, &b);
/// assert_eq!(d.total_delta, 5);
/// assert_eq!(d.partitions.len(), 3);
/// assert_eq!(d.partitions[1].b, None); // t/1 removed
/// ```
pub fn diff(a: &Checkpoint, b: &Checkpoint) -> DiffReport {
    let mut keys: Vec<(&str, i32)> = a.offsets.iter().map(|(t, p, _)| (t, p)).collect();
    keys.extend(b.offsets.iter().map(|(t, p, _)| (t, p)));
    keys.sort();
    keys.dedup();
    let mut total_delta = 0;
    let partitions = keys
        .into_iter()
        .map(|(topic, partition)| {
            let (oa, ob) = (
                a.offsets.get(topic, partition),
                b.offsets.get(topic, partition),
            );
            let delta = match (oa, ob) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            };
            total_delta += delta.unwrap_or(0);
            PartitionDiff {
                topic: topic.to_owned(),
                partition,
                a: oa,
                b: ob,
                delta,
            }
        })
        .collect();
    DiffReport {
        a: a.id,
        b: b.id,
        partitions,
        total_delta,
    }
}

/// One partition of a [`LagReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The checkpointed next offset.
    pub checkpointed: i64,
    /// The partition's log start (low watermark), when the cluster has the partition.
    pub log_start: Option<i64>,
    /// The partition's log end (high watermark), when the cluster has the partition.
    pub log_end: Option<i64>,
    /// Records a resume from the checkpoint would read: `log_end - max(checkpointed,
    /// log_start)`, at least 0, when the cluster has the partition.
    pub lag: Option<i64>,
    /// Records between the checkpoint and the log start that were deleted (retention,
    /// DeleteRecords) before they were consumed: `log_start - checkpointed` when positive.
    pub lost: Option<i64>,
    /// How the checkpoint stands against the log.
    pub state: LagState,
}

/// How a checkpointed position stands against its partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LagState {
    /// Within the log: `log_start <= checkpointed <= log_end`.
    Ok,
    /// Below the log start: the records in between were deleted before they were consumed
    /// (a resume follows the data-loss policy).
    BehindLogStart,
    /// Past the log end (the topic was deleted and re-created, or the log truncated): a resume
    /// follows the ahead-of-log policy.
    AheadOfLogEnd,
    /// The cluster has no such partition (or no such topic).
    NotInCluster,
}

/// A partition of a checkpointed topic that the checkpoint does not name (added to the topic
/// since): a resume starts it at its log start (PRODUCT.md, case 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewPartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its log start.
    pub log_start: i64,
    /// Its log end.
    pub log_end: i64,
    /// Records a resume would read from the log start: `log_end - log_start`.
    pub lag: i64,
}

/// How far a checkpoint is behind the log ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LagReport {
    /// The stream.
    pub stream: String,
    /// The checkpoint's id.
    pub checkpoint: u64,
    /// When the checkpoint was written, in ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Every partition of the checkpoint.
    pub partitions: Vec<PartitionLag>,
    /// The sum of the lags of [`partitions`](Self::partitions) (partitions not in the cluster
    /// count 0).
    pub total_lag: i64,
    /// Partitions of the checkpoint's topics that the cluster has and the checkpoint does not.
    pub new_partitions: Vec<NewPartitionLag>,
    /// The sum of the lags of [`new_partitions`](Self::new_partitions).
    pub new_partitions_lag: i64,
    /// The sum of [`PartitionLag::lost`]: records deleted before they were consumed.
    pub total_lost: i64,
}

/// The lag of each partition of `checkpoint` behind its log end in `cluster` (the watermarks,
/// as `kafka::cluster_state` returns them, or built by hand): what a resume from the
/// checkpoint would read, what was lost to deletion, positions past the log end, and the
/// partitions added to the checkpoint's topics since.
///
/// ```
/// use tidemark::{Checkpoint, ops, plan::ClusterState};
/// use tidemark::ops::LagState;
///
/// let c = Checkpoint::new("s", [("t", 0, 90), ("t", 1, 5), ("u", 0, 3)].into_iter().collect())
///     .with_id(7);
/// let mut cluster = ClusterState::new();
/// cluster.add_partition("t", 0, 0, 100);
/// cluster.add_partition("t", 1, 20, 30); // records 5..20 deleted
/// cluster.add_partition("t", 2, 0, 4); // added since
/// let lag = ops::lag(&c, &cluster);
/// assert_eq!(lag.partitions[0].lag, Some(10));
/// assert_eq!(lag.partitions[1].state, LagState::BehindLogStart);
/// assert_eq!((lag.partitions[1].lag, lag.partitions[1].lost), (Some(10), Some(15)));
/// assert_eq!(lag.partitions[2].state, LagState::NotInCluster);
/// assert_eq!(lag.total_lag, 20);
/// assert_eq!((lag.new_partitions[0].partition, lag.new_partitions_lag), (2, 4));
/// ```
pub fn lag(checkpoint: &Checkpoint, cluster: &ClusterState) -> LagReport {
    let (mut total_lag, mut total_lost) = (0, 0);
    let partitions = checkpoint
        .offsets
        .iter()
        .map(|(topic, partition, checkpointed)| {
            let wm = cluster.topic(topic).and_then(|ps| ps.get(&partition));
            let state = match wm {
                None => LagState::NotInCluster,
                Some(w) if checkpointed < w.low => LagState::BehindLogStart,
                Some(w) if checkpointed > w.high => LagState::AheadOfLogEnd,
                Some(_) => LagState::Ok,
            };
            let lag = wm.map(|w| (w.high - checkpointed.max(w.low)).max(0));
            let lost = wm.and_then(|w| (w.low > checkpointed).then(|| w.low - checkpointed));
            total_lag += lag.unwrap_or(0);
            total_lost += lost.unwrap_or(0);
            PartitionLag {
                topic: topic.to_owned(),
                partition,
                checkpointed,
                log_start: wm.map(|w| w.low),
                log_end: wm.map(|w| w.high),
                lag,
                lost,
                state,
            }
        })
        .collect();
    let new_partitions: Vec<NewPartitionLag> = checkpoint
        .offsets
        .topics()
        .filter_map(|(topic, saved)| Some((topic, saved, cluster.topic(topic)?)))
        .flat_map(|(topic, saved, in_cluster)| {
            in_cluster
                .iter()
                .filter(|(p, _)| !saved.contains_key(p))
                .map(|(&partition, w)| NewPartitionLag {
                    topic: topic.clone(),
                    partition,
                    log_start: w.low,
                    log_end: w.high,
                    lag: (w.high - w.low).max(0),
                })
        })
        .collect();
    LagReport {
        stream: checkpoint.stream.clone(),
        checkpoint: checkpoint.id,
        created_at_ms: checkpoint.created_at_ms,
        partitions,
        total_lag,
        new_partitions_lag: new_partitions.iter().map(|p| p.lag).sum(),
        new_partitions,
        total_lost,
    }
}

/// Progress between two checkpoints of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Messages consumed: the sum over the newer checkpoint's partitions of the positive
    /// offset deltas (a partition new in it, or moved back, counts 0).
    pub messages: i64,
    /// Messages moved back: the sum of the negative offset deltas, as a positive number (a
    /// reset or rewind; 0 for ordinary progress).
    pub rewound: i64,
    /// Seconds between the two checkpoints' creation times (0 when the newer is not later).
    pub seconds: f64,
    /// `messages / seconds`, or 0 when no time passed.
    pub messages_per_second: f64,
}

/// Messages consumed between `older` and `newer`, and the rate, as `tidemark log` shows.
///
/// ```
/// use tidemark::{Checkpoint, ops};
///
/// let older = Checkpoint::new("s", [("t", 0, 100)].into_iter().collect()).with_created_at_ms(1_000);
/// let newer = Checkpoint::new("s", [("t", 0, 600)].into_iter().collect()).with_created_at_ms(3_000);
/// let p = ops::progress(&older, &newer);
/// assert_eq!((p.messages, p.seconds, p.messages_per_second), (500, 2.0, 250.0));
/// ```
pub fn progress(older: &Checkpoint, newer: &Checkpoint) -> Progress {
    let messages = newer
        .offsets
        .iter()
        .map(|(t, p, o)| {
            o.saturating_sub(older.offsets.get(t, p).unwrap_or(o))
                .max(0)
        })
        .fold(0i64, i64::saturating_add);
    let rewound = newer
        .offsets
        .iter()
        .map(|(t, p, o)| {
            older
                .offsets
                .get(t, p)
                .unwrap_or(o)
                .saturating_sub(o)
                .max(0)
        })
        .fold(0i64, i64::saturating_add);
    let seconds = newer.created_at_ms.saturating_sub(older.created_at_ms) as f64 / 1000.0;
    let messages_per_second = if seconds > 0.0 {
        messages as f64 / seconds
    } else {
        0.0
    };
    Progress {
        messages,
        rewound,
        seconds,
        messages_per_second,
    }
}
