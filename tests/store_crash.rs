//! Crash test: a child process commits in a loop to a store (local disk, and HDFS when
//! `TIDEMARK_TEST_HDFS` names a cluster) and is killed with SIGKILL at random moments, over 100
//! times on local disk. After each kill the store opens, `latest()` is valid (nothing damaged
//! is ever seen), and its id is at least the last id the child reported as committed.

use tidemark_testkit::stores;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tidemark::Offsets;
use tidemark::store::{
    HistoryQuery, ManualClock, NewCheckpoint, RetentionPolicy, Store, StoreOptions, WriterConfig,
};

const CHILD_ENV: &str = "TIDEMARK_CRASH_CHILD_DIR";
const KILLS: usize = 120;
/// Fewer on HDFS: each child connects to the NameNode first, so a round takes longer.
const HDFS_KILLS: usize = 40;

fn offsets(n: i64) -> Offsets {
    (0..16).map(|p| ("events", p, n * 100 + p as i64)).collect()
}

/// The child: commits forever, printing each acknowledged id. Run only by the crash test.
#[test]
#[ignore = "the crash test runs this as its child process"]
fn crash_child_process() {
    let dir = std::env::var(CHILD_ENV).expect("run by the crash test");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&dir).unwrap();
        let mut w = store
            .writer("crash", WriterConfig::new("crash-child", "1"))
            .await
            .unwrap();
        println!("committed {}", w.last_id());
        for n in 0.. {
            let c = w.commit(NewCheckpoint::new(offsets(n))).await.unwrap();
            println!("committed {}", c.id);
        }
    });
}

#[test]
fn sigkill_at_random_moments_never_loses_an_acknowledged_commit() {
    let dir = tempfile::tempdir().unwrap();
    crash(dir.path().to_str().unwrap(), KILLS, 40_000);
}

#[test]
fn sigkill_at_random_moments_on_hdfs() {
    if let Some(url) = stores::hdfs_url("crash") {
        // An HDFS commit usually waits for hdfs-native's 500 ms retry of the file completion:
        // kill within a second, so that some commits are acknowledged between kills and
        // others are cut off mid-write.
        crash(&url, HDFS_KILLS, 1_000_000);
    }
}

/// CI found it (the HDFS crash test above): a writer that crashed in a hint write left
/// `._latest.tmp.1` under its lease; a minute later HDFS began recovering that file, and while
/// it did, every create of that name was refused with `RecoveryInProgressException`. The next
/// writer's hint write failed, so its open failed with a stale hint; a commit whose id the
/// crashed writer was writing failed the same way. Both are now tried again until the
/// recovery ends.
#[test]
fn files_of_crashed_writers_under_recovery_delay_writes_on_hdfs_but_never_fail_them() {
    let Some(url) = stores::hdfs_url("lease") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&url).unwrap();
        let (raw, root) = stores::Location::Hdfs { url: url.clone() }.raw();
        let hint_path = object_store::path::Path::from(format!("{root}/streams/s/_latest"));
        let hint = || async {
            use object_store::ObjectStoreExt;
            let bytes = raw.get(&hint_path).await.unwrap().bytes().await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let mut first = store
            .writer("s", WriterConfig::new("first", "1"))
            .await
            .unwrap();
        let next = first.last_id() + 1;
        // The temporary files the next commit's create and hint write pick first.
        let _cut = [
            stores::hdfs_file_under_recovery(&url, "s", &format!(".{next:020}.tdm.tmp.1")).await,
            stores::hdfs_file_under_recovery(&url, "s", "._latest.tmp.1").await,
        ];
        let c = first.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        assert_eq!(c.id, next);
        assert_eq!(hint().await, format!("{next}\n"));
        // A new writer's claim, while the hint's second temporary file is being recovered.
        let claim = next + 1;
        let _cut = [
            stores::hdfs_file_under_recovery(&url, "s", &format!(".{claim:020}.tdm.tmp.1")).await,
            stores::hdfs_file_under_recovery(&url, "s", "._latest.tmp.2").await,
        ];
        let second = store
            .writer("s", WriterConfig::new("second", "1"))
            .await
            .unwrap();
        assert_eq!(second.epoch(), claim);
        assert_eq!(hint().await, format!("{claim}\n"));
    });
}

/// Kills a child committing to the store at `target` `kills` times, each within `window_us`
/// microseconds of its first acknowledged commit, checking the store after each kill.
fn crash(target: &str, kills: usize, window_us: u64) {
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = 0x00c0_ffee;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut total_commits = 0u64;
    for kill in 0..kills {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "crash_child_process", "--nocapture"])
            .env(CHILD_ENV, target)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("committed ") {
                    let _ = tx.send(id.parse::<u64>().unwrap());
                }
            }
        });
        // Wait until the child is writing, then kill it somewhere in the next window.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("child started");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_micros((seed >> 33) % window_us));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let last_reported = rx.try_iter().last().unwrap_or(first);
        total_commits += last_reported - first;

        let store = Store::open(target).unwrap();
        let report = rt.block_on(store.latest_report("crash")).unwrap();
        assert!(
            report.skipped.is_empty(),
            "kill {kill}: damaged {:?}",
            report.skipped
        );
        let latest = report.checkpoint.expect("a checkpoint");
        assert!(
            latest.id >= last_reported,
            "kill {kill}: latest {} < acknowledged {last_reported}",
            latest.id
        );
    }
    // Every checkpoint left behind is complete; leftover temporary files are cleaned away.
    let store = Store::open(target).unwrap();
    rt.block_on(async {
        let history = store
            .history("crash", &HistoryQuery::default())
            .await
            .unwrap();
        for entry in &history {
            store.get("crash", entry.id).await.unwrap();
        }
        // Two minutes later (no leftover is younger than a minute then), a new writer removes
        // the staging files up to its claim, and compaction the rest.
        let later = Store::open_with(
            target,
            StoreOptions {
                clock: std::sync::Arc::new(ManualClock::new(
                    std::time::SystemTime::now() + Duration::from_secs(120),
                )),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        later
            .writer("crash", WriterConfig::new("cleanup", "1"))
            .await
            .unwrap();
        let policy = RetentionPolicy {
            temporary_grace: Duration::ZERO,
            ..RetentionPolicy::new(Duration::from_secs(86400), 1)
        };
        later.compact("crash", &policy, false).await.unwrap();
        assert!(later.list("crash").await.unwrap().temporary.is_empty());
        eprintln!(
            "{target}: {kills} kills, {} checkpoints, {total_commits} commits acknowledged between kills",
            history.len()
        );
    });
}
