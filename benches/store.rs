//! Store benchmarks (figures and how to read them: `BENCHMARKS.md`, section "Checkpoint store").
//!
//! ```text
//! cargo bench --bench store
//! TIDEMARK_TEST_S3_ENDPOINT=http://127.0.0.1:<port> cargo bench --bench store   # with S3
//! ```
//!
//! 1. `store_local_commit`: `StreamWriter::commit` of a 100-partition checkpoint on a local
//!    store (`store_commit`, async, current-thread runtime: the file work goes to tokio's
//!    blocking pool) and the same through the blocking facade (`blocking_commit`: the file
//!    work runs on the calling thread) against the raw floor measured in the same run
//!    (`floor`): the same bytes written with plain `std::fs` to a staging file, fsynced,
//!    hard-linked to the final name, folder fsynced, staging name removed. All folders are in
//!    one temporary folder (one file system). Then an interleaved measurement (blocks of 25
//!    back-to-back operations per variant, the variants taking turns, so that the disk's drift
//!    hits all alike) adds two diagnostics: the floor plus a `_latest` rewrite done as the
//!    store does it, and an async commit with the read-back (`verify_writes: Some(true)`, off
//!    by default on local disk). Target: commit / floor <= 1.15.
//! 2. `store_memory_commit`: commits per second on `memory://` (current-thread runtime), with
//!    and without the read-back (`verify_writes`, off by default in memory); then, outside criterion, the CPU time per commit and per
//!    `format::encode` (Linux), to tell a slow commit from a busy machine. Target: >= 100,000
//!    commits/s with the default options.
//! 3. `store_latest_1m`: `Store::latest` on a local folder of 1,000,000 checkpoints written
//!    with `std::fs` (`hint`). Target: <= 10 ms. Then, timed by hand (3 runs: one takes
//!    seconds, and criterion's minimum of 10 samples would not fit the time budget), `latest`
//!    with the `_latest` hint removed, which lists the 1,000,000 names, and its peak heap.
//! 4. Requests per `Store::latest` on S3 (moto) at 10, 100 and 1,000 checkpoints, counted with
//!    the tests' `CountingStore` wrapper; only when `TIDEMARK_TEST_S3_ENDPOINT` is set (bucket
//!    `TIDEMARK_TEST_S3_BUCKET`, default `tidemark-test`, credentials `testing`/`testing`).
//!    Target: the same constant at every size.
//! 5. Compaction deleting 100,000 expired checkpoints on local disk, timed by hand (3 runs;
//!    building and flushing the folder, slower than the compaction, is not timed): time, and peak
//!    heap measured with a counting global allocator (the highest heap level during the call
//!    minus the level before). Target: <= 64 MiB.
//!
//! A summary is printed at the end. With `-- --test` everything runs once, on small folders
//! (1,000 checkpoints), as a smoke test. The machine is shared and noisy: compare figures of
//! one run with each other; the load average is printed at the start and the end.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use tidemark::format::encode;
use tidemark::store::{
    Clock, ManualClock, NewCheckpoint, RetentionPolicy, Store, StoreOptions, WriterConfig,
};

use tidemark_testkit::fixtures as common;
use tidemark_testkit::stores;

use stores::{CountingStore, Location, Op};

/// Stream and topic of every benchmarked checkpoint.
const STREAM: &str = "billing";
const TOPIC: &str = "orders";
/// Partitions of a committed checkpoint.
const PARTITIONS: i32 = 100;
/// Checkpoints in the folder `latest` reads, and checkpoints compaction deletes.
const LATEST_CHECKPOINTS: u64 = 1_000_000;
const COMPACT_DELETED: u64 = 100_000;
/// Sizes of the S3 request count.
const S3_SIZES: [u64; 3] = [10, 100, 1_000];
/// The interleaved floor / commit measurement: blocks of this many operations of one
/// variant, and this many turns of each variant.
const BLOCK: usize = 25;
const BLOCK_CYCLES: usize = 12;

// --- peak heap ------------------------------------------------------------------------------

