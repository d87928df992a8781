//! The checkpoint store: atomic, durable, fenced commits on local disk, S3, HDFS and other
//! object stores; a constant-cost `latest`; history; TTL compaction.
//!
//! This is the only layer that talks to `object_store`. The layout it writes is specified in
//! `format-spec/LAYOUT.md`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tidemark::store::StoreError> {
//! use tidemark::store::{NewCheckpoint, Store, WriterConfig};
//! use tidemark::Offsets;
//!
//! let store = Store::open("memory://")?;
//! let mut writer = store.writer("billing", WriterConfig::new("billing-app", "2.3.0")).await?;
//! let offsets: Offsets = [("orders", 0, 1_042)].into_iter().collect();
//! let committed = writer.commit(NewCheckpoint::new(offsets)).await?;
//!
//! let latest = store.latest("billing").await?.expect("just committed");
//! assert_eq!(latest.id, committed.id);
//! assert_eq!(latest.offsets.get("orders", 0), Some(1_042));
//! # Ok(())
//! # }
//! ```

mod backend;
mod clock;
mod compact;
mod error;
mod hint;
mod layout;
mod transfer;
mod url;
mod verify;
mod writer;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use tokio::sync::OnceCell;

use crate::format::{self, Checkpoint};
use backend::Backend;
use backend::object::ObjectBackend;
use layout::{ObjectKind, StreamPaths};

#[cfg(feature = "fault-injection")]
pub use backend::faults::{Fault, FaultInjector, Op};

pub use self::url::BackendKind;
pub use clock::{Clock, ManualClock, SystemClock};
pub use compact::{CompactionReport, RetentionPolicy};
pub use error::{ConflictReason, Damage, Result, StoreError};
pub use transfer::{QuarantineReport, StreamCopy};
pub use verify::VerifyReport;
pub use writer::{
    BackgroundCompaction, Committed, IMPORT_PROVENANCE_KEY, NewCheckpoint, OPERATOR_ACTION_KEY,
    StreamWriter, WriterConfig,
};

/// How a [`Store`] behaves.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// When true, [`Store::latest`] fails with [`StoreError::DamagedLatest`] instead of
    /// falling back past damaged checkpoint objects.
    pub strict: bool,
    /// Skip the check, made when a writer opens, that the backend enforces create-if-absent
    /// writes. Without that guarantee two writers can overwrite each other's checkpoints: opt
    /// out only for a backend you know to be single-writer.
    pub allow_unconditional_writes: bool,
    /// Backend configuration keys and values (for S3, the `object_store` `AmazonS3ConfigKey`
    /// names such as `endpoint`, `region`, `allow_http`, `access_key_id`), added to those in
    /// the URL's query string and the standard environment variables.
    pub backend_options: Vec<(String, String)>,
    /// Read every commit back before reporting success (one extra read per commit), so that
    /// a backend that acknowledges writes it does not keep is detected.
    ///
    /// `None` (the default) chooses by backend: on for object stores, HDFS and stores handed
    /// over with [`Store::from_object_store`]; off for local disk and memory, where a read right
    /// after the write is served from the same machine's cache and cannot catch a lost write
    /// (on local disk, durability comes from the fsyncs).
    pub verify_writes: Option<bool>,
    /// The clock used for creation times and compaction ages.
    pub clock: Arc<dyn Clock>,
    /// How long a request to an object store (S3, GCS, Azure) may take and how often it is
    /// retried; the keys `timeout`, `connect_timeout`, `retries` and `retry_timeout` in the
    /// URL's query string or [`backend_options`](Self::backend_options) override it.
    pub timeouts: Timeouts,
}

/// Timeouts and retries of requests to object stores (S3, GCS, Azure; not local disk, memory
/// or HDFS). A store operation (a commit's create, a read, a listing) is one request, retried
/// on timeouts, connection errors and server errors until `retries` retries or
/// `retry_timeout` have passed, whichever comes first; so one operation fails after about
/// `(retries + 1) × timeout` at most, and never later than `retry_timeout` plus one `timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// The longest one request may take, from connecting to the response's last byte (URL key
    /// `timeout`). Default 30 s.
    pub request: std::time::Duration,
    /// The longest connecting may take (URL key `connect_timeout`). Default 5 s.
    pub connect: std::time::Duration,
    /// How many times a failed request is retried (URL key `retries`; 0: never). Default 10.
    pub retries: usize,
    /// No retry starts later than this after the first attempt (URL key `retry_timeout`).
    /// Default 3 min.
    pub retry_timeout: std::time::Duration,
}

