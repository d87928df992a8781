//! The native half of the `tidemark` Python package: thin PyO3 bindings over the Rust library
//! (`tidemark::blocking`, `tidemark::plan`, `tidemark::ops`, `tidemark::kafka`,
//! `tidemark::import`). Nothing of the format or the store is implemented here; every call goes
//! through the Rust core, and every call that can block releases the GIL.

// The closures handed to `Python::detach` return the library's `StoreError` as it is; it is
// converted to a Python exception right after.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::BoundObject;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use tidemark::blocking;
use tidemark::format::FormatError;
use tidemark::plan::{
    self, ClusterState, DropReason, OnAheadOfLog, OnDataLoss, PlanProblem, Reason, ResumePolicy,
    StartOffset, StartPosition,
};
use tidemark::store::{
    Damage, HistoryQuery, NewCheckpoint, RetentionPolicy, StoreError, StoreOptions, WriterConfig,
};
use tidemark::{Checkpoint, Offsets};

mod operations;

create_exception!(
    _tidemark,
    TidemarkError,
    PyException,
    "Base class of every error tidemark raises."
);
create_exception!(
    _tidemark,
    StoreError_,
    TidemarkError,
    "A store operation failed (base class of the store's errors)."
);
create_exception!(
    _tidemark,
    InvalidUrlError,
    StoreError_,
    "The store URL cannot be used (`url`, `reason`; secrets removed)."
);
create_exception!(
    _tidemark,
    InvalidStreamNameError,
    StoreError_,
    "The stream name cannot be used (`reason`)."
);
create_exception!(
    _tidemark,
    BackendError,
    StoreError_,
    "The backend failed (network, permissions, disk); the operation may be retried (`operation`, `path`)."
);
create_exception!(
    _tidemark,
    NotFoundError,
    StoreError_,
    "No checkpoint with this id exists (`stream`, `id`)."
);
create_exception!(
    _tidemark,
    DamagedError,
    StoreError_,
    "A checkpoint object exists but is not a valid checkpoint of this stream (`stream`, `id`, `reason`, `format_kind`)."
);
create_exception!(
    _tidemark,
    DamagedLatestError,
    StoreError_,
    "In strict mode, `latest` found damaged checkpoints newer than the newest valid one (`stream`, `count`, `newest_damaged`)."
);
create_exception!(
    _tidemark,
    FencedError,
    StoreError_,
    "A newer writer has claimed the stream; this writer may not commit any more (`stream`, `id`, `by_epoch`, `by_app_name`, `by_app_version`, `by_host`)."
);
create_exception!(
    _tidemark,
    ConflictError,
    StoreError_,
    "The id a writer tried to create holds something it cannot account for; nothing was overwritten (`stream`, `id`, `reason`)."
);
create_exception!(
    _tidemark,
    ConditionalWritesUnsupportedError,
    StoreError_,
    "The backend does not enforce create-if-absent writes, so commits cannot be fenced (`store`, `path`)."
);
create_exception!(
    _tidemark,
    LostWriteError,
    StoreError_,
    "The backend acknowledged a commit but reading it back did not return it; retry (`stream`, `id`)."
);
create_exception!(
    _tidemark,
    NewerFormatError,
    StoreError_,
    "A checkpoint of the stream was written by a newer tidemark (a newer major format version, or required features this one lacks): upgrade to read or write the stream. Never skipped as damage, which would resume from older offsets (`stream`, `id`, `format_version`, `required_features`)."
);
create_exception!(
    _tidemark,
    InvalidCheckpointError,
    StoreError_,
    "The checkpoint cannot be encoded: it breaks a rule of the format (`stream`, `format_kind`)."
);
create_exception!(
    _tidemark,
    PlanError,
    TidemarkError,
    "The resume policy refuses the plan (`problems`: a list of dicts, one per refused partition)."
);
create_exception!(
    _tidemark,
    KafkaError,
    TidemarkError,
    "A request to the Kafka cluster failed (`operation`)."
);
create_exception!(
    _tidemark,
    SparkImportError,
    TidemarkError,
    "A Spark checkpoint folder cannot be read."
);

