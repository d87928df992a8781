//! Resets: new offsets for a stream, planned (pure) and then written as a new checkpoint.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::OpsError;
use crate::plan::ClusterState;
use crate::store::{
    Clock, IMPORT_PROVENANCE_KEY, NewCheckpoint, OPERATOR_ACTION_KEY, Store, WriterConfig,
};
use crate::{Checkpoint, Offsets, format};

/// Which partitions a reset touches: every partition of the base checkpoint ([`Scope::all`]),
/// or the listed topics, each whole or some of its partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Topic → partitions (empty: the whole topic).
    topics: BTreeMap<String, Vec<i32>>,
    /// Whether partitions neither in the base checkpoint nor in the cluster may be written.
    #[serde(skip)]
    allow_new: bool,
}

impl Scope {
    /// Every partition of the base checkpoint.
    pub fn all() -> Self {
        Scope::default()
    }

    /// Adds a whole topic: its partitions in the base checkpoint, or in the cluster when the
    /// checkpoint lacks the topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topics.insert(topic.into(), Vec::new());
        self
    }

    /// Adds some partitions of a topic.
    pub fn with_partitions(
        mut self,
        topic: impl Into<String>,
        partitions: impl IntoIterator<Item = i32>,
    ) -> Self {
        let list = self.topics.entry(topic.into()).or_default();
        list.extend(partitions);
        list.sort_unstable();
        list.dedup();
        self
    }

    /// Allows partitions that are neither in the base checkpoint nor in the cluster (by
    /// default such a partition is refused: a typo, or a topic of another cluster).
    pub fn allow_new_partitions(mut self) -> Self {
        self.allow_new = true;
        self
    }

    /// Whether this is every partition of the base checkpoint.
    pub fn is_all(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topics a reset asks the cluster about: the scope's, or the base checkpoint's.
    pub fn topics<'a>(&'a self, base: &'a Offsets) -> Vec<&'a str> {
        if self.is_all() {
            base.topics().map(|(t, _)| t.as_str()).collect()
        } else {
            self.topics.keys().map(String::as_str).collect()
        }
    }

    /// The partitions selected: the scope's explicit partitions, else the topic's partitions
    /// in `base` (or in `cluster`, when given and `base` lacks the topic).
    pub fn partitions(&self, base: &Offsets, cluster: Option<&ClusterState>) -> Vec<(String, i32)> {
        if self.is_all() {
            return base.iter().map(|(t, p, _)| (t.to_owned(), p)).collect();
        }
        let mut out = Vec::new();
        for (topic, partitions) in &self.topics {
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
}

/// Where a reset moves the selected partitions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResetTo {
    /// The log start of each partition (needs [`ResetInputs::cluster`]).
    Earliest,
    /// The log end of each partition (needs [`ResetInputs::cluster`]).
    Latest,
    /// This offset.
    Offset(i64),
    /// The current offset moved by this many messages (negative: back), at least 0.
    ShiftBy(i64),
    /// The first offset at or after this time (needs [`ResetInputs::offsets_at_time`]).
    Datetime(SystemTime),
    /// The first offset at or after now minus this duration (needs
    /// [`ResetInputs::offsets_at_time`]).
    ByDuration(Duration),
    /// The offsets of an earlier checkpoint of the stream, for the partitions it has (needs
    /// [`ResetInputs::checkpoint`]; [`load_inputs`] reads it).
    Checkpoint(u64),
    /// These offsets (a CSV file, say), for the partitions the scope selects.
    Offsets(Offsets),
    /// The current offsets (with the cluster's watermarks: clamped to the log range).
    Current,
}

impl ResetTo {
    /// The mode as the command line names it: `--to-earliest`, `--shift-by`, ...
    pub fn flag(&self) -> &'static str {
        match self {
            ResetTo::Earliest => "--to-earliest",
            ResetTo::Latest => "--to-latest",
            ResetTo::Offset(_) => "--to-offset",
            ResetTo::ShiftBy(_) => "--shift-by",
            ResetTo::Datetime(_) => "--to-datetime",
            ResetTo::ByDuration(_) => "--by-duration",
            ResetTo::Checkpoint(_) => "--to-checkpoint",
            ResetTo::Offsets(_) => "--from-file",
            ResetTo::Current => "--to-current",
        }
    }

    /// The mode with its argument, as the command line gives it (`--shift-by -100`): what
    /// the checkpoint a reset writes records as the operator's action.
    pub fn describe(&self) -> String {
        let arg = match self {
            ResetTo::Offset(n) | ResetTo::ShiftBy(n) => format!(" {n}"),
            ResetTo::Datetime(_) => format!(
                " {}",
                self.time_ms(SystemTime::UNIX_EPOCH).unwrap_or_default()
            ),
            ResetTo::ByDuration(d) => format!(" {}s", d.as_secs()),
            ResetTo::Checkpoint(id) => format!(" {id}"),
            _ => String::new(),
        };
        format!("{}{arg}", self.flag())
    }

    /// Whether the mode needs data from the Kafka cluster.
    pub fn asks_cluster(&self) -> bool {
        matches!(
            self,
            ResetTo::Earliest | ResetTo::Latest | ResetTo::Datetime(_) | ResetTo::ByDuration(_)
        )
    }

    /// For the time modes, the time to look offsets up at (`now` minus the duration for
    /// [`ResetTo::ByDuration`]), in ms since the Unix epoch.
    pub fn time_ms(&self, now: SystemTime) -> Option<i64> {
        let at = match self {
            ResetTo::Datetime(t) => *t,
            ResetTo::ByDuration(d) => now.checked_sub(*d).unwrap_or(SystemTime::UNIX_EPOCH),
            _ => return None,
        };
        Some(
            at.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

/// The data a reset mode reads besides the base checkpoint: what the cluster said, or an
/// earlier checkpoint. [`load_inputs`] and `kafka_inputs` fill it; tests and other fronts
/// may build it by hand.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ResetInputs {
    /// The watermarks of the scope's topics ([`ResetTo::Earliest`], [`ResetTo::Latest`], and
    /// a whole topic the base checkpoint lacks).
    pub cluster: Option<ClusterState>,
    /// For the time modes: the first offset at or after the time of each selected partition.
    pub offsets_at_time: Option<Offsets>,
    /// For [`ResetTo::Checkpoint`]: that checkpoint.
    pub checkpoint: Option<Checkpoint>,
}

impl ResetInputs {
    /// Inputs holding the cluster's watermarks.
    pub fn with_cluster(mut self, cluster: ClusterState) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Inputs holding the offsets found for a time.
    pub fn with_offsets_at_time(mut self, offsets: Offsets) -> Self {
        self.offsets_at_time = Some(offsets);
        self
    }

    /// Inputs holding an earlier checkpoint.
    pub fn with_checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }
}

/// Reads what a reset needs from the store: the earlier checkpoint of
/// [`ResetTo::Checkpoint`]; nothing for the other modes.
pub async fn load_inputs(
    store: &Store,
    base: &Checkpoint,
    to: &ResetTo,
) -> Result<ResetInputs, OpsError> {
    let mut inputs = ResetInputs::default();
    if let ResetTo::Checkpoint(id) = to {
        inputs.checkpoint = Some(super::get(store, &base.stream, *id).await?);
    }
    Ok(inputs)
}

/// Asks Kafka what a reset needs (blocking): the watermarks of the scope's topics (every
/// mode: the plan clamps to the log range and checks that partitions exist) and, for the time
/// modes, the first offset at or after the time (`now` anchors [`ResetTo::ByDuration`]).
#[cfg(feature = "kafka")]
pub fn kafka_inputs<K, C>(
    consumer: &K,
    base: &Checkpoint,
    to: &ResetTo,
    scope: &Scope,
    now: SystemTime,
    timeout: Duration,
) -> Result<ResetInputs, OpsError>
where
    K: rdkafka::consumer::Consumer<C>,
    C: rdkafka::consumer::ConsumerContext,
{
    let mut inputs = ResetInputs::default();
    let mut topics = scope.topics(&base.offsets);
    if let ResetTo::Offsets(given) = to {
        topics.extend(given.topics().map(|(t, _)| t.as_str()));
        topics.sort_unstable();
        topics.dedup();
    }
    let cluster = crate::kafka::cluster_state(consumer, &topics, timeout)?;
    if let Some(ms) = to.time_ms(now) {
        let targets = scope.partitions(&base.offsets, Some(&cluster));
        inputs.offsets_at_time = Some(crate::kafka::offsets_for_time(
            consumer, &targets, ms, &cluster, timeout,
        )?);
    }
    inputs.cluster = Some(cluster);
    Ok(inputs)
}

/// Plans a reset of `base`'s stream: the new offset of each partition `scope` selects, from
/// `to` and the `inputs` it needs. Pure: reads nothing, writes nothing. Fails when a needed
/// input is missing, a partition is not in the cluster's data, nothing is selected, or the
/// new checkpoint could not be written (a negative offset, a format limit).
///
/// ```
/// use tidemark::{Checkpoint, ops::{self, ResetInputs, ResetTo, Scope}, plan::ClusterState};
///
/// let base = Checkpoint::new("s", [("t", 0, 50), ("t", 1, 70)].into_iter().collect()).with_id(3);
/// let mut cluster = ClusterState::new();
/// cluster.add_partition("t", 0, 10, 100);
/// cluster.add_partition("t", 1, 20, 200);
/// let inputs = ResetInputs::default().with_cluster(cluster);
/// let plan = ops::plan_reset(&base, &ResetTo::Earliest, &Scope::all(), &inputs)?;
/// assert_eq!(plan.offsets().get("t", 1), Some(20));
/// assert_eq!(plan.changes[0].change, Some(-40));
/// // Asking the cluster without its data fails before anything is written.
/// assert!(ops::plan_reset(&base, &ResetTo::Latest, &Scope::all(), &ResetInputs::default()).is_err());
/// # Ok::<(), ops::OpsError>(())
/// ```
pub fn plan_reset(
    base: &Checkpoint,
    to: &ResetTo,
    scope: &Scope,
    inputs: &ResetInputs,
) -> Result<ResetPlan, OpsError> {
    let current = &base.offsets;
    let mut changes = Offsets::new();
    let missing = |needs| OpsError::MissingInput {
        mode: to.flag(),
        needs,
    };
    match to {
        ResetTo::Offsets(given) => {
            let selected = (!scope.is_all()).then(|| scope.partitions(current, None));
            for (t, p, o) in given.iter() {
                if selected
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|(st, sp)| st == t && *sp == p))
                {
                    changes.insert(t, p, o);
                }
            }
        }
        ResetTo::Checkpoint(id) => {
            let older = inputs
                .checkpoint
                .as_ref()
                .filter(|c| c.id == *id)
                .ok_or_else(|| missing("the checkpoint to reset to"))?;
            for (t, p) in scope.partitions(current, None) {
                if let Some(o) = older.offsets.get(&t, p) {
                    changes.insert(t, p, o);
                }
            }
        }
        ResetTo::Offset(n) => {
            for (t, p) in scope.partitions(current, None) {
                changes.insert(t, p, *n);
            }
        }
        ResetTo::ShiftBy(n) => {
            for (t, p) in scope.partitions(current, None) {
                let o = current.get(&t, p).unwrap_or(0);
                changes.insert(t, p, o.saturating_add(*n));
            }
        }
        ResetTo::Current => {
            for (t, p) in scope.partitions(current, None) {
                if let Some(o) = current.get(&t, p) {
                    changes.insert(t, p, o);
                }
            }
        }
        ResetTo::Earliest | ResetTo::Latest => {
            let cluster = inputs
                .cluster
                .as_ref()
                .ok_or_else(|| missing("the cluster's watermarks"))?;
            for (t, p) in scope.partitions(current, Some(cluster)) {
                let wm = cluster
                    .topic(&t)
                    .and_then(|ps| ps.get(&p))
                    .copied()
                    .ok_or_else(|| OpsError::NotInCluster {
                        topic: t.clone(),
                        partition: p,
                    })?;
                let o = if matches!(to, ResetTo::Earliest) {
                    wm.low
                } else {
                    wm.high
                };
                changes.insert(t, p, o);
            }
        }
        ResetTo::Datetime(_) | ResetTo::ByDuration(_) => {
            let found = inputs
                .offsets_at_time
                .as_ref()
                .ok_or_else(|| missing("the offsets found for the time"))?;
            for (t, p) in scope.partitions(current, inputs.cluster.as_ref()) {
                let o = found.get(&t, p).ok_or_else(|| OpsError::NotInCluster {
                    topic: t.clone(),
                    partition: p,
                })?;
                changes.insert(t, p, o);
            }
        }
    }
    let checks = Checks {
        cluster: inputs.cluster.as_ref(),
        clamp_negative: matches!(to, ResetTo::ShiftBy(_)),
        allow_new: scope.allow_new,
    };
    let plan = ResetPlan::new("reset", &base.stream, Some(base), changes, &checks)?;
    Ok(plan.with_description(format!("reset {}", to.describe())))
}

