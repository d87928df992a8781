//! TTL compaction: expire old checkpoints, never the newest valid one.

use std::time::{Duration, SystemTime};

use object_store::path::Path;

use super::error::Result;
use super::{SkippedObject, Store, layout};

/// Which checkpoints compaction keeps.
///
/// A checkpoint is deleted only when **all** hold: it is older than the newest valid
/// checkpoint (which is never deleted, whatever its age), it is not among the `keep_at_least`
/// newest checkpoints, and it was written more than `max_age` ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Checkpoints written longer ago than this may be deleted.
    pub max_age: Duration,
    /// The newest checkpoints kept whatever their age (at least 1 is always kept).
    pub keep_at_least: usize,
    /// Temporary files left by interrupted writes are deleted once older than this (and never
    /// before a minute); a staging file of an id above the newest checkpoint (a live writer's
    /// commit in flight) never is.
    pub temporary_grace: Duration,
}

impl RetentionPolicy {
    /// Keep checkpoints for `max_age`, and at least the newest `keep_at_least`; delete
    /// temporary files after one hour.
    pub fn new(max_age: Duration, keep_at_least: usize) -> Self {
        RetentionPolicy {
            max_age,
            keep_at_least,
            temporary_grace: Duration::from_secs(3600),
        }
    }
}

/// What a compaction did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactionReport {
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// The newest valid checkpoint, which was kept.
    pub newest_valid: Option<u64>,
    /// Number of checkpoints kept.
    pub kept: usize,
    /// Ids of the checkpoints deleted (or to delete), ascending.
    pub deleted: Vec<u64>,
    /// Bytes freed (or to free) by deleting checkpoints and temporary files.
    pub bytes_freed: u64,
    /// Names of the temporary files deleted (or to delete).
    pub temporary_deleted: Vec<String>,
    /// Damaged checkpoint objects newer than the newest valid one: left in place.
    pub skipped: Vec<SkippedObject>,
    /// Objects tidemark did not write: left in place.
    pub foreign: Vec<String>,
}

impl Store {
    /// Deletes the checkpoints of `stream` that `policy` expires, and stale temporary files;
    /// with `dry_run`, deletes nothing and reports what it would delete.
    ///
    /// The newest valid checkpoint is never deleted, whatever its age; damaged objects newer
    /// than it are left for inspection. Deletes in bulk; an object already gone counts as
    /// deleted. Ages come from the store's clock and the objects' listed modification times.
    /// Before deleting, rewrites the stream's `_latest` hint if it names an id below the
    /// newest valid checkpoint, so that it never names a deleted one (and a zombie writer
    /// still finds the newer one through it); when that rewrite fails, compaction fails with
    /// the error, naming the hint object, and deletes nothing.
    pub async fn compact(
        &self,
        stream: &str,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<CompactionReport> {
        self.compact_with_progress(stream, policy, dry_run, |_, _| {})
            .await
    }

    /// [`compact`](Self::compact), calling `progress(deleted, total)` as deletions go (in
    /// batches of 1,000 objects); not called in a dry run.
    pub async fn compact_with_progress(
        &self,
        stream: &str,
        policy: &RetentionPolicy,
        dry_run: bool,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<CompactionReport> {
        let paths = self.paths(stream)?;
        let listing = self.list(stream).await?;
        let now = self.inner.options.clock.now();
        let cutoff = now
            .checked_sub(policy.max_age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = CompactionReport {
            dry_run,
            foreign: listing.foreign,
            ..CompactionReport::default()
        };

        let mut checkpoints = listing.checkpoints;
        checkpoints.sort_unstable_by_key(|c| std::cmp::Reverse(c.id));
        // Find the newest valid checkpoint; everything from it down is subject to the policy.
        let mut start = checkpoints.len();
        for (i, entry) in checkpoints.iter().enumerate() {
            match self.read_checkpoint(stream, &paths, entry.id).await? {
                Some(Ok(_)) => {
                    report.newest_valid = Some(entry.id);
                    start = i;
                    break;
                }
                Some(Err(reason)) => report.skipped.push(SkippedObject {
                    id: entry.id,
                    reason,
                }),
                None => {}
            }
        }
        report.kept = start.min(checkpoints.len());
        let mut doomed: Vec<Path> = Vec::new();
        for (rank, entry) in checkpoints.iter().skip(start).enumerate() {
            let protected = rank == 0 || rank < policy.keep_at_least || entry.committed_at > cutoff;
            if protected {
                report.kept += 1;
            } else {
                report.deleted.push(entry.id);
                report.bytes_freed += entry.size;
                doomed.push(paths.checkpoint(entry.id));
            }
        }
        report.deleted.sort_unstable();

        let grace_cutoff = now
            .checked_sub(policy.temporary_grace.max(layout::MIN_TEMPORARY_AGE))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // A live writer only stages ids above the newest checkpoint: a staging file of an id at
        // or below it belongs to a write that can no longer land (its writer crashed or was
        // fenced), whatever its age. Above it, nothing is deleted, whatever the grace period.
        let newest_present = checkpoints.first().map(|c| c.id);
        for (name, modified, size) in listing.temporary {
            let stale = match layout::temporary_target(&name) {
                Some(id) => newest_present.is_some_and(|newest| id <= newest),
                // A staged hint: its writer is done with it once the grace period is over.
                None => true,
            };
            if stale && modified < grace_cutoff {
                report.bytes_freed += size;
                doomed.push(paths.dir().clone().join(name.as_str()));
                report.temporary_deleted.push(name);
            }
        }

        if !dry_run {
            // Before deleting: a hint naming a checkpoint about to go would send readers to a
            // listing, and would no longer show a zombie writer that a newer one moved on.
            // The hint must be right before any checkpoint goes: compaction fails (deleting
            // nothing) when it cannot be rewritten, naming the hint object.
            if let Some(newest) = report.newest_valid
                && !report.deleted.is_empty()
                && self
                    .read_hint(&paths)
                    .await?
                    .is_none_or(|hint| hint < newest)
            {
                self.inner
                    .backend
                    .write_hint(paths.hint(), super::hint::render(newest))
                    .await?;
            }
            let total = doomed.len();
            let mut done = 0;
            for batch in doomed.chunks(1000) {
                self.inner.backend.delete(batch.to_vec()).await?;
                done += batch.len();
                progress(done, total);
            }
        }
        Ok(report)
    }

    /// Deletes a stream's checkpoints, hint and temporary files, everything tidemark wrote for
    /// it; returns the number of checkpoints deleted. Foreign objects are left in place (and
    /// with them, on local disk, the stream's folder).
    pub async fn delete_stream(&self, stream: &str) -> Result<usize> {
        let paths = self.paths(stream)?;
        let listing = self.list(stream).await?;
        let mut doomed: Vec<Path> = listing
            .checkpoints
            .iter()
            .map(|e| paths.checkpoint(e.id))
            .collect();
        let count = doomed.len();
        doomed.push(paths.hint().clone());
        doomed.extend(
            listing
                .temporary
                .iter()
                .map(|(name, _, _)| paths.dir().clone().join(name.as_str())),
        );
        self.inner.backend.delete(doomed).await?;
        // On local disk, an empty folder would still list as a stream.
        self.inner.backend.remove_empty_folder(paths.dir()).await?;
        Ok(count)
    }
}
