//! The Kafka integration against a real broker (Apache Kafka 4, started by
//! scripts/test.sh; outside CI the mock cluster stands in): first start, exact resume after a
//! stop, offsets mirrored to the consumer group, and an upgraded consumer's restart.

#[path = "common/kafka.rs"]
mod kafka;

use std::time::Duration;

use kafka::{broker, consumer_config, create_topic, drain, expected, payloads, produce};
use rdkafka::consumer::BaseConsumer;
use tidemark::blocking::Store;
use tidemark::kafka::{commit_batch_blocking, resume};
use tidemark::plan::{DropReason, Reason, ResumePolicy, StartOffset};
use tidemark::store::{NewCheckpoint, WriterConfig};

const TIMEOUT: Duration = Duration::from_secs(20);

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{nanos}")
}

#[test]
fn first_start_stop_and_exact_resume_with_mirrored_group_offsets() {
    let broker = broker();
    let topic = unique("resume");
    let group = unique("group");
    create_topic(&broker, &topic, 2);
    for p in 0..2 {
        produce(&broker.bootstrap, &topic, p, 0, 500);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();

    // First start: no checkpoint, every partition from its log start.
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &group).create().unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1.0")).unwrap();
    let (plan, mut tracker) = resume(
        &consumer,
        None,
        &[topic.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    assert!(plan.starts.iter().all(|s| s.reason == Reason::FirstStart));
    assert!(
        plan.starts
            .iter()
            .all(|s| s.start == StartOffset::Offset(0))
    );
    // Two batches, each checkpointed; a third processed but never checkpointed (a crash).
    let mut first = Vec::new();
    for _ in 0..2 {
        let batch = drain(&consumer, 200, TIMEOUT, |m| {
            tracker.processed(&m.0, m.1, m.2)
        });
        assert_eq!(batch.len(), 200);
        first.extend(batch);
        let done = commit_batch_blocking(
            &mut writer,
            &tracker,
            NewCheckpoint::default(),
            Some(&consumer),
        )
        .unwrap();
        assert!(done.mirror_error.is_none(), "{:?}", done.mirror_error);
    }
    let uncommitted = drain(&consumer, 100, TIMEOUT, |_| {});
    assert_eq!(uncommitted.len(), 100);
    drop(consumer);

    let checkpoint = store.latest("s").unwrap().unwrap();
    let total: i64 = checkpoint.offsets.iter().map(|(_, _, o)| o).sum();
    assert_eq!(total, 400);
    // The group's committed offsets are the checkpoint's (lag monitors see the progress).
    let probe: BaseConsumer = consumer_config(&broker.bootstrap, &group).create().unwrap();
    for (p, o) in kafka::committed(&probe, &topic, 2) {
        assert_eq!(Some(o), checkpoint.offsets.get(&topic, p), "partition {p}");
    }
    drop(probe);

    // Restart: exactly after the checkpoint; the uncommitted batch comes again, nothing else.
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &group).create().unwrap();
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &[topic.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    assert!(plan.starts.iter().all(|s| s.reason == Reason::Resumed));
    let rest = drain(&consumer, 600, TIMEOUT, |_| {});
    assert_eq!(
        rest.len(),
        600,
        "no message skipped, none re-read before the checkpoint"
    );
    let mut all = payloads(&first);
    all.extend(payloads(&rest));
    assert_eq!(all.len(), 1000);
    assert_eq!(all, expected(&[(0, 0, 500), (1, 0, 500)]));
    assert!(payloads(&uncommitted).is_subset(&payloads(&rest)));
}

#[test]
fn an_upgraded_consumer_resumes_every_still_requested_partition_exactly() {
    let broker = broker();
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    for t in [&a, &b, &c] {
        create_topic(&broker, t, 2);
        for p in 0..2 {
            produce(&broker.bootstrap, t, p, 0, 50);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();

    // Version 1 consumes topics a and b partly.
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    let mut writer = store
        .writer("s", WriterConfig::new("app", "1.0.0"))
        .unwrap();
    let (_, mut tracker) = resume(
        &consumer,
        None,
        &[a.as_str(), b.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(
        drain(&consumer, 130, TIMEOUT, |m| tracker
            .processed(&m.0, m.1, m.2))
        .len(),
        130
    );
    commit_batch_blocking::<BaseConsumer, _>(&mut writer, &tracker, NewCheckpoint::default(), None)
        .unwrap();
    drop((consumer, writer));
    let v1 = store.latest("s").unwrap().unwrap();

    // Version 2 drops a, keeps b, adds c.
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    let writer = store
        .writer("s", WriterConfig::new("app", "2.0.0"))
        .unwrap();
    let (plan, _) = resume(
        &consumer,
        Some(&v1),
        &[b.as_str(), c.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    for s in &plan.starts {
        if s.topic == b {
            assert_eq!(s.reason, Reason::Resumed);
            assert_eq!(
                s.start,
                StartOffset::Offset(v1.offsets.get(&b, s.partition).unwrap())
            );
        } else {
            assert_eq!((s.topic.as_str(), s.reason), (c.as_str(), Reason::NewTopic));
        }
    }
    assert!(
        plan.dropped
            .iter()
            .all(|d| d.topic == a && d.reason == DropReason::NoLongerRequested)
    );
    assert_eq!(
        plan.dropped.len(),
        v1.offsets.topic(&a).map_or(0, |p| p.len())
    );
    let b_left: u64 = (0..2)
        .map(|p| 50 - v1.offsets.get(&b, p).unwrap_or(0) as u64)
        .sum();
    let seen = drain(&consumer, (b_left + 100) as usize, TIMEOUT, |_| {});
    let got_b: Vec<_> = seen.iter().filter(|m| m.0 == b).collect();
    assert_eq!(got_b.len() as u64, b_left, "b resumed exactly");
    for m in &got_b {
        let from = v1.offsets.get(&b, m.1).unwrap_or(0);
        assert!(
            m.2 >= from,
            "b/{} re-read offset {} before {from}",
            m.1,
            m.2
        );
    }
    assert_eq!(
        seen.iter().filter(|m| m.0 == c).count(),
        100,
        "c from the start"
    );
    assert!(seen.iter().all(|m| m.0 != a), "a is no longer consumed");
    assert_eq!(writer.epoch(), v1.id + 1);
}
