//! The local-disk backend: `std::fs` with the fsyncs, and a commit attempt done in a single
//! blocking call.
//!
//! Files are those `object_store`'s `LocalFileSystem` writes (format-spec/LAYOUT.md §4), so
//! stores written by either read the same: a checkpoint is created as a staging file
//! `<name>#<k>`, fsynced, hard-linked to `<name>` (which fails if it is taken), the folder
//! fsynced, the staging name removed. The hint is rewritten through a staging file put in
//! its place atomically ([`replace_hint`]), without fsync (it is only an optimisation).
//!
//! Through a generic backend an attempt costs three hand-offs to a blocking thread (reading
//! the hint takes one, the create-if-absent write one, the hint one), each tens of
//! microseconds on a busy machine, against a floor of one file fsync and one folder fsync
//! (BENCHMARKS.md). [`LocalBackend::attempt`] does the same steps, on the same files, in one
//! hand-off (none for the blocking facade, whose caller waits anyway), to the store's own warm
//! thread ([`super::io_thread`]) rather than to tokio's blocking pool.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path as FsPath, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;

use super::io_thread::IoThread;
use super::{Attempt, Backend, Created, Listed, Outcome, backend_error};
use crate::store::error::{Result, StoreError};
use crate::store::hint;
use crate::store::layout::StreamPaths;

/// A folder on local disk as a [`Backend`].
#[derive(Debug)]
pub(crate) struct LocalBackend {
    root: PathBuf,
    /// The thread the file work of async callers runs on.
    io: IoThread,
}

impl LocalBackend {
    /// The backend rooted at `root`, an existing folder.
    pub(crate) fn new(root: PathBuf) -> Self {
        LocalBackend {
            root,
            io: IoThread::default(),
        }
    }

    /// The file of `path`: its parts, with `object_store`'s escapes (`%23` for `#`) undone.
    fn file(&self, path: &Path) -> PathBuf {
        let mut file = self.root.clone();
        for part in path.parts() {
            match crate::store::url::percent_decode(part.as_ref()) {
                Some(name) => file.push(name),
                None => file.push(part.as_ref()),
            }
        }
        file
    }

    /// Runs `work` on another thread when inside a runtime (inline when `inline` or outside
    /// one), mapping an I/O error to a backend error of `operation` on `path`.
    async fn blocking<T: Send + 'static>(
        &self,
        operation: &'static str,
        path: &Path,
        inline: bool,
        work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> Result<T> {
        self.io
            .run(inline, work)
            .await
            .map_err(|e| io_error(operation, path, e))
    }
}

/// A local file-system error of `operation` on `path`, as a backend error.
fn io_error(operation: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    let source = object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(source),
    };
    backend_error(operation, path, source)
}

#[async_trait]
impl Backend for LocalBackend {
    async fn create(&self, path: &Path, bytes: Bytes) -> Result<Created> {
        let file = self.file(path);
        self.blocking("put", path, false, move || create_durably(&file, &bytes))
            .await
    }

    async fn read(&self, path: &Path) -> Result<Option<Bytes>> {
        let file = self.file(path);
        self.blocking("get", path, false, move || read_optional(&file))
            .await
    }

    /// A `stat`: anything at the name counts (LAYOUT.md §5), so that a directory with a
    /// checkpoint name, which writers move past, does not end a reader's probe.
    async fn exists(&self, path: &Path) -> Result<bool> {
        let file = self.file(path);
        self.blocking(
            "head",
            path,
            false,
            move || match std::fs::symlink_metadata(&file) {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            },
        )
        .await
    }

    async fn list(&self, dir: &Path) -> Result<Vec<Listed>> {
        let folder = self.file(dir);
        self.blocking("list", dir, false, move || {
            let mut out = Vec::new();
            list_files(&folder, "", &mut out)?;
            Ok(out)
        })
        .await
    }

