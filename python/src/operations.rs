//! Bindings of `tidemark::ops`, the operations every front shares: lag, progress and diff
//! (pure), and reset planning (every mode of `tidemark reset`, rewinding to a checkpoint
//! included) with its execution. The reports are the library's, field for field.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use tidemark::blocking;
use tidemark::ops::{self, OpsError, ResetInputs, ResetTo, Scope};

use crate::{
    ClusterArg, InvalidCheckpointError, OffsetsArg, PyCheckpoint, PyStore, TidemarkError,
    cluster_from, duration_arg, error_with, from_ms, kafka_err, obj, offsets_from, offsets_to,
    store_err,
};

create_exception!(
    _tidemark,
    OperationError,
    TidemarkError,
    "An operation (reset, rewind, lag) was refused before anything was written (base class)."
);
create_exception!(
    _tidemark,
    NoCheckpointError,
    OperationError,
    "The stream has no valid checkpoint (`stream`, `store`)."
);
create_exception!(
    _tidemark,
    NothingSelectedError,
    OperationError,
    "A reset selected no partition; nothing to do (`operation`)."
);
create_exception!(
    _tidemark,
    NotInClusterError,
    OperationError,
    "A partition a reset asks about is not in the cluster's data (`topic`, `partition`)."
);
create_exception!(
    _tidemark,
    MissingInputError,
    OperationError,
    "A reset mode needs data that was not given (`mode`, `needs`)."
);
create_exception!(
    _tidemark,
    InvalidOffsetError,
    OperationError,
    "A new offset would be negative, or a partition number is negative (`topic`, `partition`, `offset`)."
);

create_exception!(
    _tidemark,
    WriterAliveError,
    OperationError,
    "The stream's writer looks alive (its newest checkpoint is younger than the window): a reset would fence it mid-stream; pass force=True to write anyway (`stream`, `checkpoint`, `age_ms`, `window_ms`)."
);

/// Converts an operation's error into the matching Python exception: the store's and Kafka's
/// errors as their own classes, the operation's refusals as `OperationError` subclasses.
fn ops_err(py: Python<'_>, e: OpsError) -> PyErr {
    let message = tidemark::error_chain(&e);
    match e {
        OpsError::Store(e) => store_err(py, e),
        OpsError::Kafka(e) => kafka_err(py, e),
        OpsError::NoCheckpoint { stream, store } => error_with::<NoCheckpointError>(
            py,
            message,
            vec![("stream", obj(py, stream)), ("store", obj(py, store))],
        ),
        OpsError::WriterAlive {
            stream, liveness, ..
        } => error_with::<WriterAliveError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("checkpoint", obj(py, liveness.checkpoint)),
                ("age_ms", obj(py, liveness.age_ms)),
                ("window_ms", obj(py, liveness.window_ms)),
            ],
        ),
        OpsError::NoSuchCheckpoint { stream, id, .. } => error_with::<crate::NotFoundError>(
            py,
            message,
            vec![("stream", obj(py, stream)), ("id", obj(py, id))],
        ),
        OpsError::NothingSelected { operation } => {
            error_with::<NothingSelectedError>(py, message, vec![("operation", obj(py, operation))])
        }
        OpsError::NotInCluster { topic, partition } => error_with::<NotInClusterError>(
            py,
            message,
            vec![("topic", obj(py, topic)), ("partition", obj(py, partition))],
        ),
        OpsError::MissingInput { mode, needs } => error_with::<MissingInputError>(
            py,
            message,
            vec![("mode", obj(py, mode)), ("needs", obj(py, needs))],
        ),
        OpsError::InvalidOffset {
            topic,
            partition,
            offset,
        } => error_with::<InvalidOffsetError>(
            py,
            message,
            vec![
                ("topic", obj(py, topic)),
                ("partition", obj(py, partition)),
                ("offset", obj(py, offset)),
            ],
        ),
        OpsError::Invalid { stream, source } => error_with::<InvalidCheckpointError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("format_kind", obj(py, source.kind().as_str())),
            ],
        ),
        _ => PyErr::new::<OperationError, _>(message),
    }
}

