//! Resume planning: from the latest checkpoint, the topics to consume and the cluster's
//! current state, decide where every partition starts, and say why. Pure: no I/O, no client.
//!
//! The cases (the article's three start cases, and those hand-written versions get wrong):
//!
//! | situation | start | [`Reason`] |
//! |---|---|---|
//! | no checkpoint | per [`ResumePolicy::first_start`] (earliest by default) | `FirstStart` |
//! | partition in the checkpoint | the checkpointed offset | `Resumed` |
//! | partition added since the checkpoint | per [`ResumePolicy::new_partitions`] (earliest) | `NewPartition` |
//! | topic newly requested | per `first_start` | `NewTopic` |
//! | checkpointed offset below the log start (retention deleted data) | error, or the log start per [`OnDataLoss`] | `DataLoss` |
//! | checkpointed offset above the log end (topic recreated, wrong cluster) | error, or reset per [`OnAheadOfLog`] | `AheadOfLog` |
//! | in the checkpoint but gone from the cluster, or no longer requested | not started; reported in [`ResumePlan::dropped`] | — |
//!
//! "Earliest" is the partition's log start (its low watermark), never a literal 0.
//!
//! ```
//! use tidemark::plan::{plan, ClusterState, Reason, ResumePolicy, StartOffset};
//! use tidemark::{Checkpoint, Offsets};
//!
//! let checkpoint = Checkpoint::new("s", [("orders", 0, 1_500)].into_iter().collect());
//! let mut cluster = ClusterState::new();
//! cluster.add_partition("orders", 0, 1_000, 2_000); // low and high watermarks
//! cluster.add_partition("orders", 1, 300, 900); // added since the checkpoint
//!
//! let plan = plan(Some(&checkpoint), ["orders"], &cluster, &ResumePolicy::default())?;
//! assert_eq!(plan.starts[0].start, StartOffset::Offset(1_500));
//! assert_eq!(plan.starts[0].reason, Reason::Resumed);
//! assert_eq!(plan.starts[1].start, StartOffset::Offset(300));
//! assert_eq!(plan.starts[1].reason, Reason::NewPartition);
//! println!("{plan}"); // a readable table
//! # Ok::<(), tidemark::plan::PlanError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::{Checkpoint, Offsets};

/// A partition's watermarks: the first offset still in the log and the offset the next
/// message will get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    /// The log start offset (low watermark).
    pub low: i64,
    /// The log end offset (high watermark).
    pub high: i64,
}

/// What the cluster holds now: for each topic, its partitions and their watermarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    topics: BTreeMap<String, BTreeMap<i32, Watermarks>>,
}

impl ClusterState {
    /// An empty cluster.
    pub fn new() -> Self {
        ClusterState::default()
    }

    /// Records one partition and its watermarks.
    pub fn add_partition(&mut self, topic: impl Into<String>, partition: i32, low: i64, high: i64) {
        self.topics
            .entry(topic.into())
            .or_default()
            .insert(partition, Watermarks { low, high });
    }

    /// Records a topic (possibly with no partition yet).
    pub fn add_topic(&mut self, topic: impl Into<String>) {
        self.topics.entry(topic.into()).or_default();
    }

    /// The partitions of `topic`, if the cluster has it.
    pub fn topic(&self, topic: &str) -> Option<&BTreeMap<i32, Watermarks>> {
        self.topics.get(topic)
    }

    /// Every partition's log start and log end, as two sets of offsets.
    pub fn bounds(&self) -> (Offsets, Offsets) {
        let (mut low, mut high) = (Offsets::new(), Offsets::new());
        for (topic, partitions) in &self.topics {
            for (p, w) in partitions {
                low.insert(topic.as_str(), *p, w.low);
                high.insert(topic.as_str(), *p, w.high);
            }
        }
        (low, high)
    }
}

/// Where a partition with no usable checkpointed offset starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartPosition {
    /// The log start (low watermark).
    #[default]
    Earliest,
    /// The log end (high watermark): only messages produced from now on.
    Latest,
    /// The first message at or after this time (ms since the Unix epoch), resolved by the
    /// client; the log end when there is none.
    Timestamp(i64),
}

/// What to do when a checkpointed offset is below the log start: the messages in between
/// were deleted by retention before they were consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDataLoss {
    /// Refuse to plan (like Spark's `failOnDataLoss`).
    #[default]
    Fail,
    /// Start at the log start, reporting the lost range.
    Earliest,
}

