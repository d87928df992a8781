//! What an operator asks of a store besides reading offsets: is this stream there (and if not,
//! which one was meant), a checkpoint by id with the valid range when it is missing, a stream
//! described on one screen (last write, whether its writer looks alive, health), deleting a
//! stream, copying one with its history to another store, and moving damaged and foreign
//! objects into quarantine.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::writer_liveness;
use super::{DamagedEntry, OpsError};
use crate::store::{SkippedObject, Store, StoreError};
use crate::{Checkpoint, Writer};

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The name among `names` closest to `wanted` (by edit distance, ignoring case), if one is
/// close enough to be a likely typo: at most 2 edits (or a third of the name's length), or
/// one name a prefix of the other (3 characters at least).
pub fn closest<'a>(wanted: &str, names: &'a [String]) -> Option<&'a str> {
    let wanted_l = wanted.to_lowercase();
    names
        .iter()
        .map(|n| (edit_distance(&wanted_l, &n.to_lowercase()), n))
        .filter(|(d, n)| {
            let n = n.to_lowercase();
            *d <= 2.max(wanted.chars().count().max(n.chars().count()) / 3)
                || (wanted_l.len() >= 3 && (n.starts_with(&wanted_l) || wanted_l.starts_with(&n)))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The text after "stream X not found in STORE" of [`OpsError::UnknownStream`].
pub(super) fn unknown_stream_hint(suggestion: &Option<String>, streams: &[String]) -> String {
    if streams.is_empty() {
        return "; the store holds no stream (is the store's path or URL right?)".into();
    }
    let mut text = String::new();
    if let Some(s) = suggestion {
        text.push_str(&format!("; did you mean {s:?}?"));
    }
    const SHOWN: usize = 20;
    let list: Vec<&str> = streams.iter().take(SHOWN).map(String::as_str).collect();
    text.push_str(&format!(" (streams there: {}", list.join(", ")));
    if streams.len() > SHOWN {
        text.push_str(&format!(" and {} more", streams.len() - SHOWN));
    }
    text.push(')');
    text
}

/// Fails with [`OpsError::UnknownStream`] (with the closest name and the streams present)
/// unless `stream` is a stream of the store. One listing of the store's streams.
pub async fn require_stream(store: &Store, stream: &str) -> Result<(), OpsError> {
    let streams = store.streams().await?;
    if streams.iter().any(|s| s == stream) {
        return Ok(());
    }
    Err(OpsError::UnknownStream {
        stream: stream.to_owned(),
        store: store.to_string(),
        suggestion: closest(stream, &streams).map(str::to_owned),
        streams,
    })
}

/// The store's streams; [`OpsError::EmptyStore`] when it holds none (a wrong path or prefix
/// reads as an empty store on object stores).
pub async fn require_streams(store: &Store) -> Result<Vec<String>, OpsError> {
    let streams = store.streams().await?;
    if streams.is_empty() {
        return Err(OpsError::EmptyStore {
            store: store.to_string(),
        });
    }
    Ok(streams)
}

/// Checkpoint `id` of `stream`; when there is none, [`OpsError::NoSuchCheckpoint`] with the ids
/// present.
pub async fn get(store: &Store, stream: &str, id: u64) -> Result<Checkpoint, OpsError> {
    match store.get(stream, id).await {
        Err(StoreError::NotFound { .. }) => {
            let listing = store.list(stream).await?;
            let ids = listing.checkpoints.iter().map(|c| c.id);
            Err(OpsError::NoSuchCheckpoint {
                stream: stream.to_owned(),
                id,
                range: ids.clone().min().zip(ids.max()),
                count: listing.checkpoints.len(),
            })
        }
        other => Ok(other?),
    }
}

/// A damaged object as a report entry.
fn damaged_entry(d: &SkippedObject) -> DamagedEntry {
    DamagedEntry {
        id: d.id,
        reason: d.to_string(),
        kind: d.reason.kind().to_owned(),
    }
}

/// One stream of a [`DescribeReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamDescription {
    /// The stream.
    pub stream: String,
    /// The newest valid checkpoint's id.
    pub latest_id: Option<u64>,
    /// Checkpoint objects in the folder (valid or not).
    pub checkpoints: usize,
    /// Their lowest and highest ids.
    pub range: Option<(u64, u64)>,
    /// Their total size in bytes.
    pub bytes: u64,
    /// When the newest checkpoint object was written, as the store lists it (ms since the
    /// epoch): the stream's last write.
    pub last_write_ms: Option<u64>,
    /// The newest valid checkpoint's own creation time (ms since the epoch).
    pub created_at_ms: Option<u64>,
    /// Its batch time (ms since the epoch), carried over from the consumer's batch.
    pub batch_time_ms: Option<u64>,
    /// Its writer.
    pub writer: Option<Writer>,
    /// Whether the writer looks alive: the last write is less than `alive_window_ms` old.
    pub writer_alive: bool,
    /// The window of `writer_alive`, in ms.
    pub alive_window_ms: u64,
    /// The newest valid checkpoint's topics.
    pub topics: Vec<String>,
    /// Its number of partitions.
    pub partitions: usize,
    /// Damaged checkpoint objects.
    pub damaged: Vec<DamagedEntry>,
    /// Missing id ranges, `[first, last]`.
    pub gaps: Vec<(u64, u64)>,
    /// Temporary files of interrupted writes (harmless leftovers).
    pub temporary: Vec<String>,
    /// Objects tidemark did not write.
    pub foreign: Vec<String>,
    /// Whether nothing is wrong (no damaged object, gap or foreign object).
    pub healthy: bool,
    /// The newest valid checkpoint's lag behind the log ends, when a front asked the cluster
    /// ([`lag`](super::lag)); `None` from [`describe`] itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag: Option<super::LagReport>,
}

/// What `tidemark describe` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DescribeReport {
    /// The streams described, sorted by name.
    pub streams: Vec<StreamDescription>,
}