/// Builds an exception of type `T` with `message` and sets `attrs` on it.
fn error_with<T: pyo3::PyTypeInfo>(
    py: Python<'_>,
    message: String,
    attrs: Vec<(&'static str, Py<PyAny>)>,
) -> PyErr {
    let err = PyErr::new::<T, _>(message);
    let value = err.value(py);
    for (name, v) in attrs {
        // Setting an attribute on a fresh exception instance cannot fail.
        let _ = value.setattr(name, v);
    }
    err
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Py<PyAny> {
    match v.into_pyobject(py) {
        Ok(o) => o.into_any().unbind(),
        Err(_) => py.None(),
    }
}

/// Converts a store error into the matching Python exception.
fn store_err(py: Python<'_>, e: StoreError) -> PyErr {
    let message = tidemark::error_chain(&e);
    match e {
        StoreError::InvalidUrl { url, reason } => error_with::<InvalidUrlError>(
            py,
            message,
            vec![("url", obj(py, url)), ("reason", obj(py, reason))],
        ),
        StoreError::InvalidStreamName { reason } => {
            error_with::<InvalidStreamNameError>(py, message, vec![("reason", obj(py, reason))])
        }
        StoreError::Backend {
            operation, path, ..
        } => error_with::<BackendError>(
            py,
            message,
            vec![("operation", obj(py, operation)), ("path", obj(py, path))],
        ),
        StoreError::NotFound { stream, id } => error_with::<NotFoundError>(
            py,
            message,
            vec![("stream", obj(py, stream)), ("id", obj(py, id))],
        ),
        StoreError::Damaged { stream, id, source } => {
            let format_kind = match &source {
                Damage::Format(f) => Some(f.kind().as_str()),
                _ => None,
            };
            error_with::<DamagedError>(
                py,
                message,
                vec![
                    ("stream", obj(py, stream)),
                    ("id", obj(py, id)),
                    ("reason", obj(py, source.to_string())),
                    ("format_kind", obj(py, format_kind)),
                ],
            )
        }
        StoreError::DamagedLatest {
            stream,
            count,
            newest_damaged,
        } => error_with::<DamagedLatestError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("count", obj(py, count)),
                ("newest_damaged", obj(py, newest_damaged)),
            ],
        ),
        StoreError::Fenced { stream, id, by } => error_with::<FencedError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("id", obj(py, id)),
                ("by", obj(py, by.to_string())),
                ("by_epoch", obj(py, by.epoch)),
                ("by_app_name", obj(py, by.app_name)),
                ("by_app_version", obj(py, by.app_version)),
                ("by_host", obj(py, by.host)),
            ],
        ),
        StoreError::Conflict { stream, id, reason } => error_with::<ConflictError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("id", obj(py, id)),
                ("reason", obj(py, reason.to_string())),
            ],
        ),
        StoreError::ConditionalWritesUnsupported { store, path } => {
            error_with::<ConditionalWritesUnsupportedError>(
                py,
                message,
                vec![("store", obj(py, store)), ("path", obj(py, path))],
            )
        }
        StoreError::LostWrite { stream, id } => error_with::<LostWriteError>(
            py,
            message,
            vec![("stream", obj(py, stream)), ("id", obj(py, id))],
        ),
        StoreError::NewerFormat {
            stream,
            id,
            version,
            required_features,
        } => error_with::<NewerFormatError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("id", obj(py, id)),
                ("format_version", obj(py, version.to_string())),
                ("required_features", obj(py, required_features)),
            ],
        ),
        StoreError::Invalid { stream, source } => error_with::<InvalidCheckpointError>(
            py,
            message,
            vec![
                ("stream", obj(py, stream)),
                ("format_kind", obj(py, FormatError::kind(&source).as_str())),
            ],
        ),
        _ => PyErr::new::<StoreError_, _>(message),
    }
}

fn plan_err(py: Python<'_>, e: plan::PlanError) -> PyErr {
    let message = e.to_string();
    let problems: Vec<Py<PyAny>> = e
        .problems
        .iter()
        .map(|p| {
            let d = PyDict::new(py);
            let _ = d.set_item("message", p.to_string());
            match p {
                PlanProblem::DataLoss {
                    topic,
                    partition,
                    checkpointed,
                    log_start,
                } => {
                    let _ = d.set_item("kind", "data_loss");
                    let _ = d.set_item("topic", topic);
                    let _ = d.set_item("partition", partition);
                    let _ = d.set_item("checkpointed", checkpointed);
                    let _ = d.set_item("log_start", log_start);
                }
                PlanProblem::AheadOfLog {
                    topic,
                    partition,
                    checkpointed,
                    log_end,
                } => {
                    let _ = d.set_item("kind", "ahead_of_log");
                    let _ = d.set_item("topic", topic);
                    let _ = d.set_item("partition", partition);
                    let _ = d.set_item("checkpointed", checkpointed);
                    let _ = d.set_item("log_end", log_end);
                }
                _ => {
                    let _ = d.set_item("kind", "other");
                }
            }
            d.into_any().unbind()
        })
        .collect();
    error_with::<PlanError>(py, message, vec![("problems", obj(py, problems))])
}

fn kafka_err(py: Python<'_>, e: tidemark::kafka::KafkaIntegrationError) -> PyErr {
    match e {
        tidemark::kafka::KafkaIntegrationError::Plan(p) => plan_err(py, p),
        other => {
            let message = tidemark::error_chain(&other);
            let operation = match &other {
                tidemark::kafka::KafkaIntegrationError::Kafka { operation, .. } => Some(*operation),
                _ => None,
            };
            error_with::<KafkaError>(py, message, vec![("operation", obj(py, operation))])
        }
    }
}

fn ms_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Seconds (int or float) or a `datetime.timedelta`, as a duration.
fn duration_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    let seconds: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must be a number of seconds or a datetime.timedelta"
            ))
        })?
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err(format!("{what} must be a non-negative duration")))
}

type OffsetsArg = BTreeMap<String, BTreeMap<i32, i64>>;

fn offsets_from(arg: OffsetsArg) -> Offsets {
    let mut offsets = Offsets::new();
    for (topic, partitions) in arg {
        for (partition, offset) in partitions {
            offsets.insert(topic.clone(), partition, offset);
        }
    }
    offsets
}

fn offsets_to(offsets: &Offsets) -> OffsetsArg {
    offsets
        .topics()
        .map(|(t, ps)| (t.clone(), ps.clone()))
        .collect()
}

