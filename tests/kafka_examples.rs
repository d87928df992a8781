//! The examples under crashes, against a real Kafka-protocol broker: each is killed with
//! SIGKILL at random moments (at least 20 times) while consuming a topic of 100,000 messages,
//! then run to the end. Every message must be in the at-least-once sink at least once, and in
//! the exactly-once sink exactly once.
//!
//! The broker is `TIDEMARK_TEST_KAFKA` (the Apache Kafka broker scripts/test.sh starts); without it,
//! outside CI, librdkafka's mock cluster (reachable over TCP by the example processes) stands
//! in. Under `CI=true` a missing broker is an error.

use tidemark_testkit::kafka;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;
const PER_PARTITION: u64 = 25_000;
const KILLS: usize = 20;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<test binary> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --examples` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Runs `example` against a fresh topic, with the consumer group protocol `protocol` (classic
/// or KIP-848's consumer; the examples mirror their offsets to the group), killing it `KILLS`
/// times at random moments, then lets it finish. Returns how often each (partition, offset) is
/// in the sink.
fn crash_and_finish(name: &str, protocol: &str) -> (BTreeMap<(i32, i64), u32>, usize) {
    let broker = kafka::broker();
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("crash-{name}-{unique}");
    kafka::create_topic(&broker, &topic, PARTITIONS);
    for p in 0..PARTITIONS {
        kafka::produce(&broker.bootstrap, &topic, p, 0, PER_PARTITION);
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("sink.txt");
    let store = dir.path().join("checkpoints");
    let args = |exit_at_end: bool| {
        let mut a: Vec<String> = [
            "--brokers",
            &broker.bootstrap,
            "--topic",
            &topic,
            "--group",
            &format!("g-{unique}"),
            "--store",
            store.to_str().unwrap(),
            "--sink",
            sink.to_str().unwrap(),
            "--batch",
            "500",
            "--group-protocol",
            protocol,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if exit_at_end {
            a.push("--exit-at-end".into());
        }
        a
    };
    let binary = example(name);
    let mut seed: u64 = 0x5eed ^ unique as u64;
    // Count only kills that hit the example mid-stream: its latest checkpoint is short of the
    // end.
    let progress = || -> i64 {
        let Ok(store) = tidemark::blocking::Store::open(store.to_str().unwrap()) else {
            return 0;
        };
        let stream = format!("g-{unique}");
        match store.latest(&stream) {
            Ok(Some(c)) => c.offsets.iter().map(|(_, _, o)| o).sum(),
            _ => 0,
        }
    };
    let total = PARTITIONS as i64 * PER_PARTITION as i64;
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while kills < KILLS {
        assert!(Instant::now() < deadline, "crash loop took too long");
        let mut child = Command::new(&binary)
            .args(args(false))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the topic whatever the broker's speed: wait until the
        // checkpointed progress passes a random point of this kill's share of what is left,
        // then a few random milliseconds more, so the kill lands anywhere in a batch.
        let mut random = |below: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % below.max(1)
        };
        let before = progress();
        let share = (total - before) as u64 / (KILLS - kills + 1) as u64;
        let target = before + 1 + random(share) as i64;
        while progress() < target {
            assert!(Instant::now() < deadline, "crash loop took too long");
            if child.try_wait().unwrap().is_some() {
                panic!("{name} exited by itself: {:?}", child.wait());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(random(10)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            progress() < total,
            "{name} read the whole topic after only {kills} mid-stream kills"
        );
        kills += 1;
    }
    let status = Command::new(&binary)
        .args(args(true))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "final run of {name}: {status}");

    let text = std::fs::read_to_string(&sink).unwrap();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 4, "torn line in the sink: {line:?}");
        assert_eq!(fields[0], topic);
        let (p, o): (i32, i64) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        assert_eq!(
            fields[3],
            format!("{p}:{o}"),
            "payload does not match its offset: {line:?}"
        );
        *counts.entry((p, o)).or_insert(0u32) += 1;
    }
    (counts, kills)
}

fn all_offsets() -> impl Iterator<Item = (i32, i64)> {
    (0..PARTITIONS).flat_map(|p| (0..PER_PARTITION as i64).map(move |o| (p, o)))
}

fn at_least_once_loses_no_message_across_sigkills(protocol: &str) {
    let (counts, kills) = crash_and_finish("at_least_once", protocol);
    let missing = all_offsets().filter(|k| !counts.contains_key(k)).count();
    let duplicates: u32 = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "at_least_once ({protocol}): {kills} kills, {} messages, {missing} missing, {duplicates} duplicate lines",
        all_offsets().count()
    );
    assert_eq!(missing, 0);
    assert_eq!(counts.len(), all_offsets().count());
}

fn exactly_once_writes_every_message_once_across_sigkills(protocol: &str) {
    let (counts, kills) = crash_and_finish("exactly_once", protocol);
    let missing = all_offsets().filter(|k| !counts.contains_key(k)).count();
    let duplicates: u32 = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "exactly_once ({protocol}): {kills} kills, {} messages, {missing} missing, {duplicates} duplicate lines",
        all_offsets().count()
    );
    assert_eq!((missing, duplicates), (0, 0));
}

#[test]
fn at_least_once_loses_no_message_across_sigkills_classic_protocol() {
    at_least_once_loses_no_message_across_sigkills("classic");
}

#[test]
fn at_least_once_loses_no_message_across_sigkills_consumer_protocol() {
    at_least_once_loses_no_message_across_sigkills("consumer");
}

#[test]
fn exactly_once_writes_every_message_once_across_sigkills_classic_protocol() {
    exactly_once_writes_every_message_once_across_sigkills("classic");
}

#[test]
fn exactly_once_writes_every_message_once_across_sigkills_consumer_protocol() {
    exactly_once_writes_every_message_once_across_sigkills("consumer");
}
