//! Codec benchmarks (figures and how to read them: `BENCHMARKS.md`).
//!
//! ```text
//! cargo bench --bench codec
//! ```
//!
//! - groups `encode`, `decode` and `encode+decode`, each at 1, 100 and 10,000 partitions of one
//!   topic, with offsets between 74,963 and 1,074,962 (`common::many_partitions`), the range of
//!   a consumer that has been running for a while. Throughput is in partitions per second.
//!   Target: encode + decode of 10,000 partitions under 1 ms.
//! - group `baseline`: std's `BTreeMap` alone, built for 10,000 partitions the way `decode`
//!   builds it and the bulk way; not tidemark code, a yardstick for `decode`.
//! - before measuring, a table (stdout) of the checkpoint file size at 1 to 10,000 partitions
//!   next to the size of Spark Structured Streaming's offset-log file for the same offsets, with
//!   an empty conf and with the conf PySpark 4.3 wrote into the import tests' fixture.
//!   Target: tidemark's file at most half of Spark's.
//!
//! The machine is shared and noisy: compare figures of one run with each other, never with a
//! fixed threshold in a test.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use tidemark::format::{decode, encode};
use tidemark::{Checkpoint, Offsets};

use tidemark_testkit::fixtures as common;

/// Stream and topic of every benchmarked checkpoint.
const STREAM: &str = "billing";
const TOPIC: &str = "orders";
/// A checkpoint id of a stream that has committed for a while (a 3-byte varint).
const ID: u64 = 42_317;

/// Partition counts that are timed.
const TIMED: [i32; 3] = [1, 100, 10_000];
/// Partition counts of the size table.
const SIZED: [i32; 5] = [1, 10, 100, 1_000, 10_000];

/// An offset-log file written by PySpark 4.3 (the import tests' fixture): its metadata line
/// holds the SQL confs Spark records in every offset-log file (17 of them in 4.3).
const SPARK_43_OFFSET_LOG: &str = include_str!("../tests/fixtures/spark-checkpoint/offsets/0");

/// The metadata line (`OffsetSeqMetadata` JSON) of [`SPARK_43_OFFSET_LOG`].
fn spark_43_metadata() -> &'static str {
    SPARK_43_OFFSET_LOG
        .lines()
        .nth(1)
        .filter(|line| line.starts_with("{\"batchWatermarkMs\""))
        .expect("the fixture's second line is Spark's offset-log metadata")
}

/// The benchmarked checkpoint: one topic of `partitions` partitions, fixed times and writer.
fn fixture(partitions: i32) -> Checkpoint {
    common::checkpoint(STREAM, ID, common::many_partitions(TOPIC, partitions))
}

/// The metadata line of an offset-log file with no conf, as `../shared` TESTBED shows it.
fn bare_metadata(batch_timestamp_ms: u64) -> String {
    format!("{{\"batchWatermarkMs\":0,\"batchTimestampMs\":{batch_timestamp_ms},\"conf\":{{}}}}")
}

/// The bytes of Spark Structured Streaming's offset-log file (`<checkpoint>/offsets/<batch>`)
/// for a query with one Kafka source at `offsets`, as `OffsetSeqLog.serialize` writes it:
/// `v1`, `\n`, the `OffsetSeqMetadata` JSON (`metadata`), `\n`, the Kafka source's offset
/// JSON, and no trailing newline.
///
/// The Kafka source's JSON (json4s) has no spaces. No string needs escaping: Kafka topic names
/// are limited to `[a-zA-Z0-9._-]`. Spark's partition maps are hash maps, so their order in a
/// real file varies; it does not change the size. Partitions are written ascending here.
fn spark_offset_log(offsets: &Offsets, metadata: &str) -> String {
    let mut s = format!("v1\n{metadata}\n{{");
    for (t, (topic, partitions)) in offsets.topics().enumerate() {
        if t > 0 {
            s.push(',');
        }
        write!(s, "\"{topic}\":{{").unwrap();
        for (i, (partition, offset)) in partitions.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            write!(s, "\"{partition}\":{offset}").unwrap();
        }
        s.push('}');
    }
    s.push('}');
    s
}