/// Describes `stream` (every stream when `None`): its newest checkpoint, last write, writer
/// and whether it looks alive at `now` (a write within `alive_window`), and its health (every
/// checkpoint is read, as by verify). `progress(stream, done, total)` is called as
/// checkpoints are read.
pub async fn describe(
    store: &Store,
    stream: Option<&str>,
    alive_window: Duration,
    now: SystemTime,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<DescribeReport, OpsError> {
    let names = match stream {
        Some(s) => {
            require_stream(store, s).await?;
            vec![s.to_owned()]
        }
        None => require_streams(store).await?,
    };
    let mut streams = Vec::with_capacity(names.len());
    for name in names {
        let listing = store.list(&name).await?;
        let last_write = listing.checkpoints.iter().map(|c| c.committed_at).max();
        let bytes = listing.checkpoints.iter().map(|c| c.size).sum();
        let latest = store.latest_report(&name).await?;
        let verified = store
            .verify(&name, |done, total| progress(&name, done, total))
            .await?;
        let c = latest.checkpoint.as_ref();
        streams.push(StreamDescription {
            latest_id: c.map(|c| c.id),
            checkpoints: listing.checkpoints.len(),
            range: verified.range,
            bytes,
            last_write_ms: last_write.map(ms),
            created_at_ms: c.map(|c| c.created_at_ms),
            batch_time_ms: c.map(|c| c.batch_time_ms),
            writer: c.map(|c| c.writer.clone()),
            writer_alive: c.is_some_and(|c| writer_liveness(c, ms(now), alive_window).alive),
            alive_window_ms: ms(UNIX_EPOCH + alive_window),
            topics: c.map_or_else(Vec::new, |c| {
                c.offsets.topics().map(|(t, _)| t.clone()).collect()
            }),
            partitions: c.map_or(0, |c| c.offsets.partition_count()),
            damaged: verified.damaged.iter().map(damaged_entry).collect(),
            healthy: !verified.has_problems(),
            gaps: verified.gaps,
            temporary: verified.temporary,
            foreign: verified.foreign,
            lag: None,
            stream: name,
        });
    }
    Ok(DescribeReport { streams })
}

/// What `tidemark delete-stream` deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeleteStreamReport {
    /// The stream.
    pub stream: String,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// Checkpoint objects deleted (or to delete).
    pub checkpoints: usize,
    /// Their lowest and highest ids.
    pub range: Option<(u64, u64)>,
    /// Bytes freed (or to free), checkpoints and temporary files.
    pub bytes: u64,
    /// Temporary files deleted (or to delete).
    pub temporary: Vec<String>,
    /// Foreign objects, left in place (the folder stays while they are there).
    pub foreign_left: Vec<String>,
    /// When the stream was last written (ms since the epoch).
    pub last_write_ms: Option<u64>,
    /// Whether its writer looked alive ([`writer_liveness`]).
    pub writer_alive: bool,
}

/// Deletes `stream` ([`Store::delete_stream`]: checkpoints, hint, temporary files), unless
/// `dry_run`; foreign objects are left and reported. Refuses with [`OpsError::WriterAlive`]
/// when its writer looks alive at `now` ([`writer_liveness`] with `alive_window`), unless
/// `force`.
pub async fn delete_stream(
    store: &Store,
    stream: &str,
    dry_run: bool,
    force: bool,
    alive_window: Duration,
    now: SystemTime,
) -> Result<DeleteStreamReport, OpsError> {
    require_stream(store, stream).await?;
    let listing = store.list(stream).await?;
    let last_write = listing.checkpoints.iter().map(|c| c.committed_at).max();
    let liveness = store.latest(stream).await?.map(|c| {
        let liveness = writer_liveness(&c, ms(now), alive_window);
        (c.writer, liveness)
    });
    let ids = listing.checkpoints.iter().map(|c| c.id);
    let report = DeleteStreamReport {
        stream: stream.to_owned(),
        dry_run,
        checkpoints: listing.checkpoints.len(),
        range: ids.clone().min().zip(ids.max()),
        bytes: listing.checkpoints.iter().map(|c| c.size).sum::<u64>()
            + listing.temporary.iter().map(|t| t.2).sum::<u64>(),
        temporary: listing.temporary.iter().map(|t| t.0.clone()).collect(),
        foreign_left: listing.foreign,
        last_write_ms: last_write.map(ms),
        writer_alive: liveness.as_ref().is_some_and(|(_, l)| l.alive),
    };
    if !dry_run {
        if let Some((writer, liveness)) = liveness.filter(|(_, l)| l.alive && !force) {
            return Err(OpsError::WriterAlive {
                stream: stream.to_owned(),
                writer: Box::new(writer),
                liveness,
            });
        }
        store.delete_stream(stream).await?;
    }
    Ok(report)
}