/// Who wrote a checkpoint.
#[pyclass(frozen, get_all, module = "tidemark")]
#[derive(Clone)]
struct WriterInfo {
    /// The writer's epoch (the id of its claim checkpoint).
    epoch: u64,
    /// The application's name.
    app_name: String,
    /// The application's version.
    app_version: String,
    /// The host it ran on.
    host: String,
    /// The tidemark version that wrote the checkpoint.
    tidemark_version: String,
}

#[pymethods]
impl WriterInfo {
    fn __repr__(&self) -> String {
        format!(
            "WriterInfo(epoch={}, app_name={:?}, app_version={:?}, host={:?}, tidemark_version={:?})",
            self.epoch, self.app_name, self.app_version, self.host, self.tidemark_version
        )
    }
}

/// One checkpoint: the next offset to consume for every (topic, partition) of a stream, with
/// its id, batch time, writer and metadata. Read-only.
#[pyclass(frozen, module = "tidemark", name = "Checkpoint")]
struct PyCheckpoint {
    inner: Checkpoint,
}

#[pymethods]
impl PyCheckpoint {
    /// The stream's name.
    #[getter]
    fn stream(&self) -> &str {
        &self.inner.stream
    }
    /// The checkpoint id (ids grow by one per commit).
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id
    }
    /// The batch time, milliseconds since the Unix epoch.
    #[getter]
    fn batch_time_ms(&self) -> u64 {
        self.inner.batch_time_ms
    }
    /// When the checkpoint was created, milliseconds since the Unix epoch.
    #[getter]
    fn created_at_ms(&self) -> u64 {
        self.inner.created_at_ms
    }
    /// Who wrote it.
    #[getter]
    fn writer(&self) -> WriterInfo {
        let w = &self.inner.writer;
        WriterInfo {
            epoch: w.epoch,
            app_name: w.app_name.clone(),
            app_version: w.app_version.clone(),
            host: w.host.clone(),
            tidemark_version: w.tidemark_version.clone(),
        }
    }
    /// `{topic: {partition: next offset to consume}}` (a new dict each time).
    #[getter]
    fn offsets(&self) -> OffsetsArg {
        offsets_to(&self.inner.offsets)
    }
    /// `{key: bytes}` (a new dict each time).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.metadata {
            d.set_item(k, PyBytes::new(py, v))?;
        }
        Ok(d)
    }
    /// The offset of one partition, or None.
    fn offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.inner.offsets.get(topic, partition)
    }
    fn __repr__(&self) -> String {
        format!(
            "Checkpoint(stream={:?}, id={}, partitions={}, writer_epoch={})",
            self.inner.stream,
            self.inner.id,
            self.inner.offsets.partition_count(),
            self.inner.writer.epoch
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyCheckpoint>() {
            Ok(o) => o.get().inner == self.inner,
            Err(_) => false,
        }
    }
}

/// One entry of a stream's history (from the listing alone).
#[pyclass(frozen, get_all, module = "tidemark")]
struct HistoryEntry {
    /// The checkpoint id.
    id: u64,
    /// When the object was written, as the backend lists it (ms since the Unix epoch).
    committed_at_ms: i64,
    /// Its size in bytes.
    size: u64,
}

#[pymethods]
impl HistoryEntry {
    fn __repr__(&self) -> String {
        format!(
            "HistoryEntry(id={}, committed_at_ms={}, size={})",
            self.id, self.committed_at_ms, self.size
        )
    }
}

/// A successful commit.
#[pyclass(frozen, get_all, module = "tidemark")]
struct Committed {
    /// The new checkpoint's id.
    id: u64,
    /// Its size in bytes.
    size: u64,
}

#[pymethods]
impl Committed {
    fn __repr__(&self) -> String {
        format!("Committed(id={}, size={})", self.id, self.size)
    }
}

/// What a compaction did or, in a dry run, would do.
#[pyclass(frozen, get_all, module = "tidemark")]
struct CompactionReport {
    /// Whether nothing was deleted.
    dry_run: bool,
    /// The newest valid checkpoint (always kept).
    newest_valid: Option<u64>,
    /// How many checkpoints are kept.
    kept: usize,
    /// Ids deleted (or to delete), ascending.
    deleted: Vec<u64>,
    /// Bytes freed (or to free).
    bytes_freed: u64,
    /// Temporary files deleted (or to delete).
    temporary_deleted: Vec<String>,
    /// Ids of damaged objects newer than the newest valid checkpoint, left in place.
    skipped: Vec<u64>,
    /// Objects tidemark did not write, left in place.
    foreign: Vec<String>,
}

#[pymethods]
impl CompactionReport {
    fn __repr__(&self) -> String {
        format!(
            "CompactionReport(dry_run={}, kept={}, deleted={:?}, bytes_freed={})",
            self.dry_run, self.kept, self.deleted, self.bytes_freed
        )
    }
}

