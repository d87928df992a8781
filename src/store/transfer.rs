//! Moving whole objects: copying a stream with its history to another store, and moving
//! damaged and foreign objects out of a stream's folder into the store's quarantine folder
//! (`format-spec/LAYOUT.md` §1.3).

use bytes::Bytes;
use object_store::path::Path;

use super::backend::Created;
use super::error::{ConflictReason, Result, StoreError};
use super::layout;
use super::{SkippedObject, Store};
use crate::format;

/// The folder under the root that holds quarantined objects.
pub(crate) const QUARANTINE_DIR: &str = "quarantine";

/// What [`Store::copy_stream`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamCopy {
    /// Ids of the checkpoint objects created in the destination, ascending.
    pub copied: Vec<u64>,
    /// Bytes written.
    pub bytes: u64,
    /// Whether the files are byte-identical to the source's (`false` when the stream was
    /// renamed: each checkpoint names its stream, so it was re-encoded under the new name,
    /// offsets, times, writer and metadata unchanged).
    pub identical: bool,
    /// Damaged checkpoint objects of the source. Copied as they are (so that the copy verifies
    /// the same as the source) unless the stream was renamed; then left out and listed here.
    pub damaged: Vec<SkippedObject>,
    /// Whether damaged objects were copied (byte-identical copy) or left out (renamed copy).
    pub damaged_copied: bool,
    /// Temporary files and foreign objects of the source folder, not copied.
    pub not_copied: Vec<String>,
}

/// What [`Store::quarantine`] moved (or, in a dry run, would move).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantineReport {
    /// Whether this was a dry run (nothing moved).
    pub dry_run: bool,
    /// The folder, relative to the store's root, the objects go to.
    pub folder: String,
    /// Damaged checkpoint objects moved, with why each is damaged.
    pub damaged: Vec<SkippedObject>,
    /// Foreign objects moved (names relative to the stream folder).
    pub foreign: Vec<String>,
    /// Bytes moved.
    pub bytes: u64,
    /// Objects left in place, and why: a damaged object at the highest id (moving it would
    /// let a writer reuse its id) or one that cannot be read (a folder with a checkpoint name).
    pub left: Vec<String>,
}

/// The path of an object named `name` (`/`-separated) under `dir`.
fn under(dir: &Path, name: &str) -> Path {
    name.split('/').fold(dir.clone(), |p, part| p.join(part))
}