/// The runtime the async operations run on: one for the process, never shut down, so that
/// connections a backend opens from it stay usable by the store afterwards.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tidemark-ops")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))
}

fn kafka_timeout(timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err("timeout must be a non-negative number of seconds"))
}

// ---- lag, progress, diff ----------------------------------------------------------------------

/// One partition of a `LagReport`.
#[pyclass(frozen, get_all, module = "tidemark")]
#[derive(Clone)]
struct PartitionLag {
    /// The topic.
    topic: String,
    /// The partition.
    partition: i32,
    /// The checkpointed next offset.
    checkpointed: i64,
    /// The partition's log start (low watermark), or None when the cluster lacks the partition.
    log_start: Option<i64>,
    /// The partition's log end (high watermark), or None when the cluster lacks the partition.
    log_end: Option<i64>,
    /// Records a resume would read: `log_end - max(checkpointed, log_start)`, at least 0, or
    /// None when the cluster lacks the partition.
    lag: Option<i64>,
    /// Records deleted below the log start before they were read (`log_start -
    /// checkpointed`), or None.
    lost: Option<i64>,
    /// `"ok"`, `"behind_log_start"`, `"ahead_of_log_end"` or `"not_in_cluster"`.
    state: String,
}

#[pymethods]
impl PartitionLag {
    fn __repr__(&self) -> String {
        format!(
            "PartitionLag(topic={:?}, partition={}, checkpointed={}, log_start={}, log_end={}, \
             lag={}, lost={}, state={:?})",
            self.topic,
            self.partition,
            self.checkpointed,
            py_opt(self.log_start),
            py_opt(self.log_end),
            py_opt(self.lag),
            py_opt(self.lost),
            self.state
        )
    }
}

/// A partition of a checkpointed topic that the checkpoint does not name (added since): a
/// resume starts it at its log start.
#[pyclass(frozen, get_all, module = "tidemark")]
#[derive(Clone)]
struct NewPartitionLag {
    /// The topic.
    topic: String,
    /// The partition.
    partition: i32,
    /// Its log start.
    log_start: i64,
    /// Its log end.
    log_end: i64,
    /// Records a resume would read from the log start.
    lag: i64,
}

#[pymethods]
impl NewPartitionLag {
    fn __repr__(&self) -> String {
        format!(
            "NewPartitionLag(topic={:?}, partition={}, log_start={}, log_end={}, lag={})",
            self.topic, self.partition, self.log_start, self.log_end, self.lag
        )
    }
}

/// How far a checkpoint is behind the log ends (`tidemark lag`'s report).
#[pyclass(frozen, get_all, module = "tidemark")]
struct LagReport {
    /// The stream.
    stream: String,
    /// The checkpoint's id.
    checkpoint: u64,
    /// When the checkpoint was written, ms since the Unix epoch.
    created_at_ms: u64,
    /// One `PartitionLag` per partition of the checkpoint, by topic and partition.
    partitions: Vec<PartitionLag>,
    /// The sum of the lags (partitions the cluster lacks count 0).
    total_lag: i64,
    /// Partitions of the checkpoint's topics that the cluster has and the checkpoint does not.
    new_partitions: Vec<NewPartitionLag>,
    /// The sum of the lags of `new_partitions`.
    new_partitions_lag: i64,
    /// Records deleted before they were read, over every partition.
    total_lost: i64,
}

#[pymethods]
impl LagReport {
    fn __repr__(&self) -> String {
        format!(
            "LagReport(stream={:?}, checkpoint={}, partitions={}, total_lag={}, \
             new_partitions={}, new_partitions_lag={}, total_lost={})",
            self.stream,
            self.checkpoint,
            self.partitions.len(),
            self.total_lag,
            self.new_partitions.len(),
            self.new_partitions_lag,
            self.total_lost
        )
    }
}

fn py_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

