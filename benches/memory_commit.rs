//! How many commits per second does the store itself allow, without any file work? (figures:
//! `BENCHMARKS.md`, section "Checkpoint store").
//!
//! ```text
//! cargo bench --bench memory_commit
//! ```
//!
//! Commits per second of a 100-partition checkpoint on `memory://` (current-thread runtime),
//! with and without the read-back (`verify_writes`, off by default in memory); then, outside
//! criterion, the CPU time per commit and per `format::encode` (Linux), to tell a slow commit
//! from a busy machine. Target: >= 100,000 commits/s with the default options.
//!
//! With `-- --test` everything runs once (a smoke test). The machine is shared and noisy:
//! compare figures of one run with each other.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tidemark::format::encode;
use tidemark::store::{NewCheckpoint, Store, StoreOptions, StreamWriter};
use tidemark_testkit::bench::{
    Report, STREAM, load_average, offsets, quick, runtime, thread_cpu_time, verdict, writer_config,
};
use tidemark_testkit::fixtures;

const GROUP: &str = "store_memory_commit";

/// A writer on a fresh `memory://` store, with its runtime.
fn memory_writer(verify_writes: bool) -> (tokio::runtime::Runtime, StreamWriter) {
    let rt = runtime();
    let options = StoreOptions {
        verify_writes: Some(verify_writes),
        ..Default::default()
    };
    let store = Store::open_with("memory://", options).unwrap();
    let writer = rt.block_on(store.writer(STREAM, writer_config())).unwrap();
    (rt, writer)
}

fn main() {
    let mut report = Report::start("memory commits per second");
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group(GROUP);
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    let new = NewCheckpoint::new(offsets());
    for (id, verify_writes) in [("verify_writes", true), ("no_verify", false)] {
        let (rt, mut writer) = memory_writer(verify_writes);
        group.bench_function(id, |b| {
            // Building the caller's `NewCheckpoint` (a clone of 100 offsets) is not timed.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(1_024);
                    left -= n;
                    let batch: Vec<NewCheckpoint> = (0..n).map(|_| new.clone()).collect();
                    total += rt.block_on(async {
                        let start = Instant::now();
                        for new in batch {
                            writer.commit(new).await.unwrap();
                        }
                        start.elapsed()
                    });
                }
                total
            })
        });
    }
    group.finish();
    c.final_summary();

    // CPU time (this thread's: the memory store does all its work on it) against wall time,
    // for a commit and for encoding the checkpoint it writes.
    let n: u32 = if quick() { 100 } else { 50_000 };
    let (rt, mut writer) = memory_writer(true);
    let batch: Vec<NewCheckpoint> = (0..n).map(|_| new.clone()).collect();
    let (cpu0, wall0) = (thread_cpu_time(), Instant::now());
    rt.block_on(async {
        for new in batch {
            writer.commit(new).await.unwrap();
        }
    });
    let (wall, cpu1) = (wall0.elapsed(), thread_cpu_time());
    let checkpoint = fixtures::checkpoint(STREAM, 1_000_000, offsets());
    let (cpu2, wall2) = (thread_cpu_time(), Instant::now());
    for _ in 0..n {
        std::hint::black_box(encode(std::hint::black_box(&checkpoint)).unwrap());
    }
    let (encode_wall, cpu3) = (wall2.elapsed(), thread_cpu_time());
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
    match (cpu0, cpu1, cpu2, cpu3) {
        (Some(cpu0), Some(cpu1), Some(cpu2), Some(cpu3)) if cpu1 > cpu0 && cpu3 > cpu2 => {
            let cpu = cpu1 - cpu0;
            report.line(format!(
                "memory commit (verify_writes), {n} commits in a row, load average {}: wall \
                 {:.2} us/commit, CPU {:.2} us/commit = {:.0} commits per CPU-second; of which \
                 format::encode of the same checkpoint alone: wall {:.2} us, CPU {:.2} us",
                load_average(),
                per(wall),
                per(cpu),
                f64::from(n) / cpu.as_secs_f64(),
                per(encode_wall),
                per(cpu3 - cpu2)
            ));
        }
        _ => report.line(format!(
            "memory commit (verify_writes), {n} commits in a row: wall {:.2} us/commit (no CPU \
             time on this system, or too short to measure)",
            per(wall)
        )),
    }

    let mut extra = vec!["criterion medians [95 % interval of the median]:".to_owned()];
    for id in ["verify_writes", "no_verify"] {
        if let Some(e) = report.estimate(GROUP, id) {
            extra.push(format!(
                "  memory commit, {id:<15} {:>10.3} us  [{:.3} .. {:.3}] = {:.0} commits/s \
                 [{:.0} .. {:.0}] (target >= 100,000/s: {}){}",
                e.0 * 1e6,
                e.1 * 1e6,
                e.2 * 1e6,
                1.0 / e.0,
                1.0 / e.2,
                1.0 / e.1,
                verdict(1.0 / e.0 >= 100_000.0),
                if id == "no_verify" {
                    ", the default"
                } else {
                    ""
                }
            ));
        }
    }
    report.finish(&extra);
}