    async fn list_folders(&self, dir: &Path) -> Result<Vec<Path>> {
        let folder = self.file(dir);
        let names = self
            .blocking("list", dir, false, move || {
                let entries = match std::fs::read_dir(&folder) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry?;
                    if entry.file_type()?.is_dir()
                        && let Ok(name) = entry.file_name().into_string()
                    {
                        names.push(name);
                    }
                }
                Ok(names)
            })
            .await?;
        Ok(names
            .iter()
            .map(|name| dir.clone().join(name.as_str()))
            .collect())
    }

    async fn delete(&self, paths: Vec<Path>) -> Result<()> {
        let Some(first) = paths.first().cloned() else {
            return Ok(());
        };
        let files: Vec<PathBuf> = paths.iter().map(|p| self.file(p)).collect();
        self.blocking("delete", &first, false, move || {
            for file in files {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove_empty_folder(&self, dir: &Path) -> Result<()> {
        let folder = self.file(dir);
        self.blocking("delete", dir, false, move || {
            match std::fs::remove_dir(&folder) {
                // Not empty (a foreign object, or a writer that came back), or already gone.
                Err(e)
                    if e.kind() != ErrorKind::NotFound && folder.read_dir()?.next().is_some() =>
                {
                    Ok(())
                }
                Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn write_hint(&self, path: &Path, contents: Bytes) -> Result<()> {
        let file = self.file(path);
        self.blocking("put", path, false, move || {
            write_hint_file(&file, &contents)
        })
        .await
    }

    async fn attempt(&self, paths: &StreamPaths, attempt: Attempt) -> Result<Outcome> {
        let dir = self.file(paths.dir());
        let hint_file = self.file(paths.hint());
        let target = self.file(&paths.checkpoint(attempt.id));
        let inline = attempt.inline;
        let id = attempt.id;
        let found_file = {
            let dir = dir.clone();
            move |id: u64| dir.join(crate::store::layout::checkpoint_file_name(id))
        };
        self.io
            .run(inline, move || {
                attempt_blocking(&hint_file, &target, found_file, &attempt)
            })
            .await
            .map_err(|failed| {
                // The error names the object the failed step was working on.
                let (operation, path) = match failed.step {
                    AttemptStep::ReadHint => ("get", paths.hint().clone()),
                    AttemptStep::ReadFound(found) => ("get", paths.checkpoint(found)),
                    AttemptStep::Create => ("put", paths.checkpoint(id)),
                    AttemptStep::ReadBack => ("get", paths.checkpoint(id)),
                };
                io_error(operation, &path, failed.source)
            })
    }
}

/// The step of a local commit attempt that failed.
#[derive(Debug, Clone, Copy)]
enum AttemptStep {
    /// Reading the hint.
    ReadHint,
    /// Reading the checkpoint the hint names.
    ReadFound(u64),
    /// Creating the checkpoint.
    Create,
    /// Reading it back.
    ReadBack,
}

/// A failed step of a local commit attempt.
#[derive(Debug)]
struct AttemptFailed {
    step: AttemptStep,
    source: std::io::Error,
}

impl From<std::io::Error> for AttemptFailed {
    /// An error outside any step (the blocking task failed): counted as the create's.
    fn from(source: std::io::Error) -> Self {
        AttemptFailed {
            step: AttemptStep::Create,
            source,
        }
    }
}

/// One commit attempt, on the calling thread: the steps of [`super::compose_attempt`] on
/// local files.
fn attempt_blocking(
    hint_file: &FsPath,
    target: &FsPath,
    checkpoint_file: impl Fn(u64) -> PathBuf,
    attempt: &Attempt,
) -> std::result::Result<Outcome, AttemptFailed> {
    let at = |step: AttemptStep| move |source| AttemptFailed { step, source };
    // A newer writer may have moved on past ids that compaction has since deleted: the hint
    // tells before anything is written.
    if attempt.check_hint {
        let hint = read_optional(hint_file)
            .map_err(at(AttemptStep::ReadHint))?
            .and_then(|b| hint::parse(&b));
        match hint {
            Some(hint) if hint >= attempt.id => {
                let found = read_optional(&checkpoint_file(hint))
                    .map_err(at(AttemptStep::ReadFound(hint)))?;
                return Ok(match found {
                    Some(found) => Outcome::HintAhead(hint, found),
                    None => Outcome::HintGone,
                });
            }
            Some(_) => {}
            // Whether a newer writer moved on is unknown: the writer lists.
            None => return Ok(Outcome::NoHint),
        }
    }
    match create_durably(target, &attempt.bytes).map_err(at(AttemptStep::Create))? {
        Created::Yes => {}
        Created::Taken(found) => return Ok(Outcome::Taken(found)),
    }
    if attempt.verify
        && read_optional(target)
            .map_err(at(AttemptStep::ReadBack))?
            .as_ref()
            != Some(&attempt.bytes)
    {
        return Ok(Outcome::LostWrite);
    }
    if attempt.write_hint {
        // A hint only saves listing: a failure is logged, not returned.
        if let Err(e) = write_hint_file(hint_file, &hint::render(attempt.id)) {
            tracing::warn!(path = %hint_file.display(), error = %e,
                "could not update the latest-id hint");
        }
    }
    Ok(Outcome::Created)
}

/// Creates `target` with `bytes` if it does not exist: a staging file, fsynced, hard-linked
/// to `target`, the folder fsynced. Never overwrites.
fn create_durably(target: &FsPath, bytes: &[u8]) -> std::io::Result<Created> {
    // A staging file can vanish before it is linked (a writer opening the stream, or
    // compaction, removed it as a leftover): then it is written again, a few times at most.
    let mut attempts = 0;
    let linked = loop {
        attempts += 1;
        let (mut file, staging) = new_staging_file(target)?;
        let written = file.write_all(bytes).and_then(|()| file.sync_all());
        drop(file);
        let linked = written.and_then(|()| std::fs::hard_link(&staging, target));
        // The staging name goes whatever happened; compaction removes it if this fails.
        let _ = std::fs::remove_file(&staging);
        match linked {
            Err(e) if e.kind() == ErrorKind::NotFound && attempts < 4 => continue,
            other => break other,
        }
    };
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            // Something that is not a file (a directory with a checkpoint name) holds no
            // checkpoint: nothing readable was found.
            if std::fs::symlink_metadata(target).is_ok_and(|m| !m.is_file()) {
                return Ok(Created::Taken(None));
            }
            return Ok(Created::Taken(read_optional(target)?));
        }
        Err(e) => return Err(e),
    }
    if let Some(dir) = target.parent() {
        sync_dir(dir)?;
    }
    Ok(Created::Yes)
}

/// Every file under `folder` (names relative to the listed folder, `/`-separated), staging
/// files included, and every empty folder as its name and a `/` (an object store has no empty
/// folders; listed so that `verify` reports a directory with a checkpoint's name, which holds
/// an id); a missing folder lists as empty.
fn list_files(folder: &FsPath, prefix: &str, out: &mut Vec<Listed>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // Deleted since the folder was read.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            let before = out.len();
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            list_files(&entry.path(), &relative, out)?;
            if out.len() == before {
                out.push(Listed {
                    name: format!("{relative}/"),
                    modified,
                    size: 0,
                });
            }
        } else {
            out.push(Listed {
                name: relative,
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                size: meta.len(),
            });
        }
    }
    Ok(())
}

/// The file's bytes, or `None` if there is no file at `path`.
fn read_optional(path: &FsPath) -> std::io::Result<Option<Bytes>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Bytes::from(bytes))),
        // A directory at the name is no object (as `object_store` sees it too).
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `<target>#<k>` for the first free `k`, creating the folder durably if it is gone.
fn new_staging_file(target: &FsPath) -> std::io::Result<(File, PathBuf)> {
    let mut created_dirs = false;
    for k in 1u32.. {
        let mut name = target.as_os_str().to_owned();
        name.push(format!("#{k}"));
        let staging = PathBuf::from(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staging)
        {
            Ok(file) => return Ok((file, staging)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == ErrorKind::NotFound && !created_dirs => {
                let dir = target.parent().ok_or(e)?;
                create_dir_durably(dir)?;
                created_dirs = true;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 staging suffixes exhausted")
}

/// Creates `dir` and its missing ancestors, fsyncing the folder above each one created.
fn create_dir_durably(dir: &FsPath) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor
        && !d.exists()
    {
        missing.push(d);
        cursor = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Makes a folder's entries durable (a no-op where folders cannot be opened as files).
fn sync_dir(dir: &FsPath) -> std::io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

/// Rewrites the hint as `object_store`'s overwrite does (staging file, rename), without fsync.
fn write_hint_file(target: &FsPath, contents: &[u8]) -> std::io::Result<()> {
    let (mut file, staging) = new_staging_file(target)?;
    let written = file.write_all(contents);
    drop(file);
    let replaced = written.and_then(|()| replace_hint(&staging, target));
    if replaced.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    replaced
}

/// Puts the file `staging` in `target`'s place atomically: readers see the old hint or the
/// new one, never a mix or nothing.
///
/// On Linux the two names are exchanged and the staging name (now holding the old hint) is
/// removed. Renaming over an existing file instead makes ext4 start writing the new file's
/// data at once (`auto_da_alloc`), and the next commit's fsync waits for that write: 0.4 to
/// 0.8 of a commit's floor, against 0.1 to 0.6 by exchange (BENCHMARKS.md), for a file that
/// is never fsynced anyway. The price:
/// ext4 no longer writes the hint's data before the name change is journalled, so after a
/// power loss `_latest` may read empty, which readers and writers take for no usable hint
/// (they list). Where there is nothing to exchange with yet, or the file system cannot
/// exchange, a rename.
fn replace_hint(staging: &FsPath, target: &FsPath) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        use rustix::io::Errno;
        let exchange = || renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE);
        match exchange() {
            Ok(()) => {
                let removed = std::fs::remove_file(staging);
                if removed.is_err() && staging.is_dir() {
                    // `_latest` was a directory: foreign (LAYOUT.md §5.4), never replaced.
                    // Put it back; the caller removes the staging file.
                    exchange()?;
                }
                return removed;
            }
            Err(Errno::NOENT | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::rename(staging, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::layout::{HINT_NAME, checkpoint_file_name};

    /// One attempt of checkpoint `id` in the folder `dir`.
    struct Run<'a> {
        dir: &'a FsPath,
        attempt: Attempt,
    }

    impl Run<'_> {
        fn run_blocking(&self) -> std::io::Result<Outcome> {
            let dir = self.dir.to_owned();
            attempt_blocking(
                &self.dir.join(HINT_NAME),
                &self.dir.join(checkpoint_file_name(self.attempt.id)),
                move |id| dir.join(checkpoint_file_name(id)),
                &self.attempt,
            )
            .map_err(|failed| failed.source)
        }
    }

    /// An attempt that checks the hint only when there is one (a writer that has just listed
    /// the folder does not).
    fn attempt<'a>(dir: &'a FsPath, id: u64, bytes: &'static [u8]) -> Run<'a> {
        Run {
            dir,
            attempt: Attempt {
                id,
                bytes: Bytes::from_static(bytes),
                verify: true,
                write_hint: true,
                check_hint: dir.join(HINT_NAME).exists(),
                inline: true,
            },
        }
    }

    fn names(dir: &FsPath) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn creates_the_file_and_the_hint_and_leaves_no_staging_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("streams").join("a");
        let outcome = attempt(&dir, 1, b"one").run_blocking().unwrap();
        assert!(matches!(outcome, Outcome::Created), "{outcome:?}");
        assert_eq!(names(&dir), [checkpoint_file_name(1), HINT_NAME.to_owned()]);
        assert_eq!(
            std::fs::read(dir.join(checkpoint_file_name(1))).unwrap(),
            b"one"
        );
        assert_eq!(std::fs::read(dir.join(HINT_NAME)).unwrap(), b"1\n");
    }

    #[test]
    fn the_hint_is_replaced_whole_and_leaves_no_staging_file() {
        let tmp = tempfile::tempdir().unwrap();
        let hint = tmp.path().join(HINT_NAME);
        write_hint_file(&hint, b"7\n").unwrap();
        assert_eq!(std::fs::read(&hint).unwrap(), b"7\n");
        // A leftover of a hint write cut off, holding an older hint, is left alone.
        std::fs::write(tmp.path().join("_latest#1"), b"3\n").unwrap();
        write_hint_file(&hint, b"12\n").unwrap();
        assert_eq!(std::fs::read(&hint).unwrap(), b"12\n");
        assert_eq!(names(tmp.path()), [HINT_NAME, "_latest#1"]);
        assert_eq!(std::fs::read(tmp.path().join("_latest#1")).unwrap(), b"3\n");
        // A directory in the hint's place stays there; the write fails and leaves nothing.
        let dir = tmp.path().join("d");
        std::fs::create_dir_all(dir.join(HINT_NAME)).unwrap();
        write_hint_file(&dir.join(HINT_NAME), b"1\n").unwrap_err();
        assert!(dir.join(HINT_NAME).is_dir());
        assert_eq!(names(&dir), [HINT_NAME]);
    }

    #[test]
    fn a_taken_id_is_not_overwritten_and_its_bytes_are_returned() {
        let tmp = tempfile::tempdir().unwrap();
        attempt(tmp.path(), 1, b"first").run_blocking().unwrap();
        std::fs::remove_file(tmp.path().join(HINT_NAME)).unwrap();
        let mut second = attempt(tmp.path(), 1, b"second");
        second.attempt.write_hint = false;
        match second.run_blocking().unwrap() {
            Outcome::Taken(Some(found)) => assert_eq!(&found[..], b"first"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            std::fs::read(tmp.path().join(checkpoint_file_name(1))).unwrap(),
            b"first"
        );
        assert_eq!(names(tmp.path()), [checkpoint_file_name(1)]);
    }

    #[test]
    fn a_hint_at_or_past_the_id_stops_the_attempt_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        // Without a usable hint, whether a newer writer moved on is unknown: nothing is
        // written, for the caller to list.
        for hint in [None, Some(&b"x\n"[..])] {
            if let Some(hint) = hint {
                std::fs::write(tmp.path().join(HINT_NAME), hint).unwrap();
            }
            let mut checking = attempt(tmp.path(), 7, b"seven");
            checking.attempt.check_hint = true;
            let outcome = checking.run_blocking().unwrap();
            assert!(matches!(outcome, Outcome::NoHint), "{outcome:?}");
            assert!(!tmp.path().join(checkpoint_file_name(7)).exists());
        }
        std::fs::remove_file(tmp.path().join(HINT_NAME)).unwrap();
        attempt(tmp.path(), 7, b"seven").run_blocking().unwrap();
        match attempt(tmp.path(), 3, b"three").run_blocking().unwrap() {
            Outcome::HintAhead(7, found) => assert_eq!(&found[..], b"seven"),
            other => panic!("{other:?}"),
        }
        assert!(!tmp.path().join(checkpoint_file_name(3)).exists());
        // A hint naming a checkpoint that does not exist stops it too, for the caller to list.
        std::fs::write(tmp.path().join(HINT_NAME), "9\n").unwrap();
        let outcome = attempt(tmp.path(), 8, b"eight").run_blocking().unwrap();
        assert!(matches!(outcome, Outcome::HintGone), "{outcome:?}");
        assert!(!tmp.path().join(checkpoint_file_name(8)).exists());
        // A hint below the id does not.
        std::fs::write(tmp.path().join(HINT_NAME), "7\n").unwrap();
        let outcome = attempt(tmp.path(), 8, b"eight").run_blocking().unwrap();
        assert!(matches!(outcome, Outcome::Created), "{outcome:?}");
    }

    #[test]
    fn an_occupied_staging_name_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let stale = tmp.path().join(format!("{}#1", checkpoint_file_name(1)));
        std::fs::write(&stale, b"torn").unwrap();
        let outcome = attempt(tmp.path(), 1, b"one").run_blocking().unwrap();
        assert!(matches!(outcome, Outcome::Created), "{outcome:?}");
        assert_eq!(std::fs::read(&stale).unwrap(), b"torn");
        assert_eq!(
            std::fs::read(tmp.path().join(checkpoint_file_name(1))).unwrap(),
            b"one"
        );
    }
}

#[cfg(test)]
mod backend_tests {
    use super::*;

    #[tokio::test]
    async fn listing_shows_staging_files_and_nested_objects_and_deletes_forgive_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(tmp.path().to_owned());
        let dir = Path::from("streams/a");
        let one = dir.clone().join("00000000000000000001.tdm");
        assert!(matches!(
            backend
                .create(&one, Bytes::from_static(b"1"))
                .await
                .unwrap(),
            Created::Yes
        ));
        match backend
            .create(&one, Bytes::from_static(b"2"))
            .await
            .unwrap()
        {
            Created::Taken(Some(found)) => assert_eq!(&found[..], b"1"),
            other => panic!("{other:?}"),
        }
        let folder = tmp.path().join("streams/a");
        std::fs::write(folder.join("00000000000000000002.tdm#1"), b"torn").unwrap();
        std::fs::create_dir(folder.join("sub")).unwrap();
        std::fs::write(folder.join("sub/x"), b"x").unwrap();
        let mut names: Vec<String> = backend
            .list(&dir)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "00000000000000000001.tdm",
                "00000000000000000002.tdm#1",
                "sub/x"
            ]
        );
        assert_eq!(
            backend.list_folders(&Path::from("streams")).await.unwrap(),
            std::slice::from_ref(&dir)
        );
        assert!(backend.exists(&one).await.unwrap());
        // A folder at a name counts as taken (LAYOUT.md §5).
        assert!(backend.exists(&dir.clone().join("sub")).await.unwrap());
        assert!(!backend.exists(&dir.clone().join("absent")).await.unwrap());
        backend
            .delete(vec![one.clone(), dir.clone().join("missing")])
            .await
            .unwrap();
        assert!(backend.read(&one).await.unwrap().is_none());
        assert!(
            backend
                .list(&Path::from("nothing/here"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