fn lag_report(r: ops::LagReport) -> LagReport {
    LagReport {
        partitions: r
            .partitions
            .into_iter()
            .map(|p| PartitionLag {
                topic: p.topic,
                partition: p.partition,
                checkpointed: p.checkpointed,
                log_start: p.log_start,
                log_end: p.log_end,
                lag: p.lag,
                lost: p.lost,
                state: match p.state {
                    ops::LagState::Ok => "ok",
                    ops::LagState::BehindLogStart => "behind_log_start",
                    ops::LagState::AheadOfLogEnd => "ahead_of_log_end",
                    ops::LagState::NotInCluster => "not_in_cluster",
                    _ => "unknown",
                }
                .to_owned(),
            })
            .collect(),
        new_partitions: r
            .new_partitions
            .into_iter()
            .map(|p| NewPartitionLag {
                topic: p.topic,
                partition: p.partition,
                log_start: p.log_start,
                log_end: p.log_end,
                lag: p.lag,
            })
            .collect(),
        stream: r.stream,
        checkpoint: r.checkpoint,
        created_at_ms: r.created_at_ms,
        total_lag: r.total_lag,
        new_partitions_lag: r.new_partitions_lag,
        total_lost: r.total_lost,
    }
}

/// The lag of each partition of `checkpoint` behind its log end, from the cluster dict
/// `{topic: {partition: (log_start, log_end)}}` (`kafka_partitions` returns one). Partitions
/// the cluster dict lacks have `log_end` and `lag` None. The library's `ops::lag`.
#[pyfunction]
fn lag(checkpoint: &Bound<'_, PyCheckpoint>, cluster: ClusterArg) -> LagReport {
    lag_report(ops::lag(&checkpoint.get().inner, &cluster_from(&cluster)))
}

/// The lag of the latest checkpoint of `stream` behind the log ends of the Kafka cluster at
/// `bootstrap` (what `tidemark lag` shows). Each request waits at most `timeout` seconds.
/// Raises `NoCheckpointError` or `KafkaError`.
#[pyfunction]
#[pyo3(signature = (store, stream, bootstrap, timeout=10.0))]
fn kafka_lag(
    py: Python<'_>,
    store: &Bound<'_, PyStore>,
    stream: String,
    bootstrap: String,
    timeout: f64,
) -> PyResult<LagReport> {
    let timeout = kafka_timeout(timeout)?;
    let rt = runtime()?;
    let store = store.get().inner.clone();
    let report = py
        .detach(|| -> Result<ops::LagReport, OpsError> {
            let c = rt
                .block_on(ops::latest(store.as_async(), &stream))?
                .checkpoint;
            let consumer = tidemark::kafka::tool_consumer(&bootstrap, "tidemark-python-lag")?;
            let topics: Vec<&str> = c.offsets.topics().map(|(t, _)| t.as_str()).collect();
            let cluster = tidemark::kafka::cluster_state(&consumer, &topics, timeout)?;
            Ok(ops::lag(&c, &cluster))
        })
        .map_err(|e| ops_err(py, e))?;
    Ok(lag_report(report))
}

/// Progress between two checkpoints of a stream (what `tidemark log` shows per checkpoint).
#[pyclass(frozen, get_all, module = "tidemark")]
struct Progress {
    /// Messages consumed: over the newer checkpoint's partitions, the positive offset deltas
    /// (a partition new in it, or moved back, counts 0).
    messages: i64,
    /// Seconds between the two checkpoints' creation times (0 when the newer is not later).
    seconds: f64,
    /// `messages / seconds`, or 0 when no time passed.
    messages_per_second: f64,
}

#[pymethods]
impl Progress {
    fn __repr__(&self) -> String {
        format!(
            "Progress(messages={}, seconds={}, messages_per_second={})",
            self.messages, self.seconds, self.messages_per_second
        )
    }
}

