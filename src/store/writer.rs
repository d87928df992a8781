//! Writing checkpoints: claiming a stream, fenced create-if-absent commits, background
//! compaction.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::backend::{Attempt, Created, Outcome};
use super::compact::{CompactionReport, RetentionPolicy};
use super::error::{ConflictReason, Result, StoreError};
use super::layout::{self, StreamPaths};
use super::{Damage, SkippedObject, Store, check_checkpoint, newer_format};
use crate::format::{self, Checkpoint, Offsets, Writer};

/// The metadata key that marks a checkpoint written by an operator's action (a reset, an
/// import): UTF-8 text saying what was done and by whom, e.g. `reset --shift-by -100 by
/// ops@host-1` (LAYOUT.md §3, "Operator actions"). A claim that carries the newest
/// checkpoint forward leaves it out.
pub const OPERATOR_ACTION_KEY: &str = "tidemark.operator";

/// The metadata key that records where an import's offsets came from: a JSON object (the
/// source system, what was read, and for a Spark checkpoint the batch id and time), written
/// with [`OPERATOR_ACTION_KEY`] by `tidemark import` (LAYOUT.md §3.1). A claim that carries
/// the newest checkpoint forward leaves it out.
pub const IMPORT_PROVENANCE_KEY: &str = "tidemark.import";

/// Who is writing: recorded in every checkpoint this writer commits.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The application's name.
    pub app_name: String,
    /// The application's version.
    pub app_version: String,
    /// The host name; by default read from the system.
    pub host: String,
    /// Compaction to run in the background after commits, if any.
    pub background_compaction: Option<BackgroundCompaction>,
}

impl WriterConfig {
    /// A writer for this application, on this host.
    pub fn new(app_name: impl Into<String>, app_version: impl Into<String>) -> Self {
        WriterConfig {
            app_name: app_name.into(),
            app_version: app_version.into(),
            host: host_name(),
            background_compaction: None,
        }
    }

    /// Sets the host name recorded in checkpoints.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Runs compaction in the background as configured.
    pub fn with_background_compaction(mut self, compaction: BackgroundCompaction) -> Self {
        self.background_compaction = Some(compaction);
        self
    }
}

/// When to compact in the background: after every `every_commits` commits and/or once
/// `every` has passed since the last run, whichever comes first. A run never delays a commit,
/// and at most one runs at a time.
#[derive(Debug, Clone)]
pub struct BackgroundCompaction {
    /// The retention policy.
    pub policy: RetentionPolicy,
    /// Run after this many commits.
    pub every_commits: Option<u64>,
    /// Run when this much time has passed since the last run.
    pub every: Option<Duration>,
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_default()
}

/// The content of a checkpoint to commit; the writer adds the stream, id, creation time and
/// itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCheckpoint {
    /// The next offset to consume for every (topic, partition).
    pub offsets: Offsets,
    /// The batch time the offsets belong to, in milliseconds since the Unix epoch; 0 means
    /// "now" (the writer's clock).
    pub batch_time_ms: u64,
    /// Small user metadata.
    pub metadata: BTreeMap<String, Vec<u8>>,
}

impl NewCheckpoint {
    /// A checkpoint of these offsets.
    pub fn new(offsets: Offsets) -> Self {
        NewCheckpoint {
            offsets,
            ..NewCheckpoint::default()
        }
    }

    /// Sets the batch time, in milliseconds since the Unix epoch.
    pub fn with_batch_time_ms(mut self, ms: u64) -> Self {
        self.batch_time_ms = ms;
        self
    }

    /// Adds one metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }
}

/// A successful commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The new checkpoint's id.
    pub id: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Objects this commit found at ids it wanted to write that are not checkpoints (a torn
    /// write of its own left by a cut connection, someone else's damage, a directory): never
    /// overwritten, moved past (LAYOUT.md §5.3). Usually empty.
    pub skipped: Vec<SkippedObject>,
}

/// What a background compaction ended with (its error shared: the writer keeps it).
type CompactionResult = std::result::Result<CompactionReport, Arc<StoreError>>;