/// What [`ResetPlan::new`] checks besides the format's rules.
struct Checks<'a> {
    /// The cluster's watermarks: offsets are clamped to the log range, partitions must exist.
    cluster: Option<&'a ClusterState>,
    /// A negative offset is clamped to 0 (computed by `--shift-by`) rather than refused.
    clamp_negative: bool,
    /// Partitions neither in the base nor in the cluster are allowed.
    allow_new: bool,
}

/// Plans an import: `imported` offsets written over the stream's latest checkpoint `base`
/// (or as its first checkpoint). Pure; fails as [`plan_reset`] does.
pub fn plan_import(
    stream: &str,
    base: Option<&Checkpoint>,
    imported: Offsets,
) -> Result<ResetPlan, OpsError> {
    let checks = Checks {
        cluster: None,
        clamp_negative: false,
        allow_new: true,
    };
    ResetPlan::new("import", stream, base, imported, &checks)
}

/// Plans rewinding `stream` to its checkpoint `id`: every partition of that checkpoint gets
/// its offset back (partitions it lacks keep theirs). Reads the latest and the earlier
/// checkpoint; writes nothing until [`ResetPlan::execute`].
pub async fn rewind(store: &Store, stream: &str, id: u64) -> Result<ResetPlan, OpsError> {
    let base = super::latest(store, stream).await?.checkpoint;
    let to = ResetTo::Checkpoint(id);
    let inputs = load_inputs(store, &base, &to).await?;
    plan_reset(&base, &to, &Scope::all(), &inputs)
}

