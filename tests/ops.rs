//! `tidemark::ops`: every reset mode planned from hand-built inputs, validation before any
//! write, rewind, log progress and lag, against the in-memory store.

use std::time::{Duration, SystemTime};

use tidemark::ops::{self, ClampBound, Execution, OpsError, ResetInputs, ResetTo, Scope};
use tidemark::plan::ClusterState;
use tidemark::store::{HistoryQuery, NewCheckpoint, Store, WriterConfig};
use tidemark::{Checkpoint, Offsets};

fn offsets(list: &[(&str, i32, i64)]) -> Offsets {
    list.iter().map(|&(t, p, o)| (t, p, o)).collect()
}

fn base() -> Checkpoint {
    Checkpoint::new("s", offsets(&[("a", 0, 50), ("a", 1, 70), ("b", 0, 5)])).with_id(9)
}

fn cluster() -> ClusterState {
    let mut c = ClusterState::new();
    c.add_partition("a", 0, 10, 100);
    c.add_partition("a", 1, 20, 200);
    c.add_partition("b", 0, 0, 8);
    c.add_partition("c", 0, 3, 30);
    c.add_partition("c", 1, 4, 40);
    c
}

fn after(plan: &ops::ResetPlan) -> Vec<(String, i32, i64)> {
    plan.changes
        .iter()
        .map(|c| (c.topic.clone(), c.partition, c.after))
        .collect()
}

fn row(t: &str, p: i32, o: i64) -> (String, i32, i64) {
    (t.to_owned(), p, o)
}