/// What `verify` found in one stream.
#[pyclass(frozen, get_all, module = "tidemark")]
struct VerifyReport {
    /// The stream.
    stream: String,
    /// Checkpoints read.
    checked: usize,
    /// Valid checkpoints.
    valid: usize,
    /// Damaged checkpoints: `(id, reason)`.
    damaged: Vec<(u64, String)>,
    /// Valid files not in canonical form.
    non_canonical: Vec<u64>,
    /// Ranges of missing ids `(first, last)` between the lowest and highest.
    gaps: Vec<(u64, u64)>,
    /// Temporary files left by interrupted writes.
    temporary: Vec<String>,
    /// Objects tidemark did not write.
    foreign: Vec<String>,
    /// The lowest and highest ids present.
    range: Option<(u64, u64)>,
    /// Whether anything is wrong (damage, gaps, leftovers, foreign objects).
    has_problems: bool,
}

#[pymethods]
impl VerifyReport {
    fn __repr__(&self) -> String {
        format!(
            "VerifyReport(stream={:?}, checked={}, valid={}, damaged={:?}, gaps={:?}, has_problems={})",
            self.stream,
            self.checked,
            self.valid,
            self.damaged,
            self.gaps,
            if self.has_problems { "True" } else { "False" }
        )
    }
}

/// `latest_report`'s result: the checkpoint, the damaged objects skipped, the highest id.
type LatestReportTuple = (Option<PyCheckpoint>, Vec<(u64, String)>, Option<u64>);

/// A checkpoint store: local disk, S3, GCS, Azure or memory, named by a URL.
///
/// `Store(url, *, strict=False, allow_unconditional_writes=False, verify_writes=None, **options)`
///
/// - `url`: a path or `file:///path` (local disk, every checkpoint fsynced), `s3://bucket/prefix`,
///   `gs://bucket/prefix`, `az://container/prefix`, or `memory://`;
/// - `strict`: `latest` raises `DamagedLatestError` instead of falling back past damaged
///   checkpoints;
/// - `allow_unconditional_writes`: skip the check that the backend enforces create-if-absent
///   writes (only for a backend known to be single-writer);
/// - `verify_writes`: read every commit back (default: on for object stores, off for local
///   disk);
/// - `**options`: backend options, e.g. for S3 `endpoint`, `region`, `allow_http`,
///   `access_key_id`, `secret_access_key` (object_store's names).
///
/// Every method that touches the backend releases the GIL while it waits.
#[pyclass(frozen, module = "tidemark", name = "Store")]
struct PyStore {
    inner: blocking::Store,
}

fn option_string(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = value.extract::<bool>() {
        return Ok(b.to_string());
    }
    Ok(value.str()?.to_string())
}

#[pymethods]
impl PyStore {
    #[new]
    #[pyo3(signature = (url, *, strict=false, allow_unconditional_writes=false, verify_writes=None, **options))]
    fn new(
        py: Python<'_>,
        url: String,
        strict: bool,
        allow_unconditional_writes: bool,
        verify_writes: Option<bool>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut backend_options = Vec::new();
        if let Some(options) = options {
            for (k, v) in options.iter() {
                backend_options.push((k.extract::<String>()?, option_string(&v)?));
            }
        }
        let options = StoreOptions {
            strict,
            allow_unconditional_writes,
            backend_options,
            verify_writes,
            ..StoreOptions::default()
        };
        let inner = py
            .detach(|| blocking::Store::open_with(&url, options))
            .map_err(|e| store_err(py, e))?;
        Ok(PyStore { inner })
    }

    /// The newest valid checkpoint of `stream`, or None if it has none. Damaged newer objects
    /// are skipped (logged), unless the store is strict: then `DamagedLatestError`.
    fn latest(&self, py: Python<'_>, stream: &str) -> PyResult<Option<PyCheckpoint>> {
        let store = &self.inner;
        py.detach(|| store.latest(stream))
            .map(|c| c.map(|inner| PyCheckpoint { inner }))
            .map_err(|e| store_err(py, e))
    }

    /// Like `latest`, also returning the damaged objects skipped: `(checkpoint or None,
    /// [(id, reason)], highest id present or None)`. Never raises `DamagedLatestError`
    /// unless the store is strict.
    fn latest_report(&self, py: Python<'_>, stream: &str) -> PyResult<LatestReportTuple> {
        let store = &self.inner;
        let report = py
            .detach(|| store.latest_report(stream))
            .map_err(|e| store_err(py, e))?;
        Ok((
            report.checkpoint.map(|inner| PyCheckpoint { inner }),
            report
                .skipped
                .iter()
                .map(|s| (s.id, s.reason.to_string()))
                .collect(),
            report.max_id,
        ))
    }

    /// Checkpoint `id` of `stream`. Raises `NotFoundError` or `DamagedError`.
    fn get(&self, py: Python<'_>, stream: &str, id: u64) -> PyResult<PyCheckpoint> {
        let store = &self.inner;
        py.detach(|| store.get(stream, id))
            .map(|inner| PyCheckpoint { inner })
            .map_err(|e| store_err(py, e))
    }

    /// The history of `stream`, newest first, from the listing alone (no checkpoint is read).
    /// `since_ms`/`until_ms` bound the write times (ms since the Unix epoch); `limit` keeps the
    /// newest entries.
    #[pyo3(signature = (stream, *, since_ms=None, until_ms=None, limit=None))]
    fn history(
        &self,
        py: Python<'_>,
        stream: &str,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        limit: Option<usize>,
    ) -> PyResult<Vec<HistoryEntry>> {
        let query = HistoryQuery {
            since: since_ms.map(from_ms),
            until: until_ms.map(from_ms),
            limit,
        };
        let store = &self.inner;
        let entries = py
            .detach(|| store.history(stream, &query))
            .map_err(|e| store_err(py, e))?;
        Ok(entries
            .into_iter()
            .map(|e| HistoryEntry {
                id: e.id,
                committed_at_ms: ms_since_epoch(e.committed_at),
                size: e.size,
            })
            .collect())
    }