/// Messages consumed from `older` to `newer` and the rate (the library's `ops::progress`).
#[pyfunction]
fn progress(older: &Bound<'_, PyCheckpoint>, newer: &Bound<'_, PyCheckpoint>) -> Progress {
    let p = ops::progress(&older.get().inner, &newer.get().inner);
    Progress {
        messages: p.messages,
        seconds: p.seconds,
        messages_per_second: p.messages_per_second,
    }
}

/// One partition of a `DiffReport`.
#[pyclass(frozen, get_all, module = "tidemark")]
#[derive(Clone)]
struct PartitionDiff {
    /// The topic.
    topic: String,
    /// The partition.
    partition: i32,
    /// Its offset in checkpoint A (None: added in B).
    a: Option<i64>,
    /// Its offset in checkpoint B (None: removed in B).
    b: Option<i64>,
    /// `b - a`, when both have the partition.
    delta: Option<i64>,
}

#[pymethods]
impl PartitionDiff {
    fn __repr__(&self) -> String {
        format!(
            "PartitionDiff(topic={:?}, partition={}, a={}, b={}, delta={})",
            self.topic,
            self.partition,
            py_opt(self.a),
            py_opt(self.b),
            py_opt(self.delta)
        )
    }
}

/// Per-partition offset deltas between two checkpoints, B minus A (`tidemark diff`'s report).
#[pyclass(frozen, get_all, module = "tidemark")]
struct DiffReport {
    /// Checkpoint A's id.
    a: u64,
    /// Checkpoint B's id.
    b: u64,
    /// Every partition of either checkpoint, by topic and partition.
    partitions: Vec<PartitionDiff>,
    /// The sum of the deltas (partitions in only one checkpoint count 0).
    total_delta: i64,
}

#[pymethods]
impl DiffReport {
    fn __repr__(&self) -> String {
        format!(
            "DiffReport(a={}, b={}, partitions={}, total_delta={})",
            self.a,
            self.b,
            self.partitions.len(),
            self.total_delta
        )
    }
}

/// Compares two checkpoints partition by partition, B minus A (the library's `ops::diff`).
#[pyfunction]
fn diff(a: &Bound<'_, PyCheckpoint>, b: &Bound<'_, PyCheckpoint>) -> DiffReport {
    let d = ops::diff(&a.get().inner, &b.get().inner);
    DiffReport {
        partitions: d
            .partitions
            .into_iter()
            .map(|p| PartitionDiff {
                topic: p.topic,
                partition: p.partition,
                a: p.a,
                b: p.b,
                delta: p.delta,
            })
            .collect(),
        a: d.a,
        b: d.b,
        total_delta: d.total_delta,
    }
}

// ---- resets -----------------------------------------------------------------------------------

/// One partition of a reset: its offset before and after.
#[pyclass(frozen, get_all, module = "tidemark")]
#[derive(Clone)]
struct OffsetChange {
    /// The topic.
    topic: String,
    /// The partition.
    partition: i32,
    /// Its offset in the base checkpoint, or None when the partition is new to the stream.
    before: Option<i64>,
    /// Its new offset.
    after: i64,
    /// `after - before`, when it had an offset.
    change: Option<i64>,
}