/// Where an import's offsets came from, recorded in the checkpoint it writes
/// ([`ResetPlan::with_provenance`]).
///
/// ```
/// use tidemark::ops::ImportProvenance;
///
/// let p = ImportProvenance::new("spark-checkpoint", "/chk/orders")
///     .with_file("/chk/orders/offsets/41")
///     .with_spark_batch(41, 1_764_000_000_000);
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"source":"spark-checkpoint","location":"/chk/orders","file":"/chk/orders/offsets/41","spark_batch_id":41,"spark_batch_time_ms":1764000000000}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportProvenance {
    /// The source system: `csv`, `kafka-group`, `spark-checkpoint` or `zookeeper`.
    pub source: String,
    /// What was read: the CSV file, the consumer group, the Spark checkpoint folder, the
    /// ZooKeeper ensemble and group.
    pub location: String,
    /// The file the offsets were read from, when there was one (Spark's `offsets/<batch>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A Spark checkpoint's batch id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_batch_id: Option<u64>,
    /// A Spark checkpoint's batch time, in milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_batch_time_ms: Option<u64>,
}

impl ImportProvenance {
    /// Offsets read from `location` of the `source` system.
    pub fn new(source: impl Into<String>, location: impl Into<String>) -> Self {
        ImportProvenance {
            source: source.into(),
            location: location.into(),
            file: None,
            spark_batch_id: None,
            spark_batch_time_ms: None,
        }
    }

