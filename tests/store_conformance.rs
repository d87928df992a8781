//! The conformance suite: every case runs against every backend (memory, local disk, S3 on a
//! real S3-compatible server when available, HDFS when configured).

use tidemark_testkit::stores;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use object_store::ObjectStoreExt;
use stores::{CountingStore, Location, Op, locations};
use tidemark::Offsets;
use tidemark::store::{
    Damage, HistoryQuery, ManualClock, NewCheckpoint, RetentionPolicy, StoreError, StoreOptions,
    WriterConfig,
};

fn config(app: &str) -> WriterConfig {
    WriterConfig::new(app, "1.0.0").with_host("test-host")
}

fn offsets(n: i64) -> Offsets {
    [
        ("orders", 0, n),
        ("orders", 1, n * 2),
        ("refunds", 0, n + 7),
    ]
    .into_iter()
    .collect()
}

/// Runs `case` on a fresh location of every backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for location in locations(stringify!($name)) {
                eprintln!("{} on {}", stringify!($name), location.name());
                cases::$name(&location).await;
            }
        }
    )*};
}

conformance!(
    commit_latest_get_and_history,
    a_thousand_commits,
    racing_writers_never_share_an_id,
    a_zombie_writer_is_fenced,
    a_zombie_is_fenced_after_compaction_deleted_the_ids_it_would_write,
    damaged_latest_objects_fall_back,
    leftover_temporary_files_are_ignored_and_compacted,
    odd_stream_names_stay_inside_the_root,
    compaction_follows_the_policy,
    a_backend_ignoring_conditional_writes_is_refused,
    latest_costs_a_constant_number_of_requests,
    history_filters_by_time_and_limit,
    a_newer_format_stops_latest_and_writers,
    a_damaged_object_at_the_next_id_is_moved_past,
    ids_at_the_top_of_the_range_are_refused,
    staging_files_in_flight_are_never_compacted_and_a_new_writer_cleans_stale_ones,
    a_claim_with_offsets_is_one_write_that_fences,
    a_directory_named_like_the_hint_stops_no_commit,
    a_zombie_is_fenced_when_the_hint_names_a_damaged_object,
    a_directory_named_like_a_checkpoint_stops_no_writer_and_is_reported,
    claims_and_commits_never_leave_free_ids_below_them,
);

mod cases {
    /// Makes `name` in the stream's folder a directory: an empty one on local disk, a key
    /// prefix (`name/x`) on object stores, where an empty folder does not exist.
    async fn plant_directory(loc: &Location, stream: &str, name: &str) {
        match loc.local_dir() {
            Some(dir) => {
                std::fs::create_dir_all(dir.join("streams").join(stream).join(name)).unwrap()
            }
            None => put_raw(loc, stream, &format!("{name}/x"), b"x".to_vec()).await,
        }
    }

    /// The foreign object a planted directory is listed as.
    fn directory_listed_as(loc: &Location, name: &str) -> String {
        match loc.local_dir() {
            Some(_) => format!("{name}/"),
            None => format!("{name}/x"),
        }
    }

    /// Found by the state-machine test: a zombie writer whose hint named a damaged object
    /// above a newer writer's claim moved past the damage and committed (`Ok` after being
    /// fenced). The newest valid checkpoint decides now.
    pub async fn a_zombie_is_fenced_when_the_hint_names_a_damaged_object(loc: &Location) {
        let store = loc.open();
        let mut zombie = store.writer("z", config("old")).await.unwrap();
        zombie.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let newer = store.writer("z", config("new")).await.unwrap();
        let next = newer.last_id() + 1;
        plant(loc, "z", next, Vec::new()).await;
        put_raw(loc, "z", "_latest", format!("{next}\n").into_bytes()).await;
        match zombie.commit(NewCheckpoint::new(offsets(2))).await {
            Err(StoreError::Fenced { by, .. }) => assert_eq!(by.epoch, newer.epoch()),
            other => panic!("{other:?}"),
        }
        // Without a usable hint, the same.
        let mut zombie = store.writer("z", config("old")).await.unwrap();
        let _newest = store.writer("z", config("new")).await.unwrap();
        put_raw(loc, "z", "_latest", b"garbage".to_vec()).await;
        assert!(matches!(
            zombie.commit(NewCheckpoint::new(offsets(3))).await,
            Err(StoreError::Fenced { .. })
        ));
        assert_eq!(store.get_bytes("z", next).await.unwrap().unwrap().len(), 0);
    }

    /// Issue case 6: a `_latest` that is a directory made every commit fail, the error naming a
    /// checkpoint. Commits succeed (readers probe or list without a hint); `verify` reports
    /// it; compaction, which must rewrite the hint before deleting, fails naming the hint and
    /// deletes nothing.
    pub async fn a_directory_named_like_the_hint_stops_no_commit(loc: &Location) {
        let store = loc.open();
        plant_directory(loc, "h", "_latest").await;
        let mut writer = store.writer("h", config("app")).await.unwrap();
        for n in 0..20 {
            writer.commit(NewCheckpoint::new(offsets(n))).await.unwrap();
        }
        let latest = store.latest("h").await.unwrap().unwrap();
        assert_eq!((latest.id, latest.offsets), (writer.last_id(), offsets(19)));
        let report = store.verify("h", |_, _| {}).await.unwrap();
        assert_eq!(report.foreign, [directory_listed_as(loc, "_latest")]);
        assert_eq!(report.valid, 21);
        let policy = RetentionPolicy::new(Duration::ZERO, 1);
        match store.compact("h", &policy, false).await {
            // Local disk and HDFS (a real directory there): the hint cannot be written, and
            // the error says so; nothing is deleted.
            Err(e) if loc.local_dir().is_some() || matches!(loc, Location::Hdfs { .. }) => {
                let message = tidemark::error_chain(&e);
                assert!(message.contains("h/_latest"), "{message}");
                assert_eq!(store.list("h").await.unwrap().checkpoints.len(), 21);
            }
            // Object stores: a key prefix does not block the hint's name.
            Ok(r) if loc.local_dir().is_none() && !matches!(loc, Location::Hdfs { .. }) => {
                assert_eq!(r.deleted.len(), 20)
            }
            other => panic!("{other:?}"),
        }
        writer
            .commit(NewCheckpoint::new(offsets(20)))
            .await
            .unwrap();
        assert_eq!(
            store.latest("h").await.unwrap().unwrap().id,
            writer.last_id()
        );
    }