/// What to do when a checkpointed offset is above the log end (the topic was recreated, or
/// this is another cluster).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnAheadOfLog {
    /// Refuse to plan.
    #[default]
    Fail,
    /// Start where this says, reporting the reset.
    Reset(StartPosition),
}

/// The choices a plan follows where the checkpoint alone does not decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumePolicy {
    /// Where partitions start when there is no checkpoint, and for newly requested topics.
    pub first_start: StartPosition,
    /// Where partitions added to a topic since the checkpoint start.
    pub new_partitions: StartPosition,
    /// Checkpointed offset below the log start.
    pub on_data_loss: OnDataLoss,
    /// Checkpointed offset above the log end.
    pub on_ahead_of_log: OnAheadOfLog,
    /// Keep the offsets of dropped partitions (gone or no longer requested) in the next
    /// checkpoints, so that consuming them again later resumes where they were.
    pub keep_dropped: bool,
}

/// Where one partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// At this offset.
    Offset(i64),
    /// At the first message at or after this time (ms since the Unix epoch), to be resolved
    /// by the client.
    Timestamp(i64),
}

/// Why a partition starts where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No checkpoint: first start.
    FirstStart,
    /// The topic is not in the checkpoint: started as a first start.
    NewTopic,
    /// The partition was added to the topic since the checkpoint.
    NewPartition,
    /// Resumed at the checkpointed offset.
    Resumed,
    /// The checkpointed offset was below the log start; started at the log start. Messages
    /// `checkpointed..log_start` were lost.
    DataLoss {
        /// The checkpointed offset.
        checkpointed: i64,
        /// The log start.
        log_start: i64,
    },
    /// The checkpointed offset was above the log end; reset per policy.
    AheadOfLog {
        /// The checkpointed offset.
        checkpointed: i64,
        /// The log end.
        log_end: i64,
    },
}

impl Reason {
    /// Whether this start deserves a warning (data lost or a reset).
    pub fn is_warning(&self) -> bool {
        matches!(self, Reason::DataLoss { .. } | Reason::AheadOfLog { .. })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FirstStart => f.write_str("first start"),
            Reason::NewTopic => f.write_str("new topic"),
            Reason::NewPartition => f.write_str("new partition"),
            Reason::Resumed => f.write_str("resumed"),
            Reason::DataLoss {
                checkpointed,
                log_start,
            } => write!(
                f,
                "DATA LOSS: offsets {checkpointed}..{log_start} were deleted before being consumed"
            ),
            Reason::AheadOfLog {
                checkpointed,
                log_end,
            } => write!(
                f,
                "RESET: checkpointed offset {checkpointed} is beyond the log end {log_end}"
            ),
        }
    }
}

/// One partition's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStart {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Where it starts.
    pub start: StartOffset,
    /// Why.
    pub reason: Reason,
    /// The offset in the checkpoint, if any.
    pub checkpointed: Option<i64>,
    /// The partition's watermarks when planned.
    pub watermarks: Watermarks,
}

/// Why a checkpointed partition is not in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The cluster no longer has the topic or partition.
    GoneFromCluster,
    /// The topic is no longer requested.
    NoLongerRequested,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::GoneFromCluster => "gone from the cluster",
            DropReason::NoLongerRequested => "no longer requested",
        })
    }
}

/// A checkpointed partition left out of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its checkpointed offset.
    pub offset: i64,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Where every requested partition starts, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumePlan {
    /// The checkpoint the plan resumes from.
    pub checkpoint_id: Option<u64>,
    /// One entry per partition of every requested topic, by topic and partition.
    pub starts: Vec<PartitionStart>,
    /// Checkpointed partitions not in the plan.
    pub dropped: Vec<Dropped>,
    /// Requested topics the cluster does not have (nothing to consume there).
    pub missing_topics: Vec<String>,
    /// Whether dropped partitions are kept in the next checkpoints.
    pub keep_dropped: bool,
}

impl ResumePlan {
    /// The starts that deserve a warning (data loss, resets).
    pub fn warnings(&self) -> impl Iterator<Item = &PartitionStart> {
        self.starts.iter().filter(|s| s.reason.is_warning())
    }

    /// The offsets of dropped partitions to keep in the next checkpoints (empty unless the
    /// policy keeps them).
    pub fn carried_over(&self) -> Offsets {
        if !self.keep_dropped {
            return Offsets::new();
        }
        self.dropped
            .iter()
            .map(|d| (d.topic.clone(), d.partition, d.offset))
            .collect()
    }
}