    /// The file the offsets were read from.
    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The Spark batch the offsets belong to.
    pub fn with_spark_batch(mut self, batch_id: u64, batch_time_ms: u64) -> Self {
        self.spark_batch_id = Some(batch_id);
        self.spark_batch_time_ms = Some(batch_time_ms);
        self
    }
}

/// One partition of a [`ResetPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OffsetChange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its offset in the base checkpoint (`None`: new).
    pub before: Option<i64>,
    /// Its new offset.
    pub after: i64,
    /// `after - before`, when it had an offset.
    pub change: Option<i64>,
    /// Set when the offset asked for was outside the log range (or below 0) and `after` was
    /// clamped to it.
    pub clamped: Option<Clamp>,
}

/// An offset moved into range: what was asked for and the bound it was clamped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Clamp {
    /// The offset asked for.
    pub requested: i64,
    /// The bound: `log_start`, `log_end`, or `zero` (no broker given).
    pub to: ClampBound,
}

/// The bound an offset was clamped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClampBound {
    /// The partition's log start (its oldest offset still in the log).
    LogStart,
    /// The partition's log end (the next offset to be written).
    LogEnd,
    /// Zero: the offset was negative and no broker was given to know the log start.
    Zero,
}

impl std::fmt::Display for ClampBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClampBound::LogStart => "log start",
            ClampBound::LogEnd => "log end",
            ClampBound::Zero => "0",
        })
    }
}