impl Default for Timeouts {
    /// `object_store`'s defaults: 30 s per request, 5 s to connect, 10 retries within 3 min.
    fn default() -> Self {
        Timeouts {
            request: std::time::Duration::from_secs(30),
            connect: std::time::Duration::from_secs(5),
            retries: 10,
            retry_timeout: std::time::Duration::from_secs(180),
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            strict: false,
            allow_unconditional_writes: false,
            backend_options: Vec::new(),
            verify_writes: None,
            clock: Arc::new(SystemClock),
            timeouts: Timeouts::default(),
        }
    }
}

/// A store of checkpoint streams on one backend. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Arc<dyn Backend>,
    root: Path,
    kind: BackendKind,
    display: String,
    options: StoreOptions,
    conditional_writes_checked: OnceCell<()>,
    /// A writer rewrites the `_latest` hint every this many commits.
    hint_interval: u64,
    /// Whether commits are read back ([`StoreOptions::verify_writes`], resolved).
    verify_writes: bool,
}

/// Whether commits are read back: as asked, or by backend (see [`StoreOptions::verify_writes`]).
fn verify_writes(kind: BackendKind, asked: Option<bool>) -> bool {
    asked.unwrap_or(!matches!(kind, BackendKind::Local | BackendKind::Memory))
}

/// One object the store skipped because it is not a valid checkpoint of its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    /// The id in the object's name.
    pub id: u64,
    /// Why it was skipped.
    pub reason: Damage,
}

/// What [`Store::latest_report`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LatestReport {
    /// The newest valid checkpoint, if any.
    pub checkpoint: Option<Checkpoint>,
    /// Damaged objects newer than it, newest first: the report of damage (not a log line).
    pub skipped: Vec<SkippedObject>,
    /// The highest checkpoint id present, valid or not (the next commit gets a higher one).
    pub max_id: Option<u64>,
}

/// One entry of a stream's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The checkpoint id.
    pub id: u64,
    /// When the object was written, as the backend lists it.
    pub committed_at: SystemTime,
    /// Its size in bytes.
    pub size: u64,
}

/// Which part of a history to list.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// Only checkpoints written at or after this time.
    pub since: Option<SystemTime>,
    /// Only checkpoints written at or before this time.
    pub until: Option<SystemTime>,
    /// At most this many entries (the newest).
    pub limit: Option<usize>,
}

/// Everything in a stream's folder, classified by name.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StreamListing {
    /// Checkpoint objects, in no particular order.
    pub checkpoints: Vec<HistoryEntry>,
    /// Temporary files left by interrupted writes: name, modification time, size.
    pub temporary: Vec<(String, SystemTime, u64)>,
    /// Objects that tidemark did not write: name relative to the stream folder.
    pub foreign: Vec<String>,
}

impl Store {
    /// Opens the store a URL names, with default options:
    ///
    /// - a path or `file:///path`: local disk, every checkpoint fsynced (created if missing);
    /// - `s3://bucket/prefix`: S3, configured by the standard `AWS_*` environment variables and
    ///   `object_store` S3 options in the query string (`?endpoint=...&allow_http=true`);
    /// - `gs://bucket/prefix`, `az://container/prefix`: Google Cloud Storage, Azure;
    /// - `hdfs://namenode:port/path`: HDFS (cargo feature `hdfs`);
    /// - `memory://`: a new, empty in-process store.
    ///
    /// Fails with [`StoreError::InvalidUrl`] (secrets removed) when the URL cannot be used.
    pub fn open(url: &str) -> Result<Store> {
        Store::open_with(url, StoreOptions::default())
    }