    /// Issue case 6: a directory named like a checkpoint (`…31.tdm/`) passed `verify` and
    /// stopped every writer from opening. Writers open and commit past it, `verify` reports
    /// it, and nothing touches it.
    pub async fn a_directory_named_like_a_checkpoint_stops_no_writer_and_is_reported(
        loc: &Location,
    ) {
        let store = loc.open();
        let mut first = store.writer("d", config("app")).await.unwrap();
        for n in 0..29 {
            first.commit(NewCheckpoint::new(offsets(n))).await.unwrap();
        }
        assert_eq!(first.last_id(), 30);
        let name = "00000000000000000031.tdm";
        plant_directory(loc, "d", name).await;
        // The running writer commits past it, and new writers open, again and again.
        let c = first
            .commit(NewCheckpoint::new(offsets(100)))
            .await
            .unwrap();
        assert!(c.id >= 31);
        for _ in 0..3 {
            let mut writer = store.writer("d", config("next")).await.unwrap();
            writer
                .commit(NewCheckpoint::new(offsets(200)))
                .await
                .unwrap();
            let latest = store.latest("d").await.unwrap().unwrap();
            assert_eq!(latest.id, writer.last_id());
        }
        let report = store.verify("d", |_, _| {}).await.unwrap();
        assert_eq!(report.foreign, [directory_listed_as(loc, name)]);
        assert!(report.has_problems());
        let mut policy = RetentionPolicy::new(Duration::ZERO, 1);
        policy.temporary_grace = Duration::ZERO;
        let r = store.compact("d", &policy, false).await.unwrap();
        assert_eq!(r.foreign, [directory_listed_as(loc, name)]);
        if let Some(dir) = loc.local_dir() {
            assert!(dir.join("streams/d").join(name).is_dir());
        }
    }

    /// Puts `bytes` at checkpoint `id` of `stream` behind the store's back.
    async fn plant(loc: &Location, stream: &str, id: u64, bytes: Vec<u8>) {
        put_raw(loc, stream, &format!("{id:020}.tdm"), bytes).await;
    }

    /// Puts `bytes` as `name` (a path relative to the stream's folder) through the raw
    /// backend, behind the store's back.
    async fn put_raw(loc: &Location, stream: &str, name: &str, bytes: Vec<u8>) {
        let (raw, root) = loc.raw();
        let dir = if root.is_empty() {
            String::new()
        } else {
            format!("{root}/")
        };
        let path = object_store::path::Path::from(format!("{dir}streams/{stream}/{name}"));
        raw.put(&path, bytes.into()).await.unwrap();
    }

    /// Issue: an empty object at a writer's next id (a cut upload) wedged that writer for
    /// good. Now it moves past it, reports it, and never overwrites it.
    pub async fn a_damaged_object_at_the_next_id_is_moved_past(loc: &Location) {
        let store = loc.open();
        let mut writer = store.writer("w", config("app")).await.unwrap();
        writer.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let next = writer.last_id() + 1;
        plant(loc, "w", next, Vec::new()).await;
        plant(loc, "w", next + 1, b"garbage".to_vec()).await;
        let c = writer.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        assert_eq!(c.id, next + 2);
        let skipped: Vec<(u64, &str)> = c.skipped.iter().map(|s| (s.id, s.reason.kind())).collect();
        assert_eq!(skipped, [(next, "truncated"), (next + 1, "bad_magic")]);
        // Never overwritten.
        assert_eq!(store.get_bytes("w", next).await.unwrap().unwrap().len(), 0);
        assert_eq!(
            store.get_bytes("w", next + 1).await.unwrap().unwrap(),
            b"garbage".as_slice()
        );
        // The same writer keeps committing; readers see its newest checkpoint.
        for n in 3..6 {
            let c = writer.commit(NewCheckpoint::new(offsets(n))).await.unwrap();
            assert!(c.skipped.is_empty());
        }
        let latest = store.latest("w").await.unwrap().unwrap();
        assert_eq!((latest.id, latest.offsets), (writer.last_id(), offsets(5)));
    }

    /// Puts a staging file of checkpoint `id` of `stream`, named as the backend's interrupted
    /// writes leave them; returns its name.
    async fn plant_staging(loc: &Location, stream: &str, id: u64) -> String {
        plant_temporary(loc, stream, &format!("{id:020}.tdm")).await
    }

    /// Puts a temporary file of an interrupted write of `staged` in `stream`'s folder, named
    /// as the backend leaves them; returns its name.
    async fn plant_temporary(loc: &Location, stream: &str, staged: &str) -> String {
        match loc.local_dir() {
            Some(dir) => {
                let name = format!("{staged}#1");
                std::fs::write(dir.join("streams").join(stream).join(&name), b"torn").unwrap();
                name
            }
            None => {
                let name = format!(".{staged}.tmp.1");
                put_raw(loc, stream, &name, b"torn".to_vec()).await;
                name
            }
        }
    }

