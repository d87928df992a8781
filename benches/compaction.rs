//! What does compacting a long history cost, in time and memory? (figures: `BENCHMARKS.md`,
//! section "Checkpoint store").
//!
//! ```text
//! cargo bench --bench compaction
//! ```
//!
//! Compaction deleting 100,000 expired checkpoints on local disk, timed by hand (3 runs;
//! building and flushing the folder, slower than the compaction, is not timed): time, and peak
//! heap measured with a counting global allocator (the highest heap level during the call minus
//! the level before). Target: <= 64 MiB. A dry run of the same compaction is a diagnostic.
//!
//! With `-- --test` everything runs once on 1,000 checkpoints (a smoke test). The machine is
//! shared and noisy: compare figures of one run with each other.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tidemark::store::{Clock, ManualClock, RetentionPolicy, Store, StoreOptions};
use tidemark_testkit::bench::{
    CountingAllocator, Report, STREAM, build_folder, flush_to_disk, load_average, median, mib,
    peak_heap, quick, remove_folder, runtime, stream_dir, temp_dir, verdict,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Expired checkpoints each run deletes.
const DELETED: u64 = 100_000;

fn main() {
    let mut report = Report::start("compaction of 100,000 expired checkpoints");
    let deleted = if quick() { 1_000 } else { DELETED };
    let runs = if quick() { 1 } else { 3 };
    let tmp = temp_dir("compact");
    let folder = stream_dir(tmp.path());
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let options = StoreOptions {
        clock: clock.clone() as Arc<dyn Clock>,
        ..Default::default()
    };
    let store = Store::open_with(tmp.path().to_str().unwrap(), options).unwrap();
    let policy = RetentionPolicy::new(Duration::from_secs(30 * 24 * 3600), 1);
    let rt = runtime();
    let (mut times, mut dry, mut peaks, mut builds) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        // Not timed: the newest checkpoint and `deleted` older ones, all written now and
        // flushed to disk; the clock is 31 days ahead.
        let start = Instant::now();
        build_folder(&folder, STREAM, 1..=deleted + 1);
        flush_to_disk();
        builds.push(start.elapsed());
        clock.set(SystemTime::now() + Duration::from_secs(31 * 24 * 3600));
        // Diagnostic: a dry run lists and decides, and deletes nothing.
        let start = Instant::now();
        let dry_report = rt.block_on(store.compact(STREAM, &policy, true)).unwrap();
        dry.push(start.elapsed());
        assert_eq!(dry_report.deleted.len() as u64, deleted);
        drop(dry_report);

        let ((compacted, took), peak) = peak_heap(|| {
            let start = Instant::now();
            let compacted = rt.block_on(store.compact(STREAM, &policy, false)).unwrap();
            (compacted, start.elapsed())
        });
        assert_eq!(compacted.deleted.len() as u64, deleted);
        assert_eq!(compacted.newest_valid, Some(deleted + 1));
        times.push(took);
        peaks.push(peak);
    }
    drop(store);
    remove_folder(tmp);
    let max_peak = *peaks.iter().max().unwrap();
    report.line(format!(
        "compaction deleting {deleted} expired checkpoints ({runs} runs, load average {}): \
         median {:.2} s (min {:.2}, max {:.2}); peak heap max {:.2} MiB over the runs \
         (target <= 64 MiB: {})",
        load_average(),
        median(&times).as_secs_f64(),
        times.iter().min().unwrap().as_secs_f64(),
        times.iter().max().unwrap().as_secs_f64(),
        mib(max_peak),
        verdict(mib(max_peak) <= 64.0)
    ));
    report.line(format!(
        "  diag: the same compaction as a dry run (list + decide, no delete): median {:.2} s; \
         building + flushing the folder (not timed): median {:.1} s",
        median(&dry).as_secs_f64(),
        median(&builds).as_secs_f64()
    ));
    report.finish(&[]);
}