/// The only writer of a stream, until a newer one opens.
///
/// Opening (with [`Store::writer`]) claims the stream: it commits a *claim checkpoint* whose id
/// becomes this writer's epoch, carrying the previous newest checkpoint's offsets and metadata.
/// From then on any older writer's commit fails with [`StoreError::Fenced`].
#[derive(Debug)]
pub struct StreamWriter {
    store: Store,
    stream: String,
    paths: StreamPaths,
    writer: Writer,
    last_id: u64,
    fenced_by: Option<Box<Writer>>,
    /// Objects the commit under way moved past.
    skipped: Vec<SkippedObject>,
    commits_since_hint: u64,
    /// Local-disk commit attempts run on the calling thread (the blocking facade), not on
    /// the store's I/O thread.
    local_io_inline: bool,
    commits_since_compaction: u64,
    last_compaction: Instant,
    compaction_running: Arc<AtomicBool>,
    last_compaction_report: Arc<Mutex<Option<CompactionResult>>>,
    config: WriterConfig,
}

impl Store {
    /// Opens the writer of `stream`, claiming it: commits a claim checkpoint (the newest
    /// checkpoint's offsets and metadata, or none for a new stream) whose id is the new
    /// writer's epoch, which fences every older writer.
    ///
    /// Before the first claim on a store, checks that the backend enforces create-if-absent
    /// writes and fails with [`StoreError::ConditionalWritesUnsupported`] if it does not
    /// (unless [`StoreOptions::allow_unconditional_writes`](super::StoreOptions) is set).
    pub async fn writer(&self, stream: &str, config: WriterConfig) -> Result<StreamWriter> {
        Ok(self.claim(stream, config, None).await?.0)
    }

    /// Claims `stream` with a claim checkpoint holding `new` (its offsets, batch time, 0 for
    /// now, and metadata) instead of the newest checkpoint's: **one** write that both fences
    /// every older writer and sets the offsets, as an operator's reset or import needs
    /// (LAYOUT.md §3, "Operator actions"). Returns the checkpoint written; the writer is not
    /// kept (open one with [`Store::writer`] to commit more).
    ///
    /// With `expected_newest`, fails with a [`ConflictReason::Moved`] conflict, writing
    /// nothing, when the newest valid checkpoint is not that one (the stream moved since
    /// `new` was planned from it); `Some(None)` expects a stream with no checkpoint.
    pub async fn claim_with_offsets(
        &self,
        stream: &str,
        config: WriterConfig,
        new: NewCheckpoint,
        expected_newest: Option<Option<u64>>,
    ) -> Result<Committed> {
        let (writer, size) = self
            .claim(stream, config, Some((new, expected_newest)))
            .await?;
        Ok(Committed {
            id: writer.last_id,
            size,
            skipped: Vec::new(),
        })
    }

