//! Fault injection: a wrapper makes operations fail, time out, land but report failure, or
//! report success without landing. Every commit that returned `Ok` is readable afterwards, a
//! failed commit leaves nothing or a complete valid checkpoint, and the next commit works.

#[path = "common/stores.rs"]
mod stores;

use std::time::Duration;

use stores::{Fault, FaultyStore, Location, Op, locations};
use tidemark::Offsets;
use tidemark::store::{NewCheckpoint, Store, StoreError, StoreOptions, WriterConfig};

fn offsets(n: i64) -> Offsets {
    [("orders", 0, n), ("orders", 3, n + 1)]
        .into_iter()
        .collect()
}

fn setup(loc: &Location) -> (std::sync::Arc<FaultyStore>, Store) {
    let (raw, _) = loc.raw();
    let faulty = FaultyStore::new(raw);
    let store = loc.wrapped(&faulty, StoreOptions::default());
    (faulty, store)
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
            (Op::Put, Fault::Fail),
            (Op::Put, Fault::FailAfter),
            (Op::Put, Fault::Lose),
            (Op::Put, Fault::Timeout(Duration::from_millis(20))),
            (Op::Put, Fault::Delay(Duration::from_millis(20))),
            (Op::Get, Fault::Fail),
            (Op::Get, Fault::Timeout(Duration::from_millis(20))),
        ];
        for (op, fault) in cases {
            n += 1;
            let before = w.last_id();
            faulty.plan(op, fault);
            let result = w.commit(NewCheckpoint::new(offsets(n))).await;
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
        // A commit puts the checkpoint, then the hint: let the first through, fail the second.
        faulty.plan(Op::Put, Fault::Delay(Duration::ZERO));
        faulty.plan(Op::Put, Fault::Fail);
        let c = w.commit(NewCheckpoint::new(offsets(2))).await.unwrap();
        assert_eq!(c.id, first.id + 1);
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