#[pymethods]
impl OffsetChange {
    fn __repr__(&self) -> String {
        format!(
            "OffsetChange(topic={:?}, partition={}, before={}, after={}, change={})",
            self.topic,
            self.partition,
            py_opt(self.before),
            self.after,
            py_opt(self.change)
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<OffsetChange>() {
            Ok(o) => {
                let o = o.get();
                (&o.topic, o.partition, o.before, o.after, o.change)
                    == (
                        &self.topic,
                        self.partition,
                        self.before,
                        self.after,
                        self.change,
                    )
            }
            Err(_) => false,
        }
    }
}

fn changes(list: &[ops::OffsetChange]) -> Vec<OffsetChange> {
    list.iter()
        .map(|c| OffsetChange {
            topic: c.topic.clone(),
            partition: c.partition,
            before: c.before,
            after: c.after,
            change: c.change,
        })
        .collect()
}

/// What a reset did (`ResetPlan.execute`) or would do (`ResetPlan.dry_run`).
#[pyclass(frozen, get_all, module = "tidemark")]
struct ResetReport {
    /// `"reset"`.
    operation: String,
    /// The stream.
    stream: String,
    /// The checkpoint the reset started from.
    base_id: Option<u64>,
    /// Whether nothing was written.
    dry_run: bool,
    /// One `OffsetChange` per changed partition, by topic and partition.
    changes: Vec<OffsetChange>,
    /// The checkpoint written, or None in a dry run.
    checkpoint_id: Option<u64>,
}

#[pymethods]
impl ResetReport {
    fn __repr__(&self) -> String {
        format!(
            "ResetReport(stream={:?}, base_id={}, dry_run={}, changes={}, checkpoint_id={})",
            self.stream,
            py_opt(self.base_id),
            if self.dry_run { "True" } else { "False" },
            self.changes.len(),
            py_opt(self.checkpoint_id)
        )
    }
}

fn reset_report(r: ops::ResetReport) -> ResetReport {
    ResetReport {
        changes: changes(&r.changes),
        operation: r.operation,
        stream: r.stream,
        base_id: r.base_id,
        dry_run: r.dry_run,
        checkpoint_id: r.checkpoint_id,
    }
}

/// A planned reset of a stream: validated, nothing written yet. Read `changes` (or print the
/// plan), then `execute()` writes it as a new checkpoint. See `plan_reset`.
#[pyclass(frozen, module = "tidemark", name = "ResetPlan")]
struct PyResetPlan {
    inner: ops::ResetPlan,
    store: blocking::Store,
}

#[pymethods]
impl PyResetPlan {
    /// `"reset"`.
    #[getter]
    fn operation(&self) -> &str {
        &self.inner.operation
    }
    /// The stream.
    #[getter]
    fn stream(&self) -> &str {
        &self.inner.stream
    }
    /// The checkpoint the plan starts from (the stream's latest when planned).
    #[getter]
    fn base_id(&self) -> Option<u64> {
        self.inner.base_id
    }
    /// One `OffsetChange` per partition the reset sets, by topic and partition (a new list
    /// each time).
    #[getter]
    fn changes(&self) -> Vec<OffsetChange> {
        changes(&self.inner.changes)
    }
    /// Every offset of the checkpoint `execute` would write: the base's, with the changes.
    #[getter]
    fn offsets(&self) -> OffsetsArg {
        offsets_to(self.inner.offsets())
    }
    /// The report of not executing the plan (`dry_run` True, no checkpoint written).
    fn dry_run(&self) -> ResetReport {
        reset_report(self.inner.dry_run())
    }
    /// Writes the plan as one new checkpoint of the stream that claims it (it fences any
    /// writer still running on the stream), marked as an operator's action, keeping the base
    /// checkpoint's batch time and metadata. The whole checkpoint is written or nothing is.
    /// Refused with `WriterAliveError` while the stream's writer looks alive (its newest
    /// checkpoint younger than `alive_window` seconds), unless `force`. Returns the
    /// `ResetReport` with the new `checkpoint_id`. Raises the store's errors (`FencedError`,
    /// `BackendError`, ...).
    #[pyo3(signature = (*, force = false, alive_window = 300.0))]
    fn execute(&self, py: Python<'_>, force: bool, alive_window: f64) -> PyResult<ResetReport> {
        let rt = runtime()?;
        let window = Duration::try_from_secs_f64(alive_window).map_err(|_| {
            PyValueError::new_err("alive_window must be a non-negative number of seconds")
        })?;
        let execution = ops::Execution::default()
            .force(force)
            .with_alive_window(window);
        let (plan, store) = (&self.inner, &self.store);
        py.detach(|| rt.block_on(plan.execute(store.as_async(), &execution)))
            .map(reset_report)
            .map_err(|e| ops_err(py, e))
    }
    /// The plan as a table: topic, partition, before, after, change.
    fn __str__(&self) -> String {
        let mut out = format!(
            "reset of stream {} from checkpoint {}:\n{:<24} {:>9} {:>14} {:>14} {:>12}\n",
            self.inner.stream,
            py_opt(self.inner.base_id),
            "topic",
            "partition",
            "before",
            "after",
            "change"
        );
        for c in &self.inner.changes {
            out.push_str(&format!(
                "{:<24} {:>9} {:>14} {:>14} {:>12}\n",
                c.topic,
                c.partition,
                c.before.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                c.after,
                c.change
                    .map_or_else(|| "new".to_owned(), |d| format!("{d:+}")),
            ));
        }
        out
    }
    fn __repr__(&self) -> String {
        format!(
            "ResetPlan(stream={:?}, base_id={}, changes={})",
            self.inner.stream,
            py_opt(self.inner.base_id),
            self.inner.changes.len()
        )
    }
}

/// The scope argument: None (every partition of the base checkpoint), a list of topics
/// (whole), or `{topic: None or [partitions]}`.
fn scope_arg(topics: Option<&Bound<'_, PyAny>>) -> PyResult<Scope> {
    let Some(topics) = topics else {
        return Ok(Scope::all());
    };
    let mut scope = Scope::all();
    if topics.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "topics must be a list of topic names or {topic: [partitions] or None}, not a string",
        ));
    }
    if let Ok(map) = topics.cast::<PyDict>() {
        for (topic, partitions) in map.iter() {
            let topic: String = topic.extract()?;
            scope = if partitions.is_none() {
                scope.with_topic(topic)
            } else {
                let list: Vec<i32> = partitions.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "topics[{topic:?}] must be a list of partition numbers or None"
                    ))
                })?;
                if list.is_empty() {
                    return Err(PyValueError::new_err(format!(
                        "topics[{topic:?}] lists no partition (None selects the whole topic)"
                    )));
                }
                scope.with_partitions(topic, list)
            };
        }
    } else {
        let names: Vec<String> = topics.extract().map_err(|_| {
            PyTypeError::new_err(
                "topics must be a list of topic names or {topic: [partitions] or None}",
            )
        })?;
        for name in names {
            scope = scope.with_topic(name);
        }
    }
    if scope.is_all() {
        return Err(PyValueError::new_err(
            "topics selects nothing (leave it out to reset every partition)",
        ));
    }
    Ok(scope)
}