    /// Claims the stream: the claim checkpoint carries the newest checkpoint's content (less
    /// the operator marker), or holds the given one.
    async fn claim(
        &self,
        stream: &str,
        config: WriterConfig,
        given: Option<(NewCheckpoint, Option<Option<u64>>)>,
    ) -> Result<(StreamWriter, u64)> {
        let paths = self.paths(stream)?;
        if !self.inner.options.allow_unconditional_writes {
            self.inner
                .conditional_writes_checked
                .get_or_try_init(|| self.check_conditional_writes())
                .await?;
        }
        const MAX_ATTEMPTS: usize = 32;
        let mut attempts = 0;
        // Past every id found taken: an id whose create is refused though no checkpoint can
        // be read there (a directory with a checkpoint name) is never claimed twice.
        let mut floor = 1u64;
        loop {
            attempts += 1;
            let latest = self.latest_report(stream).await?;
            let claim_id = claim_id(stream, &latest, floor)?;
            let now_ms = self.inner.options.clock.now_ms();
            let base = match &given {
                None => {
                    let mut base = latest
                        .checkpoint
                        .unwrap_or_else(|| Checkpoint::new(stream, Offsets::new()));
                    base.metadata.remove(OPERATOR_ACTION_KEY);
                    base.metadata.remove(IMPORT_PROVENANCE_KEY);
                    base
                }
                Some((new, expected)) => {
                    let found = latest.checkpoint.as_ref().map(|c| c.id);
                    if let Some(expected) = expected
                        && *expected != found
                    {
                        return Err(StoreError::Conflict {
                            stream: stream.to_owned(),
                            id: claim_id,
                            reason: ConflictReason::Moved {
                                expected: *expected,
                                found,
                            },
                        });
                    }
                    let mut c = Checkpoint::new(stream, new.offsets.clone()).with_batch_time_ms(
                        if new.batch_time_ms == 0 {
                            now_ms
                        } else {
                            new.batch_time_ms
                        },
                    );
                    c.metadata = new.metadata.clone();
                    c
                }
            };
            let mut writer = Writer::new(claim_id, &config.app_name, &config.app_version)
                .with_host(&config.host);
            writer.tidemark_version = crate::VERSION.to_owned();
            let mut claim = base
                .with_id(claim_id)
                .with_created_at_ms(now_ms)
                .with_writer(writer.clone());
            claim.stream = stream.to_owned();
            let bytes = Bytes::from(encode(stream, &claim)?);
            let size = bytes.len() as u64;
            match self
                .inner
                .backend
                .create(&paths.checkpoint(claim_id), bytes.clone())
                .await?
            {
                Created::Yes => {
                    // Read back as commits are: a claim the backend did not keep would let
                    // the next writer claim the same epoch.
                    if self.inner.verify_writes
                        && self.read_bytes(&paths.checkpoint(claim_id)).await? != Some(bytes)
                    {
                        return Err(StoreError::LostWrite {
                            stream: stream.to_owned(),
                            id: claim_id,
                        });
                    }
                    self.write_hint(&paths, claim_id).await;
                    // An older writer trusts a usable hint below its next id: one left stale
                    // here (a failed or lost write) would let it create ids compaction freed
                    // (or that a claim by an older tidemark, which jumped past damage, left
                    // free below this one).
                    if let Some(hint) = self.read_hint(&paths).await?
                        && hint < claim_id
                    {
                        return Err(StoreError::StaleHint {
                            stream: stream.to_owned(),
                            claim: claim_id,
                            hint,
                        });
                    }
                    self.remove_stale_staging(stream, &paths, claim_id).await;
                    let writer = StreamWriter {
                        store: self.clone(),
                        stream: stream.to_owned(),
                        paths,
                        writer,
                        last_id: claim_id,
                        fenced_by: None,
                        skipped: Vec::new(),
                        commits_since_hint: 0,
                        local_io_inline: false,
                        commits_since_compaction: 0,
                        last_compaction: Instant::now(),
                        compaction_running: Arc::new(AtomicBool::new(false)),
                        last_compaction_report: Arc::new(Mutex::new(None)),
                        config,
                    };
                    return Ok((writer, size));
                }
                // Someone else claimed or committed this id first: read the new state and
                // claim the next one.
                Created::Taken(_) if attempts < MAX_ATTEMPTS => {
                    floor = claim_id + 1;
                    continue;
                }
                Created::Taken(_) => {
                    return Err(StoreError::Conflict {
                        stream: stream.to_owned(),
                        id: claim_id,
                        reason: ConflictReason::Contended {
                            attempts: MAX_ATTEMPTS,
                        },
                    });
                }
            }
        }
    }

    /// Deletes the staging files of interrupted writes of ids up to `claim_id` and of the
    /// hint that are at least a minute old: after the claim no live writer can own them (an
    /// older writer committing there is fenced, a newer one writes above, and a claim racing
    /// this one finishes its create within the minute; a hint write takes far less). A failure
    /// is logged, not returned: they are harmless leftovers, though each hint leftover costs
    /// later hint writes a try (a request on HDFS) until it is gone.
    async fn remove_stale_staging(&self, stream: &str, paths: &StreamPaths, claim_id: u64) {
        let cleaned = async {
            let listing = self.list(stream).await?;
            let now = self.inner.options.clock.now();
            let old_enough = |modified: &std::time::SystemTime| {
                now.duration_since(*modified)
                    .is_ok_and(|age| age >= layout::MIN_TEMPORARY_AGE)
            };
            let stale: Vec<_> = listing
                .temporary
                .iter()
                .filter(|(name, modified, _)| {
                    (layout::temporary_target(name).is_some_and(|id| id <= claim_id)
                        || layout::is_hint_temporary(name))
                        && old_enough(modified)
                })
                .map(|(name, _, _)| paths.dir().clone().join(name.as_str()))
                .collect();
            let count = stale.len();
            self.inner.backend.delete(stale).await.map(|()| count)
        };
        match cleaned.await {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(stream, count, "removed staging files of interrupted writes")
            }
            Err(e) => tracing::warn!(stream, error = %crate::error_chain(&e),
                "could not remove staging files of interrupted writes"),
        }
    }

    /// Writes a probe object twice with create-if-absent: the second write must be refused.
    async fn check_conditional_writes(&self) -> Result<()> {
        let nonce = probe_nonce(self.inner.options.clock.now_ms());
        let path = self
            .inner
            .root
            .clone()
            .join(format!("_tidemark_probe-{nonce}").as_str());
        let backend = &self.inner.backend;
        backend.create(&path, Bytes::from_static(b"1")).await?;
        let second = backend.create(&path, Bytes::from_static(b"2")).await;
        if let Err(e) = backend.delete(vec![path.clone()]).await {
            tracing::warn!(path = %path, error = %crate::error_chain(&e),
                "could not delete the conditional-write probe");
        }
        match second? {
            Created::Taken(_) => Ok(()),
            Created::Yes => Err(StoreError::ConditionalWritesUnsupported {
                store: self.inner.display.clone(),
                path: path.to_string(),
            }),
        }
    }
}

