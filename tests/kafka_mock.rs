//! The Kafka integration against librdkafka's in-process mock cluster: exact resume, a topic
//! with more partitions than the checkpoint, a broker down while mirroring, a slow broker, and
//! the subscribe variant.

use tidemark_testkit::kafka;

use std::time::Duration;

use kafka::{commit_mirrored, consumer_config, drain, expected, payloads, produce};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use tidemark::blocking::Store;
use tidemark::kafka::{PlannedRebalance, commit_batch_blocking, resume};
use tidemark::plan::{Reason, ResumePolicy, StartOffset};
use tidemark::store::{NewCheckpoint, WriterConfig};

const TIMEOUT: Duration = Duration::from_secs(10);

fn cluster(
    topic: &str,
    partitions: i32,
) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let c = MockCluster::new(1).expect("mock cluster");
    c.create_topic(topic, partitions, 1).expect("topic");
    c
}

#[test]
fn a_restarted_consumer_resumes_exactly_after_its_last_checkpoint() {
    let mock = cluster("orders", 3);
    let bootstrap = mock.bootstrap_servers();
    for p in 0..3 {
        produce(&bootstrap, "orders", p, 0, 100);
    }
    let store = Store::open("memory://").unwrap();

    // Run 1: first start, consume 150 messages, checkpoint, stop.
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    let latest = store.latest("s").unwrap();
    let (plan, mut tracker) = resume(
        &consumer,
        latest.as_ref(),
        &["orders"],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    assert!(
        plan.starts
            .iter()
            .all(|s| s.reason == Reason::NewTopic && s.start == StartOffset::Offset(0))
    );
    let run1 = drain(&consumer, 150, TIMEOUT, |m| {
        tracker.processed(&m.0, m.1, m.2)
    });
    assert_eq!(run1.len(), 150);
    commit_mirrored(&mut writer, &tracker, &consumer);
    drop(consumer);

    // The group's committed offsets mirror the checkpoint (next offsets to consume).
    let checkpoint = store.latest("s").unwrap().unwrap();
    let probe: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
    for (p, o) in kafka::committed(&probe, "orders", 3) {
        assert_eq!(
            Some(o),
            checkpoint.offsets.get("orders", p),
            "partition {p}"
        );
    }
    drop(probe);

    // Run 2: resume; the rest arrives, nothing twice, nothing skipped.
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &["orders"],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    for s in &plan.starts {
        assert_eq!(s.reason, Reason::Resumed);
        assert_eq!(
            Some(match s.start {
                StartOffset::Offset(o) => o,
                _ => -1,
            }),
            checkpoint.offsets.get("orders", s.partition)
        );
    }
    let run2 = drain(&consumer, 150, TIMEOUT, |_| {});
    assert_eq!(run2.len(), 150);
    let mut all = payloads(&run1);
    all.extend(payloads(&run2));
    assert_eq!(all.len(), 300, "a message was read twice");
    assert_eq!(all, expected(&[(0, 0, 100), (1, 0, 100), (2, 0, 100)]));
}

#[test]
fn a_cluster_whose_topic_gained_partitions_resumes_old_ones_and_starts_new_ones_at_earliest() {
    let store = Store::open("memory://").unwrap();
    {
        let mock = cluster("events", 2);
        let bootstrap = mock.bootstrap_servers();
        for p in 0..2 {
            produce(&bootstrap, "events", p, 0, 10);
        }
        let consumer: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
        let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
        let (_, mut tracker) = resume(
            &consumer,
            None,
            &["events"],
            &ResumePolicy::default(),
            TIMEOUT,
        )
        .unwrap();
        assert_eq!(
            drain(&consumer, 20, TIMEOUT, |m| tracker
                .processed(&m.0, m.1, m.2))
            .len(),
            20
        );
        commit_batch_blocking::<BaseConsumer, _>(
            &mut writer,
            &tracker,
            NewCheckpoint::default(),
            None,
        )
        .unwrap();
    }
    // The "same" topic now has 4 partitions (a new cluster plays the added partitions).
    let mock = cluster("events", 4);
    let bootstrap = mock.bootstrap_servers();
    for p in 0..4 {
        produce(&bootstrap, "events", p, 0, 15);
    }
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
    let checkpoint = store.latest("s").unwrap().unwrap();
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &["events"],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    let reasons: Vec<_> = plan
        .starts
        .iter()
        .map(|s| (s.partition, s.start, s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (0, StartOffset::Offset(10), Reason::Resumed),
            (1, StartOffset::Offset(10), Reason::Resumed),
            (2, StartOffset::Offset(0), Reason::NewPartition),
            (3, StartOffset::Offset(0), Reason::NewPartition),
        ]
    );
    let seen = drain(&consumer, 40, TIMEOUT, |_| {});
    assert_eq!(
        payloads(&seen),
        expected(&[(0, 10, 5), (1, 10, 5), (2, 0, 15), (3, 0, 15)])
    );
}

#[test]
fn a_broker_down_while_mirroring_never_fails_the_checkpoint() {
    let mock = cluster("t", 1);
    let bootstrap = mock.bootstrap_servers();
    produce(&bootstrap, "t", 0, 0, 10);
    let store = Store::open("memory://").unwrap();
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g")
        .set("socket.timeout.ms", "2000")
        .create()
        .unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    let (_, mut tracker) =
        resume(&consumer, None, &["t"], &ResumePolicy::default(), TIMEOUT).unwrap();
    drain(&consumer, 10, TIMEOUT, |m| {
        tracker.processed(&m.0, m.1, m.2)
    });
    mock.broker_down(1).unwrap();
    let done = commit_batch_blocking(
        &mut writer,
        &tracker,
        NewCheckpoint::default(),
        Some(&consumer),
    )
    .unwrap();
    assert!(done.mirror_error.is_some(), "the mirror should have failed");
    assert_eq!(
        store.latest("s").unwrap().unwrap().offsets.get("t", 0),
        Some(10)
    );
    mock.broker_up(1).unwrap();
}

#[test]
fn mirroring_to_an_unresponsive_coordinator_gives_up_at_its_timeout() {
    let mock = cluster("t", 1);
    let bootstrap = mock.bootstrap_servers();
    produce(&bootstrap, "t", 0, 0, 5);
    // The broker answers after 100 s, and librdkafka's own request timeout is longer still: a
    // synchronous librdkafka commit would wait all that time.
    mock.broker_round_trip_time(1, Duration::from_secs(100))
        .unwrap();
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g")
        .set("socket.timeout.ms", "300000")
        .create()
        .unwrap();
    let offsets: tidemark::Offsets = [("t", 0, 5)].into_iter().collect();
    let started = std::time::Instant::now();
    let result = tidemark::kafka::mirror_offsets(&consumer, &offsets, Duration::from_secs(1));
    let waited = started.elapsed();
    mock.broker_round_trip_time(1, Duration::ZERO).unwrap();
    // 1 s asked; a synchronous librdkafka commit gave up after 6 s here (its coordinator
    // lookup failing), or never (a CI run hung 20 minutes with the broker down).
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    assert!(result.is_err(), "a commit nobody answered succeeded");
}

#[test]
fn a_slow_broker_delays_but_does_not_break_resume_and_commit() {
    let mock = cluster("t", 2);
    let bootstrap = mock.bootstrap_servers();
    for p in 0..2 {
        produce(&bootstrap, "t", p, 0, 20);
    }
    mock.broker_round_trip_time(1, Duration::from_millis(300))
        .unwrap();
    let store = Store::open("memory://").unwrap();
    let consumer: BaseConsumer = consumer_config(&bootstrap, "g").create().unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    let started = std::time::Instant::now();
    let (_, mut tracker) =
        resume(&consumer, None, &["t"], &ResumePolicy::default(), TIMEOUT).unwrap();
    let seen = drain(&consumer, 40, Duration::from_secs(30), |m| {
        tracker.processed(&m.0, m.1, m.2)
    });
    assert_eq!(seen.len(), 40);
    commit_mirrored(&mut writer, &tracker, &consumer);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the delay was not applied"
    );
    let c = store.latest("s").unwrap().unwrap();
    assert_eq!(
        (c.offsets.get("t", 0), c.offsets.get("t", 1)),
        (Some(20), Some(20))
    );
}