/// A plan the policy refuses, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resume: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct PlanError {
    /// Each partition the policy refuses to resume.
    pub problems: Vec<PlanProblem>,
}

/// One partition the policy refuses to resume.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanProblem {
    /// The checkpointed offset is below the log start.
    #[error(
        "topic {topic:?} partition {partition}: checkpointed offset {checkpointed} is below the log start {log_start} (messages deleted before being consumed; set on_data_loss to Earliest to accept the loss)"
    )]
    DataLoss {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The checkpointed offset.
        checkpointed: i64,
        /// The log start.
        log_start: i64,
    },
    /// The checkpointed offset is above the log end.
    #[error(
        "topic {topic:?} partition {partition}: checkpointed offset {checkpointed} is beyond the log end {log_end} (topic recreated, or another cluster?)"
    )]
    AheadOfLog {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The checkpointed offset.
        checkpointed: i64,
        /// The log end.
        log_end: i64,
    },
}

/// Plans where every partition of the `requested` topics starts.
///
/// Topics are matched by name and partitions by number, never by position.
pub fn plan<'a>(
    checkpoint: Option<&Checkpoint>,
    requested: impl IntoIterator<Item = &'a str>,
    cluster: &ClusterState,
    policy: &ResumePolicy,
) -> Result<ResumePlan, PlanError> {
    let requested: BTreeSet<&str> = requested.into_iter().collect();
    let empty = Offsets::new();
    let checkpointed = checkpoint.map_or(&empty, |c| &c.offsets);
    let mut out = ResumePlan {
        checkpoint_id: checkpoint.map(|c| c.id),
        starts: Vec::new(),
        dropped: Vec::new(),
        missing_topics: Vec::new(),
        keep_dropped: policy.keep_dropped,
    };
    let mut problems = Vec::new();

    for &topic in &requested {
        let Some(partitions) = cluster.topic(topic) else {
            out.missing_topics.push(topic.to_owned());
            continue;
        };
        let stored = checkpointed.topic(topic);
        for (&partition, &wm) in partitions {
            let at = |position: StartPosition| match position {
                StartPosition::Earliest => StartOffset::Offset(wm.low),
                StartPosition::Latest => StartOffset::Offset(wm.high),
                StartPosition::Timestamp(t) => StartOffset::Timestamp(t),
            };
            let saved = stored.and_then(|p| p.get(&partition).copied());
            let (start, reason) = match (checkpoint, stored, saved) {
                (None, _, _) => (at(policy.first_start), Reason::FirstStart),
                (Some(_), None, _) => (at(policy.first_start), Reason::NewTopic),
                (Some(_), Some(_), None) => (at(policy.new_partitions), Reason::NewPartition),
                (Some(_), Some(_), Some(offset)) if offset < wm.low => match policy.on_data_loss {
                    OnDataLoss::Fail => {
                        problems.push(PlanProblem::DataLoss {
                            topic: topic.to_owned(),
                            partition,
                            checkpointed: offset,
                            log_start: wm.low,
                        });
                        continue;
                    }
                    OnDataLoss::Earliest => (
                        StartOffset::Offset(wm.low),
                        Reason::DataLoss {
                            checkpointed: offset,
                            log_start: wm.low,
                        },
                    ),
                },
                (Some(_), Some(_), Some(offset)) if offset > wm.high => {
                    match policy.on_ahead_of_log {
                        OnAheadOfLog::Fail => {
                            problems.push(PlanProblem::AheadOfLog {
                                topic: topic.to_owned(),
                                partition,
                                checkpointed: offset,
                                log_end: wm.high,
                            });
                            continue;
                        }
                        OnAheadOfLog::Reset(position) => (
                            at(position),
                            Reason::AheadOfLog {
                                checkpointed: offset,
                                log_end: wm.high,
                            },
                        ),
                    }
                }
                (Some(_), Some(_), Some(offset)) => (StartOffset::Offset(offset), Reason::Resumed),
            };
            out.starts.push(PartitionStart {
                topic: topic.to_owned(),
                partition,
                start,
                reason,
                checkpointed: saved,
                watermarks: wm,
            });
        }
    }

    for (topic, partition, offset) in checkpointed.iter() {
        let reason = if !requested.contains(topic) {
            DropReason::NoLongerRequested
        } else if cluster
            .topic(topic)
            .is_none_or(|p| !p.contains_key(&partition))
        {
            DropReason::GoneFromCluster
        } else {
            continue;
        };
        out.dropped.push(Dropped {
            topic: topic.to_owned(),
            partition,
            offset,
            reason,
        });
    }

    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PlanError { problems })
    }
}