    /// Opens an existing store to read it, with default options: like [`open`](Self::open),
    /// but never creates anything, and a missing local folder is
    /// [`StoreError::StoreNotFound`] (a typo in a path is an error, not an empty store).
    /// Object stores have no folders: a prefix with nothing under it opens as an empty store.
    pub fn open_existing(url: &str) -> Result<Store> {
        Store::open_existing_with(url, StoreOptions::default())
    }

    /// [`open_existing`](Self::open_existing) with options.
    pub fn open_existing_with(url: &str, options: StoreOptions) -> Result<Store> {
        Store::open_url(url, options, false)
    }

    /// Opens the store a URL names, with options.
    pub fn open_with(url: &str, options: StoreOptions) -> Result<Store> {
        Store::open_url(url, options, true)
    }

    fn open_url(url: &str, options: StoreOptions, create: bool) -> Result<Store> {
        let opened = url::open(url, &options.backend_options, &options.timeouts, create)?;
        Ok(Store::over(
            opened.backend,
            opened.root,
            opened.kind,
            opened.display,
            options,
        ))
    }

    /// Uses any `object_store` backend (for example one wrapped for tests or metrics), with
    /// the store rooted at `root` inside it.
    pub fn from_object_store(
        store: Arc<dyn ObjectStore>,
        root: &str,
        options: StoreOptions,
    ) -> Result<Store> {
        let root = Path::parse(root.trim_matches('/')).map_err(|e| StoreError::InvalidUrl {
            url: root.to_owned(),
            reason: e.to_string(),
        })?;
        let display = format!("{store}/{root}");
        Ok(Store::over(
            Arc::new(ObjectBackend::new(store)),
            root,
            BackendKind::Custom,
            display,
            options,
        ))
    }

    fn over(
        backend: Arc<dyn Backend>,
        root: Path,
        kind: BackendKind,
        display: String,
        options: StoreOptions,
    ) -> Store {
        // `tidemark -v`: every backend operation as a debug event, only when they are shown.
        let backend: Arc<dyn Backend> = if tracing::enabled!(target: "tidemark::store::backend", tracing::Level::DEBUG)
        {
            Arc::new(backend::traced::TracedBackend::new(backend))
        } else {
            backend
        };
        Store {
            inner: Arc::new(Inner {
                backend,
                root,
                kind,
                display,
                verify_writes: verify_writes(kind, options.verify_writes),
                options,
                conditional_writes_checked: OnceCell::new(),
                hint_interval: hint::interval(kind),
            }),
        }
    }

    /// The same store with every backend operation going through `injector`, which fails,
    /// delays or loses the operations it is told to (cargo feature `fault-injection`, for
    /// tests). Local disk included: its commits then take the composed path, one backend
    /// operation per step.
    #[cfg(feature = "fault-injection")]
    pub fn with_faults(&self, injector: Arc<FaultInjector>) -> Store {
        let backend = backend::faults::FaultyBackend::new(self.inner.backend.clone(), injector);
        Store::over(
            Arc::new(backend),
            self.inner.root.clone(),
            self.inner.kind,
            format!("{} (with injected faults)", self.inner.display),
            self.inner.options.clone(),
        )
    }

