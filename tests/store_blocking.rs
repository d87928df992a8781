//! The blocking facade works from plain threads, including background compaction.

use std::time::Duration;

use tidemark::Offsets;
use tidemark::blocking::Store;
use tidemark::store::{
    BackgroundCompaction, HistoryQuery, NewCheckpoint, RetentionPolicy, StoreError, WriterConfig,
};

fn offsets(n: i64) -> Offsets {
    [("t", 0, n)].into_iter().collect()
}

#[test]
fn a_non_async_application_commits_reads_and_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().to_str().unwrap();
    let store = Store::open(url).unwrap();
    let mut w = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    for n in 0..20 {
        w.commit(NewCheckpoint::new(offsets(n))).unwrap();
    }
    assert_eq!(store.latest("s").unwrap().unwrap().offsets, offsets(19));
    assert_eq!(
        store.history("s", &HistoryQuery::default()).unwrap().len(),
        21
    );
    // Another process's writer fences this one.
    let other = Store::open(url).unwrap();
    let mut w2 = other.writer("s", WriterConfig::new("app", "2")).unwrap();
    assert!(matches!(
        w.commit(NewCheckpoint::new(offsets(99))),
        Err(StoreError::Fenced { .. })
    ));
    w2.commit(NewCheckpoint::new(offsets(100))).unwrap();
    assert_eq!(other.latest("s").unwrap().unwrap().offsets, offsets(100));
}

#[test]
fn background_compaction_runs_without_delaying_commits() {
    // A clock that stands an hour ahead: every checkpoint is past the zero maximum age,
    // whatever the resolution of the times compared (CI once saw the first run delete nothing).
    let clock =
        tidemark::store::ManualClock::new(std::time::SystemTime::now() + Duration::from_secs(3600));
    let options = tidemark::store::StoreOptions {
        clock: std::sync::Arc::new(clock),
        ..tidemark::store::StoreOptions::default()
    };
    let store = Store::open_with("memory://", options).unwrap();
    let config = WriterConfig::new("app", "1").with_background_compaction(BackgroundCompaction {
        policy: RetentionPolicy::new(Duration::ZERO, 5),
        every_commits: Some(10),
        every: None,
    });
    let mut w = store.writer("bg", config).unwrap();
    for n in 0..50 {
        w.commit(NewCheckpoint::new(offsets(n))).unwrap();
    }
    // Wait for the last run to finish, then check it kept its promise.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.last_compaction().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = w
        .last_compaction()
        .expect("a background run finished")
        .unwrap();
    assert!(!report.deleted.is_empty());
    std::thread::sleep(Duration::from_millis(200));
    let left = store.history("bg", &HistoryQuery::default()).unwrap();
    assert!(left.len() < 51, "nothing was compacted: {}", left.len());
    assert_eq!(store.latest("bg").unwrap().unwrap().offsets, offsets(49));
}
