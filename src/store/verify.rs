//! Verification: read every checkpoint of a stream and report what is wrong.

use super::error::Result;
use super::{Damage, SkippedObject, Store};
use crate::format;

/// What [`Store::verify`] found in one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Checkpoints read.
    pub checked: usize,
    /// Valid checkpoints.
    pub valid: usize,
    /// Damaged checkpoint objects, with the reason.
    pub damaged: Vec<SkippedObject>,
    /// Valid files that are not in canonical form (re-encoding gives other bytes): written by a
    /// later minor version, or by another writer.
    pub non_canonical: Vec<u64>,
    /// Ids missing between the lowest and the highest retained id (compaction only removes the
    /// oldest, so gaps mean lost or hand-deleted files).
    pub gaps: Vec<(u64, u64)>,
    /// Temporary files left by interrupted writes: harmless leftovers (no reader ever reads
    /// them, the next writer to open the stream and compaction remove them), not problems.
    pub temporary: Vec<String>,
    /// Objects tidemark did not write.
    pub foreign: Vec<String>,
    /// The lowest and highest ids present.
    pub range: Option<(u64, u64)>,
}

impl VerifyReport {
    /// Whether anything is wrong (damaged files, gaps, foreign objects). Temporary files of
    /// interrupted writes are harmless and do not count.
    pub fn has_problems(&self) -> bool {
        !self.damaged.is_empty() || !self.gaps.is_empty() || !self.foreign.is_empty()
    }
}

impl Store {
    /// Reads every checkpoint of `stream` and checks its checksum, version, content and
    /// canonical form, the ids' continuity, and the folder for leftovers and foreign objects.
    /// `progress(done, total)` is called after each checkpoint. Fails with
    /// [`StoreError::NewerFormat`](super::StoreError::NewerFormat) at a checkpoint written by a
    /// newer tidemark.
    pub async fn verify(
        &self,
        stream: &str,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<VerifyReport> {
        let paths = self.paths(stream)?;
        let listing = self.list(stream).await?;
        let mut ids: Vec<u64> = listing.checkpoints.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let mut report = VerifyReport {
            temporary: listing.temporary.into_iter().map(|t| t.0).collect(),
            foreign: listing.foreign,
            range: ids.first().copied().zip(ids.last().copied()),
            ..VerifyReport::default()
        };
        for pair in ids.windows(2) {
            if pair[1] > pair[0] + 1 {
                report.gaps.push((pair[0] + 1, pair[1] - 1));
            }
        }
        let total = ids.len();
        for (i, id) in ids.into_iter().enumerate() {
            report.checked += 1;
            let Some(bytes) = self.read_bytes(&paths.checkpoint(id)).await? else {
                continue; // deleted since the listing
            };
            match super::check_checkpoint(stream, id, &bytes) {
                Ok(checkpoint) => {
                    report.valid += 1;
                    if format::encode(&checkpoint).ok().as_deref() != Some(&bytes[..]) {
                        report.non_canonical.push(id);
                    }
                }
                Err(reason) => {
                    // Written by a newer tidemark: not damage, and not this library's to judge.
                    super::newer_format(stream, id, &bytes, &reason)?;
                    report.damaged.push(SkippedObject { id, reason })
                }
            }
            progress(i + 1, total);
        }
        Ok(report)
    }
}

impl std::fmt::Display for SkippedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reason {
            Damage::Format(e) => write!(f, "checkpoint {}: {e}", self.id),
            other => write!(f, "checkpoint {}: {other}", self.id),
        }
    }
}