    /// The names of all streams in the store, sorted.
    fn streams(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = &self.inner;
        py.detach(|| store.streams()).map_err(|e| store_err(py, e))
    }

    /// Opens the writer of `stream`, claiming it: commits a claim checkpoint (a copy of the
    /// newest one) whose id becomes the writer's epoch. From then on every older writer's
    /// commit raises `FencedError`.
    #[pyo3(signature = (stream, app_name, app_version, *, host=None))]
    fn writer(
        &self,
        py: Python<'_>,
        stream: String,
        app_name: String,
        app_version: String,
        host: Option<String>,
    ) -> PyResult<StreamWriter> {
        let mut config = WriterConfig::new(app_name, app_version);
        if let Some(host) = host {
            config = config.with_host(host);
        }
        let store = &self.inner;
        let inner = py
            .detach(|| store.writer(&stream, config))
            .map_err(|e| store_err(py, e))?;
        Ok(StreamWriter {
            stream,
            inner: Mutex::new(inner),
        })
    }

    /// Deletes the checkpoints of `stream` older than `ttl` (seconds or a timedelta) beyond
    /// the `keep` newest; never the newest valid one. With `dry_run` (the default) deletes
    /// nothing and reports what it would delete.
    #[pyo3(signature = (stream, ttl, keep=1, dry_run=true))]
    fn compact(
        &self,
        py: Python<'_>,
        stream: &str,
        ttl: &Bound<'_, PyAny>,
        keep: usize,
        dry_run: bool,
    ) -> PyResult<CompactionReport> {
        let policy = RetentionPolicy::new(duration_arg(ttl, "ttl")?, keep);
        let store = &self.inner;
        let r = py
            .detach(|| store.compact(stream, &policy, dry_run))
            .map_err(|e| store_err(py, e))?;
        Ok(CompactionReport {
            dry_run: r.dry_run,
            newest_valid: r.newest_valid,
            kept: r.kept,
            deleted: r.deleted,
            bytes_freed: r.bytes_freed,
            temporary_deleted: r.temporary_deleted,
            skipped: r.skipped.iter().map(|s| s.id).collect(),
            foreign: r.foreign,
        })
    }

    /// Reads every checkpoint of `stream` (or of every stream when None) and reports damage,
    /// gaps, leftovers and foreign objects: a list of `VerifyReport`, one per stream.
    #[pyo3(signature = (stream=None))]
    fn verify(&self, py: Python<'_>, stream: Option<String>) -> PyResult<Vec<VerifyReport>> {
        let store = &self.inner;
        let reports = py
            .detach(|| -> Result<_, StoreError> {
                let streams = match stream {
                    Some(s) => vec![s],
                    None => store.streams()?,
                };
                streams
                    .into_iter()
                    .map(|s| store.verify(&s).map(|r| (s, r)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| store_err(py, e))?;
        Ok(reports
            .into_iter()
            .map(|(stream, r)| VerifyReport {
                has_problems: r.has_problems(),
                stream,
                checked: r.checked,
                valid: r.valid,
                damaged: r
                    .damaged
                    .iter()
                    .map(|s| (s.id, s.reason.to_string()))
                    .collect(),
                non_canonical: r.non_canonical,
                gaps: r.gaps,
                temporary: r.temporary,
                foreign: r.foreign,
                range: r.range,
            })
            .collect())
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.inner.as_async().to_string())
    }
}

/// The only writer of a stream until a newer one opens (see `Store.writer`).
#[pyclass(frozen, module = "tidemark")]
struct StreamWriter {
    stream: String,
    inner: Mutex<blocking::StreamWriter>,
}

#[pymethods]
impl StreamWriter {
    /// Commits the next checkpoint atomically and durably: `offsets` is
    /// `{topic: {partition: next offset to consume}}`; `batch_time_ms` defaults to now;
    /// `metadata` is `{key: bytes}` (small). Raises `FencedError` once a newer writer has
    /// claimed the stream.
    #[pyo3(signature = (offsets, batch_time_ms=None, metadata=None))]
    fn commit(
        &self,
        py: Python<'_>,
        offsets: OffsetsArg,
        batch_time_ms: Option<u64>,
        metadata: Option<BTreeMap<String, Vec<u8>>>,
    ) -> PyResult<Committed> {
        let new = NewCheckpoint {
            offsets: offsets_from(offsets),
            batch_time_ms: batch_time_ms.unwrap_or(0),
            metadata: metadata.unwrap_or_default(),
        };
        let inner = &self.inner;
        let committed = py
            .detach(|| {
                let mut w = inner.lock().unwrap_or_else(|p| p.into_inner());
                w.commit(new)
            })
            .map_err(|e| store_err(py, e))?;
        Ok(Committed {
            id: committed.id,
            size: committed.size,
        })
    }

    /// The stream this writer writes.
    #[getter]
    fn stream(&self) -> &str {
        &self.stream
    }

    /// This writer's epoch (the id of its claim checkpoint).
    #[getter]
    fn epoch(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).epoch()
    }

    /// The id of the last checkpoint this writer knows of.
    #[getter]
    fn last_id(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_id()
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamWriter(stream={:?}, epoch={})",
            self.stream,
            self.epoch()
        )
    }
}

