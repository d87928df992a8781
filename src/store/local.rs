//! One commit attempt on local disk, done in a single blocking call with `std::fs`.
//!
//! Through `object_store` an attempt costs three hand-offs to a blocking thread (reading the
//! `_latest` hint takes two, the create-if-absent write one), each tens of microseconds on a
//! busy machine, against a floor of one file fsync and one folder fsync (BENCHMARKS.md). Here
//! the same steps, on the same files, take one hand-off (none for the blocking facade, whose
//! caller waits anyway). The files are those of
//! `object_store`'s `LocalFileSystem` (format-spec/LAYOUT.md §4): a staging file
//! `<name>#<k>`, fsynced, hard-linked to `<name>` (which fails if it is taken), the folder
//! fsynced, the staging name removed.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::layout::{HINT_NAME, checkpoint_file_name, parse_hint};

/// What a commit attempt should do, in one stream folder.
pub(crate) struct Attempt {
    /// The stream's folder.
    pub(crate) dir: PathBuf,
    /// The id to create.
    pub(crate) id: u64,
    /// The encoded checkpoint.
    pub(crate) bytes: Bytes,
    /// Read the file back after writing it and compare.
    pub(crate) verify: bool,
    /// Rewrite the `_latest` hint after a successful create.
    pub(crate) write_hint: bool,
}

/// How an attempt ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The hint names a newer checkpoint that exists: its id and bytes; nothing was written.
    HintAhead(u64, Bytes),
    /// The hint names an id at or past the one to write, but that checkpoint is gone
    /// (compaction deleted it, or the hint is wrong); nothing was written.
    HintGone,
    /// The checkpoint was created and is durable.
    Created,
    /// The id was taken: the bytes found there (`None` if the file vanished since).
    Taken(Option<Bytes>),
    /// The file was created, but reading it back did not return what was written.
    LostWrite,
    /// The id is taken by something that is not a file (a directory): no checkpoint.
    NotAFile,
}

impl Attempt {
    /// Runs the attempt on a blocking thread when inside a tokio runtime, inline otherwise.
    pub(crate) async fn run(self) -> std::io::Result<Outcome> {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || self.run_blocking())
                .await
                .map_err(std::io::Error::other)?,
            Err(_) => self.run_blocking(),
        }
    }

    /// Runs the attempt on the calling thread, blocking it.
    pub(crate) fn run_inline(self) -> std::io::Result<Outcome> {
        self.run_blocking()
    }

    fn run_blocking(&self) -> std::io::Result<Outcome> {
        // A newer writer may have moved on past ids that compaction has since deleted: the
        // hint tells before anything is written.
        if let Some(hint) = read_optional(&self.dir.join(HINT_NAME))?.and_then(|b| parse_hint(&b))
            && hint >= self.id
        {
            return Ok(
                match read_optional(&self.dir.join(checkpoint_file_name(hint)))? {
                    Some(found) => Outcome::HintAhead(hint, found),
                    None => Outcome::HintGone,
                },
            );
        }
        let target = self.dir.join(checkpoint_file_name(self.id));
        let (mut file, staging) = new_staging_file(&target)?;
        let written = file.write_all(&self.bytes).and_then(|()| file.sync_all());
        drop(file);
        let linked = written.and_then(|()| std::fs::hard_link(&staging, &target));
        // The staging name goes whatever happened; compaction removes it if this fails.
        let _ = std::fs::remove_file(&staging);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
                    return Ok(Outcome::NotAFile);
                }
                return Ok(Outcome::Taken(read_optional(&target)?));
            }
            Err(e) => return Err(e),
        }
        sync_dir(&self.dir)?;
        if self.verify && read_optional(&target)?.as_ref() != Some(&self.bytes) {
            return Ok(Outcome::LostWrite);
        }
        if self.write_hint {
            // A hint only saves listing: a failure is logged, not returned.
            if let Err(e) = write_hint(&self.dir, self.id) {
                tracing::warn!(dir = %self.dir.display(), error = %e,
                    "could not update the latest-id hint");
            }
        }
        Ok(Outcome::Created)
    }
}

/// The file's bytes, or `None` if it does not exist.
fn read_optional(path: &Path) -> std::io::Result<Option<Bytes>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Bytes::from(bytes))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `<target>#<k>` for the first free `k`, creating the folder durably if it is gone.
fn new_staging_file(target: &Path) -> std::io::Result<(File, PathBuf)> {
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
fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
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
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

/// Rewrites `_latest` as `object_store`'s overwrite does (staging file, rename), without fsync.
fn write_hint(dir: &Path, id: u64) -> std::io::Result<()> {
    let target = dir.join(HINT_NAME);
    let (mut file, staging) = new_staging_file(&target)?;
    let written = file.write_all(format!("{id}\n").as_bytes());
    drop(file);
    let renamed = written.and_then(|()| std::fs::rename(&staging, &target));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(dir: &Path, id: u64, bytes: &'static [u8]) -> Attempt {
        Attempt {
            dir: dir.to_owned(),
            id,
            bytes: Bytes::from_static(bytes),
            verify: true,
            write_hint: true,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
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
    fn a_taken_id_is_not_overwritten_and_its_bytes_are_returned() {
        let tmp = tempfile::tempdir().unwrap();
        attempt(tmp.path(), 1, b"first").run_blocking().unwrap();
        let mut second = attempt(tmp.path(), 1, b"second");
        second.write_hint = false;
        std::fs::remove_file(tmp.path().join(HINT_NAME)).unwrap();
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