/// The id a claim takes: the lowest one above the newest valid checkpoint that holds no
/// damaged object (and is not below `floor`, past ids found taken). Never above a free id: a
/// claim that jumped past damaged objects would leave ids free below it, where an older
/// writer whose hint lags could still commit (LAYOUT.md §3).
fn claim_id(stream: &str, latest: &super::LatestReport, floor: u64) -> Result<u64> {
    let exhausted = |last| StoreError::IdsExhausted {
        stream: stream.to_owned(),
        last,
    };
    let newest = latest.checkpoint.as_ref().map_or(0, |c| c.id);
    let mut id = newest
        .checked_add(1)
        .ok_or_else(|| exhausted(newest))?
        .max(floor);
    let damaged: std::collections::BTreeSet<u64> = latest.skipped.iter().map(|s| s.id).collect();
    while damaged.contains(&id) {
        id = id.checked_add(1).ok_or_else(|| exhausted(id))?;
    }
    Ok(id)
}

/// A name part no other probe uses: stores opened at once, in this process (a counter) or
/// on other machines (the process id, the time and a random key), must not share a probe,
/// or one's cleanup would make another's second create succeed.
fn probe_nonce(now_ms: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let count = PROBES.fetch_add(1, Ordering::Relaxed);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{}-{now_ms}-{count}-{random:016x}", std::process::id())
}

fn encode(stream: &str, checkpoint: &Checkpoint) -> Result<Vec<u8>> {
    format::encode(checkpoint).map_err(|source| StoreError::Invalid {
        stream: stream.to_owned(),
        source,
    })
}

impl StreamWriter {
    /// This writer's epoch (the id of its claim checkpoint).
    pub fn epoch(&self) -> u64 {
        self.writer.epoch
    }