// ---- resume planning ------------------------------------------------------------------------

/// `{topic: {partition: (low, high)}}` watermarks.
type ClusterArg = BTreeMap<String, BTreeMap<i32, (i64, i64)>>;

fn cluster_from(arg: &ClusterArg) -> ClusterState {
    let mut cluster = ClusterState::new();
    for (topic, partitions) in arg {
        cluster.add_topic(topic.clone());
        for (&p, &(low, high)) in partitions {
            cluster.add_partition(topic.clone(), p, low, high);
        }
    }
    cluster
}

fn start_position(value: &Bound<'_, PyAny>, what: &str) -> PyResult<StartPosition> {
    if let Ok(s) = value.extract::<String>() {
        return match s.as_str() {
            "earliest" => Ok(StartPosition::Earliest),
            "latest" => Ok(StartPosition::Latest),
            _ => Err(PyValueError::new_err(format!(
                "{what} must be \"earliest\", \"latest\" or a timestamp in ms, not {s:?}"
            ))),
        };
    }
    if let Ok(ms) = value.extract::<i64>() {
        return Ok(StartPosition::Timestamp(ms));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be \"earliest\", \"latest\" or a timestamp in ms"
    )))
}

fn reason_kind(r: &Reason) -> &'static str {
    match r {
        Reason::FirstStart => "first_start",
        Reason::NewTopic => "new_topic",
        Reason::NewPartition => "new_partition",
        Reason::Resumed => "resumed",
        Reason::DataLoss { .. } => "data_loss",
        Reason::AheadOfLog { .. } => "ahead_of_log",
    }
}

/// Where one partition starts, and why.
#[pyclass(frozen, get_all, module = "tidemark")]
struct PartitionStart {
    /// The topic.
    topic: String,
    /// The partition.
    partition: i32,
    /// The offset it starts at, or None when it starts at a timestamp.
    offset: Option<i64>,
    /// The timestamp (ms) it starts at, to be resolved by the client, or None.
    timestamp_ms: Option<i64>,
    /// Why: `first_start`, `new_topic`, `new_partition`, `resumed`, `data_loss`,
    /// `ahead_of_log`.
    reason: String,
    /// The reason in words.
    explanation: String,
    /// Whether the start deserves a warning (data loss, reset).
    is_warning: bool,
    /// The offset in the checkpoint, if any.
    checkpointed: Option<i64>,
    /// The partition's log start when planned.
    log_start: i64,
    /// The partition's log end when planned.
    log_end: i64,
}

#[pymethods]
impl PartitionStart {
    fn __repr__(&self) -> String {
        format!(
            "PartitionStart(topic={:?}, partition={}, offset={:?}, reason={:?})",
            self.topic, self.partition, self.offset, self.reason
        )
    }
}

/// Where every partition of the requested topics starts; see `plan_resume`.
#[pyclass(frozen, module = "tidemark")]
struct ResumePlan {
    inner: plan::ResumePlan,
}

#[pymethods]
impl ResumePlan {
    /// The checkpoint the plan resumes from, or None on a first start.
    #[getter]
    fn checkpoint_id(&self) -> Option<u64> {
        self.inner.checkpoint_id
    }
    /// One `PartitionStart` per partition of every requested topic, by topic and partition.
    #[getter]
    fn starts(&self) -> Vec<PartitionStart> {
        self.inner
            .starts
            .iter()
            .map(|s| {
                let (offset, timestamp_ms) = match s.start {
                    StartOffset::Offset(o) => (Some(o), None),
                    StartOffset::Timestamp(t) => (None, Some(t)),
                };
                PartitionStart {
                    topic: s.topic.clone(),
                    partition: s.partition,
                    offset,
                    timestamp_ms,
                    reason: reason_kind(&s.reason).to_owned(),
                    explanation: s.reason.to_string(),
                    is_warning: s.reason.is_warning(),
                    checkpointed: s.checkpointed,
                    log_start: s.watermarks.low,
                    log_end: s.watermarks.high,
                }
            })
            .collect()
    }
    /// Checkpointed partitions left out: `(topic, partition, offset, reason)` with reason
    /// `gone_from_cluster` or `no_longer_requested`.
    #[getter]
    fn dropped(&self) -> Vec<(String, i32, i64, &'static str)> {
        self.inner
            .dropped
            .iter()
            .map(|d| {
                let reason = match d.reason {
                    DropReason::GoneFromCluster => "gone_from_cluster",
                    DropReason::NoLongerRequested => "no_longer_requested",
                };
                (d.topic.clone(), d.partition, d.offset, reason)
            })
            .collect()
    }
    /// Requested topics the cluster does not have.
    #[getter]
    fn missing_topics(&self) -> Vec<String> {
        self.inner.missing_topics.clone()
    }
    /// Offsets of dropped partitions to keep in the next checkpoints (empty unless
    /// `keep_dropped`).
    fn carried_over(&self) -> OffsetsArg {
        offsets_to(&self.inner.carried_over())
    }
    /// The plan as a readable table.
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
    fn __repr__(&self) -> String {
        format!(
            "ResumePlan(checkpoint_id={:?}, starts={}, dropped={}, missing_topics={:?})",
            self.inner.checkpoint_id,
            self.inner.starts.len(),
            self.inner.dropped.len(),
            self.inner.missing_topics
        )
    }
}