/// A planned reset or import: the new offsets, validated, not written yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ResetPlan {
    /// `reset` or `import`.
    pub operation: String,
    /// The stream.
    pub stream: String,
    /// The checkpoint the plan starts from (`None`: the stream has none).
    pub base_id: Option<u64>,
    /// Each changed partition, sorted.
    pub changes: Vec<OffsetChange>,
    /// The operator's action, as the written checkpoint records it (`reset --shift-by -100`).
    pub action: String,
    #[serde(skip)]
    next: Offsets,
    #[serde(skip)]
    batch_time_ms: u64,
    #[serde(skip)]
    metadata: BTreeMap<String, Vec<u8>>,
}

impl ResetPlan {
    fn new(
        operation: &str,
        stream: &str,
        base: Option<&Checkpoint>,
        changes: Offsets,
        checks: &Checks<'_>,
    ) -> Result<ResetPlan, OpsError> {
        if changes.is_empty() {
            return Err(OpsError::NothingSelected {
                operation: operation.to_owned(),
            });
        }
        let mut next = base.map(|b| b.offsets.clone()).unwrap_or_default();
        let mut list = Vec::with_capacity(changes.partition_count());
        for (topic, partition, requested) in changes.iter() {
            let invalid = || OpsError::InvalidOffset {
                topic: topic.to_owned(),
                partition,
                offset: requested,
            };
            if partition < 0 || (requested < 0 && !checks.clamp_negative) {
                return Err(invalid());
            }
            let in_base = base.is_some_and(|b| b.offsets.get(topic, partition).is_some());
            let range = checks
                .cluster
                .and_then(|c| c.topic(topic))
                .and_then(|ps| ps.get(&partition))
                .copied();
            if !in_base && range.is_none() && !checks.allow_new {
                return Err(OpsError::UnknownPartition {
                    topic: topic.to_owned(),
                    partition,
                    cluster_checked: checks.cluster.is_some(),
                });
            }
            let clamp = |to| Some(Clamp { requested, to });
            let (after, clamped) = match range {
                Some(wm) if requested < wm.low => (wm.low, clamp(ClampBound::LogStart)),
                Some(wm) if requested > wm.high => (wm.high, clamp(ClampBound::LogEnd)),
                _ if requested < 0 => (0, clamp(ClampBound::Zero)),
                _ => (requested, None),
            };
            let before = next.insert(topic, partition, after);
            list.push(OffsetChange {
                topic: topic.to_owned(),
                partition,
                before,
                after,
                change: before.map(|b| after.saturating_sub(b)),
                clamped,
            });
        }
        let mut plan = ResetPlan {
            operation: operation.to_owned(),
            stream: stream.to_owned(),
            base_id: base.map(|b| b.id),
            changes: list,
            action: operation.to_owned(),
            next,
            batch_time_ms: base.map_or(0, |b| b.batch_time_ms),
            metadata: base.map(|b| b.metadata.clone()).unwrap_or_default(),
        };
        // An earlier import's provenance is not this action's.
        plan.metadata.remove(IMPORT_PROVENANCE_KEY);
        plan.check_encodable()?;
        Ok(plan)
    }