/// Prints the size table: tidemark's file next to Spark's offset-log text, with an empty conf
/// and with the conf PySpark 4.3 actually wrote.
fn print_sizes() {
    // The Spark text, checked once against a hand-written file.
    let two = fixture(2);
    assert_eq!(
        spark_offset_log(&two.offsets, &bare_metadata(two.batch_time_ms)),
        "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1700000000000,\"conf\":{}}\n\
         {\"orders\":{\"0\":74963,\"1\":82882}}"
    );

    println!();
    println!(
        "Checkpoint file size: tidemark vs Spark Structured Streaming offset log \
         (same offsets, one topic; target: tidemark <= 1/2 of Spark)"
    );
    println!(
        "{:>10} | {:>11} | {:>15} | {:>6} | {:>17} | {:>6}",
        "partitions", "tidemark B", "Spark conf {} B", "ratio", "Spark 4.3 conf B", "ratio"
    );
    println!("{}", "-".repeat(82));
    let mut sizes = Vec::new();
    for n in SIZED {
        let checkpoint = fixture(n);
        let bytes = encode(&checkpoint).expect("fixture encodes");
        assert_eq!(decode(&bytes).expect("fixture decodes"), checkpoint);
        let ours = bytes.len();
        let bare = spark_offset_log(
            &checkpoint.offsets,
            &bare_metadata(checkpoint.batch_time_ms),
        )
        .len();
        let conf = spark_offset_log(&checkpoint.offsets, spark_43_metadata()).len();
        let verdict = |spark: usize| {
            let ratio = ours as f64 / spark as f64;
            format!("{ratio:.3}{}", if 2 * ours <= spark { " " } else { "!" })
        };
        println!(
            "{n:>10} | {ours:>11} | {bare:>15} | {:>6} | {conf:>17} | {:>6}",
            verdict(bare),
            verdict(conf)
        );
        sizes.push((n, ours, bare));
    }
    if let [.., (n0, ours0, spark0), (n1, ours1, spark1)] = sizes[..] {
        let per = |a: usize, b: usize| (b - a) as f64 / f64::from(n1 - n0);
        println!(
            "marginal bytes per partition ({n0} -> {n1}): tidemark {:.2}, Spark {:.2}",
            per(ours0, ours1),
            per(spark0, spark1)
        );
    }
    println!("('!' marks a ratio above 1/2: target not met.)");
    println!();
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for n in TIMED {
        let checkpoint = fixture(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &checkpoint, |b, cp| {
            b.iter(|| encode(black_box(cp)).unwrap())
        });
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for n in TIMED {
        let bytes = encode(&fixture(n)).unwrap();
        group.throughput(Throughput::Elements(n as u64));
        // The decoded checkpoint is dropped inside the timed loop, as a caller would drop it.
        group.bench_with_input(BenchmarkId::from_parameter(n), &bytes[..], |b, bytes| {
            b.iter(|| decode(black_box(bytes)).unwrap())
        });
    }
    group.finish();
}

fn bench_encode_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode+decode");
    for n in TIMED {
        let checkpoint = fixture(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &checkpoint, |b, cp| {
            b.iter(|| decode(&encode(black_box(cp)).unwrap()).unwrap())
        });
    }
    group.finish();
}

/// Not tidemark code: what building one topic's partition map costs in std alone, the way
/// `decode` builds it (one `insert` per partition) and by bulk-building from a sorted vector
/// (`BTreeMap::from_iter`, linear for sorted input). Shows where decode's time goes.
fn bench_baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline");
    let n = 10_000;
    let pairs: Vec<(i32, i64)> = fixture(n).offsets.iter().map(|(_, p, o)| (p, o)).collect();
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(
        BenchmarkId::new("btreemap_insert", n),
        &pairs[..],
        |b, pairs| {
            b.iter(|| {
                let mut map = BTreeMap::new();
                for &(partition, offset) in black_box(pairs) {
                    map.insert(partition, offset);
                }
                map
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("btreemap_from_sorted_vec", n),
        &pairs[..],
        |b, pairs| {
            b.iter(|| {
                let mut sorted = Vec::with_capacity(pairs.len());
                sorted.extend_from_slice(black_box(pairs));
                sorted.into_iter().collect::<BTreeMap<i32, i64>>()
            })
        },
    );
    group.finish();
}

fn main() {
    print_sizes();
    // 2 s warm-up + 8 s of 100 samples per benchmark: under 3 minutes for the 11 benchmarks.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .sample_size(100)
        .configure_from_args();
    bench_encode(&mut c);
    bench_decode(&mut c);
    bench_encode_decode(&mut c);
    bench_baseline(&mut c);
    c.final_summary();
}