/// The system allocator, counting heap bytes while `TRACKING` is on.
struct CountingAllocator;

static TRACKING: AtomicBool = AtomicBool::new(false);
/// Heap bytes allocated minus freed since tracking started (negative when more was freed).
static LEVEL: AtomicIsize = AtomicIsize::new(0);
/// The highest `LEVEL` since tracking started.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn track(delta: isize) {
    if TRACKING.load(Ordering::Relaxed) {
        let now = LEVEL.fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters have no effect on it.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result and the peak heap growth during it, in bytes: the highest
/// heap level reached (by any thread) minus the level before.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LEVEL.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    TRACKING.store(true, Ordering::SeqCst);
    let out = f();
    TRACKING.store(false, Ordering::SeqCst);
    (out, PEAK.load(Ordering::SeqCst).max(0) as usize)
}

// --- helpers --------------------------------------------------------------------------------

/// `-- --test`: run everything once on small folders.
fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A temporary folder under the system temp dir, removed when dropped.
fn temp_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tidemark-bench-{what}-"))
        .tempdir()
        .expect("temporary folder")
}

fn writer_config() -> WriterConfig {
    WriterConfig::new("bench-app", "1.0.0").with_host("bench-host")
}

fn offsets() -> tidemark::Offsets {
    common::many_partitions(TOPIC, PARTITIONS)
}

/// The folder of `STREAM` in a local store rooted at `root` (LAYOUT.md §1).
fn stream_dir(root: &Path) -> PathBuf {
    root.join("streams").join(STREAM)
}

fn checkpoint_name(id: u64) -> String {
    format!("{id:020}.tdm")
}

/// Writes checkpoints `ids` of `STREAM` (one partition each, valid, named as LAYOUT.md says)
/// into `folder` with plain `std::fs`, on two threads, and the `_latest` hint naming the last.
fn build_folder(folder: &Path, ids: std::ops::RangeInclusive<u64>) {
    std::fs::create_dir_all(folder).expect("create stream folder");
    const THREADS: u64 = 2;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let ids = ids.clone();
            s.spawn(move || {
                let mut offsets = tidemark::Offsets::new();
                offsets.insert(TOPIC, 0, 74_963);
                for id in ids.filter(|id| id % THREADS == t) {
                    let bytes =
                        encode(&common::checkpoint(STREAM, id, offsets.clone())).expect("encode");
                    std::fs::write(folder.join(checkpoint_name(id)), bytes)
                        .expect("write checkpoint");
                }
            });
        }
    });
    std::fs::write(folder.join("_latest"), format!("{}\n", ids.end())).expect("write hint");
}