/// What `tidemark copy` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CopyReport {
    /// The source stream.
    pub stream: String,
    /// The destination store (without secrets).
    pub to_store: String,
    /// The destination stream.
    pub to_stream: String,
    /// Checkpoint objects copied.
    pub copied: usize,
    /// Their lowest and highest ids.
    pub range: Option<(u64, u64)>,
    /// Bytes written.
    pub bytes: u64,
    /// Whether the copies are byte-identical (`false`: renamed, so re-encoded).
    pub identical: bool,
    /// Damaged objects of the source (copied as they are unless renamed).
    pub damaged: Vec<DamagedEntry>,
    /// Whether the damaged objects were copied.
    pub damaged_copied: bool,
    /// Temporary files and foreign objects of the source, not copied.
    pub not_copied: Vec<String>,
    /// Valid checkpoints the destination holds after the copy, every one read and checked.
    pub verified_valid: usize,
}

/// Copies `stream` of `from` with its whole history to stream `to_name` of `to`
/// ([`Store::copy_stream`]), then verifies the destination: every object read back equal to
/// what was written, and as many valid checkpoints as the source has. Refuses with
/// [`OpsError::DestinationExists`] when the destination stream holds any object (nothing is
/// merged or overwritten). `progress(done, total)` is called as checkpoints are copied.
pub async fn copy(
    from: &Store,
    stream: &str,
    to: &Store,
    to_name: &str,
    progress: impl FnMut(usize, usize),
) -> Result<CopyReport, OpsError> {
    require_stream(from, stream).await?;
    let existing = to.list(to_name).await?;
    let objects = existing.checkpoints.len() + existing.temporary.len() + existing.foreign.len();
    if objects > 0 || to.streams().await?.iter().any(|s| s == to_name) {
        return Err(OpsError::DestinationExists {
            store: to.to_string(),
            stream: to_name.to_owned(),
            objects,
        });
    }
    let copied = from.copy_stream(stream, to, to_name, progress).await?;
    let verified = to.verify(to_name, |_, _| {}).await?;
    let expected_valid = copied.copied.len()
        - if copied.damaged_copied {
            copied.damaged.len()
        } else {
            0
        };
    if verified.valid != expected_valid {
        return Err(OpsError::CopyMismatch {
            stream: to_name.to_owned(),
            expected: expected_valid,
            found: verified.valid,
        });
    }
    Ok(CopyReport {
        stream: stream.to_owned(),
        to_store: to.to_string(),
        to_stream: to_name.to_owned(),
        copied: copied.copied.len(),
        range: copied
            .copied
            .first()
            .copied()
            .zip(copied.copied.last().copied()),
        bytes: copied.bytes,
        identical: copied.identical,
        damaged: copied.damaged.iter().map(damaged_entry).collect(),
        damaged_copied: copied.damaged_copied,
        not_copied: copied.not_copied,
        verified_valid: verified.valid,
    })
}

/// What `tidemark compact --quarantine` moved (or, in a dry run, would move).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuarantineSummary {
    /// The stream.
    pub stream: String,
    /// Whether this was a dry run (nothing moved).
    pub dry_run: bool,
    /// The quarantine folder, relative to the store's root.
    pub folder: String,
    /// Damaged checkpoint objects moved.
    pub damaged: Vec<DamagedEntry>,
    /// Foreign objects moved.
    pub foreign: Vec<String>,
    /// Bytes moved.
    pub bytes: u64,
    /// Objects left in place, each with why.
    pub left: Vec<String>,
}

/// Moves the damaged and foreign objects of `stream` into the store's quarantine folder
/// ([`Store::quarantine`]), unless `dry_run`.
pub async fn quarantine(
    store: &Store,
    stream: &str,
    dry_run: bool,
) -> Result<QuarantineSummary, OpsError> {
    require_stream(store, stream).await?;
    let r = store.quarantine(stream, dry_run).await?;
    Ok(QuarantineSummary {
        stream: stream.to_owned(),
        dry_run: r.dry_run,
        folder: r.folder,
        damaged: r.damaged.iter().map(damaged_entry).collect(),
        foreign: r.foreign,
        bytes: r.bytes,
        left: r.left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_stream_meant() {
        let names: Vec<String> = ["billing", "orders-v2", "payments"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("biling", &names), Some("billing"));
        assert_eq!(closest("Billing", &names), Some("billing"));
        assert_eq!(closest("orders-v1", &names), Some("orders-v2"));
        assert_eq!(closest("zzz", &names), None);
        assert_eq!(closest("bill", &names), Some("billing"));
        assert_eq!(closest("payments-eu-west", &names), Some("payments"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
