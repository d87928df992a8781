//! Is a local commit as cheap as the file work it must do? (figures: `BENCHMARKS.md`, section
//! "Checkpoint store").
//!
//! ```text
//! cargo bench --bench local_commit
//! ```
//!
//! `StreamWriter::commit` of a 100-partition checkpoint on a local store (`store_commit`,
//! async, current-thread runtime: the file work goes to the store's I/O thread) and the same
//! through the blocking facade (`blocking_commit`: the file work runs on the calling thread)
//! against the raw floor (`floor`): the same bytes written with plain `std::fs` to a staging
//! file, fsynced, hard-linked to the final name, the staging name removed, the folder fsynced.
//! All folders are in one temporary folder (one file system).
//!
//! The verdict comes from an interleaved measurement after criterion's: 600 rounds, each
//! running every operation once in a shuffled order, so that the disk's drift and the journal
//! work each operation leaves to the next hit all alike. Every commit is compared with a floor
//! run in the commit's own folder (two folders of one file system took new names at speeds
//! up to 1.6 times apart here); the ratios of the even and of the odd rounds are printed
//! beside the whole run's, to show the noise. Two diagnostics run with them: the floor plus a
//! `_latest` rewrite done as the store does it, and an async commit with the read-back
//! (`verify_writes: Some(true)`, off by default on local disk). Target: commit / floor <=
//! 1.15, async and blocking. Criterion's medians, minutes apart and in different folders, are
//! printed too, without a verdict.
//!
//! With `-- --test` everything runs once (a smoke test). The machine is shared and noisy:
//! compare figures of one run with each other.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use tidemark::store::{NewCheckpoint, Store, StoreOptions, StreamWriter};
use tidemark_testkit::bench::{
    Report, STREAM, checkpoint_name, estimate_line, load_average, median, ms, offsets, percentile,
    quick, remove_folder, runtime, temp_dir, verdict, writer_config,
};
use tokio::runtime::Runtime;

const GROUP: &str = "store_local_commit";
/// The interleaved measurement: this many rounds, each running every variant once.
const ROUNDS: usize = 600;

/// The floor: `bytes` written to a staging file, fsynced, hard-linked to the final name, the
/// staging name removed, the folder fsynced: the file work of a local commit, in the order the
/// store does it. (Removing the staging name after the folder's fsync, as this floor did until
/// the interleaving was shuffled, leaves the removal to be journalled by the next operation's
/// fsync, which may be another variant's.)
fn floor_commit(dir: &Path, id: u64, bytes: &[u8]) {
    // Not a checkpoint's name (a floor may run in a stream's folder), but as long as one.
    let name = format!("floor-{}", checkpoint_name(id));
    let target = dir.join(&name);
    let staging = dir.join(format!("{name}#1"));
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
    std::fs::remove_file(&staging).expect("remove staging file");
    File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("fsync folder");
}

/// How a diagnostic puts the new hint in place.
#[derive(Clone, Copy)]
enum HintBy {
    /// Renamed over `_latest` (what the store did until 2026-12-02, and does off Linux).
    Rename,
    /// Exchanged with `_latest`, then the staging name removed (the store, on Linux).
    Exchange,
}

/// Diagnostic, not a target: the floor followed by a hint rewrite without fsync, as the
/// store's local backend does it: write `_latest#1`, put it in `_latest`'s place `by`.
fn floor_commit_with_hint(dir: &Path, id: u64, bytes: &[u8], by: HintBy) {
    floor_commit(dir, id, bytes);
    let staging = dir.join("_latest#1");
    let target = dir.join("_latest");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&staging)
        .expect("create hint staging file");
    file.write_all(format!("{id}\n").as_bytes())
        .expect("write hint");
    drop(file);
    #[cfg(target_os = "linux")]
    if matches!(by, HintBy::Exchange) && target.exists() {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, &staging, CWD, &target, RenameFlags::EXCHANGE).expect("exchange");
        std::fs::remove_file(&staging).expect("remove hint staging file");
        return;
    }
    let _ = by;
    std::fs::rename(&staging, &target).expect("rename hint");
}

/// Shuffles `order` (Fisher-Yates) with the xorshift generator whose state is `seed`.
fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        order.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

/// One operation of the interleaved measurement.
enum Op {
    /// The floor, in this folder.
    Floor(PathBuf),
    /// The floor and a hint rewrite, in this folder.
    FloorHint(PathBuf, HintBy),
    /// An async commit, on the bench's current-thread runtime.
    Async(StreamWriter),
    /// A commit through the blocking facade.
    Blocking(tidemark::blocking::StreamWriter),
}

impl Op {
    /// Runs the operation once: a commit of `new`, or the floor writing `bytes` under the
    /// next of the floor's ids.
    fn run(&mut self, rt: &Runtime, new: &NewCheckpoint, bytes: &[u8], floor_id: &mut u64) {
        match self {
            Op::Floor(dir) => {
                *floor_id += 1;
                floor_commit(dir, *floor_id, bytes);
            }
            Op::FloorHint(dir, by) => {
                *floor_id += 1;
                floor_commit_with_hint(dir, *floor_id, bytes, *by);
            }
            Op::Async(writer) => {
                rt.block_on(writer.commit(new.clone())).unwrap();
            }
            Op::Blocking(writer) => {
                writer.commit(new.clone()).unwrap();
            }
        }
    }
}

