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
    /// The partition's log end (high watermark), when the cluster has the partition.
    pub log_end: Option<i64>,
    /// `log_end - checkpointed`, at least 0, when the cluster has the partition.
    pub lag: Option<i64>,
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
    /// The sum of the lags (partitions not in the cluster count 0).
    pub total_lag: i64,
}

/// The lag of each partition of `checkpoint` behind its log end in `log_ends` (the high
/// watermarks, as `kafka::cluster_state` returns them, or built by hand).
///
/// ```
/// use tidemark::{Checkpoint, ops, plan::ClusterState};
///
/// let c = Checkpoint::new("s", [("t", 0, 90), ("t", 1, 5)].into_iter().collect()).with_id(7);
/// let mut cluster = ClusterState::new();
/// cluster.add_partition("t", 0, 0, 100);
/// let lag = ops::lag(&c, &cluster);
/// assert_eq!(lag.partitions[0].lag, Some(10));
/// assert_eq!(lag.partitions[1].lag, None); // not in the cluster
/// assert_eq!(lag.total_lag, 10);
/// ```
pub fn lag(checkpoint: &Checkpoint, log_ends: &ClusterState) -> LagReport {
    let mut total_lag = 0;
    let partitions = checkpoint
        .offsets
        .iter()
        .map(|(topic, partition, checkpointed)| {
            let log_end = log_ends
                .topic(topic)
                .and_then(|ps| ps.get(&partition))
                .map(|w| w.high);
            let lag = log_end.map(|e| (e - checkpointed).max(0));
            total_lag += lag.unwrap_or(0);
            PartitionLag {
                topic: topic.to_owned(),
                partition,
                checkpointed,
                log_end,
                lag,
            }
        })
        .collect();
    LagReport {
        stream: checkpoint.stream.clone(),
        checkpoint: checkpoint.id,
        created_at_ms: checkpoint.created_at_ms,
        partitions,
        total_lag,
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