    /// The kind of backend.
    pub fn kind(&self) -> BackendKind {
        self.inner.kind
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    fn paths(&self, stream: &str) -> Result<StreamPaths> {
        check_stream_name(stream)?;
        Ok(StreamPaths::new(&self.inner.root, stream))
    }

    /// The newest valid checkpoint of `stream`, or `None` if it has none.
    ///
    /// Costs a small constant number of requests (read the `_latest` hint, check the id after
    /// it, read the checkpoint: 3 on object stores; on local disk the hint may lag up to 15
    /// commits, each a stat), whatever the history's length. Damaged objects (corrupt,
    /// torn, empty, foreign) are skipped and logged, falling back to the newest valid
    /// checkpoint, unless the store is strict; [`latest_report`](Self::latest_report) returns
    /// them. A checkpoint written by a newer tidemark (a newer major format version, or
    /// required features this library lacks) is never skipped: it stops `latest` with
    /// [`StoreError::NewerFormat`] ("upgrade"), since falling back would resume from stale
    /// offsets.
    pub async fn latest(&self, stream: &str) -> Result<Option<Checkpoint>> {
        let report = self.latest_report(stream).await?;
        for skipped in &report.skipped {
            tracing::warn!(stream, id = skipped.id, reason = %skipped.reason, "skipped damaged checkpoint");
        }
        Ok(report.checkpoint)
    }

    /// Like [`latest`](Self::latest), also returning every damaged object skipped on the way
    /// and the highest id present. This report is where damaged objects are reported
    /// ([`LatestReport::skipped`], newest first, each with its [`Damage`]); `latest` only
    /// logs them.
    ///
    /// The rules are those of LAYOUT.md §5: the `_latest` hint is read strictly, the probe
    /// makes at most 32 existence checks, the folder is listed at most once, and the walk
    /// down starts at the highest listed id. Fails with [`StoreError::NewerFormat`] when the
    /// newest checkpoint that is not damaged was written by a newer tidemark, and (strict
    /// mode) with [`StoreError::DamagedLatest`] when damaged objects were skipped.
    pub async fn latest_report(&self, stream: &str) -> Result<LatestReport> {
        let report = self.latest_unchecked(stream).await?;
        if self.inner.options.strict && !report.skipped.is_empty() {
            return Err(StoreError::DamagedLatest {
                stream: stream.to_owned(),
                count: report.skipped.len(),
                newest_damaged: report.skipped[0].id,
            });
        }
        Ok(report)
    }

    /// [`latest_report`](Self::latest_report) without the strict mode's check (writers move
    /// past damage whatever the mode).
    async fn latest_unchecked(&self, stream: &str) -> Result<LatestReport> {
        let paths = self.paths(stream)?;
        let (candidate, mut listed) = self.newest_id(&paths).await?;
        let Some(top) = candidate else {
            return Ok(LatestReport::default());
        };
        let mut report = LatestReport::default();
        // The common case: the newest object is valid.
        match self.read_checkpoint(stream, &paths, top).await? {
            Some(Ok(checkpoint)) => {
                report.checkpoint = Some(checkpoint);
                report.max_id = Some(top);
                return Ok(report);
            }
            Some(Err(reason)) => {
                report.skipped.push(SkippedObject { id: top, reason });
                report.max_id = Some(top);
            }
            None => {}
        }
        // Damage, or a hint naming a missing id: walk down every listed id, from the highest
        // (which may be above the candidate), listing the folder unless the probe already did.
        let mut ids = match listed.take() {
            Some(ids) => ids,
            None => self.list_ids(&paths).await?,
        };
        ids.retain(|&id| id != top);
        ids.sort_unstable_by(|a, b| b.cmp(a));
        report.max_id = report.max_id.max(ids.first().copied());
        for id in ids {
            match self.read_checkpoint(stream, &paths, id).await? {
                Some(Ok(checkpoint)) => {
                    report.checkpoint = Some(checkpoint);
                    break;
                }
                Some(Err(reason)) => report.skipped.push(SkippedObject { id, reason }),
                None => {}
            }
        }
        Ok(report)
    }

    /// Checkpoint `id` of `stream`.
    ///
    /// Fails with [`StoreError::NotFound`] when there is none, [`StoreError::NewerFormat`] when
    /// a newer tidemark wrote it, and [`StoreError::Damaged`] when the object is not a valid
    /// checkpoint of this stream with this id.
    pub async fn get(&self, stream: &str, id: u64) -> Result<Checkpoint> {
        let paths = self.paths(stream)?;
        match self.read_checkpoint(stream, &paths, id).await? {
            Some(Ok(checkpoint)) => Ok(checkpoint),
            Some(Err(source)) => Err(StoreError::Damaged {
                stream: stream.to_owned(),
                id,
                source,
            }),
            None => Err(StoreError::NotFound {
                stream: stream.to_owned(),
                id,
            }),
        }
    }

    /// The raw bytes of checkpoint `id`, or `None` if there is no such object.
    pub async fn get_bytes(&self, stream: &str, id: u64) -> Result<Option<Bytes>> {
        let paths = self.paths(stream)?;
        self.read_bytes(&paths.checkpoint(id)).await
    }

    /// The history of `stream`, newest first, from the listing alone (no checkpoint is read;
    /// fetch bodies with [`get`](Self::get) on demand). Times are when each object was written.
    pub async fn history(&self, stream: &str, query: &HistoryQuery) -> Result<Vec<HistoryEntry>> {
        let mut entries: Vec<HistoryEntry> = self
            .list(stream)
            .await?
            .checkpoints
            .into_iter()
            .filter(|e| query.since.is_none_or(|t| e.committed_at >= t))
            .filter(|e| query.until.is_none_or(|t| e.committed_at <= t))
            .collect();
        entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        if let Some(limit) = query.limit {
            entries.truncate(limit);
        }
        Ok(entries)
    }

    /// Everything in the stream's folder, classified: checkpoints, temporary files left by
    /// interrupted writes, and foreign objects. Streams the listing; keeps a few words per
    /// checkpoint.
    pub async fn list(&self, stream: &str) -> Result<StreamListing> {
        let paths = self.paths(stream)?;
        let mut listing = StreamListing::default();
        for object in self.inner.backend.list(paths.dir()).await? {
            if object.name.contains('/') {
                listing.foreign.push(object.name);
                continue;
            }
            match layout::classify(&object.name) {
                ObjectKind::Checkpoint(id) => listing.checkpoints.push(HistoryEntry {
                    id,
                    committed_at: object.modified,
                    size: object.size,
                }),
                ObjectKind::Hint => {}
                ObjectKind::Temporary => {
                    listing
                        .temporary
                        .push((object.name, object.modified, object.size))
                }
                ObjectKind::Foreign => listing.foreign.push(object.name),
            }
        }
        Ok(listing)
    }

    /// The names of all streams in the store, sorted.
    pub async fn streams(&self) -> Result<Vec<String>> {
        let dir = layout::streams_dir(&self.inner.root);
        let mut names = Vec::new();
        for folder in self.inner.backend.list_folders(&dir).await? {
            let Some(segment) = folder.filename() else {
                continue;
            };
            match layout::decode_stream_name(segment) {
                Some(name) => names.push(name),
                None => {
                    // A shortened name: read it from the stream's newest checkpoint.
                    if let Some(name) = self.stream_name_from_checkpoints(&folder).await? {
                        names.push(name);
                    }
                }
            }
        }
        names.sort();
        Ok(names)
    }

    async fn stream_name_from_checkpoints(&self, dir: &Path) -> Result<Option<String>> {
        for object in self.inner.backend.list(dir).await? {
            if layout::parse_checkpoint_file_name(&object.name).is_some()
                && let Some(bytes) = self
                    .read_bytes(&dir.clone().join(object.name.as_str()))
                    .await?
                && let Ok(checkpoint) = format::decode(&bytes)
            {
                return Ok(Some(checkpoint.stream));
            }
        }
        Ok(None)
    }

    /// The highest checkpoint id present, probably (LAYOUT.md §5.2): the hint moved past the
    /// ids that exist after it, or the listing's maximum when there is no usable hint or the
    /// hint is far behind; with the listed ids when the folder was listed. The caller reads the
    /// candidate and lists when it is damaged or absent.
    async fn newest_id(&self, paths: &StreamPaths) -> Result<(Option<u64>, Option<Vec<u64>>)> {
        if let Some(hint) = self.read_hint(paths).await?
            && let Some(top) = hint::probe_forward(&*self.inner.backend, paths, hint).await?
        {
            return Ok((Some(top), None));
        }
        // No usable hint, or it is far behind (h + 32 exists): list.
        let ids = self.list_ids(paths).await?;
        Ok((ids.iter().max().copied(), Some(ids)))
    }

    async fn list_ids(&self, paths: &StreamPaths) -> Result<Vec<u64>> {
        Ok(self
            .inner
            .backend
            .list(paths.dir())
            .await?
            .iter()
            .filter_map(|object| layout::parse_checkpoint_file_name(&object.name))
            .collect())
    }

    async fn read_hint(&self, paths: &StreamPaths) -> Result<Option<u64>> {
        hint::read(&*self.inner.backend, paths).await
    }

    /// Records `id` as the newest checkpoint. A hint only saves listing: failing to write it
    /// is logged, not returned.
    async fn write_hint(&self, paths: &StreamPaths, id: u64) {
        hint::write(&*self.inner.backend, paths, id).await;
    }

    async fn read_bytes(&self, path: &Path) -> Result<Option<Bytes>> {
        self.inner.backend.read(path).await
    }

    /// Reads and checks checkpoint `id`: `None` if absent, `Some(Err)` if damaged, and
    /// [`StoreError::NewerFormat`] if a newer tidemark wrote it (never treated as damage: a
    /// reader that skipped it would fall back to an older checkpoint).
    async fn read_checkpoint(
        &self,
        stream: &str,
        paths: &StreamPaths,
        id: u64,
    ) -> Result<Option<std::result::Result<Checkpoint, Damage>>> {
        let Some(bytes) = self.read_bytes(&paths.checkpoint(id)).await? else {
            return Ok(None);
        };
        let checked = check_checkpoint(stream, id, &bytes);
        if let Err(damage) = &checked {
            newer_format(stream, id, &bytes, damage)?;
        }
        Ok(Some(checked))
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.display)
    }
}