/// Removes a temporary folder of many files: unlinks on 32 threads first (on a file system
/// mounted with `discard`, each unlink of a file waits for the device; in parallel they
/// overlap), then removes what is left. Returns how long it took.
fn remove_folder(dir: tempfile::TempDir) -> Duration {
    let start = Instant::now();
    let mut folders = vec![dir.path().to_path_buf()];
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push(entry.path()),
                _ => files.push(entry.path()),
            }
        }
    }
    const THREADS: usize = 32;
    let chunk = files.len().div_ceil(THREADS).max(1);
    std::thread::scope(|s| {
        for part in files.chunks(chunk) {
            s.spawn(move || {
                for file in part {
                    let _ = std::fs::remove_file(file);
                }
            });
        }
    });
    drop(files);
    dir.close().expect("remove temporary folder");
    start.elapsed()
}

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`).
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The 1-minute load average (Linux), to say how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Flushes written files to disk (`sync`), so that deleting them frees allocated blocks, as it
/// does for checkpoints written days ago. Best effort.
fn flush_to_disk() {
    let _ = std::process::Command::new("sync").status();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What the run found, printed at the end.
#[derive(Default)]
struct Summary {
    /// Benchmarks that ran in this process, as (group, id).
    ran: Vec<(&'static str, &'static str)>,
    lines: Vec<String>,
    /// The median time of `latest` without the hint.
    no_hint: Option<Duration>,
    load_start: String,
}

impl Summary {
    fn ran(&mut self, group: &'static str, id: &'static str) {
        if !self.ran.contains(&(group, id)) {
            self.ran.push((group, id));
        }
    }

    fn line(&mut self, s: String) {
        println!("{s}");
        self.lines.push(s);
    }
}

type Shared = Arc<Mutex<Summary>>;

// --- 1. local commit against the raw floor -------------------------------------------------

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

fn bench_local_commit(c: &mut Criterion, summary: &Shared) {
    const GROUP: &str = "store_local_commit";
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
    let store_nv = Store::open_with(store_root.to_str().unwrap(), verify).unwrap();
    let mut writer_nv = rt
        .block_on(store_nv.writer("billing-verify", writer_config()))
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
        summary.lock().unwrap().ran(GROUP, "floor");
        b.iter(|| {
            floor_id += 1;
            floor_commit(&floor_dir, floor_id, &bytes);
        })
    });
    group.bench_function("store_commit", |b| {
        summary.lock().unwrap().ran(GROUP, "store_commit");
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
        summary.lock().unwrap().ran(GROUP, "blocking_commit");
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

    let ran = |id| summary.lock().unwrap().ran.contains(&(GROUP, id));
    if !(ran("floor") && ran("store_commit")) {
        return;
    }
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
                        rt.block_on(writer_nv.commit(n)).unwrap();
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
    let floor_median = median(times[0].clone());
    let mut s = summary.lock().unwrap();
    s.line(format!(
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
        let m = median(t.clone());
        let ratio = m.as_secs_f64() / floor_median.as_secs_f64();
        s.line(format!(
            "  {name:<34} median {:>7.3} ms  p10 {:>7.3}  p90 {:>7.3}  median / floor's {:.3}{}",
            ms(m),
            ms(percentile(t.clone(), 0.1)),
            ms(percentile(t.clone(), 0.9)),
            ratio,
            if variant == 1 || variant == 4 {
                format!(" (target <= 1.15: {})", verdict(ratio <= 1.15))
            } else {
                String::new()
            }
        ));
    }
    drop(s);
    drop((
        store,
        store_nv,
        writer,
        writer_nv,
        writer_blocking,
        blocking_store,
    ));
    remove_folder(tmp);
}

// --- 2. memory commits per second ----------------------------------------------------------

fn bench_memory_commit(c: &mut Criterion, summary: &Shared) {
    const GROUP: &str = "store_memory_commit";
    let mut group = c.benchmark_group(GROUP);
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    let new = NewCheckpoint::new(offsets());
    let memory_writer = |verify_writes: bool| {
        let rt = runtime();
        let options = StoreOptions {
            verify_writes: Some(verify_writes),
            ..Default::default()
        };
        let store = Store::open_with("memory://", options).unwrap();
        let writer = rt.block_on(store.writer(STREAM, writer_config())).unwrap();
        (rt, writer)
    };
    for (id, verify_writes) in [("verify_writes", true), ("no_verify", false)] {
        let (rt, mut writer) = memory_writer(verify_writes);
        group.bench_function(id, |b| {
            summary.lock().unwrap().ran(GROUP, id);
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

    if !summary
        .lock()
        .unwrap()
        .ran
        .contains(&(GROUP, "verify_writes"))
    {
        return;
    }
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
    let checkpoint = common::checkpoint(STREAM, 1_000_000, offsets());
    let (cpu2, wall2) = (thread_cpu_time(), Instant::now());
    for _ in 0..n {
        std::hint::black_box(encode(std::hint::black_box(&checkpoint)).unwrap());
    }
    let (encode_wall, cpu3) = (wall2.elapsed(), thread_cpu_time());
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
    let mut s = summary.lock().unwrap();
    match (cpu0, cpu1, cpu2, cpu3) {
        (Some(cpu0), Some(cpu1), Some(cpu2), Some(cpu3)) if cpu1 > cpu0 && cpu3 > cpu2 => {
            let cpu = cpu1 - cpu0;
            s.line(format!(
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
        _ => s.line(format!(
            "memory commit (verify_writes), {n} commits in a row: wall {:.2} us/commit (no CPU \
             time on this system, or too short to measure)",
            per(wall)
        )),
    }
}

// --- 3. latest() over 1,000,000 checkpoints ------------------------------------------------

/// The local folder of `latest`: `count` checkpoints and the hint.
struct LatestFixture {
    dir: tempfile::TempDir,
    store: Store,
}

fn latest_fixture<'a>(
    fixture: &'a mut Option<LatestFixture>,
    count: u64,
    rt: &tokio::runtime::Runtime,
    summary: &Shared,
) -> &'a LatestFixture {
    fixture.get_or_insert_with(|| {
        let dir = temp_dir("latest");
        let start = Instant::now();
        build_folder(&stream_dir(dir.path()), 1..=count);
        let took = start.elapsed();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let latest = rt.block_on(store.latest(STREAM)).unwrap().unwrap();
        assert_eq!(latest.id, count);
        summary.lock().unwrap().line(format!(
            "latest: built {count} checkpoint files ({} B each) with std::fs on 2 threads in \
             {:.1} s",
            store_file_size(dir.path(), count),
            took.as_secs_f64()
        ));
        LatestFixture { dir, store }
    })
}

fn store_file_size(root: &Path, id: u64) -> u64 {
    std::fs::metadata(stream_dir(root).join(checkpoint_name(id)))
        .map(|m| m.len())
        .unwrap_or(0)
}

fn bench_latest(c: &mut Criterion, summary: &Shared) {
    const GROUP: &str = "store_latest_1m";
    let count = if quick() { 1_000 } else { LATEST_CHECKPOINTS };
    // Built on first use, so that a filter that skips this group skips building it too.
    let mut fixture: Option<LatestFixture> = None;
    let rt = runtime();

    let mut group = c.benchmark_group(GROUP);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("hint", |b| {
        summary.lock().unwrap().ran(GROUP, "hint");
        let store = latest_fixture(&mut fixture, count, &rt, summary)
            .store
            .clone();
        b.iter(|| rt.block_on(store.latest(STREAM)).unwrap().unwrap())
    });
    group.finish();

    let Some(LatestFixture { dir, store }) = fixture.take() else {
        return;
    };
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
    let mut s = summary.lock().unwrap();
    s.line(format!(
        "latest without the hint over {count} checkpoints ({runs} runs): median {:.2} s \
         (min {:.2}, max {:.2}), peak heap {:.1} MiB",
        median(times.clone()).as_secs_f64(),
        times.iter().min().unwrap().as_secs_f64(),
        times.iter().max().unwrap().as_secs_f64(),
        mib(*peaks.iter().max().unwrap())
    ));
    s.no_hint = Some(median(times));
    s.line(format!(
        "latest: removing the folder took {:.1} s",
        removal.as_secs_f64()
    ));
}

// --- 4. requests per latest() on S3 --------------------------------------------------------

fn s3_requests(summary: &Shared) {
    // (a bench, not a test: without a server this part is reported as skipped, even in CI)
    let server = std::env::var("TIDEMARK_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .and_then(|_| tidemark_testkit::s3::server());
    let Some(server) = server else {
        summary
            .lock()
            .unwrap()
            .line("s3 requests per latest(): skipped (TIDEMARK_TEST_S3_ENDPOINT not set)".into());
        return;
    };
    let location = Location::S3 {
        url: server.url("bench-store"),
        server,
    };
    let (raw, root) = location.raw();
    let rt = runtime();
    let plain = Store::from_object_store(raw.clone(), &root, StoreOptions::default()).unwrap();
    let sizes: &[u64] = if quick() { &S3_SIZES[..1] } else { &S3_SIZES };
    let mut s = summary.lock().unwrap();
    s.line(
        "s3 (moto) requests per call (CountingStore counts a list() call once, whatever its \
         number of pages):"
            .into(),
    );
    s.line(format!(
        "  {:>11} | {:>15} | {:>3} | {:>4} | {:>4} | {:>3} | {:>5} | {:>7}",
        "checkpoints", "call", "get", "head", "list", "put", "total", "ms"
    ));
    let row = |n: u64, call: &str, w: &CountingStore, took: Duration| {
        format!(
            "  {n:>11} | {call:>15} | {:>3} | {:>4} | {:>4} | {:>3} | {:>5} | {:>7.2}",
            w.count(Op::Get),
            w.count(Op::Head),
            w.count(Op::List),
            w.count(Op::Put),
            w.total(),
            ms(took)
        )
    };
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
                    let bytes = encode(&common::checkpoint(&stream, id, offsets.clone())).unwrap();
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
                s.line(row(n, &format!("latest #{call}"), &wrapper, took));
            }
            // For comparison: without the hint, latest lists the folder.
            raw.delete(&dir.clone().join("_latest")).await.unwrap();
            wrapper.reset_counts();
            let start = Instant::now();
            assert_eq!(store.latest(&stream).await.unwrap().unwrap().id, n);
            s.line(row(n, "latest, no hint", &wrapper, start.elapsed()));
            // And one commit, through a writer on the wrapped store.
            match store.writer(&stream, writer_config()).await {
                Ok(mut writer) => {
                    wrapper.reset_counts();
                    let start = Instant::now();
                    writer
                        .commit(NewCheckpoint::new(offsets.clone()))
                        .await
                        .unwrap();
                    s.line(row(n, "commit", &wrapper, start.elapsed()));
                }
                Err(e) => s.line(format!(
                    "  {n:>11} | commit skipped: the writer did not open: {}",
                    tidemark::error_chain(&e)
                )),
            }
            plain.delete_stream(&stream).await.unwrap();
        }
    });
    let constant = per_latest.windows(2).all(|w| w[0] == w[1]);
    s.line(format!(
        "  requests per latest(), every call at every size: {per_latest:?}: {}",
        if constant {
            "constant (target met)"
        } else {
            "NOT constant (target not met)"
        }
    ));
}

// --- 5. compaction of 100,000 expired checkpoints ------------------------------------------

fn compaction(summary: &Shared) {
    let deleted = if quick() { 1_000 } else { COMPACT_DELETED };
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
        build_folder(&folder, 1..=deleted + 1);
        flush_to_disk();
        builds.push(start.elapsed());
        clock.set(SystemTime::now() + Duration::from_secs(31 * 24 * 3600));
        // Diagnostic: a dry run lists and decides, and deletes nothing.
        let start = Instant::now();
        let report = rt.block_on(store.compact(STREAM, &policy, true)).unwrap();
        dry.push(start.elapsed());
        assert_eq!(report.deleted.len() as u64, deleted);
        drop(report);

        let ((report, took), peak) = peak_heap(|| {
            let start = Instant::now();
            let report = rt.block_on(store.compact(STREAM, &policy, false)).unwrap();
            (report, start.elapsed())
        });
        assert_eq!(report.deleted.len() as u64, deleted);
        assert_eq!(report.newest_valid, Some(deleted + 1));
        times.push(took);
        peaks.push(peak);
    }
    drop(store);
    remove_folder(tmp);
    let max_peak = *peaks.iter().max().unwrap();
    let mut s = summary.lock().unwrap();
    s.line(format!(
        "compaction deleting {deleted} expired checkpoints ({runs} runs, load average {}): \
         median {:.2} s (min {:.2}, max {:.2}); peak heap max {:.2} MiB over the runs \
         (target <= 64 MiB: {})",
        load_average(),
        median(times.clone()).as_secs_f64(),
        times.iter().min().unwrap().as_secs_f64(),
        times.iter().max().unwrap().as_secs_f64(),
        mib(max_peak),
        if mib(max_peak) <= 64.0 {
            "met"
        } else {
            "NOT met"
        }
    ));
    s.line(format!(
        "  diag: the same compaction as a dry run (list + decide, no delete): median {:.2} s; \
         building + flushing the folder (not timed): median {:.1} s",
        median(dry).as_secs_f64(),
        median(builds).as_secs_f64()
    ));
}

// --- summary from criterion's estimates ----------------------------------------------------

/// Criterion's median estimate and its 95 % interval, in seconds, for a benchmark of this run.
fn estimate(group: &str, id: &str) -> Option<(f64, f64, f64)> {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target").join("criterion"));
    let file = dir.join(group).join(id).join("new/estimates.json");
    // Only this run's figures: a filtered or `--test` run leaves older files in place.
    if std::fs::metadata(&file).ok()?.modified().ok()? < *START.get()? {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let median = &json["median"];
    let ci = &median["confidence_interval"];
    Some((
        median["point_estimate"].as_f64()? * 1e-9,
        ci["lower_bound"].as_f64()? * 1e-9,
        ci["upper_bound"].as_f64()? * 1e-9,
    ))
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn print_summary(summary: &Shared) {
    let s = summary.lock().unwrap();
    println!();
    println!("=== store benchmarks: summary ===");
    println!(
        "load average at the start {}, at the end {}",
        s.load_start,
        load_average()
    );
    for line in &s.lines {
        println!("{line}");
    }
    println!("criterion medians [95 % interval of the median]:");
    let get = |group: &'static str, id: &'static str| {
        s.ran
            .contains(&(group, id))
            .then(|| estimate(group, id))
            .flatten()
    };
    let show = |name: &str, e: (f64, f64, f64)| {
        println!(
            "  {name:<30} {:>10.3} ms  [{:.3} .. {:.3}]",
            e.0 * 1e3,
            e.1 * 1e3,
            e.2 * 1e3
        )
    };
    if let (Some(floor), Some(commit)) = (
        get("store_local_commit", "floor"),
        get("store_local_commit", "store_commit"),
    ) {
        show("local floor", floor);
        show("local store commit", commit);
        let ratio = commit.0 / floor.0;
        println!(
            "    ratio of the medians, commit / floor {ratio:.3} (target <= 1.15: {})",
            verdict(ratio <= 1.15)
        );
        if let Some(blocking) = get("store_local_commit", "blocking_commit") {
            show("local blocking facade commit", blocking);
            let ratio = blocking.0 / floor.0;
            println!(
                "    ratio of the medians, blocking commit / floor {ratio:.3} (target <= 1.15: {})",
                verdict(ratio <= 1.15)
            );
        }
    }
    for id in ["verify_writes", "no_verify"] {
        if let Some(e) = get("store_memory_commit", id) {
            println!(
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
            );
        }
    }
    if let Some(e) = get("store_latest_1m", "hint") {
        show("latest, 1M, hint", e);
        println!("    target <= 10 ms: {}", verdict(e.0 <= 0.010));
        if let Some(no_hint) = s.no_hint {
            println!(
                "    without the hint it takes {:.0}x as long",
                no_hint.as_secs_f64() / e.0
            );
        }
    }
}

/// When this run started.
static START: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();

fn main() {
    START.get_or_init(SystemTime::now);
    let summary: Shared = Arc::new(Mutex::new(Summary {
        load_start: load_average(),
        ..Summary::default()
    }));
    let mut c = Criterion::default().configure_from_args();
    bench_local_commit(&mut c, &summary);
    bench_memory_commit(&mut c, &summary);
    bench_latest(&mut c, &summary);
    c.final_summary();
    // Not criterion benchmarks: run unless a filter names something else.
    if wanted("s3") {
        s3_requests(&summary);
    }
    if wanted("compact") {
        compaction(&summary);
    }
    print_summary(&summary);
}

/// Whether the command line's filter (criterion's free argument), if any, selects `name`;
/// never in `--list` mode.
fn wanted(name: &str) -> bool {
    /// Criterion's options that take a value.
    const WITH_VALUE: [&str; 19] = [
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--plotting-backend",
        "--output-format",
        "--color",
        "-c",
        "--format",
    ];
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(arg) = args.next() {
        if arg == "--list" {
            return false;
        }
        if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg);
        }
    }
    filter.is_none_or(|f| name.contains(f.as_str()) || f.contains(name))
}
