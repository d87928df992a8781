//! Fault injection at the store's backend interface, on every backend (local disk included):
//! operations fail, time out, land but report failure, or report success without landing.
//! Every commit that returned `Ok` is readable afterwards, a failed commit leaves nothing or a
//! complete valid checkpoint, and the next commit works.

use tidemark_testkit::stores;

use std::sync::Arc;
use std::time::Duration;

use stores::{Location, locations};
use tidemark::Offsets;
use tidemark::store::{
    Fault, FaultInjector, NewCheckpoint, Op, Store, StoreError, StoreOptions, WriterConfig,
};

fn offsets(n: i64) -> Offsets {
    [("orders", 0, n), ("orders", 3, n + 1)]
        .into_iter()
        .collect()
}

/// A store on `loc` whose backend operations go through a fault injector. Commits are read
/// back on every backend, so that a write reported done but lost is caught.
fn setup(loc: &Location) -> (Arc<FaultInjector>, Store) {
    let injector = Arc::new(FaultInjector::new());
    let options = StoreOptions {
        verify_writes: Some(true),
        ..StoreOptions::default()
    };
    let store = loc.open_with(options).with_faults(injector.clone());
    (injector, store)
}

/// Every object in the stream's folder is a complete, valid checkpoint of the stream.
async fn assert_all_valid(store: &Store, stream: &str) {
    let listing = store.list(stream).await.unwrap();
    assert!(listing.foreign.is_empty(), "{:?}", listing.foreign);
    for entry in listing.checkpoints {
        store
            .get(stream, entry.id)
            .await
            .unwrap_or_else(|e| panic!("checkpoint {}: {e}", entry.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_fault_during_a_commit() {
    for loc in locations("faults") {
        eprintln!("on {}", loc.name());
        let (faulty, store) = setup(&loc);
        let mut w = store
            .writer("f", WriterConfig::new("app", "1"))
            .await
            .unwrap();
        let mut expected = None;
        let mut n = 0;
        let cases = [
            (Op::Create, Fault::Fail),
            (Op::Create, Fault::FailAfter),
            (Op::Create, Fault::Lose),
            (Op::Create, Fault::Timeout(Duration::from_millis(20))),
            (Op::Create, Fault::Delay(Duration::from_millis(20))),
            (Op::Read, Fault::Fail),
            (Op::Read, Fault::Timeout(Duration::from_millis(20))),
            (Op::WriteHint, Fault::Fail),
            (Op::WriteHint, Fault::FailAfter),
        ];
        for (op, fault) in cases {
            n += 1;
            let before = w.last_id();
            let injected_before = faulty.injected(op);
            faulty.plan(op, fault);
            let result = w.commit(NewCheckpoint::new(offsets(n))).await;
            // The fault fired during this commit (a test whose faults never fire proves
            // nothing). Hint writes happen every commit only where the hint interval is 1.
            if op != Op::WriteHint || faulty.pending() == 0 {
                assert_eq!(
                    faulty.injected(op),
                    injected_before + 1,
                    "{op:?} {fault:?} did not fire on {}",
                    loc.name()
                );
            }
            let landed = store.get("f", before + 1).await;
            match (&result, fault) {
                (Ok(c), _) => {
                    assert_eq!(store.get("f", c.id).await.unwrap().offsets, offsets(n));
                }
                (Err(StoreError::LostWrite { id, .. }), Fault::Lose) => {
                    assert_eq!(*id, before + 1);
                    assert!(matches!(landed, Err(StoreError::NotFound { .. })));
                }
                (Err(_), _) => match landed {
                    // Nothing, or a complete checkpoint of this commit.
                    Err(StoreError::NotFound { .. }) => {}
                    Ok(c) => assert_eq!(c.offsets, offsets(n), "{op:?} {fault:?}"),
                    Err(e) => panic!("{op:?} {fault:?}: damaged: {e}"),
                },
            }
            // The next commit works.
            n += 1;
            let c = w
                .commit(NewCheckpoint::new(offsets(n)))
                .await
                .unwrap_or_else(|e| panic!("after {op:?} {fault:?}: {e}"));
            assert_eq!(store.latest("f").await.unwrap().unwrap().id, c.id);
            expected = Some((c.id, n));
        }
        // Hint writes come every 16th commit on local disk and in memory: commit until the
        // last planned hint fault has fired.
        for _ in 0..40 {
            if faulty.pending() == 0 {
                break;
            }
            w.commit(NewCheckpoint::new(offsets(n))).await.unwrap();
        }
        assert_eq!(faulty.pending(), 0, "planned faults never fired");
        let (id, n) = expected.unwrap();
        assert_eq!(store.get("f", id).await.unwrap().offsets, offsets(n));
        assert_all_valid(&store, "f").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_hint_write_does_not_fail_the_commit() {
    for loc in locations("hint-faults") {
        let (faulty, store) = setup(&loc);
        let mut w = store
            .writer("h", WriterConfig::new("app", "1"))
            .await
            .unwrap();
        let first = w.commit(NewCheckpoint::new(offsets(1))).await.unwrap();
        // Fail the next hint writes, whenever the backend's hint interval makes them.
        for _ in 0..16 {
            faulty.plan(Op::WriteHint, Fault::Fail);
        }
        let mut c = w.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        assert_eq!(c.id, first.id + 1);
        while faulty.injected(Op::WriteHint) == 0 {
            c = w.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        }
        // latest() finds it though the hint lags.
        assert_eq!(store.latest("h").await.unwrap().unwrap().id, c.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_never_lose_an_acknowledged_commit() {
    for loc in locations("random-faults") {
        eprintln!("on {}", loc.name());
        let (faulty, store) = setup(&loc);
        let mut w = store
            .writer("r", WriterConfig::new("app", "1"))
            .await
            .unwrap();
        faulty.random_faults(Some((0x5eed, 20)));
        let mut acknowledged = Vec::new();
        let mut failures = 0;
        for n in 0..300 {
            match w.commit(NewCheckpoint::new(offsets(n))).await {
                Ok(c) => acknowledged.push((c.id, n)),
                Err(StoreError::Fenced { .. } | StoreError::Conflict { .. }) => {
                    panic!("a lone writer was fenced")
                }
                Err(_) => failures += 1,
            }
        }
        faulty.random_faults(None);
        assert!(failures > 20, "too few faults injected: {failures}");
        assert!(
            acknowledged.len() > 100,
            "too few commits: {}",
            acknowledged.len()
        );
        for (id, n) in &acknowledged {
            assert_eq!(
                store.get("r", *id).await.unwrap().offsets,
                offsets(*n),
                "id {id}"
            );
        }
        assert_all_valid(&store, "r").await;
        let latest = store.latest("r").await.unwrap().unwrap();
        assert!(latest.id >= acknowledged.last().unwrap().0);
        let c = w.commit(NewCheckpoint::new(offsets(1000))).await.unwrap();
        assert_eq!(store.latest("r").await.unwrap().unwrap().id, c.id);
    }
}
