//! The one interface between the store and the bytes: create-if-absent, read, list, delete,
//! write the hint. Implemented once over `object_store` ([`object::ObjectBackend`]: S3, GCS,
//! Azure, HDFS, memory, custom stores) and once for local disk with `std::fs` and its fsyncs
//! ([`local::LocalBackend`]). The commit protocol, fencing, the hint policy and compaction are
//! written once above it (`writer.rs`, `hint.rs`, `compact.rs`); the fault-injection wrapper
//! (`faults.rs`, cargo feature `fault-injection`) wraps it, so every backend runs the fault
//! tests.
//!
//! Paths are `object_store` paths relative to the backend's root, whatever the backend.

#[cfg(feature = "fault-injection")]
pub(crate) mod faults;
mod io_thread;
pub(crate) mod local;
pub(crate) mod object;
pub(crate) mod traced;

use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;

use super::error::{Result, StoreError};
use super::hint;
use super::layout::StreamPaths;

/// One entry of a folder listing.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    /// The path relative to the listed folder, `/`-separated (more than one segment for an
    /// object in a subfolder).
    pub(crate) name: String,
    /// When it was last written.
    pub(crate) modified: SystemTime,
    /// Its size in bytes.
    pub(crate) size: u64,
}

/// The result of a create-if-absent write.
#[derive(Debug)]
pub(crate) enum Created {
    /// The object was created.
    Yes,
    /// The name was taken: the bytes found there (`None` if it vanished since).
    Taken(Option<Bytes>),
}

/// What a commit attempt should do, in one stream folder.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The id to create.
    pub(crate) id: u64,
    /// The encoded checkpoint.
    pub(crate) bytes: Bytes,
    /// Read the object back after writing it and compare.
    pub(crate) verify: bool,
    /// Rewrite the `_latest` hint after a successful create.
    pub(crate) write_hint: bool,
    /// Read the hint first (false: the writer has just listed the folder instead).
    pub(crate) check_hint: bool,
    /// Do blocking file work on the calling thread (a caller that blocks on the commit
    /// anyway), not on another thread.
    pub(crate) inline: bool,
}

/// How a commit attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The hint names a newer checkpoint that exists: its id and bytes; nothing was written.
    HintAhead(u64, Bytes),
    /// The hint names an id at or past the one to write, but that checkpoint is gone
    /// (compaction deleted it, or the hint is wrong); nothing was written.
    HintGone,
    /// There is no usable hint (missing, unreadable as a hint, a directory): whether a newer
    /// writer moved on is unknown; nothing was written.
    NoHint,
    /// The checkpoint was created and is durable.
    Created,
    /// The id was taken: the bytes found there (`None` if it vanished since).
    Taken(Option<Bytes>),
    /// The object was created, but reading it back did not return what was written.
    LostWrite,
}

/// How the store reaches its bytes. Internal: not part of the public API.
#[async_trait]
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// Creates `path` with `bytes` only if nothing exists there, durably when it returns
    /// `Created::Yes`; never overwrites.
    async fn create(&self, path: &Path, bytes: Bytes) -> Result<Created>;

    /// The object's bytes, or `None` if there is none.
    async fn read(&self, path: &Path) -> Result<Option<Bytes>>;

    /// Whether an object exists at `path`.
    async fn exists(&self, path: &Path) -> Result<bool>;

    /// Every object under `dir`, at any depth (staging files of interrupted writes included,
    /// where the backend has them), in no particular order.
    async fn list(&self, dir: &Path) -> Result<Vec<Listed>>;

    /// The folders directly under `dir` (their full paths).
    async fn list_folders(&self, dir: &Path) -> Result<Vec<Path>>;

    /// Deletes every path; one already gone counts as deleted.
    async fn delete(&self, paths: Vec<Path>) -> Result<()>;

    /// Removes the folder `dir` if it is empty (local disk; object stores have no folders). A
    /// folder that is not empty, or gone, is left as it is.
    async fn remove_empty_folder(&self, _dir: &Path) -> Result<()> {
        Ok(())
    }

    /// Overwrites the `_latest` hint at `path` with `contents`. Not required to be durable:
    /// the hint is an optimisation that readers check.
    async fn write_hint(&self, path: &Path, contents: Bytes) -> Result<()>;

    /// One commit attempt of checkpoint `attempt.id` in the stream's folder: stops if the
    /// hint names an id at or past it, or if there is no usable hint (unless told not to
    /// check it); else creates it if absent, reads it back if asked, and
    /// rewrites the hint if asked (a failed hint write is logged, not returned).
    ///
    /// The default composes the operations above; a backend may do the same steps in fewer
    /// round trips (local disk: one blocking call).
    async fn attempt(&self, paths: &StreamPaths, attempt: Attempt) -> Result<Outcome> {
        compose_attempt(self, paths, attempt).await
    }
}

/// [`Backend::attempt`] from the other operations: the commit protocol's one attempt, as every
/// backend without a faster path runs it.
pub(crate) async fn compose_attempt<B: Backend + ?Sized>(
    backend: &B,
    paths: &StreamPaths,
    attempt: Attempt,
) -> Result<Outcome> {
    if attempt.check_hint {
        match hint::read(backend, paths).await? {
            Some(hint) if hint >= attempt.id => {
                return Ok(match backend.read(&paths.checkpoint(hint)).await? {
                    Some(found) => Outcome::HintAhead(hint, found),
                    None => Outcome::HintGone,
                });
            }
            Some(_) => {}
            None => return Ok(Outcome::NoHint),
        }
    }
    let path = paths.checkpoint(attempt.id);
    match backend.create(&path, attempt.bytes.clone()).await? {
        Created::Yes => {}
        Created::Taken(found) => return Ok(Outcome::Taken(found)),
    }
    // Read back: a backend that acknowledged a write it did not keep is caught here, not at
    // the next restart.
    if attempt.verify && backend.read(&path).await?.as_ref() != Some(&attempt.bytes) {
        return Ok(Outcome::LostWrite);
    }
    if attempt.write_hint {
        hint::write(backend, paths, attempt.id).await;
    }
    Ok(Outcome::Created)
}

/// A backend error of `operation` on `path`.
pub(crate) fn backend_error(
    operation: &'static str,
    path: &Path,
    source: object_store::Error,
) -> StoreError {
    StoreError::Backend {
        operation,
        path: path.to_string(),
        source,
    }
}