/// Plans where every partition of `topics` starts, from `checkpoint` (None: first start) and
/// the cluster's partitions `{topic: {partition: (log_start, log_end)}}`.
///
/// `first_start` (no checkpoint, new topics) and `new_partitions` (added since the
/// checkpoint): "earliest" (the log start), "latest" or a timestamp in ms. `on_data_loss`
/// ("fail" or "earliest"): checkpointed offset below the log start. `on_ahead_of_log`
/// ("fail", "earliest", "latest"): checkpointed offset beyond the log end. Raises
/// `PlanError` when the policy refuses.
#[pyfunction]
#[pyo3(signature = (checkpoint, topics, cluster, *, first_start=None, new_partitions=None, on_data_loss="fail", on_ahead_of_log="fail", keep_dropped=false))]
#[allow(clippy::too_many_arguments)]
fn plan_resume(
    py: Python<'_>,
    checkpoint: Option<&Bound<'_, PyCheckpoint>>,
    topics: Vec<String>,
    cluster: ClusterArg,
    first_start: Option<&Bound<'_, PyAny>>,
    new_partitions: Option<&Bound<'_, PyAny>>,
    on_data_loss: &str,
    on_ahead_of_log: &str,
    keep_dropped: bool,
) -> PyResult<ResumePlan> {
    let policy = ResumePolicy {
        first_start: match first_start {
            Some(v) => start_position(v, "first_start")?,
            None => StartPosition::Earliest,
        },
        new_partitions: match new_partitions {
            Some(v) => start_position(v, "new_partitions")?,
            None => StartPosition::Earliest,
        },
        on_data_loss: match on_data_loss {
            "fail" => OnDataLoss::Fail,
            "earliest" => OnDataLoss::Earliest,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_data_loss must be \"fail\" or \"earliest\", not {other:?}"
                )));
            }
        },
        on_ahead_of_log: match on_ahead_of_log {
            "fail" => OnAheadOfLog::Fail,
            "earliest" => OnAheadOfLog::Reset(StartPosition::Earliest),
            "latest" => OnAheadOfLog::Reset(StartPosition::Latest),
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_ahead_of_log must be \"fail\", \"earliest\" or \"latest\", not {other:?}"
                )));
            }
        },
        keep_dropped,
    };
    let cluster = cluster_from(&cluster);
    let checkpoint = checkpoint.map(|c| &c.get().inner);
    plan::plan(
        checkpoint,
        topics.iter().map(String::as_str),
        &cluster,
        &policy,
    )
    .map(|inner| ResumePlan { inner })
    .map_err(|e| plan_err(py, e))
}

// ---- Kafka ------------------------------------------------------------------------------------

/// The partitions of `topics` on the Kafka cluster at `bootstrap` and their watermarks,
/// `{topic: {partition: (log_start, log_end)}}`. Topics the cluster does not have are left
/// out. Each request waits at most `timeout` seconds. Raises `KafkaError`.
#[pyfunction]
#[pyo3(signature = (bootstrap, topics, timeout=10.0))]
fn kafka_partitions(
    py: Python<'_>,
    bootstrap: String,
    topics: Vec<String>,
    timeout: f64,
) -> PyResult<ClusterArg> {
    let timeout = Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err("timeout must be a non-negative number of seconds"))?;
    let result = py.detach(|| {
        let consumer = tidemark::kafka::tool_consumer(&bootstrap, "tidemark-python-metadata")?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let state = tidemark::kafka::cluster_state(&consumer, &names, timeout)?;
        let mut out = ClusterArg::new();
        for t in &topics {
            if let Some(ps) = state.topic(t) {
                out.insert(
                    t.clone(),
                    ps.iter().map(|(&p, w)| (p, (w.low, w.high))).collect(),
                );
            }
        }
        Ok::<_, tidemark::kafka::KafkaIntegrationError>(out)
    });
    result.map_err(|e| kafka_err(py, e))
}

/// Writes offsets as a Kafka consumer group's committed offsets, so that lag tools
/// (`kafka-consumer-groups --describe`, Burrow, ...) see a job that keeps its positions in
/// tidemark. `GroupMirror(bootstrap, group)`; `mirror(offsets, timeout=10.0)`.
#[pyclass(frozen, module = "tidemark")]
struct GroupMirror {
    group: String,
    consumer: Mutex<tidemark::kafka::ToolConsumer>,
}

#[pymethods]
impl GroupMirror {
    #[new]
    fn new(py: Python<'_>, bootstrap: String, group: String) -> PyResult<Self> {
        let consumer =
            tidemark::kafka::tool_consumer(&bootstrap, &group).map_err(|e| kafka_err(py, e))?;
        Ok(GroupMirror {
            group,
            consumer: Mutex::new(consumer),
        })
    }

