//! What the store benchmarks (`benches/*.rs`) share: the checkpoint they commit, temporary
//! folders, folders of many checkpoints written with plain `std::fs`, statistics, a peak-heap
//! counter, the load average, criterion's estimates and the end-of-run report.
//!
//! Every bench answers one question and prints its own summary; `BENCHMARKS.md` holds the
//! figures and how to read them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tidemark::format::encode;
use tidemark::store::WriterConfig;

use crate::fixtures;

/// Stream of every benchmarked checkpoint.
pub const STREAM: &str = "billing";
/// Topic of every benchmarked checkpoint.
pub const TOPIC: &str = "orders";
/// Partitions of a committed checkpoint.
pub const PARTITIONS: i32 = 100;

// --- peak heap ------------------------------------------------------------------------------

/// The system allocator, counting heap bytes while [`peak_heap`] runs. A bench that measures
/// heap declares it as its global allocator:
/// `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator;`
pub struct CountingAllocator;

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

/// Runs `f` and returns its result and the peak heap growth during it, in bytes: the highest
/// heap level reached (by any thread) minus the level before. Zero unless the binary's global
/// allocator is [`CountingAllocator`].
pub fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LEVEL.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    TRACKING.store(true, Ordering::SeqCst);
    let out = f();
    TRACKING.store(false, Ordering::SeqCst);
    (out, PEAK.load(Ordering::SeqCst).max(0) as usize)
}

// --- fixtures -------------------------------------------------------------------------------

/// `-- --test`: run everything once on small folders (a smoke test).
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// A current-thread tokio runtime (a local store hands its file work to its own I/O thread).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A temporary folder under the system temp dir, removed when dropped.
pub fn temp_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tidemark-bench-{what}-"))
        .tempdir()
        .expect("temporary folder")
}

/// The writer identity of every bench writer.
pub fn writer_config() -> WriterConfig {
    WriterConfig::new("bench-app", "1.0.0").with_host("bench-host")
}

/// The offsets of a committed checkpoint: [`PARTITIONS`] partitions of [`TOPIC`].
pub fn offsets() -> tidemark::Offsets {
    fixtures::many_partitions(TOPIC, PARTITIONS)
}

/// The folder of [`STREAM`] in a local store rooted at `root` (LAYOUT.md §1).
pub fn stream_dir(root: &Path) -> PathBuf {
    root.join("streams").join(STREAM)
}

/// The file name of checkpoint `id` (LAYOUT.md §2).
pub fn checkpoint_name(id: u64) -> String {
    format!("{id:020}.tdm")
}

/// Writes checkpoints `ids` of `stream` (one partition each, valid, named as LAYOUT.md says)
/// into `folder` with plain `std::fs`, on two threads, and the `_latest` hint naming the last.
pub fn build_folder(folder: &Path, stream: &str, ids: std::ops::RangeInclusive<u64>) {
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
                        encode(&fixtures::checkpoint(stream, id, offsets.clone())).expect("encode");
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
pub fn remove_folder(dir: tempfile::TempDir) -> Duration {
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

/// Flushes written files to disk (`sync`), so that deleting them frees allocated blocks, as it
/// does for checkpoints written days ago. Best effort.
pub fn flush_to_disk() {
    let _ = std::process::Command::new("sync").status();
}

// --- measuring ------------------------------------------------------------------------------

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`).
pub fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The 1-minute load average (Linux), to say how busy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median of `v` (the upper one of an even count).
pub fn median(v: &[Duration]) -> Duration {
    percentile(v, 0.5)
}

/// The `p`-quantile of `v` (nearest rank), `p` in 0..=1.
pub fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Bytes in MiB.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// "met" or "NOT met".
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

// --- the run's report -----------------------------------------------------------------------

/// What a bench run found: lines printed as they come and again in the summary at the end,
/// with the load average at the start and at the end.
pub struct Report {
    title: &'static str,
    started: SystemTime,
    load_start: String,
    lines: Vec<String>,
}

impl Report {
    /// Starts the report of the bench `title`, noting the time and the load average.
    pub fn start(title: &'static str) -> Self {
        Report {
            title,
            started: SystemTime::now(),
            load_start: load_average(),
            lines: Vec::new(),
        }
    }

    /// Prints `line` now and keeps it for the summary.
    pub fn line(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }

    /// Criterion's median estimate and its 95 % interval, in seconds, for benchmark `id` of
    /// `group`, if it ran in this process (a filtered or `--test` run leaves older files).
    pub fn estimate(&self, group: &str, id: &str) -> Option<(f64, f64, f64)> {
        let dir = std::env::var_os("CRITERION_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
            })
            .unwrap_or_else(|| PathBuf::from("target").join("criterion"));
        let file = dir.join(group).join(id).join("new/estimates.json");
        if std::fs::metadata(&file).ok()?.modified().ok()? < self.started {
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

    /// Prints the summary: the load averages, every line, then `extra` (figures from
    /// criterion's estimates).
    pub fn finish(self, extra: &[String]) {
        println!();
        println!("=== {}: summary ===", self.title);
        println!(
            "load average at the start {}, at the end {}",
            self.load_start,
            load_average()
        );
        for line in self.lines.iter().chain(extra) {
            println!("{line}");
        }
    }
}

/// A criterion estimate as "  name   x.xxx ms  [lo .. hi]".
pub fn estimate_line(name: &str, e: (f64, f64, f64)) -> String {
    format!(
        "  {name:<30} {:>10.3} ms  [{:.3} .. {:.3}]",
        e.0 * 1e3,
        e.1 * 1e3,
        e.2 * 1e3
    )
}