    /// Issue: `compact --temporary-grace 0s` deleted a live writer's staging files, and
    /// staging files of crashed writes made `verify` report problems until a compaction ran.
    pub async fn staging_files_in_flight_are_never_compacted_and_a_new_writer_cleans_stale_ones(
        loc: &Location,
    ) {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let store = loc.open_with(StoreOptions {
            clock: clock.clone(),
            ..StoreOptions::default()
        });
        let mut writer = store.writer("s", config("app")).await.unwrap();
        writer.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let newest = writer.last_id();
        let stale = plant_staging(loc, "s", newest).await;
        let in_flight = plant_staging(loc, "s", newest + 1).await;
        // Nothing younger than a minute is touched, whatever the rules by id say.
        let mut policy = RetentionPolicy::new(Duration::from_secs(86400), 10);
        policy.temporary_grace = Duration::ZERO;
        let r = store.compact("s", &policy, false).await.unwrap();
        assert!(r.temporary_deleted.is_empty(), "{r:?}");
        clock.advance(Duration::from_secs(120));
        // Harmless leftovers: verify reports them, but no problem.
        let report = store.verify("s", |_, _| {}).await.unwrap();
        assert_eq!(report.temporary.len(), 2);
        assert!(!report.has_problems(), "{report:?}");
        // No grace period makes compaction delete the staging file of the id a live writer
        // writes next; the stale one goes.
        let r = store.compact("s", &policy, false).await.unwrap();
        assert_eq!(r.temporary_deleted, [stale]);
        let left: Vec<String> = store
            .list("s")
            .await
            .unwrap()
            .temporary
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(left, [in_flight]);
        // A hint write cut off over a minute ago (on HDFS, each such leftover costs every
        // later hint write a request).
        plant_temporary(loc, "s", "_latest").await;
        // A new writer's claim fences every older writer: staging files up to its claim are
        // no one's any more, and it removes them, and the hint's old ones.
        let second = store.writer("s", config("app")).await.unwrap();
        assert_eq!(second.epoch(), newest + 1);
        assert!(store.list("s").await.unwrap().temporary.is_empty());
    }

    /// Issue: with a damaged object at the largest id and no hint, a new writer wrapped
    /// around to id 0. Now a claim above the newest valid checkpoint that would pass the
    /// largest id is refused clearly; damage up there alone takes no id from a new stream.
    pub async fn ids_at_the_top_of_the_range_are_refused(loc: &Location) {
        let store = loc.open();
        let valid = |stream: &str, id: u64| {
            let c = tidemark_testkit::fixtures::checkpoint(stream, id, offsets(1));
            tidemark::format::encode(&c).unwrap()
        };
        plant(loc, "top", u64::MAX - 1, valid("top", u64::MAX - 1)).await;
        plant(loc, "top", u64::MAX, b"damaged".to_vec()).await;
        match store.writer("top", config("app")).await {
            Err(StoreError::IdsExhausted { last, .. }) => assert_eq!(last, u64::MAX),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.latest("top").await.unwrap().unwrap().id, u64::MAX - 1);

        plant(loc, "top-valid", u64::MAX, valid("top-valid", u64::MAX)).await;
        match store.writer("top-valid", config("app")).await {
            Err(StoreError::IdsExhausted { last, .. }) => assert_eq!(last, u64::MAX),
            other => panic!("{other:?}"),
        }

        plant(loc, "top-damage", u64::MAX, b"damaged".to_vec()).await;
        let mut writer = store.writer("top-damage", config("app")).await.unwrap();
        assert_eq!(writer.epoch(), 1, "never wraps, never jumps to the top");
        let c = writer.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        assert_eq!(c.id, 2);
        assert_eq!(store.latest("top-damage").await.unwrap().unwrap().id, 2);
    }

    /// Found by the state-machine test's random runs: a claim used to take the id after the
    /// highest object present, jumping past damaged objects and leaving ids free below it.
    /// When that writer's open failed before it rewrote the hint, the previous writer, its
    /// hint lagging, committed into the free ids (`Ok` after a newer claim), and readers then
    /// fell back to the claim's older offsets. A claim now takes the lowest id above the
    /// newest valid checkpoint that holds no damage: the previous writer's next create meets it.
    pub async fn claims_and_commits_never_leave_free_ids_below_them(loc: &Location) {
        let store = loc.open();
        let mut old = store.writer("gap", config("old")).await.unwrap();
        old.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let last = old.commit(NewCheckpoint::new(offsets(2))).await.unwrap().id;
        // Damage two ids above the newest checkpoint, ids free between.
        plant(loc, "gap", last + 3, b"torn".to_vec()).await;
        let newer = store.writer("gap", config("new")).await.unwrap();
        assert_eq!(newer.epoch(), last + 1, "claims the first free id");
        // Its hint write lost (the open failed right after the create): the hint lags.
        put_raw(loc, "gap", "_latest", format!("{last}\n").into_bytes()).await;
        drop(newer);
        match old.commit(NewCheckpoint::new(offsets(3))).await {
            Err(StoreError::Fenced { by, .. }) => assert_eq!(by.epoch, last + 1),
            other => panic!("the old writer must be fenced, got {other:?}"),
        }
        let latest = store.latest("gap").await.unwrap().unwrap();
        assert_eq!((latest.id, latest.offsets), (last + 1, offsets(2)));
        // The next writer moves past the damage, never overwriting it.
        let mut next = store.writer("gap", config("next")).await.unwrap();
        assert_eq!(next.epoch(), last + 2);
        let c = next.commit(NewCheckpoint::new(offsets(4))).await.unwrap();
        assert_eq!(c.id, last + 4);
        assert_eq!(
            c.skipped.iter().map(|s| s.id).collect::<Vec<_>>(),
            [last + 3]
        );
        assert_eq!(
            store.get_bytes("gap", last + 3).await.unwrap().unwrap(),
            &b"torn"[..]
        );

        // The same for a commit: a writer without a usable hint lists the stream, and used to
        // move past damage above a free id, leaving that id to a claim it would never meet.
        let mut writer = store.writer("gap2", config("app")).await.unwrap();
        let last = writer.last_id();
        plant(loc, "gap2", last + 2, Vec::new()).await;
        put_raw(loc, "gap2", "_latest", b"garbage".to_vec()).await;
        let c = writer.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        assert_eq!((c.id, c.skipped.len()), (last + 1, 0), "{c:?}");
        let c = writer.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        assert_eq!(c.id, last + 3);
        assert_eq!(
            c.skipped.iter().map(|s| s.id).collect::<Vec<_>>(),
            [last + 2]
        );
    }