#[test]
fn every_mode_plans_from_its_inputs() {
    let b = base();
    let all = Scope::all();
    let with_cluster = ResetInputs::default().with_cluster(cluster());

    let p = ops::plan_reset(&b, &ResetTo::Earliest, &all, &with_cluster).unwrap();
    assert_eq!(
        after(&p),
        [row("a", 0, 10), row("a", 1, 20), row("b", 0, 0)]
    );
    let p = ops::plan_reset(
        &b,
        &ResetTo::Latest,
        &Scope::all().with_topic("a"),
        &with_cluster,
    )
    .unwrap();
    assert_eq!(after(&p), [row("a", 0, 100), row("a", 1, 200)]);
    assert_eq!(
        p.offsets().get("b", 0),
        Some(5),
        "unselected partitions keep theirs"
    );
    // A whole topic the checkpoint lacks takes its partitions from the cluster.
    let p = ops::plan_reset(
        &b,
        &ResetTo::Latest,
        &Scope::all().with_topic("c"),
        &with_cluster,
    )
    .unwrap();
    assert_eq!(after(&p), [row("c", 0, 30), row("c", 1, 40)]);
    assert_eq!(p.changes[0].before, None);

    let p = ops::plan_reset(
        &b,
        &ResetTo::Offset(7),
        &Scope::all().with_partitions("a", [1]),
        &ResetInputs::default(),
    )
    .unwrap();
    assert_eq!(after(&p), [row("a", 1, 7)]);
    assert_eq!(p.changes[0].change, Some(-63));

    let p = ops::plan_reset(&b, &ResetTo::ShiftBy(-60), &all, &ResetInputs::default()).unwrap();
    assert_eq!(
        after(&p),
        [row("a", 0, 0), row("a", 1, 10), row("b", 0, 0)],
        "never below 0"
    );
    let clamps: Vec<_> = p.changes.iter().map(|c| c.clamped).collect();
    assert_eq!(clamps[0].unwrap().requested, -10);
    assert_eq!(clamps[0].unwrap().to, ClampBound::Zero);
    assert_eq!(clamps[1], None);
    assert_eq!(clamps[2].unwrap().requested, -55);

    let at_time = ResetInputs::default()
        .with_cluster(cluster())
        .with_offsets_at_time(offsets(&[("a", 0, 33), ("a", 1, 44), ("b", 0, 6)]));
    let t = ResetTo::Datetime(SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    let p = ops::plan_reset(&b, &t, &all, &at_time).unwrap();
    assert_eq!(
        after(&p),
        [row("a", 0, 33), row("a", 1, 44), row("b", 0, 6)]
    );
    let d = ResetTo::ByDuration(Duration::from_secs(3600));
    assert!(d.asks_cluster());
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(7200);
    assert_eq!(d.time_ms(now), Some(3_600_000));
    assert_eq!(
        ops::plan_reset(&b, &d, &all, &at_time)
            .unwrap()
            .changes
            .len(),
        3
    );

    let older = Checkpoint::new("s", offsets(&[("a", 0, 1), ("b", 0, 2)])).with_id(4);
    let inputs = ResetInputs::default().with_checkpoint(older);
    let p = ops::plan_reset(&b, &ResetTo::Checkpoint(4), &all, &inputs).unwrap();
    assert_eq!(after(&p), [row("a", 0, 1), row("b", 0, 2)]);
    assert_eq!(
        p.offsets().get("a", 1),
        Some(70),
        "a partition the old one lacks keeps its offset"
    );

    let file = offsets(&[("a", 0, 11), ("z", 0, 12)]);
    let p = ops::plan_reset(
        &b,
        &ResetTo::Offsets(file.clone()),
        &Scope::all().allow_new_partitions(),
        &ResetInputs::default(),
    )
    .unwrap();
    assert_eq!(after(&p), [row("a", 0, 11), row("z", 0, 12)]);
    let p = ops::plan_reset(
        &b,
        &ResetTo::Offsets(file),
        &Scope::all().with_topic("a"),
        &ResetInputs::default(),
    )
    .unwrap();
    assert_eq!(after(&p), [row("a", 0, 11)]);
}

#[test]
fn missing_inputs_and_bad_plans_are_refused() {
    let b = base();
    let none = ResetInputs::default();
    for to in [
        ResetTo::Earliest,
        ResetTo::Latest,
        ResetTo::Datetime(SystemTime::now()),
        ResetTo::Checkpoint(4),
    ] {
        let e = ops::plan_reset(&b, &to, &Scope::all(), &none).unwrap_err();
        assert!(matches!(e, OpsError::MissingInput { .. }), "{to:?}: {e}");
    }
    // The wrong checkpoint is as good as none.
    let other = ResetInputs::default().with_checkpoint(base().with_id(5));
    assert!(matches!(
        ops::plan_reset(&b, &ResetTo::Checkpoint(4), &Scope::all(), &other),
        Err(OpsError::MissingInput { .. })
    ));
    let e = ops::plan_reset(
        &b,
        &ResetTo::Earliest,
        &Scope::all().with_partitions("a", [5]),
        &ResetInputs::default().with_cluster(cluster()),
    )
    .unwrap_err();
    assert!(
        matches!(e, OpsError::NotInCluster { partition: 5, .. }),
        "{e}"
    );
    let e = ops::plan_reset(
        &b,
        &ResetTo::Offset(1),
        &Scope::all().with_topic("nope"),
        &none,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "reset: no partition selected; nothing to do");
    let e = ops::plan_reset(&b, &ResetTo::Offset(-1), &Scope::all(), &none).unwrap_err();
    assert!(
        matches!(e, OpsError::InvalidOffset { offset: -1, .. }),
        "{e}"
    );
    let long = "t".repeat(100_000);
    let e = ops::plan_import("s", Some(&b), offsets(&[(long.as_str(), 0, 1)])).unwrap_err();
    assert!(matches!(e, OpsError::Invalid { .. }), "{e}");
    assert!(matches!(
        ops::plan_import("s", None, Offsets::new()),
        Err(OpsError::NothingSelected { .. })
    ));
}

/// Issue 12: an import records where its offsets came from; a Spark batch's time becomes the
/// checkpoint's batch time; a later reset does not carry the import's provenance.
#[tokio::test]
async fn an_import_records_its_provenance_and_a_reset_drops_it() {
    let store = Store::open("memory:///").unwrap();
    let provenance = ops::ImportProvenance::new("spark-checkpoint", "chk/orders")
        .with_file("chk/orders/offsets/7")
        .with_spark_batch(7, 1_700_000_000_000);
    let plan = ops::plan_import("s", None, offsets(&[("a", 0, 5)]))
        .unwrap()
        .with_provenance(&provenance)
        .unwrap();
    let report = plan.execute(&store, &Execution::default()).await.unwrap();
    let written = store.get("s", report.checkpoint_id.unwrap()).await.unwrap();
    assert_eq!(written.batch_time_ms, 1_700_000_000_000);
    let recorded: serde_json::Value =
        serde_json::from_slice(&written.metadata[tidemark::store::IMPORT_PROVENANCE_KEY]).unwrap();
    assert_eq!(recorded, serde_json::to_value(&provenance).unwrap());
    assert_eq!(recorded["spark_batch_id"], 7);
    // A Spark offsets file without a batch time (0) leaves the batch time alone.
    let untimed = ops::ImportProvenance::new("spark-checkpoint", "chk").with_spark_batch(1, 0);
    let plan = ops::plan_import("s", Some(&written), offsets(&[("a", 0, 6)]))
        .unwrap()
        .with_provenance(&untimed)
        .unwrap();
    let report = plan
        .execute(&store, &Execution::default().force(true))
        .await
        .unwrap();
    let second = store.get("s", report.checkpoint_id.unwrap()).await.unwrap();
    assert_eq!(second.batch_time_ms, 1_700_000_000_000);
    // A reset from the imported checkpoint is not an import.
    let plan = ops::plan_reset(
        &second,
        &ResetTo::Offset(1),
        &Scope::all(),
        &ResetInputs::default(),
    )
    .unwrap();
    let report = plan
        .execute(&store, &Execution::default().force(true))
        .await
        .unwrap();
    let reset = store.get("s", report.checkpoint_id.unwrap()).await.unwrap();
    assert!(
        !reset
            .metadata
            .contains_key(tidemark::store::IMPORT_PROVENANCE_KEY)
    );
    assert!(
        reset
            .metadata
            .contains_key(tidemark::store::OPERATOR_ACTION_KEY)
    );
}

/// Issue 12: with the cluster's watermarks every mode is clamped to the log range and each
/// clamp is reported; without them `--shift-by` below 0 is clamped to 0 and reported.
#[test]
fn offsets_are_clamped_to_the_log_range_and_every_clamp_is_reported() {
    let b = base();
    let with_cluster = ResetInputs::default().with_cluster(cluster());
    // a/0 log 10..100, a/1 20..200, b/0 0..8.
    let p = ops::plan_reset(
        &b,
        &ResetTo::ShiftBy(-100_000),
        &Scope::all(),
        &with_cluster,
    )
    .unwrap();
    assert_eq!(
        after(&p),
        [row("a", 0, 10), row("a", 1, 20), row("b", 0, 0)]
    );
    for c in &p.changes {
        let k = c.clamped.expect("every partition clamped");
        assert_eq!(k.to, ClampBound::LogStart);
        assert_eq!(k.requested, c.before.unwrap() - 100_000);
    }
    let p = ops::plan_reset(&b, &ResetTo::Offset(150), &Scope::all(), &with_cluster).unwrap();
    assert_eq!(
        after(&p),
        [row("a", 0, 100), row("a", 1, 150), row("b", 0, 8)]
    );
    let bounds: Vec<_> = p.changes.iter().map(|c| c.clamped.map(|k| k.to)).collect();
    assert_eq!(
        bounds,
        [Some(ClampBound::LogEnd), None, Some(ClampBound::LogEnd)]
    );
    let json = serde_json::to_value(p.dry_run()).unwrap();
    assert_eq!(json["changes"][0]["clamped"]["requested"], 150);
    assert_eq!(json["changes"][0]["clamped"]["to"], "log_end");
    assert!(json["changes"][1]["clamped"].is_null());
    // --to-current with the cluster: an offset past the log end comes back into range.
    let high = Checkpoint::new("s", offsets(&[("a", 0, 500)])).with_id(3);
    let p = ops::plan_reset(&high, &ResetTo::Current, &Scope::all(), &with_cluster).unwrap();
    assert_eq!(after(&p), [row("a", 0, 100)]);
    // A negative --to-offset is refused, never clamped, with or without the cluster.
    for inputs in [ResetInputs::default(), with_cluster.clone()] {
        let e = ops::plan_reset(&b, &ResetTo::Offset(-5), &Scope::all(), &inputs).unwrap_err();
        assert!(
            matches!(e, OpsError::InvalidOffset { offset: -5, .. }),
            "{e}"
        );
    }
}

/// Issue 12: `--to-offset 5 --topic orders:7` for a partition neither in the checkpoint nor in
/// the cluster is refused unless allowed.
#[test]
fn unknown_partitions_are_refused_unless_allowed() {
    let b = base();
    let scope = Scope::all().with_partitions("a", [7]);
    let e = ops::plan_reset(&b, &ResetTo::Offset(5), &scope, &ResetInputs::default()).unwrap_err();
    assert!(
        matches!(
            e,
            OpsError::UnknownPartition {
                partition: 7,
                cluster_checked: false,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--allow-new-partitions"), "{e}");
    let with_cluster = ResetInputs::default().with_cluster(cluster());
    let e = ops::plan_reset(&b, &ResetTo::Offset(5), &scope, &with_cluster).unwrap_err();
    assert!(
        matches!(
            e,
            OpsError::UnknownPartition {
                cluster_checked: true,
                ..
            }
        ),
        "{e}"
    );
    let p = ops::plan_reset(
        &b,
        &ResetTo::Offset(5),
        &scope.clone().allow_new_partitions(),
        &ResetInputs::default(),
    )
    .unwrap();
    assert_eq!(after(&p), [row("a", 7, 5)]);
    // In the cluster though not in the checkpoint (a partition added): accepted.
    let p = ops::plan_reset(
        &b,
        &ResetTo::Offset(5),
        &Scope::all().with_partitions("c", [1]),
        &with_cluster,
    )
    .unwrap();
    assert_eq!(after(&p), [row("c", 1, 5)]);
}

/// Issue 12: `--execute` is refused while the writer looks alive or the group has members,
/// unless forced; a reset writes one checkpoint marked with the operator's action, and `log`
/// shows it and the rewind.
#[tokio::test]
async fn execute_is_refused_while_the_writer_is_alive_and_marks_the_action() {
    let store = store_with("s", &[&[("a", 0, 500), ("a", 1, 300)]]).await;
    let latest = ops::latest(&store, "s").await.unwrap().checkpoint;
    let live = ops::writer_liveness(
        &latest,
        latest.created_at_ms + 1_000,
        ops::DEFAULT_ALIVE_WINDOW,
    );
    assert!(live.alive && !live.operator_action);
    let plan = ops::plan_reset(
        &latest,
        &ResetTo::ShiftBy(-100),
        &Scope::all().with_partitions("a", [0]),
        &ResetInputs::default(),
    )
    .unwrap();
    let count = |store: Store| async move {
        store
            .history("s", &HistoryQuery::default())
            .await
            .unwrap()
            .len()
    };
    let before = count(store.clone()).await;
    let e = plan
        .execute(&store, &Execution::default())
        .await
        .unwrap_err();
    assert!(matches!(e, OpsError::WriterAlive { .. }), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");
    let grouped = Execution::default()
        .with_alive_window(Duration::ZERO)
        .with_group("billing", vec!["c1 on /10.0.0.1".to_owned()]);
    let e = plan.execute(&store, &grouped).await.unwrap_err();
    assert!(matches!(e, OpsError::GroupActive { .. }), "{e}");
    assert_eq!(
        count(store.clone()).await,
        before,
        "nothing written when refused"
    );

    let mut who = Execution::default().with_alive_window(Duration::ZERO);
    who.actor = "ops@host-1".to_owned();
    let report = plan.execute(&store, &who).await.unwrap();
    assert_eq!(count(store.clone()).await, before + 1, "one checkpoint");
    let written = store.get("s", report.checkpoint_id.unwrap()).await.unwrap();
    assert_eq!(
        written.metadata[tidemark::store::OPERATOR_ACTION_KEY],
        b"reset --shift-by -100 by ops@host-1"
    );
    assert_eq!(written.metadata["k"], b"v", "metadata carried over");
    // An operator's checkpoint fenced every writer: the stream is not alive any more.
    assert!(
        !ops::writer_liveness(&written, written.created_at_ms, ops::DEFAULT_ALIVE_WINDOW).alive
    );
    let log = ops::log(&store, "s", &HistoryQuery::default())
        .await
        .unwrap();
    let newest = log.entries[0].checkpoint.clone().unwrap();
    assert_eq!(
        newest.operator_action.as_deref(),
        Some("reset --shift-by -100 by ops@host-1")
    );
    assert_eq!(newest.messages_rewound, Some(100), "a rewind is visible");
    assert_eq!(newest.messages_since_previous, Some(0));
    // Forced: runs while alive.
    let mut w = store
        .writer("s", WriterConfig::new("app", "1"))
        .await
        .unwrap();
    w.commit(NewCheckpoint::new(offsets(&[("a", 0, 600)])))
        .await
        .unwrap();
    let latest = ops::latest(&store, "s").await.unwrap().checkpoint;
    let plan = ops::plan_reset(
        &latest,
        &ResetTo::Offset(1),
        &Scope::all(),
        &ResetInputs::default(),
    )
    .unwrap();
    plan.execute(&store, &Execution::default().force(true))
        .await
        .unwrap();
}

async fn store_with(stream: &str, list: &[&[(&str, i32, i64)]]) -> Store {
    let store = Store::open("memory://").unwrap();
    let mut w = store
        .writer(stream, WriterConfig::new("app", "1"))
        .await
        .unwrap();
    for o in list {
        w.commit(NewCheckpoint::new(offsets(o)).with_metadata("k", b"v".to_vec()))
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn execute_writes_one_checkpoint_and_a_refused_plan_writes_nothing() {
    let store = store_with("s", &[&[("a", 0, 10)], &[("a", 0, 20), ("a", 1, 5)]]).await;
    let before = store
        .history("s", &HistoryQuery::default())
        .await
        .unwrap()
        .len();
    // Refused at planning: no claim, no checkpoint.
    let latest = ops::latest(&store, "s").await.unwrap().checkpoint;
    assert!(
        ops::plan_reset(
            &latest,
            &ResetTo::Latest,
            &Scope::all(),
            &ResetInputs::default()
        )
        .is_err()
    );
    assert_eq!(
        store
            .history("s", &HistoryQuery::default())
            .await
            .unwrap()
            .len(),
        before
    );

    // Rewind to checkpoint 2 (the first commit after the claim).
    let plan = ops::rewind(&store, "s", 2).await.unwrap();
    let dry = plan.dry_run();
    assert!(dry.dry_run && dry.checkpoint_id.is_none());
    assert_eq!(
        store
            .history("s", &HistoryQuery::default())
            .await
            .unwrap()
            .len(),
        before
    );
    let report = plan
        .execute(&store, &Execution::default().force(true))
        .await
        .unwrap();
    let id = report.checkpoint_id.unwrap();
    let written = store.get("s", id).await.unwrap();
    assert_eq!(written.offsets, offsets(&[("a", 0, 10), ("a", 1, 5)]));
    assert_eq!(written.metadata["k"], b"v", "metadata carried over");
    assert_eq!(written.writer.app_name, "tidemark reset");
    assert_eq!(written.writer.tidemark_version, tidemark::VERSION);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["changes"][0]["before"], 20);
    assert_eq!(json["changes"][0]["after"], 10);
    assert_eq!(json["dry_run"], false);
}

#[tokio::test]
async fn log_shows_progress_writer_changes_and_at_time() {
    let store = store_with("s", &[&[("a", 0, 10)], &[("a", 0, 40)]]).await;
    let mut w = store
        .writer("s", WriterConfig::new("app", "2"))
        .await
        .unwrap();
    w.commit(NewCheckpoint::new(offsets(&[("a", 0, 45)])))
        .await
        .unwrap();
    let log = ops::log(&store, "s", &HistoryQuery::default())
        .await
        .unwrap();
    let ids: Vec<u64> = log.entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, [5, 4, 3, 2, 1]);
    let c = |i: usize| log.entries[i].checkpoint.clone().unwrap();
    assert_eq!(c(0).messages_since_previous, Some(5));
    assert!(c(1).writer_claim && c(1).writer_changed);
    assert_eq!(c(2).messages_since_previous, Some(30));
    assert_eq!(
        c(4).messages_since_previous,
        None,
        "the oldest has no previous"
    );
    assert!(
        ops::checkpoint_at(&store, "s", SystemTime::now() + Duration::from_secs(5))
            .await
            .unwrap()
            .is_some_and(|c| c.id == 5)
    );
    let e = ops::log(&store, "empty", &HistoryQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(e, OpsError::NoCheckpoint { .. }), "{e}");
}

/// A store over an in-memory object store that the test can also write to directly.
fn raw_store() -> (Store, std::sync::Arc<object_store::memory::InMemory>) {
    let raw = std::sync::Arc::new(object_store::memory::InMemory::new());
    let store = Store::from_object_store(raw.clone(), "root", Default::default()).unwrap();
    (store, raw)
}

async fn put_raw(raw: &object_store::memory::InMemory, path: &str, bytes: &[u8]) {
    use object_store::ObjectStoreExt;
    raw.put(&path.into(), bytes.to_vec().into()).await.unwrap();
}

async fn get_raw(raw: &object_store::memory::InMemory, path: &str) -> Option<Vec<u8>> {
    use object_store::ObjectStoreExt;
    match raw.get(&path.into()).await {
        Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
        Err(_) => None,
    }
}

/// Stream `name` with `n` commits (ids 1..=n+1: the claim, then the commits).
async fn stream_of(store: &Store, name: &str, n: i64) {
    let mut w = store
        .writer(name, WriterConfig::new("app", "1"))
        .await
        .unwrap();
    for i in 1..=n {
        w.commit(NewCheckpoint::new(offsets(&[("t", 0, i * 10)])))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn unknown_streams_and_ids_say_what_is_there() {
    let store = Store::open("memory://").unwrap();
    assert!(matches!(
        ops::require_streams(&store).await,
        Err(OpsError::EmptyStore { .. })
    ));
    stream_of(&store, "billing", 3).await;
    stream_of(&store, "payments", 1).await;
    ops::require_stream(&store, "billing").await.unwrap();
    let e = ops::require_stream(&store, "biling").await.unwrap_err();
    match &e {
        OpsError::UnknownStream {
            suggestion,
            streams,
            ..
        } => {
            assert_eq!(suggestion.as_deref(), Some("billing"));
            assert_eq!(streams, &["billing", "payments"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("did you mean \"billing\"? (streams there: billing, payments)"),
        "{e}"
    );
    let e = ops::get(&store, "billing", 99).await.unwrap_err();
    assert!(matches!(
        e,
        OpsError::NoSuchCheckpoint {
            range: Some((1, 4)),
            count: 4,
            ..
        }
    ));
    assert_eq!(ops::get(&store, "billing", 4).await.unwrap().id, 4);
}

#[tokio::test]
async fn reading_a_missing_local_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    let e = Store::open_existing(missing.to_str().unwrap()).unwrap_err();
    assert!(
        matches!(e, tidemark::store::StoreError::StoreNotFound { .. }),
        "{e}"
    );
    assert!(!missing.exists());
    let e = Store::open_existing("s3:/bucket/x").unwrap_err();
    assert!(e.to_string().contains("s3://bucket/prefix"), "{e}");
    Store::open(missing.to_str().unwrap()).unwrap();
    Store::open_existing(missing.to_str().unwrap()).unwrap();
}

#[tokio::test]
async fn copy_is_byte_identical_verified_and_never_overwrites() {
    let (from, raw) = raw_store();
    stream_of(&from, "s", 4).await;
    put_raw(&raw, "root/streams/s/00000000000000000002.tdm", b"torn").await;
    put_raw(&raw, "root/streams/s/notes.txt", b"x").await;
    let to = Store::open("memory://").unwrap();
    let mut calls = 0;
    let report = ops::copy(&from, "s", &to, "s", |_, _| calls += 1)
        .await
        .unwrap();
    assert_eq!((report.copied, report.range), (5, Some((1, 5))));
    assert_eq!(calls, 5);
    assert!(report.identical && report.damaged_copied);
    assert_eq!(report.damaged[0].id, 2);
    assert_eq!(report.not_copied, ["notes.txt"]);
    assert_eq!(report.verified_valid, 4);
    for id in 1..=5 {
        assert_eq!(
            from.get_bytes("s", id).await.unwrap(),
            to.get_bytes("s", id).await.unwrap()
        );
    }
    assert_eq!(to.latest("s").await.unwrap().unwrap().id, 5);
    // Again: the destination exists, nothing is written.
    let e = ops::copy(&from, "s", &to, "s", |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(e, OpsError::DestinationExists { objects: 5, .. }),
        "{e}"
    );
    // Renamed: valid checkpoints re-encoded, the damaged one left out.
    let report = ops::copy(&from, "s", &to, "s2", |_, _| {}).await.unwrap();
    assert!(!report.identical && !report.damaged_copied);
    assert_eq!(report.copied, 4);
    let (a, b) = (
        from.get("s", 5).await.unwrap(),
        to.get("s2", 5).await.unwrap(),
    );
    assert_eq!((a.offsets, a.created_at_ms), (b.offsets, b.created_at_ms));
    // An unknown source stream.
    assert!(matches!(
        ops::copy(&from, "nope", &to, "x", |_, _| {}).await,
        Err(OpsError::UnknownStream { .. })
    ));
}

#[tokio::test]
async fn quarantine_moves_damaged_and_foreign_objects_and_keeps_the_highest() {
    let (store, raw) = raw_store();
    stream_of(&store, "s", 4).await;
    put_raw(&raw, "root/streams/s/00000000000000000002.tdm", b"torn").await;
    put_raw(&raw, "root/streams/s/00000000000000000005.tdm", b"").await;
    put_raw(&raw, "root/streams/s/sub/notes.txt", b"hi").await;
    let dry = ops::quarantine(&store, "s", true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.damaged.len(), 1);
    assert_eq!(dry.foreign, ["sub/notes.txt"]);
    assert!(
        dry.left[0].contains("00000000000000000005.tdm"),
        "{:?}",
        dry.left
    );
    assert!(
        get_raw(&raw, "root/streams/s/sub/notes.txt")
            .await
            .is_some()
    );
    let done = ops::quarantine(&store, "s", false).await.unwrap();
    assert_eq!(done.bytes, 4 + 2);
    let folder = format!("root/{}", done.folder);
    assert!(done.folder.starts_with("quarantine/s/"), "{}", done.folder);
    assert_eq!(
        get_raw(&raw, &format!("{folder}/00000000000000000002.tdm"))
            .await
            .as_deref(),
        Some(&b"torn"[..])
    );
    assert_eq!(
        get_raw(&raw, &format!("{folder}/sub/notes.txt"))
            .await
            .as_deref(),
        Some(&b"hi"[..])
    );
    assert!(
        get_raw(&raw, "root/streams/s/sub/notes.txt")
            .await
            .is_none()
    );
    // The quarantine folder is not a stream, and the stream reads the same.
    assert_eq!(store.streams().await.unwrap(), ["s"]);
    let v = store.verify("s", |_, _| {}).await.unwrap();
    assert_eq!((v.damaged.len(), v.foreign.len()), (1, 0)); // only the kept highest id
    assert_eq!(v.gaps, [(2, 2)]);
    assert_eq!(store.latest("s").await.unwrap().unwrap().id, 4);
}

#[tokio::test]
async fn describe_and_delete_judge_liveness_by_the_last_write() {
    let store = Store::open("memory://").unwrap();
    stream_of(&store, "s", 2).await;
    let now = SystemTime::now();
    let report = ops::describe(&store, None, ops::DEFAULT_ALIVE_WINDOW, now, |_, _, _| {})
        .await
        .unwrap();
    let s = &report.streams[0];
    assert_eq!((s.latest_id, s.checkpoints, s.healthy), (Some(3), 3, true));
    assert!(s.writer_alive);
    let later = now + Duration::from_secs(301);
    let report = ops::describe(
        &store,
        Some("s"),
        ops::DEFAULT_ALIVE_WINDOW,
        later,
        |_, _, _| {},
    )
    .await
    .unwrap();
    assert!(!report.streams[0].writer_alive);
    let e = ops::delete_stream(&store, "s", false, false, ops::DEFAULT_ALIVE_WINDOW, now)
        .await
        .unwrap_err();
    assert!(matches!(e, OpsError::WriterAlive { .. }), "{e}");
    let dry = ops::delete_stream(&store, "s", true, false, ops::DEFAULT_ALIVE_WINDOW, now)
        .await
        .unwrap();
    assert_eq!((dry.checkpoints, dry.range), (3, Some((1, 3))));
    assert_eq!(store.streams().await.unwrap(), ["s"]);
    ops::delete_stream(&store, "s", false, false, ops::DEFAULT_ALIVE_WINDOW, later)
        .await
        .unwrap();
    assert!(store.streams().await.unwrap().is_empty());
}

#[tokio::test]
async fn compaction_reports_progress_in_batches() {
    let store = Store::open("memory://").unwrap();
    stream_of(&store, "s", 2_500).await;
    let policy = tidemark::store::RetentionPolicy::new(Duration::ZERO, 1);
    let mut seen = Vec::new();
    let dry = ops::compact_with_progress(&store, "s", &policy, true, |d, t| seen.push((d, t)))
        .await
        .unwrap();
    assert_eq!((dry.deleted.len(), seen.len()), (2_500, 0));
    let report = ops::compact_with_progress(&store, "s", &policy, false, |d, t| seen.push((d, t)))
        .await
        .unwrap();
    assert_eq!(report.deleted.len(), 2_500);
    assert_eq!(seen, [(1000, 2500), (2000, 2500), (2500, 2500)]);
}

#[test]
fn every_time_flag_shares_one_parser() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let a = ops::parse_time("2026-12-01T21:59:00+02:00", now).unwrap();
    assert_eq!(a, ops::parse_time("2026-12-01T19:59:00Z", now).unwrap());
    assert_eq!(
        ops::parse_time("3d", now).unwrap(),
        now - Duration::from_secs(3 * 86_400)
    );
    let e = ops::parse_time("next tuesday", now).unwrap_err();
    assert!(matches!(e, ops::TimeError::Time { .. }));
    assert!(e.to_string().contains(ops::TIME_FORMS));
}