#[test]
fn subscribe_with_planned_rebalance_starts_at_the_checkpoint() {
    let mock = cluster("t", 2);
    let bootstrap = mock.bootstrap_servers();
    for p in 0..2 {
        produce(&bootstrap, "t", p, 0, 30);
    }
    let store = Store::open("memory://").unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    // A checkpoint says: partition 0 resumes at 12, partition 1 at 25. The group itself has
    // no committed offsets and auto.offset.reset=error: only the plan can start it.
    writer
        .commit(NewCheckpoint::new(
            [("t", 0, 12), ("t", 1, 25)].into_iter().collect(),
        ))
        .unwrap();
    let checkpoint = store.latest("s").unwrap();
    let context = PlannedRebalance::new(checkpoint, &["t"], ResumePolicy::default(), TIMEOUT);
    let consumer: BaseConsumer<PlannedRebalance> = consumer_config(&bootstrap, "sub")
        .create_with_context(context)
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let seen = drain(&consumer, 23, Duration::from_secs(30), |m| {
        consumer.context().processed(&m.0, m.1, m.2)
    });
    assert_eq!(payloads(&seen), expected(&[(0, 12, 18), (1, 25, 5)]));
    assert!(consumer.context().last_error().is_none());
    let plan = consumer.context().last_plan().expect("a plan");
    assert!(plan.starts.iter().all(|s| s.reason == Reason::Resumed));
    let offsets = consumer.context().offsets();
    assert_eq!(
        (offsets.get("t", 0), offsets.get("t", 1)),
        (Some(30), Some(30))
    );
}
