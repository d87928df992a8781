//! Is a local commit as cheap as the file work it must do? (figures: `BENCHMARKS.md`, section
//! "Checkpoint store").
//!
//! ```text
//! cargo bench --bench local_commit
//! ```
//!
//! `StreamWriter::commit` of a 100-partition checkpoint on a local store (`store_commit`,
//! async, current-thread runtime: the file work goes to tokio's blocking pool) and the same
//! through the blocking facade (`blocking_commit`: the file work runs on the calling thread)
//! against the raw floor measured in the same run (`floor`): the same bytes written with plain
//! `std::fs` to a staging file, fsynced, hard-linked to the final name, folder fsynced, staging
//! name removed. All folders are in one temporary folder (one file system). Then an interleaved
//! measurement (blocks of 25 back-to-back operations per variant, the variants taking turns, so
//! that the disk's drift hits all alike) adds two diagnostics: the floor plus a `_latest`
//! rewrite done as the store does it, and an async commit with the read-back
//! (`verify_writes: Some(true)`, off by default on local disk). Target: commit / floor <= 1.15,
//! async and blocking.
//!
//! With `-- --test` everything runs once (a smoke test). The machine is shared and noisy:
//! compare figures of one run with each other.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use tidemark::store::{NewCheckpoint, Store, StoreOptions};
use tidemark_testkit::bench::{
    Report, STREAM, checkpoint_name, estimate_line, load_average, median, ms, offsets, percentile,
    quick, remove_folder, runtime, temp_dir, verdict, writer_config,
};

const GROUP: &str = "store_local_commit";
/// The interleaved measurement: blocks of this many operations of one variant, and this many
/// turns of each variant.
const BLOCK: usize = 25;
const BLOCK_CYCLES: usize = 12;

/// The floor: `bytes` written to a staging file, fsynced, hard-linked to `<id>.tdm`, the
/// folder fsynced, the staging name removed.
fn floor_commit(dir: &Path, id: u64, bytes: &[u8]) {
    let target = dir.join(checkpoint_name(id));
    let staging = dir.join(format!("{}#1", checkpoint_name(id)));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&staging)
        .expect("create staging file");
    file.write_all(bytes).expect("write");
    file.sync_all().expect("fsync file");
    drop(file);
    std::fs::hard_link(&staging, &target).expect("hard link");
    File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("fsync folder");
    std::fs::remove_file(&staging).expect("remove staging file");
}

/// Diagnostic, not a target: the floor followed by a hint rewrite done the way the store's
/// local backend does it (no fsync): write `_latest#1`, rename it over `_latest`.
fn floor_commit_with_hint(dir: &Path, id: u64, bytes: &[u8]) {
    floor_commit(dir, id, bytes);
    let staging = dir.join("_latest#1");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&staging)
        .expect("create hint staging file");
    file.write_all(format!("{id}\n").as_bytes())
        .expect("write hint");
    drop(file);
    std::fs::rename(&staging, dir.join("_latest")).expect("rename hint");
}