    /// The id of the last checkpoint this writer knows of (its own last commit or claim).
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Makes local-disk commits do their file work on the thread that polls them, for callers
    /// that block on each commit anyway (the blocking facade).
    pub(crate) fn do_local_io_inline(&mut self) {
        self.local_io_inline = true;
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The result of the last background compaction, if one has finished (its error shared,
    /// as the writer keeps it until the next compaction).
    pub fn last_compaction(
        &self,
    ) -> Option<std::result::Result<CompactionReport, Arc<StoreError>>> {
        self.last_compaction_report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Commits the next checkpoint (id = last id + 1) atomically and durably: when this
    /// returns `Ok`, the checkpoint is complete and on stable storage (local disk: fsynced
    /// file and folder; S3: one conditional PUT), and no other object was overwritten.
    ///
    /// Fails with [`StoreError::Fenced`] once a newer writer has claimed the stream (and from
    /// then on, always). After any other error nothing or a complete checkpoint was written, and
    /// the next call works out which and continues.
    pub async fn commit(&mut self, new: NewCheckpoint) -> Result<Committed> {
        if let Some(by) = &self.fenced_by {
            return Err(self.fenced(self.last_id.saturating_add(1), by.clone()));
        }
        self.skipped.clear();
        let store = self.store.clone();
        let batch_time_ms = if new.batch_time_ms == 0 {
            store.inner.options.clock.now_ms()
        } else {
            new.batch_time_ms
        };
        let mut checkpoint = Checkpoint::new(self.stream.clone(), new.offsets)
            .with_batch_time_ms(batch_time_ms)
            .with_writer(self.writer.clone());
        checkpoint.metadata = new.metadata;
        const MAX_ATTEMPTS: usize = 16;
        let mut unreadable_at = None;
        // Set when a listing has just shown nothing at or past the id: the next attempt does
        // not read the hint (which may be missing or unwritable, a directory).
        let mut listed_below = None;
        for _ in 0..MAX_ATTEMPTS {
            let id = self
                .last_id
                .checked_add(1)
                .ok_or_else(|| StoreError::IdsExhausted {
                    stream: self.stream.clone(),
                    last: self.last_id,
                })?;
            checkpoint.id = id;
            checkpoint.created_at_ms = store.inner.options.clock.now_ms();
            let bytes = Bytes::from(encode(&self.stream, &checkpoint)?);
            let size = bytes.len() as u64;
            // The hint is rewritten every `hint_interval` commits (every commit on object
            // stores, where a request costs more than a few stat calls); readers probe past it.
            let write_hint = self.commits_since_hint + 1 >= store.inner.hint_interval;
            let attempt = Attempt {
                id,
                bytes: bytes.clone(),
                verify: store.inner.verify_writes,
                write_hint,
                check_hint: listed_below != Some(id),
                inline: self.local_io_inline,
            };
            let hint_written = match store.inner.backend.attempt(&self.paths, attempt).await? {
                Outcome::Created => write_hint,
                // A newer writer moved on (maybe past ids compaction has since deleted).
                // A valid checkpoint there tells who; a damaged one does not (a newer writer's
                // checkpoints may lie below it): then the newest valid one decides.
                Outcome::HintAhead(hint, found) => {
                    match check_checkpoint(&self.stream, hint, &found) {
                        Ok(existing) => self.judge_valid(hint, existing)?,
                        Err(damage) => {
                            newer_format(&self.stream, hint, &found, &damage)?;
                            if self.catch_up(id).await? {
                                store.write_hint(&self.paths, self.last_id).await;
                                listed_below = Some(id);
                            }
                        }
                    }
                    continue;
                }
                // Someone wrote past this writer, and compaction deleted the checkpoint the
                // hint names; or there is no usable hint, and someone may have (a zombie must
                // not slip into ids compaction freed): the probe or the listing tells who (or
                // that the hint was wrong).
                Outcome::HintGone | Outcome::NoHint => {
                    // Nothing at or past `id`: correct the hint and create without reading it
                    // again (it may be unwritable).
                    if self.catch_up(id).await? {
                        store.write_hint(&self.paths, self.last_id).await;
                        listed_below = Some(id);
                    }
                    continue;
                }
                // It vanished between the attempt and the read (deleted): try again, once.
                // Taken again with nothing readable there, it is not a file (a directory with
                // a checkpoint name): no checkpoint of anyone, so this writer moves past it.
                Outcome::Taken(None) if unreadable_at != Some(id) => {
                    unreadable_at = Some(id);
                    continue;
                }
                // Past an object that is no checkpoint, the hint no longer vouches for the
                // ids after it (a claim may have landed right above it, or, by an older
                // tidemark, jumped over a gap to beyond it, and its hint write may have
                // failed): the newest valid checkpoint decides first.
                Outcome::Taken(None) => {
                    self.move_past(id, Damage::NotAFile);
                    self.catch_up(id + 1).await?;
                    continue;
                }
                Outcome::Taken(Some(found)) => {
                    if found != bytes {
                        self.judge_existing(id, &found)?;
                        if self.last_id == id && self.skipped.last().is_some_and(|s| s.id == id) {
                            self.catch_up(id + 1).await?;
                        }
                        continue;
                    }
                    // Our own earlier attempt landed (a retried request reported
                    // AlreadyExists): it is committed.
                    false
                }
                Outcome::LostWrite => {
                    return Err(StoreError::LostWrite {
                        stream: self.stream.clone(),
                        id,
                    });
                }
            };
            self.last_id = id;
            self.commits_since_hint = if hint_written {
                0
            } else {
                self.commits_since_hint + 1
            };
            self.maybe_compact();
            return Ok(Committed {
                id,
                size,
                skipped: std::mem::take(&mut self.skipped),
            });
        }
        Err(StoreError::Conflict {
            stream: self.stream.clone(),
            id: self.last_id.saturating_add(1),
            reason: ConflictReason::Contended {
                attempts: MAX_ATTEMPTS,
            },
        })
    }

    /// Moves this writer past `id`, which holds an object that is no checkpoint, recording it.
    fn move_past(&mut self, id: u64, reason: Damage) {
        tracing::warn!(stream = %self.stream, id, reason = %reason,
            "moved past an object that is not a checkpoint");
        self.last_id = self.last_id.max(id);
        self.skipped.push(SkippedObject { id, reason });
    }

    /// Someone may have written at or past `id` (the hint names a missing or damaged
    /// checkpoint there, or there is no usable hint): the newest valid checkpoint decides (a
    /// newer writer's: fenced; this writer's own: continue after it; an older writer's: a
    /// conflict), and damaged objects at the ids this writer would write next, in a row, are
    /// moved past. Damage above a free id stays ahead: moving past it would leave that id free
    /// below this writer's next one, where a claim may land that this writer would never
    /// meet (LAYOUT.md §3). Returns true when it found nothing at or past `id` to judge or move
    /// past (this writer's next id is then free, as far as the listing shows).
    async fn catch_up(&mut self, id: u64) -> Result<bool> {
        let report = self.store.latest_unchecked(&self.stream).await?;
        let mut found = false;
        if let Some(valid) = report.checkpoint
            && valid.id >= id
        {
            found = true;
            self.judge_valid(valid.id, valid)?;
        }
        let mut damaged: BTreeMap<u64, Damage> = report
            .skipped
            .into_iter()
            .map(|s| (s.id, s.reason))
            .collect();
        while let Some(next) = self.last_id.checked_add(1)
            && next >= id
            && let Some(reason) = damaged.remove(&next)
        {
            found = true;
            self.move_past(next, reason);
        }
        Ok(!found)
    }

    /// Decides what a valid checkpoint found at `id` (at or past where this writer wanted to
    /// write) means: this writer's own earlier write (continue after it), a newer writer's
    /// (fenced), an older writer's (a conflict).
    fn judge_valid(&mut self, id: u64, existing: Checkpoint) -> Result<()> {
        match existing.writer.epoch.cmp(&self.writer.epoch) {
            std::cmp::Ordering::Equal => {
                // Written by this writer in an attempt whose result was lost.
                self.last_id = self.last_id.max(id);
                Ok(())
            }
            std::cmp::Ordering::Greater => {
                let by = Box::new(existing.writer);
                self.fenced_by = Some(by.clone());
                Err(self.fenced(id, by))
            }
            std::cmp::Ordering::Less => Err(StoreError::Conflict {
                stream: self.stream.clone(),
                id,
                reason: ConflictReason::OlderWriter {
                    writer: Box::new(existing.writer),
                },
            }),
        }
    }

    /// Decides what an object found at `id` (where this writer wanted to write) means: this
    /// writer's own earlier write (continue after it), a newer writer's (fenced), an older
    /// writer's (a conflict), or no checkpoint at all (a torn write, someone's damage: moved
    /// past, never overwritten).
    fn judge_existing(&mut self, id: u64, found: &[u8]) -> Result<()> {
        let checked = check_checkpoint(&self.stream, id, found);
        if let Err(damage) = &checked {
            // Written by a newer tidemark: never write past it.
            newer_format(&self.stream, id, found, damage)?;
        }
        match checked {
            Ok(existing) => self.judge_valid(id, existing),
            Err(damage) => {
                self.move_past(id, damage);
                Ok(())
            }
        }
    }

    fn fenced(&self, id: u64, by: Box<Writer>) -> StoreError {
        StoreError::Fenced {
            stream: self.stream.clone(),
            id,
            by,
        }
    }

    fn maybe_compact(&mut self) {
        let Some(schedule) = &self.config.background_compaction else {
            return;
        };
        self.commits_since_compaction += 1;
        let due = schedule
            .every_commits
            .is_some_and(|n| self.commits_since_compaction >= n)
            || schedule
                .every
                .is_some_and(|t| self.last_compaction.elapsed() >= t);
        if !due || self.compaction_running.swap(true, Ordering::SeqCst) {
            return;
        }
        self.commits_since_compaction = 0;
        self.last_compaction = Instant::now();
        let store = self.store.clone();
        let stream = self.stream.clone();
        let policy = schedule.policy.clone();
        let running = self.compaction_running.clone();
        let report = self.last_compaction_report.clone();
        tokio::spawn(async move {
            let result = store
                .compact(&stream, &policy, false)
                .await
                .map_err(Arc::new);
            if let Err(e) = &result {
                tracing::warn!(stream, error = %crate::error_chain(e.as_ref()), "background compaction failed");
            }
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            running.store(false, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::probe_nonce;

    #[test]
    fn probes_started_in_the_same_millisecond_get_different_names() {
        let names: std::collections::BTreeSet<String> =
            (0..1000).map(|_| probe_nonce(1_795_553_749_216)).collect();
        assert_eq!(names.len(), 1000);
    }
}
