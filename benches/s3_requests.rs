//! Does a restart on S3 cost the same number of requests whatever the history's length?
//! (figures: `BENCHMARKS.md`, section "Checkpoint store").
//!
//! ```text
//! TIDEMARK_TEST_S3_ENDPOINT=http://127.0.0.1:<port> cargo bench --bench s3_requests
//! ```
//!
//! Requests per `Store::latest` on S3 (moto, started as `scripts/README.md` says) at 10, 100
//! and 1,000 checkpoints, counted with the tests' `CountingStore` wrapper, and for comparison
//! `latest` without the hint and one commit. Bucket `TIDEMARK_TEST_S3_BUCKET` (default
//! `tidemark-test`), credentials `testing`/`testing`. Target: the same constant at every size.
//! Without `TIDEMARK_TEST_S3_ENDPOINT` the bench stops with an error.
//!
//! With `-- --test` only the smallest size runs (a smoke test).

use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::ObjectStoreExt;
use tidemark::format::encode;
use tidemark::store::{NewCheckpoint, Store, StoreOptions};
use tidemark_testkit::bench::{
    Report, STREAM, TOPIC, checkpoint_name, ms, quick, runtime, writer_config,
};
use tidemark_testkit::fixtures;
use tidemark_testkit::stores::{CountingStore, Location, Op};

/// Sizes of the history.
const SIZES: [u64; 3] = [10, 100, 1_000];

/// One row of the table.
fn row(n: u64, call: &str, w: &CountingStore, took: Duration) -> String {
    format!(
        "  {n:>11} | {call:>15} | {:>3} | {:>4} | {:>4} | {:>3} | {:>5} | {:>7.2}",
        w.count(Op::Get),
        w.count(Op::Head),
        w.count(Op::List),
        w.count(Op::Put),
        w.total(),
        ms(took)
    )
}

fn main() {
    let server = std::env::var("TIDEMARK_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .and_then(|_| tidemark_testkit::s3::server());
    let Some(server) = server else {
        eprintln!(
            "error: this bench needs an S3 server: set TIDEMARK_TEST_S3_ENDPOINT (scripts/README.md \
             says how to start moto)"
        );
        std::process::exit(2);
    };
    let mut report = Report::start("S3 requests per latest()");
    let location = Location::S3 {
        url: server.url("bench-store"),
        server,
    };
    let (raw, root) = location.raw();
    let rt = runtime();
    let plain = Store::from_object_store(raw.clone(), &root, StoreOptions::default()).unwrap();
    let sizes: &[u64] = if quick() { &SIZES[..1] } else { &SIZES };
    report.line(
        "s3 (moto) requests per call (CountingStore counts a list() call once, whatever its \
         number of pages):"
            .into(),
    );
    report.line(format!(
        "  {:>11} | {:>15} | {:>3} | {:>4} | {:>4} | {:>3} | {:>5} | {:>7}",
        "checkpoints", "call", "get", "head", "list", "put", "total", "ms"
    ));
    let mut per_latest = Vec::new();
    rt.block_on(async {
        for &n in sizes {
            let stream = format!("{STREAM}-{n}");
            let dir = object_store::path::Path::parse(&root)
                .unwrap()
                .join("streams")
                .join(stream.as_str());
            let mut offsets = tidemark::Offsets::new();
            offsets.insert(TOPIC, 0, 74_963);
            let puts = futures::stream::iter(1..=n)
                .map(|id| {
                    let raw = raw.clone();
                    let path = dir.clone().join(checkpoint_name(id).as_str());
                    let bytes =
                        encode(&fixtures::checkpoint(&stream, id, offsets.clone())).unwrap();
                    async move { raw.put(&path, bytes.into()).await }
                })
                .buffer_unordered(16)
                .collect::<Vec<_>>()
                .await;
            assert!(puts.iter().all(|r| r.is_ok()), "put to s3 failed");
            raw.put(&dir.clone().join("_latest"), format!("{n}\n").into())
                .await
                .unwrap();

            let wrapper = CountingStore::new(raw.clone());
            let store =
                Store::from_object_store(wrapper.clone(), &root, StoreOptions::default()).unwrap();
            for call in 1..=3 {
                wrapper.reset_counts();
                let start = Instant::now();
                let latest = store.latest(&stream).await.unwrap().unwrap();
                let took = start.elapsed();
                assert_eq!(latest.id, n);
                per_latest.push(wrapper.total());
                report.line(row(n, &format!("latest #{call}"), &wrapper, took));
            }
            // For comparison: without the hint, latest lists the folder.
            raw.delete(&dir.clone().join("_latest")).await.unwrap();
            wrapper.reset_counts();
            let start = Instant::now();
            assert_eq!(store.latest(&stream).await.unwrap().unwrap().id, n);
            report.line(row(n, "latest, no hint", &wrapper, start.elapsed()));
            // And one commit, through a writer on the wrapped store.
            let mut writer = store.writer(&stream, writer_config()).await.unwrap();
            wrapper.reset_counts();
            let start = Instant::now();
            writer
                .commit(NewCheckpoint::new(offsets.clone()))
                .await
                .unwrap();
            report.line(row(n, "commit", &wrapper, start.elapsed()));
            plain.delete_stream(&stream).await.unwrap();
        }
    });
    let constant = per_latest.windows(2).all(|w| w[0] == w[1]);
    report.line(format!(
        "  requests per latest(), every call at every size: {per_latest:?}: {}",
        if constant {
            "constant (target met)"
        } else {
            "NOT constant (target not met)"
        }
    ));
    report.finish(&[]);
}
