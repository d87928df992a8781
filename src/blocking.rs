//! A blocking facade over [`crate::store`], for applications that are not async.
//!
//! Each [`Store`] owns a small tokio runtime (one worker thread, which also runs background
//! compaction) and blocks the calling thread on it. On local disk a commit's file work (the
//! hint check, the fsynced write, the link, the folder fsync) runs on the calling thread
//! itself, without a hand-off to a blocking thread. Do not call these methods from inside an
//! async runtime; use [`crate::store`] there.
//!
//! ```
//! use tidemark::blocking::Store;
//! use tidemark::store::{NewCheckpoint, WriterConfig};
//! use tidemark::Offsets;
//!
//! let store = Store::open("memory://")?;
//! let mut writer = store.writer("billing", WriterConfig::new("billing-app", "1.0"))?;
//! let offsets: Offsets = [("orders", 0, 42)].into_iter().collect();
//! writer.commit(NewCheckpoint::new(offsets))?;
//! assert_eq!(store.latest("billing")?.unwrap().offsets.get("orders", 0), Some(42));
//! # Ok::<(), tidemark::store::StoreError>(())
//! ```

use std::sync::Arc;

use crate::Checkpoint;
use crate::store::{
    self, Committed, CompactionReport, HistoryEntry, HistoryQuery, LatestReport, NewCheckpoint,
    Result, RetentionPolicy, StoreError, StoreOptions, VerifyReport, WriterConfig,
};

/// A blocking handle on a [`store::Store`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: store::Store,
    runtime: Arc<tokio::runtime::Runtime>,
}

/// A blocking handle on a [`store::StreamWriter`].
#[derive(Debug)]
pub struct StreamWriter {
    inner: store::StreamWriter,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Store {
    /// Opens the store a URL names; see [`store::Store::open`].
    pub fn open(url: &str) -> Result<Store> {
        Store::open_with(url, StoreOptions::default())
    }

    /// Opens the store a URL names, with options.
    pub fn open_with(url: &str, options: StoreOptions) -> Result<Store> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| StoreError::InvalidUrl {
                url: url.to_owned(),
                reason: format!("cannot start the I/O runtime: {e}"),
            })?;
        let runtime = Arc::new(runtime);
        // Some backends start background work when built: build inside the runtime.
        let inner = runtime.block_on(async { store::Store::open_with(url, options) })?;
        Ok(Store { inner, runtime })
    }

    /// The async store underneath.
    pub fn as_async(&self) -> &store::Store {
        &self.inner
    }

    /// See [`store::Store::latest`].
    pub fn latest(&self, stream: &str) -> Result<Option<Checkpoint>> {
        self.runtime.block_on(self.inner.latest(stream))
    }

    /// See [`store::Store::latest_report`].
    pub fn latest_report(&self, stream: &str) -> Result<LatestReport> {
        self.runtime.block_on(self.inner.latest_report(stream))
    }

    /// See [`store::Store::get`].
    pub fn get(&self, stream: &str, id: u64) -> Result<Checkpoint> {
        self.runtime.block_on(self.inner.get(stream, id))
    }

    /// See [`store::Store::history`].
    pub fn history(&self, stream: &str, query: &HistoryQuery) -> Result<Vec<HistoryEntry>> {
        self.runtime.block_on(self.inner.history(stream, query))
    }

    /// See [`store::Store::streams`].
    pub fn streams(&self) -> Result<Vec<String>> {
        self.runtime.block_on(self.inner.streams())
    }

    /// See [`store::Store::compact`].
    pub fn compact(
        &self,
        stream: &str,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<CompactionReport> {
        self.runtime
            .block_on(self.inner.compact(stream, policy, dry_run))
    }

    /// See [`store::Store::verify`].
    pub fn verify(&self, stream: &str) -> Result<VerifyReport> {
        self.runtime.block_on(self.inner.verify(stream, |_, _| {}))
    }

    /// Opens the writer of `stream`, claiming it; see [`store::Store::writer`].
    pub fn writer(&self, stream: &str, config: WriterConfig) -> Result<StreamWriter> {
        let mut inner = self.runtime.block_on(self.inner.writer(stream, config))?;
        // The caller's thread waits for each commit anyway: on local disk it does the file
        // work itself rather than hand it to another thread and wait.
        inner.do_local_io_inline();
        Ok(StreamWriter {
            inner,
            runtime: self.runtime.clone(),
        })
    }
}

impl StreamWriter {
    /// Commits the next checkpoint atomically and durably; see [`store::StreamWriter::commit`].
    pub fn commit(&mut self, new: NewCheckpoint) -> Result<Committed> {
        let runtime = self.runtime.clone();
        runtime.block_on(self.inner.commit(new))
    }

    /// This writer's epoch.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    /// The id of the last checkpoint this writer knows of.
    pub fn last_id(&self) -> u64 {
        self.inner.last_id()
    }

    /// The result of the last background compaction, if one has finished.
    pub fn last_compaction(
        &self,
    ) -> Option<std::result::Result<CompactionReport, std::sync::Arc<crate::store::StoreError>>>
    {
        self.inner.last_compaction()
    }
}