/// A time: a timezone-aware `datetime.datetime`, or milliseconds since the Unix epoch.
fn time_arg(value: &Bound<'_, PyAny>) -> PyResult<SystemTime> {
    if let Ok(ms) = value.extract::<i64>() {
        return Ok(from_ms(ms));
    }
    if value.hasattr("timestamp")? && value.hasattr("tzinfo")? {
        if value.getattr("tzinfo")?.is_none() {
            return Err(PyValueError::new_err(
                "to_datetime must be timezone-aware (e.g. datetime.now(timezone.utc))",
            ));
        }
        let seconds: f64 = value.call_method0("timestamp")?.extract()?;
        return Ok(from_ms((seconds * 1000.0).round() as i64));
    }
    Err(PyTypeError::new_err(
        "to_datetime must be a timezone-aware datetime or milliseconds since the Unix epoch",
    ))
}

/// Plans a reset of `stream` from its latest checkpoint (the library's `ops::plan_reset`, as
/// `tidemark reset` does): nothing is written until `ResetPlan.execute()`.
///
/// Exactly one mode:
/// - `to_offset=N`: every selected partition to offset N;
/// - `shift_by=N`: each selected partition moved by N messages (negative: back), at least 0;
/// - `to_earliest=True` / `to_latest=True`: the partitions' log start / log end;
/// - `to_datetime=`: the first offset at or after a time (a timezone-aware `datetime`, or ms
///   since the Unix epoch);
/// - `by_duration=`: the first offset at or after now minus a duration (seconds or a
///   `timedelta`);
/// - `to_checkpoint=ID`: the offsets of an earlier checkpoint of the stream, for the
///   partitions it has (a rewind);
/// - `to_offsets={topic: {partition: offset}}`: these offsets (for the selected partitions).
///
/// `topics` selects the partitions: None (every partition of the latest checkpoint), a list of
/// topics (each whole: its partitions in the checkpoint, or in the cluster when the checkpoint
/// lacks the topic), or `{topic: [partitions] or None}`.
///
/// The earliest, latest and time modes ask the Kafka cluster at `bootstrap` (each request
/// waits at most `timeout` seconds); earliest and latest can instead take `cluster`,
/// `{topic: {partition: (log_start, log_end)}}` as `kafka_partitions` returns it.
///
/// Raises `NoCheckpointError` (the stream has none), `NothingSelectedError`,
/// `NotInClusterError`, `InvalidOffsetError` (a negative offset), `MissingInputError`,
/// `NotFoundError` (no such checkpoint to rewind to), `OperationError` (a partition neither in
/// the checkpoint nor the cluster, unless `allow_new_partitions`), `KafkaError`, `InvalidCheckpointError`,
/// and `ValueError`/`TypeError` for arguments that do not name one mode.
#[pyfunction]
#[pyo3(signature = (store, stream, *, to_offset=None, shift_by=None, to_earliest=false, to_latest=false, to_datetime=None, by_duration=None, to_checkpoint=None, to_offsets=None, topics=None, cluster=None, bootstrap=None, timeout=10.0, allow_new_partitions=false))]
#[allow(clippy::too_many_arguments)]
fn plan_reset(
    py: Python<'_>,
    store: &Bound<'_, PyStore>,
    stream: String,
    to_offset: Option<i64>,
    shift_by: Option<i64>,
    to_earliest: bool,
    to_latest: bool,
    to_datetime: Option<&Bound<'_, PyAny>>,
    by_duration: Option<&Bound<'_, PyAny>>,
    to_checkpoint: Option<u64>,
    to_offsets: Option<OffsetsArg>,
    topics: Option<&Bound<'_, PyAny>>,
    cluster: Option<ClusterArg>,
    bootstrap: Option<String>,
    timeout: f64,
    allow_new_partitions: bool,
) -> PyResult<PyResetPlan> {
    // Exactly one mode.
    let mut modes = Vec::new();
    if let Some(n) = to_offset {
        modes.push(ResetTo::Offset(n));
    }
    if let Some(n) = shift_by {
        modes.push(ResetTo::ShiftBy(n));
    }
    if to_earliest {
        modes.push(ResetTo::Earliest);
    }
    if to_latest {
        modes.push(ResetTo::Latest);
    }
    if let Some(t) = to_datetime {
        modes.push(ResetTo::Datetime(time_arg(t)?));
    }
    if let Some(d) = by_duration {
        modes.push(ResetTo::ByDuration(duration_arg(d, "by_duration")?));
    }
    if let Some(id) = to_checkpoint {
        modes.push(ResetTo::Checkpoint(id));
    }
    if let Some(o) = to_offsets {
        modes.push(ResetTo::Offsets(offsets_from(o)));
    }
    let mut modes = modes.into_iter();
    let to = match (modes.next(), modes.next()) {
        (Some(to), None) => to,
        _ => {
            return Err(PyValueError::new_err(
                "give exactly one of to_offset, shift_by, to_earliest, to_latest, to_datetime, \
                 by_duration, to_checkpoint, to_offsets",
            ));
        }
    };
    let mut scope = scope_arg(topics)?;
    if allow_new_partitions {
        scope = scope.allow_new_partitions();
    }
    let timeout = kafka_timeout(timeout)?;
    if cluster.is_some() && !matches!(to, ResetTo::Earliest | ResetTo::Latest) {
        return Err(PyValueError::new_err(
            "cluster is only used by to_earliest and to_latest",
        ));
    }
    if to.asks_cluster() && cluster.is_none() && bootstrap.is_none() {
        return Err(PyValueError::new_err(format!(
            "{} needs the Kafka cluster: pass bootstrap{}",
            python_mode(&to),
            if to.time_ms(SystemTime::now()).is_some() {
                ""
            } else {
                " or cluster"
            }
        )));
    }
    let given = cluster.as_ref().map(cluster_from);
    let rt = runtime()?;
    let store = store.get().inner.clone();
    let inner = py
        .detach(|| -> Result<ops::ResetPlan, OpsError> {
            let base = rt
                .block_on(ops::latest(store.as_async(), &stream))?
                .checkpoint;
            let inputs = match (given, &bootstrap) {
                (Some(cluster), _) => ResetInputs::default().with_cluster(cluster),
                (None, Some(bootstrap)) if to.asks_cluster() => {
                    let consumer =
                        tidemark::kafka::tool_consumer(bootstrap, "tidemark-python-reset")?;
                    ops::kafka_inputs(&consumer, &base, &to, &scope, SystemTime::now(), timeout)?
                }
                _ => rt.block_on(ops::load_inputs(store.as_async(), &base, &to))?,
            };
            ops::plan_reset(&base, &to, &scope, &inputs)
        })
        .map_err(|e| ops_err(py, e))?;
    Ok(PyResetPlan { inner, store })
}