    /// Commits `{topic: {partition: next offset}}` as the group's offsets, waiting at most
    /// `timeout` seconds for the group coordinator. Raises `KafkaError`.
    #[pyo3(signature = (offsets, timeout=10.0))]
    fn mirror(&self, py: Python<'_>, offsets: OffsetsArg, timeout: f64) -> PyResult<()> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err("timeout must be a non-negative number of seconds")
        })?;
        let offsets = offsets_from(offsets);
        let consumer = &self.consumer;
        py.detach(|| {
            let c = consumer.lock().unwrap_or_else(|p| p.into_inner());
            tidemark::kafka::mirror_offsets(&*c, &offsets, timeout)
        })
        .map_err(|e| {
            let message = format!(
                "kafka offset mirroring failed: {}",
                tidemark::error_chain(&e)
            );
            error_with::<KafkaError>(py, message, vec![("operation", obj(py, "mirror"))])
        })
    }

    /// The consumer group.
    #[getter]
    fn group(&self) -> &str {
        &self.group
    }
}

// ---- Spark checkpoint folders ------------------------------------------------------------------

/// Reads one Kafka source's offsets from the newest committed batch of a Spark Structured
/// Streaming checkpoint folder (local path): `(batch_id, batch_timestamp_ms, offsets,
/// source_index)`. `topics` chooses the source (the one reading all of them); empty means the
/// query's only Kafka source. Raises `SparkImportError`.
#[pyfunction]
#[pyo3(signature = (path, topics=Vec::new()))]
fn read_spark_checkpoint(
    py: Python<'_>,
    path: PathBuf,
    topics: Vec<String>,
) -> PyResult<(u64, u64, OffsetsArg, usize)> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let import = py
        .detach(|| tidemark::import::read_spark_checkpoint(&path, &names))
        .map_err(|e| PyErr::new::<SparkImportError, _>(tidemark::error_chain(&e)))?;
    Ok((
        import.batch_id,
        import.batch_timestamp_ms,
        offsets_to(&import.offsets),
        import.source_index,
    ))
}

/// The ids of the batches Spark completed in a checkpoint folder (local path): both
/// `offsets/N` and `commits/N` present, ascending. Raises `SparkImportError`.
#[pyfunction]
fn spark_completed_batches(py: Python<'_>, path: PathBuf) -> PyResult<Vec<u64>> {
    py.detach(|| tidemark::import::spark_completed_batches(&path))
        .map_err(|e| PyErr::new::<SparkImportError, _>(tidemark::error_chain(&e)))
}

/// Like `read_spark_checkpoint`, for batch `batch_id`: `(batch_id, batch_timestamp_ms,
/// offsets, source_index)`. Raises `SparkImportError`.
#[pyfunction]
#[pyo3(signature = (path, batch_id, topics=Vec::new()))]
fn read_spark_batch(
    py: Python<'_>,
    path: PathBuf,
    batch_id: u64,
    topics: Vec<String>,
) -> PyResult<(u64, u64, OffsetsArg, usize)> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let import = py
        .detach(|| tidemark::import::read_spark_batch(&path, batch_id, &names))
        .map_err(|e| PyErr::new::<SparkImportError, _>(tidemark::error_chain(&e)))?;
    Ok((
        import.batch_id,
        import.batch_timestamp_ms,
        offsets_to(&import.offsets),
        import.source_index,
    ))
}

/// The native module (`tidemark._tidemark`); import `tidemark` instead.
#[pymodule]
fn _tidemark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", tidemark::VERSION)?;
    m.add_class::<PyStore>()?;
    m.add_class::<StreamWriter>()?;
    m.add_class::<PyCheckpoint>()?;
    m.add_class::<WriterInfo>()?;
    m.add_class::<HistoryEntry>()?;
    m.add_class::<Committed>()?;
    m.add_class::<CompactionReport>()?;
    m.add_class::<VerifyReport>()?;
    m.add_class::<ResumePlan>()?;
    m.add_class::<PartitionStart>()?;
    m.add_class::<GroupMirror>()?;
    m.add_function(wrap_pyfunction!(plan_resume, m)?)?;
    m.add_function(wrap_pyfunction!(kafka_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(read_spark_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(read_spark_batch, m)?)?;
    m.add_function(wrap_pyfunction!(spark_completed_batches, m)?)?;
    m.add("TidemarkError", py.get_type::<TidemarkError>())?;
    m.add("StoreError", py.get_type::<StoreError_>())?;
    m.add("InvalidUrlError", py.get_type::<InvalidUrlError>())?;
    m.add(
        "InvalidStreamNameError",
        py.get_type::<InvalidStreamNameError>(),
    )?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("DamagedError", py.get_type::<DamagedError>())?;
    m.add("DamagedLatestError", py.get_type::<DamagedLatestError>())?;
    m.add("FencedError", py.get_type::<FencedError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add(
        "ConditionalWritesUnsupportedError",
        py.get_type::<ConditionalWritesUnsupportedError>(),
    )?;
    m.add("LostWriteError", py.get_type::<LostWriteError>())?;
    m.add("NewerFormatError", py.get_type::<NewerFormatError>())?;
    m.add(
        "InvalidCheckpointError",
        py.get_type::<InvalidCheckpointError>(),
    )?;
    m.add("PlanError", py.get_type::<PlanError>())?;
    m.add("KafkaError", py.get_type::<KafkaError>())?;
    m.add("SparkImportError", py.get_type::<SparkImportError>())?;
    operations::register(m)?;
    Ok(())
}