/// Decodes `bytes` and checks that they hold checkpoint `id` of `stream`.
fn check_checkpoint(
    stream: &str,
    id: u64,
    bytes: &[u8],
) -> std::result::Result<Checkpoint, Damage> {
    let checkpoint = format::decode(bytes)?;
    if checkpoint.stream != stream {
        return Err(Damage::WrongStream {
            found: checkpoint.stream,
        });
    }
    if checkpoint.id != id {
        return Err(Damage::WrongId {
            found: checkpoint.id,
        });
    }
    Ok(checkpoint)
}

/// Fails with [`StoreError::NewerFormat`] when `damage` means that a newer tidemark wrote
/// `bytes`: a major version above the ones this library reads, or unknown required features.
/// (A major version below them, 0, is damage: no tidemark writes it.)
fn newer_format(stream: &str, id: u64, bytes: &[u8], damage: &Damage) -> Result<()> {
    let newest_major = format::SUPPORTED_MAJOR_VERSIONS.iter().max().copied();
    let (version, required_features) = match damage {
        Damage::Format(format::FormatError::UnsupportedVersion { found, .. })
            if Some(found.major) > newest_major =>
        {
            (*found, 0)
        }
        Damage::Format(format::FormatError::UnsupportedFeatures { flags }) => {
            // Past the magic and version checks, so the header's first 12 bytes are there.
            let version = format::FormatVersion {
                major: u16::from_le_bytes([bytes[8], bytes[9]]),
                minor: u16::from_le_bytes([bytes[10], bytes[11]]),
            };
            (version, *flags)
        }
        _ => return Ok(()),
    };
    Err(StoreError::NewerFormat {
        stream: stream.to_owned(),
        id,
        version,
        required_features,
    })
}

fn check_stream_name(stream: &str) -> Result<()> {
    if stream.is_empty() {
        return Err(StoreError::InvalidStreamName {
            reason: "the name is empty",
        });
    }
    if stream.len() as u64 > format::limits::MAX_STRING_BYTES {
        return Err(StoreError::InvalidStreamName {
            reason: "the name is longer than 4096 bytes",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_back_is_on_by_default_where_it_can_catch_a_lost_write() {
        for kind in [BackendKind::Local, BackendKind::Memory] {
            assert!(!verify_writes(kind, None), "{kind:?}");
        }
        for kind in [
            BackendKind::S3,
            BackendKind::Gcs,
            BackendKind::Azure,
            BackendKind::Hdfs,
            BackendKind::Custom,
        ] {
            assert!(verify_writes(kind, None), "{kind:?}");
        }
        assert!(verify_writes(BackendKind::Local, Some(true)));
        assert!(!verify_writes(BackendKind::S3, Some(false)));
    }
}