/// The mode's keyword argument in `plan_reset`.
fn python_mode(to: &ResetTo) -> &'static str {
    match to {
        ResetTo::Earliest => "to_earliest",
        ResetTo::Latest => "to_latest",
        ResetTo::Datetime(_) => "to_datetime",
        ResetTo::ByDuration(_) => "by_duration",
        ResetTo::Offset(_) => "to_offset",
        ResetTo::ShiftBy(_) => "shift_by",
        ResetTo::Checkpoint(_) => "to_checkpoint",
        _ => "to_offsets",
    }
}

/// Plans rewinding `stream` to its checkpoint `id` (the library's `ops::rewind`): every
/// partition of that checkpoint gets its offset back, partitions it lacks keep theirs.
/// Nothing is written until `ResetPlan.execute()`. Raises `NoCheckpointError`,
/// `NotFoundError`, `DamagedError`.
#[pyfunction]
fn rewind(
    py: Python<'_>,
    store: &Bound<'_, PyStore>,
    stream: String,
    id: u64,
) -> PyResult<PyResetPlan> {
    let rt = runtime()?;
    let store = store.get().inner.clone();
    let inner = py
        .detach(|| rt.block_on(ops::rewind(store.as_async(), &stream, id)))
        .map_err(|e| ops_err(py, e))?;
    Ok(PyResetPlan { inner, store })
}