fn main() {
    let mut report = Report::start("local commit against the raw floor");
    let mut c = Criterion::default().configure_from_args();
    let tmp = temp_dir("commit");
    let floor_dir = tmp.path().join("floor");
    let floor_hint_dir = tmp.path().join("floor_hint");
    std::fs::create_dir_all(&floor_dir).unwrap();
    std::fs::create_dir_all(&floor_hint_dir).unwrap();
    let rt = runtime();
    let store_root = tmp.path().join("store");
    let store = Store::open(store_root.to_str().unwrap()).unwrap();
    let mut writer = rt.block_on(store.writer(STREAM, writer_config())).unwrap();
    // Diagnostic: the same store with the read-back, on another stream of the same root.
    let verify = StoreOptions {
        verify_writes: Some(true),
        ..Default::default()
    };
    let store_rb = Store::open_with(store_root.to_str().unwrap(), verify).unwrap();
    let mut writer_rb = rt
        .block_on(store_rb.writer("billing-verify", writer_config()))
        .unwrap();
    // The blocking facade (its commits do the file work on the calling thread), another stream.
    let blocking_store = tidemark::blocking::Store::open(store_root.to_str().unwrap()).unwrap();
    let mut writer_blocking = blocking_store
        .writer("billing-blocking", writer_config())
        .unwrap();
    let new = NewCheckpoint::new(offsets());
    // The floor writes exactly the bytes of a committed checkpoint.
    let committed = rt.block_on(writer.commit(new.clone())).unwrap();
    let bytes = rt
        .block_on(store.get_bytes(STREAM, committed.id))
        .unwrap()
        .unwrap();
    let mut floor_id = 0u64;
    let mut floor_hint_id = 0u64;

    let mut group = c.benchmark_group(GROUP);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(100)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("floor", |b| {
        b.iter(|| {
            floor_id += 1;
            floor_commit(&floor_dir, floor_id, &bytes);
        })
    });
    group.bench_function("store_commit", |b| {
        // Building the caller's `NewCheckpoint` (a clone of 100 offsets) is not timed.
        b.iter_custom(|iters| {
            let batch: Vec<NewCheckpoint> = (0..iters).map(|_| new.clone()).collect();
            rt.block_on(async {
                let start = Instant::now();
                for n in batch {
                    writer.commit(n).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("blocking_commit", |b| {
        b.iter_custom(|iters| {
            let batch: Vec<NewCheckpoint> = (0..iters).map(|_| new.clone()).collect();
            let start = Instant::now();
            for n in batch {
                writer_blocking.commit(n).unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
    c.final_summary();

    // Interleaved in blocks: each variant runs BLOCK times back to back, the variants take
    // turns in a rotating order, so that the disk's drift during the run hits all alike. The
    // first operation of a block is not counted: its fsync also flushes what the previous
    // variant left unsynced (on ext4 an fsync commits the whole journal).
    let cycles = if quick() { 1 } else { BLOCK_CYCLES };
    let mut times: [Vec<Duration>; 5] = Default::default();
    for cycle in 0..cycles {
        for k in 0..5 {
            let variant = (cycle + k) % 5;
            for i in 0..BLOCK {
                let n = new.clone();
                let start = Instant::now();
                match variant {
                    0 => {
                        floor_id += 1;
                        floor_commit(&floor_dir, floor_id, &bytes);
                    }
                    1 => {
                        rt.block_on(writer.commit(n)).unwrap();
                    }
                    2 => {
                        floor_hint_id += 1;
                        floor_commit_with_hint(&floor_hint_dir, floor_hint_id, &bytes);
                    }
                    3 => {
                        rt.block_on(writer_rb.commit(n)).unwrap();
                    }
                    _ => {
                        writer_blocking.commit(n).unwrap();
                    }
                }
                if i > 0 {
                    times[variant].push(start.elapsed());
                }
            }
        }
    }
    let floor_median = median(&times[0]);
    report.line(format!(
        "local commit, interleaved in blocks: {cycles} x {BLOCK} per variant, {} B \
         checkpoint, load average {}",
        bytes.len(),
        load_average()
    ));
    for (variant, name) in [
        "floor (std::fs)",
        "store commit (default options)",
        "diag: floor + hint rewrite",
        "diag: store commit, read-back",
        "blocking facade commit",
    ]
    .into_iter()
    .enumerate()
    {
        let t = &times[variant];
        let m = median(t);
        let ratio = m.as_secs_f64() / floor_median.as_secs_f64();
        report.line(format!(
            "  {name:<34} median {:>7.3} ms  p10 {:>7.3}  p90 {:>7.3}  median / floor's {:.3}{}",
            ms(m),
            ms(percentile(t, 0.1)),
            ms(percentile(t, 0.9)),
            ratio,
            if variant == 1 || variant == 4 {
                format!(" (target <= 1.15: {})", verdict(ratio <= 1.15))
            } else {
                String::new()
            }
        ));
    }
    drop((
        store,
        store_rb,
        writer,
        writer_rb,
        writer_blocking,
        blocking_store,
    ));
    remove_folder(tmp);

    // Criterion's own medians, when they ran in this process (not under a filter or --test).
    let mut extra = vec!["criterion medians [95 % interval of the median]:".to_owned()];
    if let Some(floor) = report.estimate(GROUP, "floor") {
        extra.push(estimate_line("local floor", floor));
        for (id, name) in [
            ("store_commit", "local store commit"),
            ("blocking_commit", "local blocking facade commit"),
        ] {
            if let Some(commit) = report.estimate(GROUP, id) {
                let ratio = commit.0 / floor.0;
                extra.push(estimate_line(name, commit));
                extra.push(format!(
                    "    ratio of the medians, {id} / floor {ratio:.3} (target <= 1.15: {})",
                    verdict(ratio <= 1.15)
                ));
            }
        }
    }
    report.finish(&extra);
}
