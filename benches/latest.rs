//! How long does a restart wait for `Store::latest` on a long-lived stream? (figures:
//! `BENCHMARKS.md`, section "Checkpoint store").
//!
//! ```text
//! cargo bench --bench latest
//! ```
//!
//! `Store::latest` on a local folder of 1,000,000 checkpoints written with `std::fs`
//! (`store_latest_1m/hint`). Target: <= 10 ms. Then, timed by hand (3 runs: one takes seconds,
//! and criterion's minimum of 10 samples would not fit the time budget), `latest` with the
//! `_latest` hint removed, which lists the 1,000,000 names, and its peak heap.
//!
//! With `-- --test` everything runs once on a 1,000-checkpoint folder (a smoke test). The
//! machine is shared and noisy: compare figures of one run with each other.

use std::time::{Duration, Instant};

use criterion::Criterion;
use tidemark::store::Store;
use tidemark_testkit::bench::{
    CountingAllocator, Report, STREAM, build_folder, checkpoint_name, estimate_line, median, mib,
    peak_heap, quick, remove_folder, runtime, stream_dir, temp_dir, verdict,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const GROUP: &str = "store_latest_1m";
/// Checkpoints in the folder `latest` reads.
const CHECKPOINTS: u64 = 1_000_000;

fn main() {
    let mut report = Report::start("latest() over 1,000,000 checkpoints");
    let count = if quick() { 1_000 } else { CHECKPOINTS };
    let rt = runtime();
    let dir = temp_dir("latest");
    let start = Instant::now();
    build_folder(&stream_dir(dir.path()), STREAM, 1..=count);
    let took = start.elapsed();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(
        rt.block_on(store.latest(STREAM)).unwrap().unwrap().id,
        count
    );
    let size = std::fs::metadata(stream_dir(dir.path()).join(checkpoint_name(count)))
        .map(|m| m.len())
        .unwrap_or(0);
    report.line(format!(
        "latest: built {count} checkpoint files ({size} B each) with std::fs on 2 threads in \
         {:.1} s",
        took.as_secs_f64()
    ));

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group(GROUP);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("hint", |b| {
        b.iter(|| rt.block_on(store.latest(STREAM)).unwrap().unwrap())
    });
    group.finish();
    c.final_summary();

    // Without the hint: a listing of every name. Seconds per call: timed by hand.
    std::fs::remove_file(stream_dir(dir.path()).join("_latest")).expect("remove hint");
    let runs = if quick() { 1 } else { 3 };
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..runs {
        let (took, peak) = peak_heap(|| {
            let start = Instant::now();
            let latest = rt.block_on(store.latest(STREAM)).unwrap().unwrap();
            assert_eq!(latest.id, count);
            start.elapsed()
        });
        times.push(took);
        peaks.push(peak);
    }
    drop(store);
    let removal = remove_folder(dir);
    let no_hint = median(&times);
    report.line(format!(
        "latest without the hint over {count} checkpoints ({runs} runs): median {:.2} s \
         (min {:.2}, max {:.2}), peak heap {:.1} MiB",
        no_hint.as_secs_f64(),
        times.iter().min().unwrap().as_secs_f64(),
        times.iter().max().unwrap().as_secs_f64(),
        mib(*peaks.iter().max().unwrap())
    ));
    report.line(format!(
        "latest: removing the folder took {:.1} s",
        removal.as_secs_f64()
    ));

    let mut extra = vec!["criterion medians [95 % interval of the median]:".to_owned()];
    if let Some(e) = report.estimate(GROUP, "hint") {
        extra.push(estimate_line("latest, 1M, hint", e));
        extra.push(format!("    target <= 10 ms: {}", verdict(e.0 <= 0.010)));
        extra.push(format!(
            "    without the hint it takes {:.0}x as long",
            no_hint.as_secs_f64() / e.0
        ));
    }
    report.finish(&extra);
}