/// Adds the operations' classes, functions and exceptions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PartitionLag>()?;
    m.add_class::<NewPartitionLag>()?;
    m.add_class::<LagReport>()?;
    m.add_class::<Progress>()?;
    m.add_class::<PartitionDiff>()?;
    m.add_class::<DiffReport>()?;
    m.add_class::<OffsetChange>()?;
    m.add_class::<ResetReport>()?;
    m.add_class::<PyResetPlan>()?;
    m.add_function(wrap_pyfunction!(lag, m)?)?;
    m.add_function(wrap_pyfunction!(kafka_lag, m)?)?;
    m.add_function(wrap_pyfunction!(progress, m)?)?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(plan_reset, m)?)?;
    m.add_function(wrap_pyfunction!(rewind, m)?)?;
    m.add("OperationError", py.get_type::<OperationError>())?;
    m.add("NoCheckpointError", py.get_type::<NoCheckpointError>())?;
    m.add(
        "NothingSelectedError",
        py.get_type::<NothingSelectedError>(),
    )?;
    m.add("NotInClusterError", py.get_type::<NotInClusterError>())?;
    m.add("MissingInputError", py.get_type::<MissingInputError>())?;
    m.add("InvalidOffsetError", py.get_type::<InvalidOffsetError>())?;
    m.add("WriterAliveError", py.get_type::<WriterAliveError>())?;
    Ok(())
}