impl fmt::Display for ResumePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.checkpoint_id {
            Some(id) => writeln!(f, "resume plan from checkpoint {id}:")?,
            None => writeln!(f, "resume plan (no checkpoint: first start):")?,
        }
        let mut rows = vec![[
            "topic".to_owned(),
            "partition".to_owned(),
            "checkpointed".to_owned(),
            "log start".to_owned(),
            "log end".to_owned(),
            "start".to_owned(),
            "reason".to_owned(),
        ]];
        for s in &self.starts {
            rows.push([
                s.topic.clone(),
                s.partition.to_string(),
                s.checkpointed.map_or("-".into(), |o| o.to_string()),
                s.watermarks.low.to_string(),
                s.watermarks.high.to_string(),
                match s.start {
                    StartOffset::Offset(o) => o.to_string(),
                    StartOffset::Timestamp(t) => format!("time {t}"),
                },
                s.reason.to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..7)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let mut line = String::from(" ");
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 6 {
                    line.push_str(cell);
                } else if (1..=5).contains(&c) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                    line.push_str("  ");
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        for d in &self.dropped {
            let kept = if self.keep_dropped {
                ", kept in checkpoints"
            } else {
                ""
            };
            writeln!(
                f,
                " dropped {}/{} at offset {}: {}{kept}",
                d.topic, d.partition, d.offset, d.reason
            )?;
        }
        for t in &self.missing_topics {
            writeln!(f, " missing topic {t:?}: requested but not in the cluster")?;
        }
        Ok(())
    }
}

/// Tracks the next offset to consume per partition as messages are processed, starting from
/// a plan, so that a checkpoint records exactly "processed + 1" (never the processed offset
/// itself) and includes partitions that got no message yet.
///
/// Messages of one partition must be recorded in the order they were processed.
///
/// ```
/// use tidemark::plan::OffsetTracker;
/// use tidemark::Offsets;
///
/// let mut tracker = OffsetTracker::new([("t", 0, 10), ("t", 1, 20)].into_iter().collect());
/// tracker.processed("t", 0, 10);
/// tracker.processed("t", 0, 11);
/// assert_eq!(tracker.offsets().get("t", 0), Some(12)); // next to consume
/// assert_eq!(tracker.offsets().get("t", 1), Some(20)); // untouched partition keeps its start
/// ```
#[derive(Debug, Clone, Default)]
pub struct OffsetTracker {
    next: Offsets,
    carried: Offsets,
}

impl OffsetTracker {
    /// A tracker starting at these next offsets.
    pub fn new(start: Offsets) -> Self {
        OffsetTracker {
            next: start,
            carried: Offsets::new(),
        }
    }

    /// A tracker starting where `plan` says (partitions starting at a timestamp are added
    /// with [`set_next`](Self::set_next) once resolved), carrying the plan's kept offsets.
    pub fn from_plan(plan: &ResumePlan) -> Self {
        let next = plan
            .starts
            .iter()
            .filter_map(|s| match s.start {
                StartOffset::Offset(o) => Some((s.topic.clone(), s.partition, o)),
                StartOffset::Timestamp(_) => None,
            })
            .collect();
        OffsetTracker {
            next,
            carried: plan.carried_over(),
        }
    }

    /// Records that the message at `offset` was processed: the next to consume is
    /// `offset + 1`.
    pub fn processed(&mut self, topic: &str, partition: i32, offset: i64) {
        self.next.insert(topic, partition, offset + 1);
    }

    /// Sets the next offset to consume directly (after a seek or a resolved timestamp).
    pub fn set_next(&mut self, topic: &str, partition: i32, next: i64) {
        self.next.insert(topic, partition, next);
    }

    /// Forgets a partition (revoked and no longer ours).
    pub fn remove(&mut self, topic: &str, partition: i32) {
        self.next.remove(topic, partition);
    }

    /// The next offsets to consume, plus any carried over: what to checkpoint.
    pub fn offsets(&self) -> Offsets {
        let mut all = self.carried.clone();
        all.extend(self.next.iter().map(|(t, p, o)| (t.to_owned(), p, o)));
        all
    }
}