impl Store {
    /// Copies every checkpoint of `stream` to stream `to_name` of `to` (which may be this
    /// store), oldest first, with create-if-absent writes, then its `_latest` hint, then reads
    /// every written object back and compares it with what was written.
    ///
    /// Without renaming, every checkpoint object (damaged ones too) is copied byte for byte.
    /// Renamed, each valid checkpoint is re-encoded with the new stream name and damaged ones
    /// are left out ([`StreamCopy::damaged`]). Temporary files and foreign objects are not
    /// copied. An id already taken in the destination stops the copy with
    /// [`StoreError::Conflict`] (nothing is overwritten); fails with
    /// [`StoreError::LostWrite`] when a read-back differs. `progress(done, total)` is called
    /// after each object. The copies' listed modification times are the time of the copy, so
    /// compaction ages in the destination start then.
    pub async fn copy_stream(
        &self,
        stream: &str,
        to: &Store,
        to_name: &str,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<StreamCopy> {
        let from = self.paths(stream)?;
        let dest = to.paths(to_name)?;
        let renamed = stream != to_name;
        let listing = self.list(stream).await?;
        let mut ids: Vec<u64> = listing.checkpoints.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let mut report = StreamCopy {
            identical: !renamed,
            damaged_copied: !renamed,
            not_copied: listing
                .temporary
                .into_iter()
                .map(|t| t.0)
                .chain(listing.foreign)
                .collect(),
            ..StreamCopy::default()
        };
        let mut written: Vec<(u64, Bytes)> = Vec::with_capacity(ids.len());
        let total = ids.len();
        for (i, id) in ids.into_iter().enumerate() {
            let Some(bytes) = self.read_bytes(&from.checkpoint(id)).await? else {
                continue; // deleted since the listing (compaction)
            };
            let bytes = match super::check_checkpoint(stream, id, &bytes) {
                Ok(_) if !renamed => bytes,
                Ok(mut checkpoint) => {
                    checkpoint.stream = to_name.to_owned();
                    Bytes::from(format::encode(&checkpoint).map_err(|source| {
                        StoreError::Invalid {
                            stream: to_name.to_owned(),
                            source,
                        }
                    })?)
                }
                Err(reason) => {
                    super::newer_format(stream, id, &bytes, &reason)?;
                    report.damaged.push(SkippedObject { id, reason });
                    if renamed {
                        progress(i + 1, total);
                        continue;
                    }
                    bytes
                }
            };
            match to
                .inner
                .backend
                .create(&dest.checkpoint(id), bytes.clone())
                .await?
            {
                Created::Yes => {}
                Created::Taken(_) => {
                    return Err(StoreError::Conflict {
                        stream: to_name.to_owned(),
                        id,
                        reason: ConflictReason::Occupied,
                    });
                }
            }
            report.bytes += bytes.len() as u64;
            report.copied.push(id);
            written.push((id, bytes));
            progress(i + 1, total);
        }
        if let Some(&(top, _)) = written.last() {
            to.write_hint(&dest, top).await;
        }
        for (id, bytes) in &written {
            if to.read_bytes(&dest.checkpoint(*id)).await?.as_ref() != Some(bytes) {
                return Err(StoreError::LostWrite {
                    stream: to_name.to_owned(),
                    id: *id,
                });
            }
        }
        Ok(report)
    }

    /// Moves the damaged checkpoint objects and the foreign objects of `stream` (those
    /// [`verify`](Self::verify) reports) out of its folder into
    /// `<root>/quarantine/<encoded stream name>/<ms since the epoch>/`, each under its name:
    /// written there with create-if-absent, read back, then deleted from the stream folder. No
    /// reader or writer looks in the quarantine folder; nothing there is ever deleted by
    /// tidemark. A damaged object at the stream's highest id stays (moving it would let a
    /// writer create that id again). With `dry_run`, moves nothing and reports the same.
    pub async fn quarantine(&self, stream: &str, dry_run: bool) -> Result<QuarantineReport> {
        let paths = self.paths(stream)?;
        let verified = self.verify(stream, |_, _| {}).await?;
        let highest = verified.range.map(|(_, hi)| hi);
        let stamp = self
            .inner
            .options
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let folder = self
            .inner
            .root
            .clone()
            .join(QUARANTINE_DIR)
            .join(layout::encode_stream_name(stream).as_str())
            .join(stamp.to_string().as_str());
        let root_len = self.inner.root.as_ref().len();
        let mut report = QuarantineReport {
            dry_run,
            folder: folder.as_ref()[root_len..]
                .trim_start_matches('/')
                .to_owned(),
            ..QuarantineReport::default()
        };
        let mut moves: Vec<(String, Option<SkippedObject>)> = Vec::new();
        for damaged in verified.damaged {
            if Some(damaged.id) == highest {
                report.left.push(format!(
                    "{}: damaged, at the highest id (a writer moves past it)",
                    layout::checkpoint_file_name(damaged.id)
                ));
                continue;
            }
            moves.push((layout::checkpoint_file_name(damaged.id), Some(damaged)));
        }
        moves.extend(verified.foreign.into_iter().map(|name| (name, None)));
        for (name, damaged) in moves {
            let source = under(paths.dir(), &name);
            let bytes = match self.read_bytes(&source).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue, // gone since the listing
                Err(e) => {
                    report.left.push(format!("{name}: cannot be read ({e})"));
                    continue;
                }
            };
            if !dry_run {
                let target = under(&folder, &name);
                if let Created::Taken(_) = self.inner.backend.create(&target, bytes.clone()).await?
                {
                    report.left.push(format!("{name}: {target} is taken"));
                    continue;
                }
                if self.read_bytes(&target).await?.as_ref() != Some(&bytes) {
                    return Err(StoreError::Backend {
                        operation: "put",
                        path: target.to_string(),
                        source: object_store::Error::Generic {
                            store: "quarantine",
                            source: "the copy does not read back as written; the original is left in place".into(),
                        },
                    });
                }
                self.inner.backend.delete(vec![source]).await?;
            }
            report.bytes += bytes.len() as u64;
            match damaged {
                Some(d) => report.damaged.push(d),
                None => report.foreign.push(name),
            }
        }
        Ok(report)
    }
}