    /// Every rule of the format, checked on the checkpoint as it will be written (with the
    /// longest operator action).
    fn check_encodable(&self) -> Result<(), OpsError> {
        let mut check = Checkpoint::new(&self.stream, self.next.clone()).with_id(u64::MAX);
        check.metadata = self.metadata.clone();
        check.metadata.insert(
            OPERATOR_ACTION_KEY.to_owned(),
            vec![b'x'; MAX_ACTION_BYTES + 64],
        );
        format::encode(&check).map_err(|source| OpsError::Invalid {
            stream: self.stream.clone(),
            source,
        })?;
        Ok(())
    }

    /// Records where an import's offsets came from in the checkpoint the plan writes (under
    /// [`IMPORT_PROVENANCE_KEY`], as JSON); a Spark batch's time, when known, becomes its
    /// batch time.
    /// Fails when the checkpoint would then break a rule of the format.
    pub fn with_provenance(mut self, provenance: &ImportProvenance) -> Result<Self, OpsError> {
        let json = serde_json::to_vec(provenance).expect("provenance serializes");
        self.metadata.insert(IMPORT_PROVENANCE_KEY.to_owned(), json);
        // 0: Spark's offsets file had no batch time.
        if let Some(time_ms) = provenance.spark_batch_time_ms
            && time_ms > 0
        {
            self.batch_time_ms = time_ms;
        }
        self.check_encodable()?;
        Ok(self)
    }

    /// Every offset of the checkpoint the plan would write (the base's, with the changes).
    pub fn offsets(&self) -> &Offsets {
        &self.next
    }

    /// The report of not executing the plan.
    pub fn dry_run(&self) -> ResetReport {
        self.report(None)
    }

    /// Sets the operator's action the written checkpoint records (`import --from-csv
    /// offsets.csv`); [`plan_reset`] sets it from the mode, [`plan_import`] to `import`.
    pub fn with_description(mut self, action: impl Into<String>) -> Self {
        let mut action: String = action.into();
        if action.len() > MAX_ACTION_BYTES {
            let mut end = MAX_ACTION_BYTES;
            while !action.is_char_boundary(end) {
                end -= 1;
            }
            action.truncate(end);
        }
        self.action = action;
        self
    }

    /// Checks that executing is safe now (nothing is written): unless `execution.force`, the
    /// stream's writer must not look alive ([`writer_liveness`](super::writer_liveness) over
    /// `execution.alive_window`) and the consumer group, when given, must have no members.
    pub async fn check(&self, store: &Store, execution: &Execution) -> Result<(), OpsError> {
        if execution.force {
            return Ok(());
        }
        if let Some(group) = &execution.group
            && !group.members.is_empty()
        {
            return Err(OpsError::GroupActive {
                group: group.group.clone(),
                members: group.members.clone(),
            });
        }
        if let Some(newest) = store.latest(&self.stream).await? {
            let now = crate::store::SystemClock.now_ms();
            let liveness = super::writer_liveness(&newest, now, execution.alive_window);
            if liveness.alive {
                return Err(OpsError::WriterAlive {
                    stream: self.stream.clone(),
                    writer: Box::new(newest.writer),
                    liveness,
                });
            }
        }
        Ok(())
    }