fn main() {
    let mut report = Report::start("local commit against the raw floor");
    let mut c = Criterion::default().configure_from_args();
    let tmp = temp_dir("commit");
    let floor_dir = tmp.path().join("floor");
    std::fs::create_dir_all(&floor_dir).unwrap();
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
    let writer_rb = rt
        .block_on(store_rb.writer("billing-verify", writer_config()))
        .unwrap();
    // The blocking facade (its commits do the file work on the calling thread), another stream.
    let blocking_store = tidemark::blocking::Store::open(store_root.to_str().unwrap()).unwrap();
    let mut writer_blocking = blocking_store
        .writer("billing-blocking", writer_config())
        .unwrap();
    let stream_dir = |stream: &str| store_root.join("streams").join(stream);
    let new = NewCheckpoint::new(offsets());
    // The floor writes exactly the bytes of a committed checkpoint.
    let committed = rt.block_on(writer.commit(new.clone())).unwrap();
    let bytes = rt
        .block_on(store.get_bytes(STREAM, committed.id))
        .unwrap()
        .unwrap();
    let mut floor_id = 0u64;

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

    // Interleaved: each round runs every operation once, in an order shuffled anew each round,
    // so that the disk's drift during the run hits all alike, and so that every operation
    // follows every other equally often (on ext4 an fsync commits the whole journal: an
    // operation also pays for what the one before it left unsynced). How fast a folder takes a
    // new name depends on the folder (how many names it holds, where it lies on the disk: two
    // fresh folders differed by up to 1.6 times here), so every commit is compared with a
    // floor run in its own folder, under names no store reads.
    let async_writer = rt
        .block_on(store.writer("interleaved-async", writer_config()))
        .unwrap();
    let blocking_writer = blocking_store
        .writer("interleaved-blocking", writer_config())
        .unwrap();
    let hint_dir = tmp.path().join("interleaved-hint");
    let exchange_dir = tmp.path().join("interleaved-hint-exchange");
    for dir in [&hint_dir, &exchange_dir] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut ops = vec![
        (
            "floor in the commit's folder",
            Op::Floor(stream_dir("interleaved-async")),
        ),
        ("store commit (default options)", Op::Async(async_writer)),
        (
            "floor in the commit's folder",
            Op::Floor(stream_dir("interleaved-blocking")),
        ),
        ("blocking facade commit", Op::Blocking(blocking_writer)),
        (
            "floor in the commit's folder",
            Op::Floor(stream_dir("billing-verify")),
        ),
        ("diag: store commit, read-back", Op::Async(writer_rb)),
        ("floor in a folder of its own", Op::Floor(hint_dir.clone())),
        (
            "diag: floor + hint by rename",
            Op::FloorHint(hint_dir, HintBy::Rename),
        ),
        (
            "floor in a folder of its own",
            Op::Floor(exchange_dir.clone()),
        ),
        (
            "diag: floor + hint by exchange",
            Op::FloorHint(exchange_dir, HintBy::Exchange),
        ),
    ];
    // Each folder exists before the first floor runs in it.
    for (_, op) in &mut ops {
        op.run(&rt, &new, &bytes, &mut floor_id);
    }
    let rounds = if quick() { 2 } else { ROUNDS };
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); ops.len()];
    // The same, split by the parity of the round: two half-runs, whose ratios show how much
    // of a ratio is noise.
    let mut halves: [Vec<Vec<Duration>>; 2] = [times.clone(), times.clone()];
    let mut order: Vec<usize> = (0..ops.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..rounds {
        shuffle(&mut order, &mut seed);
        for &k in &order {
            let start = Instant::now();
            ops[k].1.run(&rt, &new, &bytes, &mut floor_id);
            let took = start.elapsed();
            times[k].push(took);
            halves[round % 2][k].push(took);
        }
    }
    report.line(format!(
        "local commit, interleaved: {rounds} rounds of every operation once, shuffled, {} B \
         checkpoint, load average {}",
        bytes.len(),
        load_average()
    ));
    for (k, (name, op)) in ops.iter().enumerate() {
        // A floor against the first floor (how much the folders differ), anything else
        // against the floor in its folder, run just before it in the list.
        let base = if matches!(op, Op::Floor(_)) { 0 } else { k - 1 };
        let ratio = |t: &[Vec<Duration>]| {
            if t[k].is_empty() {
                return f64::NAN;
            }
            median(&t[k]).as_secs_f64() / median(&t[base]).as_secs_f64()
        };
        let target = !name.starts_with("diag") && !matches!(op, Op::Floor(_));
        report.line(format!(
            "  {name:<34} median {:>7.3} ms  p10 {:>7.3}  p90 {:>7.3}  / {} {:.3} \
             (halves {:.3}, {:.3}){}",
            ms(median(&times[k])),
            ms(percentile(&times[k], 0.1)),
            ms(percentile(&times[k], 0.9)),
            if matches!(op, Op::Floor(_)) {
                "first floor"
            } else {
                "floor"
            },
            ratio(&times),
            ratio(&halves[0]),
            ratio(&halves[1]),
            if target {
                format!(" (target <= 1.15: {})", verdict(ratio(&times) <= 1.15))
            } else {
                String::new()
            }
        ));
    }
    drop((
        ops,
        store,
        store_rb,
        writer,
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
                    "    ratio of the medians, {id} / floor {ratio:.3} (no verdict: other \
                     folders, other minutes)"
                ));
            }
        }
    }
    report.finish(&extra);
}
