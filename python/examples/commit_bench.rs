//! The Rust side of `benches/commit_bench.py`: commits through the blocking facade, as the
//! Python bindings do, and prints the time per commit as one JSON line.
//!
//! `commit_bench <store url> <commits> <partitions>`

use std::time::Instant;

use tidemark::Offsets;
use tidemark::blocking::Store;
use tidemark::store::{NewCheckpoint, WriterConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, commits, partitions] = args.as_slice() else {
        return Err("usage: commit_bench <store url> <commits> <partitions>".into());
    };
    let commits: i64 = commits.parse()?;
    let partitions: i32 = partitions.parse()?;
    let store = Store::open(url)?;
    let mut writer = store.writer("bench", WriterConfig::new("bench", "1"))?;
    let started = Instant::now();
    for i in 0..commits {
        let mut offsets = Offsets::new();
        for p in 0..partitions {
            offsets.insert("events", p, i * 100 + i64::from(p));
        }
        writer.commit(NewCheckpoint::new(offsets).with_metadata("batch", i.to_string().into()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"commits\": {commits}, \"seconds\": {seconds}, \"us_per_commit\": {}}}",
        seconds * 1e6 / commits as f64
    );
    Ok(())
}