    /// Writes the plan as **one** checkpoint of the stream: a claim (which fences any writer
    /// still running) holding the new offsets, the base checkpoint's batch time and metadata,
    /// and the operator's action (`reset --shift-by -100 by ops@host-1`, under
    /// [`OPERATOR_ACTION_KEY`]), written by `tidemark <operation>`. Refused first as
    /// [`ResetPlan::check`] says; without `force`, also refused (writing nothing) when the
    /// stream moved since the plan was made. Either the whole checkpoint is committed or
    /// nothing is.
    pub async fn execute(
        &self,
        store: &Store,
        execution: &Execution,
    ) -> Result<ResetReport, OpsError> {
        self.check(store, execution).await?;
        let config = WriterConfig::new(format!("tidemark {}", self.operation), crate::VERSION);
        let mut new = NewCheckpoint::new(self.next.clone()).with_batch_time_ms(self.batch_time_ms);
        new.metadata = self.metadata.clone();
        new.metadata.insert(
            OPERATOR_ACTION_KEY.to_owned(),
            format!("{} by {}", self.action, execution.actor).into_bytes(),
        );
        let expected = (!execution.force).then_some(self.base_id);
        let committed = store
            .claim_with_offsets(&self.stream, config, new, expected)
            .await?;
        Ok(self.report(Some(committed.id)))
    }

    fn report(&self, written: Option<u64>) -> ResetReport {
        ResetReport {
            operation: self.operation.clone(),
            stream: self.stream.clone(),
            base_id: self.base_id,
            dry_run: written.is_none(),
            action: self.action.clone(),
            changes: self.changes.clone(),
            checkpoint_id: written,
        }
    }
}

/// The longest operator action text recorded (longer ones are cut).
const MAX_ACTION_BYTES: usize = 1024;

/// How a plan is executed: who does it, and what may stop it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Execution {
    /// Who runs it, recorded with the action: `user@host` by default.
    pub actor: String,
    /// Write even while the writer looks alive or the group has members.
    pub force: bool,
    /// The liveness window (see [`writer_liveness`](super::writer_liveness)).
    pub alive_window: Duration,
    /// The consumer group to check, with its members as the cluster listed them.
    pub group: Option<GroupCheck>,
}

impl Default for Execution {
    fn default() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".to_owned());
        Execution {
            actor: format!("{user}@{}", WriterConfig::new("", "").host),
            force: false,
            alive_window: super::DEFAULT_ALIVE_WINDOW,
            group: None,
        }
    }
}

/// The name of this process's user, from its uid (`/proc/self/status`) and `/etc/passwd`,
/// when the environment does not say.
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

impl Execution {
    /// Writes even while the writer looks alive or the group has members.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets the liveness window.
    pub fn with_alive_window(mut self, window: Duration) -> Self {
        self.alive_window = window;
        self
    }

    /// Sets the consumer group and its members.
    pub fn with_group(mut self, group: impl Into<String>, members: Vec<String>) -> Self {
        self.group = Some(GroupCheck {
            group: group.into(),
            members,
        });
        self
    }
}

/// A consumer group and its members (each described as `client-id on host`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupCheck {
    /// The group.
    pub group: String,
    /// Its members.
    pub members: Vec<String>,
}

impl ResetReport {
    /// The new offsets of the changed partitions (what `--export` prints as CSV).
    pub fn new_offsets(&self) -> Offsets {
        super::export::changed(&self.changes)
    }
}

/// What a reset or import did: its changes, and the checkpoint written unless a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ResetReport {
    /// `reset` or `import`.
    pub operation: String,
    /// The stream.
    pub stream: String,
    /// The checkpoint the reset started from.
    pub base_id: Option<u64>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The operator's action (`reset --shift-by -100`).
    pub action: String,
    /// Each changed partition, sorted.
    pub changes: Vec<OffsetChange>,
    /// The checkpoint written, unless a dry run.
    pub checkpoint_id: Option<u64>,
}
