//! A wrapper that logs every backend operation as a `debug` event (target
//! `tidemark::store::backend`): what `tidemark -v` shows. The store wraps its backend in it only
//! when such events are enabled, so it costs nothing otherwise.

use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;

use super::{Attempt, Backend, Created, Listed, Outcome};
use crate::store::error::Result;
use crate::store::layout::StreamPaths;

/// Any backend, with each operation logged when it ends: operation, path, outcome, duration.
#[derive(Debug)]
pub(crate) struct TracedBackend {
    inner: std::sync::Arc<dyn Backend>,
}

impl TracedBackend {
    pub(crate) fn new(inner: std::sync::Arc<dyn Backend>) -> Self {
        TracedBackend { inner }
    }
}

/// Logs one finished operation.
fn done<T>(
    operation: &str,
    path: &dyn std::fmt::Display,
    started: Instant,
    result: &Result<T>,
    what: impl FnOnce(&T) -> String,
) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(value) => {
            tracing::debug!(target: "tidemark::store::backend", "{operation} {path}: {} ({ms:.1} ms)", what(value))
        }
        Err(e) => {
            tracing::debug!(target: "tidemark::store::backend", "{operation} {path}: failed: {e} ({ms:.1} ms)")
        }
    }
}

#[async_trait]
impl Backend for TracedBackend {
    async fn create(&self, path: &Path, bytes: Bytes) -> Result<Created> {
        let (started, len) = (Instant::now(), bytes.len());
        let result = self.inner.create(path, bytes).await;
        done("create", path, started, &result, |c| match c {
            Created::Yes => format!("created, {len} bytes"),
            Created::Taken(_) => "name taken, nothing written".into(),
        });
        result
    }

    async fn read(&self, path: &Path) -> Result<Option<Bytes>> {
        let started = Instant::now();
        let result = self.inner.read(path).await;
        done("read", path, started, &result, |b| match b {
            Some(b) => format!("{} bytes", b.len()),
            None => "absent".into(),
        });
        result
    }

    async fn exists(&self, path: &Path) -> Result<bool> {
        let started = Instant::now();
        let result = self.inner.exists(path).await;
        done("exists", path, started, &result, |e| e.to_string());
        result
    }

    async fn list(&self, dir: &Path) -> Result<Vec<Listed>> {
        let started = Instant::now();
        let result = self.inner.list(dir).await;
        done("list", dir, started, &result, |l| {
            format!("{} objects", l.len())
        });
        result
    }

    async fn list_folders(&self, dir: &Path) -> Result<Vec<Path>> {
        let started = Instant::now();
        let result = self.inner.list_folders(dir).await;
        done("list folders", dir, started, &result, |l| {
            format!("{} folders", l.len())
        });
        result
    }

    async fn delete(&self, paths: Vec<Path>) -> Result<()> {
        let started = Instant::now();
        let (count, first) = (paths.len(), paths.first().cloned().unwrap_or_default());
        let result = self.inner.delete(paths).await;
        done("delete", &first, started, &result, |_| {
            format!("{count} object(s) from here")
        });
        result
    }

    async fn remove_empty_folder(&self, dir: &Path) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.remove_empty_folder(dir).await;
        done("remove empty folder", dir, started, &result, |_| {
            "done".into()
        });
        result
    }

    async fn write_hint(&self, path: &Path, contents: Bytes) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.write_hint(path, contents).await;
        done("write hint", path, started, &result, |_| "written".into());
        result
    }

    async fn attempt(&self, paths: &StreamPaths, attempt: Attempt) -> Result<Outcome> {
        let (started, id) = (Instant::now(), attempt.id);
        let result = self.inner.attempt(paths, attempt).await;
        done(
            "commit attempt",
            &paths.checkpoint(id),
            started,
            &result,
            |o| match o {
                Outcome::NoHint => "no usable hint: list first".into(),
                Outcome::Created => "created".into(),
                Outcome::HintAhead(h, _) => format!("hint names newer checkpoint {h}"),
                Outcome::HintGone => "hint names a checkpoint that is gone".into(),
                Outcome::Taken(_) => "id taken".into(),
                Outcome::LostWrite => "read back did not return the write".into(),
            },
        );
        result
    }
}