    use super::*;

    pub async fn commit_latest_get_and_history(loc: &Location) {
        let store = loc.open();
        assert_eq!(store.latest("billing").await.unwrap(), None);
        assert!(
            store
                .history("billing", &HistoryQuery::default())
                .await
                .unwrap()
                .is_empty()
        );

        let mut writer = store.writer("billing", config("app")).await.unwrap();
        // The claim checkpoint of a new stream has no offsets.
        assert_eq!(writer.epoch(), 1);
        let claim = store.latest("billing").await.unwrap().unwrap();
        assert_eq!((claim.id, claim.writer.epoch), (1, 1));
        assert!(claim.offsets.is_empty());

        let c = writer
            .commit(
                NewCheckpoint::new(offsets(10))
                    .with_batch_time_ms(1_700_000_000_000)
                    .with_metadata("sink.file", b"part-1".to_vec()),
            )
            .await
            .unwrap();
        assert_eq!(c.id, 2);
        let latest = store.latest("billing").await.unwrap().unwrap();
        assert_eq!(latest.id, 2);
        assert_eq!(latest.offsets, offsets(10));
        assert_eq!(latest.batch_time_ms, 1_700_000_000_000);
        assert_eq!(latest.metadata["sink.file"], b"part-1");
        assert_eq!(latest.writer.app_name, "app");
        assert_eq!(latest.writer.host, "test-host");
        assert_eq!(latest.writer.tidemark_version, tidemark::VERSION);

        writer
            .commit(NewCheckpoint::new(offsets(20)))
            .await
            .unwrap();
        assert_eq!(store.get("billing", 2).await.unwrap().offsets, offsets(10));
        assert_eq!(store.get("billing", 3).await.unwrap().offsets, offsets(20));
        assert!(matches!(
            store.get("billing", 9).await,
            Err(StoreError::NotFound { id: 9, .. })
        ));
        let ids: Vec<u64> = store
            .history("billing", &HistoryQuery::default())
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, [3, 2, 1]);
        // A second handle (another process) sees the same.
        let other = loc.open();
        assert_eq!(other.latest("billing").await.unwrap().unwrap().id, 3);
        assert_eq!(other.streams().await.unwrap(), ["billing"]);
        // Reopening a writer claims the stream again, carrying the offsets over.
        let again = other.writer("billing", config("app")).await.unwrap();
        assert_eq!(again.epoch(), 4);
        let latest = other.latest("billing").await.unwrap().unwrap();
        assert_eq!((latest.id, latest.offsets.clone()), (4, offsets(20)));
    }

    pub async fn a_thousand_commits(loc: &Location) {
        // On HDFS each commit waits for the NameNode to complete its files: the client's
        // first `complete` call usually races the DataNode's block report (the NameNode's log
        // says "COMMITTED but not COMPLETE") and hdfs-native retries only after 500 ms. 200
        // commits still cross the hint interval a dozen times.
        let n: i64 = if matches!(loc, Location::Hdfs { .. }) {
            200
        } else {
            1000
        };
        let store = loc.open();
        let mut writer = store.writer("loop", config("app")).await.unwrap();
        for i in 1..=n {
            let c = writer.commit(NewCheckpoint::new(offsets(i))).await.unwrap();
            assert_eq!(c.id, i as u64 + 1);
        }
        let latest = store.latest("loop").await.unwrap().unwrap();
        assert_eq!(
            (latest.id, latest.offsets.clone()),
            (n as u64 + 1, offsets(n))
        );
        let history = store
            .history("loop", &HistoryQuery::default())
            .await
            .unwrap();
        assert_eq!(history.len(), n as usize + 1);
        assert!(history.windows(2).all(|w| w[0].id == w[1].id + 1));
    }

    pub async fn racing_writers_never_share_an_id(loc: &Location) {
        // Four writers open and commit concurrently. Each open fences the earlier ones; every
        // id is won by exactly one writer, and a fenced writer never commits again.
        let store = loc.open();
        let mut tasks = Vec::new();
        for w in 0..4i64 {
            let store = loc.open();
            tasks.push(tokio::spawn(async move {
                let mut writer = store
                    .writer("race", config(&format!("w{w}")))
                    .await
                    .unwrap();
                let mut won = Vec::new();
                let mut fenced = false;
                for n in 0..25i64 {
                    let new = NewCheckpoint::new(offsets(w * 1000 + n));
                    match writer.commit(new).await {
                        Ok(c) => {
                            assert!(!fenced, "a fenced writer committed again");
                            won.push((c.id, w * 1000 + n));
                        }
                        Err(StoreError::Fenced { by, .. }) => {
                            assert!(by.epoch > writer.epoch());
                            fenced = true;
                        }
                        Err(e) => panic!("writer {w}: {e}"),
                    }
                }
                (writer.epoch(), won)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            let (epoch, won) = t.await.unwrap();
            all.extend(won.into_iter().map(|(id, n)| (id, n, epoch)));
        }
        let ids: BTreeSet<u64> = all.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(ids.len(), all.len(), "two writers won the same id");
        for (id, n, epoch) in &all {
            let c = store.get("race", *id).await.unwrap();
            assert_eq!(c.offsets, offsets(*n), "checkpoint {id}");
            assert_eq!(c.writer.epoch, *epoch);
        }
        // Ids are dense and epochs never go down.
        let history = store
            .history("race", &HistoryQuery::default())
            .await
            .unwrap();
        let max = history[0].id;
        assert_eq!(history.len() as u64, max);
        let mut last_epoch = 0;
        for id in 1..=max {
            let c = store.get("race", id).await.unwrap();
            assert!(c.writer.epoch >= last_epoch, "epoch went down at {id}");
            last_epoch = c.writer.epoch;
        }
    }

    /// An operator's reset: one claim checkpoint holding the given offsets fences the running
    /// writer; a stale plan (the stream moved) writes nothing; the next writer's claim carries
    /// the offsets but not the operator marker.
    pub async fn a_claim_with_offsets_is_one_write_that_fences(loc: &Location) {
        use tidemark::store::OPERATOR_ACTION_KEY;
        let store = loc.open();
        let mut app = store.writer("op", config("app")).await.unwrap();
        let last = app.commit(NewCheckpoint::new(offsets(10))).await.unwrap();
        let count = || async {
            store
                .history("op", &HistoryQuery::default())
                .await
                .unwrap()
                .len()
        };
        let before = count().await;

        // Planned from an older checkpoint: refused, nothing written.
        let reset = NewCheckpoint::new(offsets(3))
            .with_batch_time_ms(1_234)
            .with_metadata(OPERATOR_ACTION_KEY, b"reset --to-offset 3 by t@h".to_vec())
            .with_metadata("sink", b"tx-9".to_vec());
        let stale = store
            .claim_with_offsets("op", config("tidemark reset"), reset.clone(), Some(Some(1)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &stale,
                StoreError::Conflict {
                    reason: tidemark::store::ConflictReason::Moved {
                        expected: Some(1),
                        found: Some(_)
                    },
                    ..
                }
            ),
            "{stale:?}"
        );
        assert_eq!(count().await, before);

        let done = store
            .claim_with_offsets("op", config("tidemark reset"), reset, Some(Some(last.id)))
            .await
            .unwrap();
        assert_eq!(done.id, last.id + 1, "one checkpoint, right after the last");
        assert!(done.size > 0);
        let written = store.get("op", done.id).await.unwrap();
        assert_eq!(written.offsets, offsets(3));
        assert_eq!(written.writer.epoch, done.id, "a claim");
        assert_eq!(written.writer.app_name, "tidemark reset");
        assert_eq!(written.batch_time_ms, 1_234);
        assert_eq!(written.metadata["sink"], b"tx-9");
        assert_eq!(count().await, before + 1);
        // The running writer is fenced by it.
        match app.commit(NewCheckpoint::new(offsets(11))).await {
            Err(StoreError::Fenced { by, .. }) => assert_eq!(by.epoch, done.id),
            other => panic!("fenced writer committed: {other:?}"),
        }
        // The next writer's claim carries the offsets, not the operator's marker.
        let next = store.writer("op", config("app")).await.unwrap();
        let claim = store.get("op", next.epoch()).await.unwrap();
        assert_eq!(claim.offsets, offsets(3));
        assert_eq!(claim.metadata["sink"], b"tx-9");
        assert!(!claim.metadata.contains_key(OPERATOR_ACTION_KEY));
        // A new stream: expecting none.
        let first = store
            .claim_with_offsets(
                "fresh",
                config("tidemark import"),
                NewCheckpoint::new(offsets(1)),
                Some(None),
            )
            .await
            .unwrap();
        assert_eq!(store.latest("fresh").await.unwrap().unwrap().id, first.id);
    }

    pub async fn a_zombie_writer_is_fenced(loc: &Location) {
        let store = loc.open();
        let mut old = store.writer("z", config("old-app")).await.unwrap();
        old.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let mut new = loc
            .open()
            .writer(
                "z",
                WriterConfig::new("new-app", "2.0.0").with_host("host-b"),
            )
            .await
            .unwrap();
        assert!(new.epoch() > old.epoch());
        for _ in 0..3 {
            match old.commit(NewCheckpoint::new(offsets(99))).await {
                Err(StoreError::Fenced { by, .. }) => {
                    assert_eq!(by.epoch, new.epoch());
                    assert_eq!(by.app_name, "new-app");
                    assert_eq!(by.app_version, "2.0.0");
                    assert_eq!(by.host, "host-b");
                }
                other => panic!("zombie commit: {other:?}"),
            }
        }
        new.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        let latest = store.latest("z").await.unwrap().unwrap();
        assert_eq!(latest.offsets, offsets(2));
        assert_eq!(latest.writer.app_name, "new-app");
        // The new writer's claim carried the old writer's last offsets.
        assert_eq!(
            store.get("z", new.epoch()).await.unwrap().offsets,
            offsets(1)
        );
    }

    /// The newer writer's claim and first commits are deleted by compaction before the zombie
    /// tries again: the ids the zombie would write are free, and it must still be fenced,
    /// whether the hint names the newest checkpoint (compaction updates it) or, stale, one
    /// compaction deleted (a hint written late by a slow process).
    pub async fn a_zombie_is_fenced_after_compaction_deleted_the_ids_it_would_write(
        loc: &Location,
    ) {
        for stale_hint in [false, true] {
            let stream = if stale_hint { "zs" } else { "zc" };
            let clock = Arc::new(ManualClock::new(SystemTime::now()));
            let options = || StoreOptions {
                clock: clock.clone(),
                ..StoreOptions::default()
            };
            let store = loc.open_with(options());
            let mut old = store.writer(stream, config("old-app")).await.unwrap();
            old.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
            let mut new = loc
                .open_with(options())
                .writer(stream, config("new-app"))
                .await
                .unwrap();
            // Fewer commits than local disk's hint interval: its hint still names the claim.
            for i in 0..5 {
                new.commit(NewCheckpoint::new(offsets(10 + i)))
                    .await
                    .unwrap();
            }
            clock.advance(Duration::from_secs(86400));
            let policy = RetentionPolicy::new(Duration::from_secs(3600), 1);
            let r = store.compact(stream, &policy, false).await.unwrap();
            assert_eq!(r.deleted, (1..new.last_id()).collect::<Vec<u64>>());
            let (raw, root) = loc.raw();
            let dir = if root.is_empty() {
                root
            } else {
                format!("{root}/")
            };
            let hint = object_store::path::Path::from(format!("{dir}streams/{stream}/_latest"));
            // Compaction left the hint naming a checkpoint it kept.
            let named = raw.get(&hint).await.unwrap().bytes().await.unwrap();
            assert_eq!(named, format!("{}\n", new.last_id()).as_bytes());
            if stale_hint {
                let claim = format!("{}\n", new.epoch());
                raw.put(&hint, claim.into()).await.unwrap();
            }
            match old.commit(NewCheckpoint::new(offsets(99))).await {
                Err(StoreError::Fenced { by, .. }) => assert_eq!(by.epoch, new.epoch()),
                other => panic!("zombie commit after compaction ({stream}): {other:?}"),
            }
            let latest = store.latest(stream).await.unwrap().unwrap();
            assert_eq!(latest.id, new.last_id());
            assert_eq!(latest.offsets, offsets(14));
            let history = store.history(stream, &HistoryQuery::default()).await;
            assert_eq!(history.unwrap().len(), 1, "{stream}");
            // The newer writer goes on as before.
            new.commit(NewCheckpoint::new(offsets(15))).await.unwrap();
        }
    }

    pub async fn damaged_latest_objects_fall_back(loc: &Location) {
        let store = loc.open();
        let mut writer = store.writer("d", config("app")).await.unwrap();
        writer.commit(NewCheckpoint::new(offsets(5))).await.unwrap();
        let good = writer.last_id();
        let good_bytes = store.get_bytes("d", good).await.unwrap().unwrap().to_vec();
        let mut flipped = good_bytes.clone();
        flipped[40] ^= 1;
        let other_stream = {
            let s2 = loc.open();
            let mut w2 = s2.writer("other", config("app")).await.unwrap();
            w2.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
            s2.get_bytes("other", w2.last_id())
                .await
                .unwrap()
                .unwrap()
                .to_vec()
        };
        let damaged: Vec<(&str, Vec<u8>)> = vec![
            ("corrupt", flipped),
            ("truncated", good_bytes[..good_bytes.len() / 2].to_vec()),
            ("empty", Vec::new()),
            ("foreign", br#"{"t":{"0":74963}}"#.to_vec()),
            ("other stream", other_stream),
        ];
        let (raw, root) = loc.raw();
        let dir = if root.is_empty() {
            String::new()
        } else {
            format!("{root}/")
        };
        for (i, (what, bytes)) in damaged.iter().enumerate() {
            let id = good + 1 + i as u64;
            let path = object_store::path::Path::from(format!("{dir}streams/d/{id:020}.tdm"));
            object_store::ObjectStoreExt::put(&raw, &path, bytes.clone().into())
                .await
                .unwrap();
            let report = store.latest_report("d").await.unwrap();
            let latest = report.checkpoint.expect(what);
            assert_eq!(latest.id, good, "{what}");
            assert_eq!(latest.offsets, offsets(5), "{what}");
            assert_eq!(report.skipped.len(), i + 1, "{what}");
            assert_eq!(report.skipped[0].id, id);
            assert_eq!(report.max_id, Some(id));
            let reason = &report.skipped[0].reason;
            let expected_kind = match *what {
                "corrupt" => "checksum_mismatch",
                "truncated" | "empty" => "truncated",
                "foreign" => "bad_magic",
                _ => "",
            };
            match reason {
                Damage::Format(e) => assert_eq!(e.kind(), expected_kind, "{what}"),
                Damage::WrongStream { found } => assert_eq!(found, "other"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // Strict mode refuses instead.
        let strict = loc.open_with(StoreOptions {
            strict: true,
            ..StoreOptions::default()
        });
        assert!(matches!(
            strict.latest("d").await,
            Err(StoreError::DamagedLatest { count: 5, .. })
        ));
        // A get of a damaged id says so.
        assert!(matches!(
            store.get("d", good + 1).await,
            Err(StoreError::Damaged { .. })
        ));
        // A new writer claims past the damage, carrying the last valid offsets; the old
        // writer, whose next id is taken by damage, gets a conflict, not an overwrite.
        let mut next = loc.open().writer("d", config("app2")).await.unwrap();
        assert_eq!(next.epoch(), good + 6);
        assert_eq!(
            store.latest("d").await.unwrap().unwrap().offsets,
            offsets(5)
        );
        next.commit(NewCheckpoint::new(offsets(6))).await.unwrap();
        assert!(writer.commit(NewCheckpoint::new(offsets(7))).await.is_err());
        assert_eq!(
            store.latest("d").await.unwrap().unwrap().offsets,
            offsets(6)
        );
    }

    pub async fn leftover_temporary_files_are_ignored_and_compacted(loc: &Location) {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let store = loc.open_with(StoreOptions {
            clock: clock.clone(),
            ..StoreOptions::default()
        });
        let mut writer = store.writer("t", config("app")).await.unwrap();
        writer.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        let next = writer.last_id() + 1;
        // A torn temporary file of the next checkpoint, as an interrupted write leaves it.
        let name = plant_staging(loc, "t", next).await;
        let report = store.latest_report("t").await.unwrap();
        assert!(report.skipped.is_empty());
        assert_eq!(report.checkpoint.unwrap().offsets, offsets(1));
        let listing = store.list("t").await.unwrap();
        assert_eq!(listing.temporary.len(), 1);
        assert_eq!(listing.temporary[0].0, name);
        assert!(listing.foreign.is_empty());
        writer.commit(NewCheckpoint::new(offsets(2))).await.unwrap();

        let policy = RetentionPolicy::new(Duration::from_secs(30 * 86400), 10);
        // Within the grace period it stays.
        let r = store.compact("t", &policy, false).await.unwrap();
        assert!(r.temporary_deleted.is_empty());
        clock.advance(Duration::from_secs(7200));
        let r = store.compact("t", &policy, true).await.unwrap();
        assert_eq!(r.temporary_deleted, std::slice::from_ref(&name));
        assert_eq!(
            store.list("t").await.unwrap().temporary.len(),
            1,
            "dry run deleted"
        );
        let r = store.compact("t", &policy, false).await.unwrap();
        assert_eq!(r.temporary_deleted, [name]);
        assert!(store.list("t").await.unwrap().temporary.is_empty());
        assert_eq!(
            store.latest("t").await.unwrap().unwrap().offsets,
            offsets(2)
        );
    }

    pub async fn odd_stream_names_stay_inside_the_root(loc: &Location) {
        let store = loc.open();
        let long = "ü".repeat(2000);
        let names = [
            "..",
            ".",
            "a/b",
            "../../escape",
            "/abs",
            "back\\slash",
            "ctl\u{1}\n\t",
            "Заказы 注文 🚀",
            "UPPER",
            "upper",
            "#1",
            "_latest",
            "%2F",
            long.as_str(),
        ];
        for (i, name) in names.iter().enumerate() {
            let mut w = store.writer(name, config("app")).await.unwrap();
            w.commit(NewCheckpoint::new(offsets(i as i64)))
                .await
                .unwrap();
        }
        for (i, name) in names.iter().enumerate() {
            let c = store.latest(name).await.unwrap().unwrap();
            assert_eq!(&c.stream, name);
            assert_eq!(c.offsets, offsets(i as i64), "{name:?}");
        }
        let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(store.streams().await.unwrap(), expected);
        assert!(matches!(
            store.latest("").await,
            Err(StoreError::InvalidStreamName { .. })
        ));
        if let Some(dir) = loc.local_dir() {
            // Everything written is inside <root>/streams, one folder per stream.
            let top: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(top, ["streams"]);
            let streams = std::fs::read_dir(dir.join("streams")).unwrap().count();
            assert_eq!(streams, names.len());
        }
    }

    pub async fn compaction_follows_the_policy(loc: &Location) {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let store = loc.open_with(StoreOptions {
            clock: clock.clone(),
            ..StoreOptions::default()
        });
        let mut writer = store.writer("c", config("app")).await.unwrap();
        for i in 0..9 {
            writer.commit(NewCheckpoint::new(offsets(i))).await.unwrap();
        }
        let newest = writer.last_id();
        assert_eq!(newest, 10);
        let month = Duration::from_secs(30 * 86400);

        // Young checkpoints are kept whatever the count.
        let r = store
            .compact("c", &RetentionPolicy::new(month, 1), false)
            .await
            .unwrap();
        assert!(r.deleted.is_empty());
        assert_eq!(r.kept, 10);

        // 31 days later: a dry run deletes nothing but says what it would.
        clock.advance(Duration::from_secs(31 * 86400));
        let keep3 = RetentionPolicy::new(month, 3);
        let dry = store.compact("c", &keep3, true).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.deleted, (1..=7).collect::<Vec<u64>>());
        assert_eq!(dry.kept, 3);
        assert!(dry.bytes_freed > 0);
        assert_eq!(
            store
                .history("c", &HistoryQuery::default())
                .await
                .unwrap()
                .len(),
            10
        );

        let r = store.compact("c", &keep3, false).await.unwrap();
        assert_eq!(r.deleted, dry.deleted);
        assert_eq!(r.bytes_freed, dry.bytes_freed);
        let ids: Vec<u64> = store
            .history("c", &HistoryQuery::default())
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, [10, 9, 8]);

        // Keeping none: the newest valid checkpoint survives anyway, even past the TTL.
        let r = store
            .compact("c", &RetentionPolicy::new(month, 0), false)
            .await
            .unwrap();
        assert_eq!(r.deleted, [8, 9]);
        assert_eq!(r.newest_valid, Some(newest));
        assert_eq!(
            store.latest("c").await.unwrap().unwrap().offsets,
            offsets(8)
        );
        // Compacting again is a no-op; the writer goes on.
        let r = store
            .compact("c", &RetentionPolicy::new(month, 0), false)
            .await
            .unwrap();
        assert!(r.deleted.is_empty());
        writer
            .commit(NewCheckpoint::new(offsets(100)))
            .await
            .unwrap();
        assert_eq!(
            store.latest("c").await.unwrap().unwrap().offsets,
            offsets(100)
        );
    }

    pub async fn a_backend_ignoring_conditional_writes_is_refused(loc: &Location) {
        let (raw, _) = loc.raw();
        let ignoring = CountingStore::new(raw);
        ignoring
            .ignore_conditional
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let store = loc.wrapped(&ignoring, StoreOptions::default());
        match store.writer("s", config("app")).await {
            Err(e @ StoreError::ConditionalWritesUnsupported { .. }) => {
                assert!(e.to_string().contains("allow_unconditional_writes"), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(
            store.latest("s").await.unwrap(),
            None,
            "nothing was written"
        );
        // Explicit opt-out.
        let store = loc.wrapped(
            &ignoring,
            StoreOptions {
                allow_unconditional_writes: true,
                ..StoreOptions::default()
            },
        );
        let mut w = store.writer("s", config("app")).await.unwrap();
        w.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        // A backend that does enforce them passes the check.
        let (raw, _) = loc.raw();
        let honest = CountingStore::new(raw);
        loc.wrapped(&honest, StoreOptions::default())
            .writer("s2", config("app"))
            .await
            .unwrap();
    }

    pub async fn latest_costs_a_constant_number_of_requests(loc: &Location) {
        let (raw, _) = loc.raw();
        let counting = CountingStore::new(raw);
        let store = loc.wrapped(&counting, StoreOptions::default());
        let mut writer = store.writer("n", config("app")).await.unwrap();
        let mut costs = Vec::new();
        for target in [5, 50, 300] {
            while writer.last_id() < target {
                writer.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
            }
            counting.reset_counts();
            assert_eq!(store.latest("n").await.unwrap().unwrap().id, target);
            assert_eq!(counting.count(Op::List), 0, "latest listed");
            costs.push(counting.total());
        }
        assert!(
            costs.iter().all(|&c| c == costs[0]),
            "requests per latest(): {costs:?}"
        );
        assert!(costs[0] <= 3, "requests per latest(): {costs:?}");
    }

    pub async fn history_filters_by_time_and_limit(loc: &Location) {
        let store = loc.open();
        let mut writer = store.writer("h", config("app")).await.unwrap();
        for i in 0..4 {
            writer.commit(NewCheckpoint::new(offsets(i))).await.unwrap();
        }
        let all = store.history("h", &HistoryQuery::default()).await.unwrap();
        assert_eq!(all.len(), 5);
        let limited = store
            .history(
                "h",
                &HistoryQuery {
                    limit: Some(2),
                    ..HistoryQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(limited.iter().map(|e| e.id).collect::<Vec<_>>(), [5, 4]);
        let future = SystemTime::now() + Duration::from_secs(3600);
        let none = store
            .history(
                "h",
                &HistoryQuery {
                    since: Some(future),
                    ..HistoryQuery::default()
                },
            )
            .await
            .unwrap();
        assert!(none.is_empty());
        let past = SystemTime::now() - Duration::from_secs(3600);
        let none = store
            .history(
                "h",
                &HistoryQuery {
                    until: Some(past),
                    ..HistoryQuery::default()
                },
            )
            .await
            .unwrap();
        assert!(none.is_empty());
        let newest = all[0].committed_at;
        let since = store
            .history(
                "h",
                &HistoryQuery {
                    since: Some(newest),
                    ..HistoryQuery::default()
                },
            )
            .await
            .unwrap();
        assert!(since.iter().all(|e| e.committed_at >= newest) && !since.is_empty());
    }

    pub async fn a_newer_format_stops_latest_and_writers(loc: &Location) {
        let store = loc.open();
        let mut writer = store.writer("n", config("app")).await.unwrap();
        writer.commit(NewCheckpoint::new(offsets(5))).await.unwrap();
        let good = writer.last_id();
        let bytes = store.get_bytes("n", good).await.unwrap().unwrap().to_vec();
        let (raw, root) = loc.raw();
        let dir = if root.is_empty() {
            String::new()
        } else {
            format!("{root}/")
        };
        let put = |id: u64, content: Vec<u8>| {
            let raw = raw.clone();
            let path = object_store::path::Path::from(format!("{dir}streams/n/{id:020}.tdm"));
            async move { raw.put(&path, content.into()).await.unwrap() }
        };
        let with_header = |major: u16, minor: u16, flags: u32, id: u64| {
            // The good checkpoint re-encoded with another id, then its header patched.
            let mut c = tidemark::format::decode(&bytes).unwrap();
            c.id = id;
            let mut b = tidemark::format::encode(&c).unwrap();
            b[8..10].copy_from_slice(&major.to_le_bytes());
            b[10..12].copy_from_slice(&minor.to_le_bytes());
            b[12..16].copy_from_slice(&flags.to_le_bytes());
            let end = b.len() - 4;
            let crc = crc32fast::hash(&b[..end]);
            b[end..].copy_from_slice(&crc.to_le_bytes());
            b
        };
        // A newer minor version is read as usual.
        put(good + 1, with_header(1, 3, 0, good + 1)).await;
        assert_eq!(store.latest("n").await.unwrap().unwrap().id, good + 1);
        // A newer major version, or an unknown required feature, stops latest, get and writers.
        for (major, flags, version) in [(2u16, 0u32, "2.0"), (1, 1, "1.0")] {
            let id = good + 2;
            put(id, with_header(major, 0, flags, id)).await;
            let newer = |e: &StoreError| {
                matches!(e, StoreError::NewerFormat { id: i, version: v, required_features, .. }
                    if *i == id && v.to_string() == version && *required_features == flags)
            };
            let err = store.latest("n").await.unwrap_err();
            assert!(newer(&err), "{err:?}");
            assert!(newer(&store.get("n", id).await.unwrap_err()));
            let err = loc.open().writer("n", config("app2")).await.unwrap_err();
            assert!(newer(&err), "{err:?}");
            // The running writer's next id is taken by it: it stops, writing nothing.
            let err = writer
                .commit(NewCheckpoint::new(offsets(6)))
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::NewerFormat { .. }), "{err:?}");
            assert_eq!(store.get_bytes("n", id + 1).await.unwrap(), None);
        }
    }
}
