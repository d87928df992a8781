//! The Kafka integration against a real broker (Apache Kafka 4, started by scripts/test.sh):
//! first start, exact resume after a stop, offsets mirrored to the consumer group, and an
//! upgraded consumer's restart (topic added, topic dropped), where outside CI the mock cluster
//! may stand in; and the cases only a real broker can play, which need `TIDEMARK_TEST_KAFKA`
//! always: partitions added while stopped, records deleted (DeleteRecords) or expired
//! (retention) below the checkpoint, a checkpoint ahead of the log (topic re-created), starts
//! at a point in time (timestamp look-ups), and the `subscribe` path under both consumer
//! group protocols (classic and KIP-848's `consumer`).

use tidemark_testkit::fixtures::unique;
use tidemark_testkit::kafka;

use std::time::Duration;

use kafka::{
    add_partitions, broker, commit_mirrored, consumer_config, consumer_config_for, create_topic,
    create_topic_with, delete_records, drain, expected, payloads, produce, produce_at, real_broker,
    recreate_topic, set_topic_configs, watermarks,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tidemark::blocking::Store;
use tidemark::kafka::{
    KafkaIntegrationError, PlannedRebalance, commit_batch_blocking, offsets_for_time, resume,
};
use tidemark::plan::{
    ClusterState, DropReason, OnAheadOfLog, OnDataLoss, PlanProblem, Reason, ResumePolicy,
    StartOffset, StartPosition,
};
use tidemark::store::{NewCheckpoint, WriterConfig};
use tidemark::{Checkpoint, Offsets};

const TIMEOUT: Duration = Duration::from_secs(20);

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
        commit_mirrored(&mut writer, &tracker, &consumer);
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

/// A checkpoint of exactly these offsets, written to a fresh store.
fn checkpoint_of(offsets: &[(&str, i32, i64)]) -> Checkpoint {
    let store = Store::open("memory://").unwrap();
    let mut writer = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    let offsets: Offsets = offsets.iter().map(|&(t, p, o)| (t, p, o)).collect();
    writer.commit(NewCheckpoint::new(offsets)).unwrap();
    store.latest("s").unwrap().unwrap()
}

fn start_of(
    plan: &tidemark::plan::ResumePlan,
    topic: &str,
    partition: i32,
) -> (StartOffset, Reason) {
    let s = plan
        .starts
        .iter()
        .find(|s| s.topic == topic && s.partition == partition)
        .unwrap_or_else(|| panic!("{topic}/{partition} not in the plan: {plan:?}"));
    (s.start, s.reason)
}

fn policy(on_data_loss: OnDataLoss, on_ahead_of_log: OnAheadOfLog) -> ResumePolicy {
    ResumePolicy {
        on_data_loss,
        on_ahead_of_log,
        ..ResumePolicy::default()
    }
}

#[test]
fn partitions_added_while_stopped_start_at_their_log_start() {
    let broker = real_broker();
    let topic = unique("grown");
    create_topic(&broker, &topic, 2);
    for p in 0..2 {
        produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    // Stopped with both partitions consumed to 60; then the topic grows to 4 partitions and
    // the new partition 3 loses its first 20 records, so its log start is not 0.
    let checkpoint = checkpoint_of(&[(&topic, 0, 60), (&topic, 1, 60)]);
    add_partitions(&broker, &topic, 4);
    for p in 2..4 {
        produce(&broker.bootstrap, &topic, p, 0, 50);
    }
    assert_eq!(delete_records(&broker, &topic, 3, 20), 20);

    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &[topic.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(plan.starts.len(), 4, "{plan:?}");
    for p in 0..2 {
        assert_eq!(
            start_of(&plan, &topic, p),
            (StartOffset::Offset(60), Reason::Resumed)
        );
    }
    assert_eq!(
        start_of(&plan, &topic, 2),
        (StartOffset::Offset(0), Reason::NewPartition)
    );
    assert_eq!(
        start_of(&plan, &topic, 3),
        (StartOffset::Offset(20), Reason::NewPartition)
    );
    // The printed plan says so.
    let printed = plan.to_string();
    assert!(printed.contains("new partition"), "{printed}");
    let seen = drain(&consumer, 40 + 40 + 50 + 30, TIMEOUT, |_| {});
    assert_eq!(
        payloads(&seen),
        expected(&[(0, 60, 40), (1, 60, 40), (2, 0, 50), (3, 20, 30)])
    );
    assert_eq!(seen.len(), 160, "nothing read twice");
}

/// Resumes `topic`/0 from offset `checkpointed` below its log start `log_start`: refused under
/// the default policy, started at the log start and reported under `Earliest`.
fn data_loss_is_refused_or_reported(
    broker: &kafka::Broker,
    topic: &str,
    checkpointed: i64,
    log_start: i64,
    log_end: i64,
) {
    let checkpoint = checkpoint_of(&[(topic, 0, checkpointed)]);
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    match resume(
        &consumer,
        Some(&checkpoint),
        &[topic],
        &ResumePolicy::default(),
        TIMEOUT,
    ) {
        Err(KafkaIntegrationError::Plan(e)) => assert_eq!(
            e.problems,
            vec![PlanProblem::DataLoss {
                topic: topic.to_owned(),
                partition: 0,
                checkpointed,
                log_start,
            }]
        ),
        other => panic!("expected a data-loss refusal, got {other:?}"),
    }
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &[topic],
        &policy(OnDataLoss::Earliest, OnAheadOfLog::Fail),
        TIMEOUT,
    )
    .unwrap();
    let reason = Reason::DataLoss {
        checkpointed,
        log_start,
    };
    assert_eq!(
        start_of(&plan, topic, 0),
        (StartOffset::Offset(log_start), reason)
    );
    assert_eq!(plan.warnings().count(), 1);
    assert!(plan.to_string().contains("DATA LOSS"), "{plan}");
    let seen = drain(&consumer, (log_end - log_start) as usize, TIMEOUT, |_| {});
    assert_eq!(seen.len() as i64, log_end - log_start);
    assert_eq!(seen[0].2, log_start, "starts at the log start");
}

#[test]
fn records_deleted_below_the_checkpoint_follow_the_data_loss_policy() {
    let broker = real_broker();
    let topic = unique("deleted");
    create_topic(&broker, &topic, 1);
    produce(&broker.bootstrap, &topic, 0, 0, 100);
    assert_eq!(delete_records(&broker, &topic, 0, 60), 60);
    data_loss_is_refused_or_reported(&broker, &topic, 30, 60, 100);
}

#[test]
fn records_expired_by_retention_follow_the_data_loss_policy() {
    let broker = real_broker();
    let topic = unique("expired");
    // Segments roll after 100 ms and expire after 2 s (the broker checks every second).
    create_topic_with(
        &broker,
        &topic,
        1,
        &[("segment.ms", "100"), ("retention.ms", "2000")],
    );
    produce(&broker.bootstrap, &topic, 0, 0, 100);
    std::thread::sleep(Duration::from_millis(300));
    // A later record rolls a new segment, so the first one can expire.
    produce(&broker.bootstrap, &topic, 0, 100, 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (low, _) = watermarks(&broker, &topic, 0);
        if low >= 100 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not delete the first segment (log start {low})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Stop the expiry (the last record may have gone too), let a retention pass already under
    // way finish, then give the consumer records to read from a log start that stays put.
    set_topic_configs(&broker, &topic, &[("retention.ms", "3600000")]);
    std::thread::sleep(Duration::from_millis(2_500));
    let (low, _) = watermarks(&broker, &topic, 0);
    produce(&broker.bootstrap, &topic, 0, 200, 10);
    let (low_after, high) = watermarks(&broker, &topic, 0);
    assert_eq!(
        low, low_after,
        "the log start moved after retention was lengthened"
    );
    assert!(high - low >= 10, "log {low}..{high}");
    data_loss_is_refused_or_reported(&broker, &topic, 30, low, high);
}

#[test]
fn a_checkpoint_ahead_of_a_recreated_topic_follows_the_policy() {
    let broker = real_broker();
    let topic = unique("recreated");
    create_topic(&broker, &topic, 1);
    produce(&broker.bootstrap, &topic, 0, 0, 100);
    let checkpoint = checkpoint_of(&[(&topic, 0, 100)]);
    recreate_topic(&broker, &topic, 1);
    produce(&broker.bootstrap, &topic, 0, 0, 10);

    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    match resume(
        &consumer,
        Some(&checkpoint),
        &[topic.as_str()],
        &ResumePolicy::default(),
        TIMEOUT,
    ) {
        Err(KafkaIntegrationError::Plan(e)) => assert_eq!(
            e.problems,
            vec![PlanProblem::AheadOfLog {
                topic: topic.clone(),
                partition: 0,
                checkpointed: 100,
                log_end: 10,
            }]
        ),
        other => panic!("expected an ahead-of-log refusal, got {other:?}"),
    }
    let (plan, _) = resume(
        &consumer,
        Some(&checkpoint),
        &[topic.as_str()],
        &policy(
            OnDataLoss::Fail,
            OnAheadOfLog::Reset(StartPosition::Earliest),
        ),
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(
        start_of(&plan, &topic, 0),
        (
            StartOffset::Offset(0),
            Reason::AheadOfLog {
                checkpointed: 100,
                log_end: 10
            }
        )
    );
    assert!(plan.to_string().contains("RESET"), "{plan}");
    let seen = drain(&consumer, 10, TIMEOUT, |_| {});
    assert_eq!(payloads(&seen), expected(&[(0, 0, 10)]));
}

#[test]
fn starts_at_a_point_in_time_are_resolved_by_the_broker() {
    let broker = real_broker();
    let topic = unique("timed");
    create_topic(&broker, &topic, 2);
    // Message n of partition p was produced at base + n seconds (+ p ms), an hour ago.
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    for p in 0..2 {
        produce_at(&broker.bootstrap, &topic, p, 0, 100, |n| {
            base + n as i64 * 1000 + p as i64
        });
    }
    let consumer: BaseConsumer = consumer_config(&broker.bootstrap, &unique("g"))
        .create()
        .unwrap();
    let mut ends = ClusterState::new();
    for p in 0..2 {
        ends.add_partition(&topic, p, 0, 100);
    }
    let partitions: Vec<(String, i32)> = (0..2).map(|p| (topic.clone(), p)).collect();
    // Exactly at message 40's time (partition 0), between 39 and 40 (partition 1's 40 is 1 ms
    // later), after everything (the log end), before everything (the log start).
    for (time, want) in [
        (base + 40_000, [40, 40]),
        (base + 39_500, [40, 40]),
        (base + 40_001, [41, 40]),
        (base + 200_000, [100, 100]),
        (base - 1, [0, 0]),
    ] {
        let found = offsets_for_time(&consumer, &partitions, time, &ends, TIMEOUT).unwrap();
        assert_eq!(
            [found.get(&topic, 0), found.get(&topic, 1)],
            [Some(want[0]), Some(want[1])],
            "at base{:+} ms",
            time - base
        );
    }
    // A first start "from 30 minutes before the last message" (a reset by duration): the plan
    // says Timestamp, the consumer starts at the message of that time.
    let from = base + 99_000 - 30_000;
    let policy = ResumePolicy {
        first_start: StartPosition::Timestamp(from),
        ..ResumePolicy::default()
    };
    let (plan, _) = resume(&consumer, None, &[topic.as_str()], &policy, TIMEOUT).unwrap();
    assert!(
        plan.starts
            .iter()
            .all(|s| s.start == StartOffset::Timestamp(from) && s.reason == Reason::FirstStart),
        "{plan:?}"
    );
    let seen = drain(&consumer, 62, TIMEOUT, |_| {});
    assert_eq!(payloads(&seen), expected(&[(0, 69, 31), (1, 69, 31)]));
    assert_eq!(seen.len(), 62);
}

/// `subscribe` with [`PlannedRebalance`] under a group protocol: the assignment the group
/// coordinator hands out starts where the checkpoint says (and a partition added since the
/// checkpoint at its log start), never where the group's stored offsets or
/// `auto.offset.reset` would.
fn subscribe_resumes_from_the_checkpoint(protocol: &str) {
    let broker = real_broker();
    let topic = unique(&format!("subscribe-{protocol}"));
    let group = unique("g");
    create_topic(&broker, &topic, 2);
    for p in 0..2 {
        produce(&broker.bootstrap, &topic, p, 0, 50);
    }
    let checkpoint = checkpoint_of(&[(&topic, 0, 12), (&topic, 1, 25)]);
    add_partitions(&broker, &topic, 3);
    produce(&broker.bootstrap, &topic, 2, 0, 10);
    let context = PlannedRebalance::new(
        Some(checkpoint),
        &[topic.as_str()],
        ResumePolicy::default(),
        TIMEOUT,
    );
    let consumer: BaseConsumer<PlannedRebalance> =
        consumer_config_for(&broker.bootstrap, &group, protocol)
            .create_with_context(context)
            .unwrap();
    consumer.subscribe(&[topic.as_str()]).unwrap();
    let seen = drain(&consumer, 38 + 25 + 10, Duration::from_secs(60), |m| {
        consumer.context().processed(&m.0, m.1, m.2)
    });
    assert!(
        consumer.context().last_error().is_none(),
        "{:?}",
        consumer.context().last_error()
    );
    assert_eq!(
        payloads(&seen),
        expected(&[(0, 12, 38), (1, 25, 25), (2, 0, 10)])
    );
    assert_eq!(seen.len(), 73, "nothing read twice");
    let plan = consumer.context().last_plan().expect("a plan");
    for s in &plan.starts {
        let want = if s.partition == 2 {
            Reason::NewPartition
        } else {
            Reason::Resumed
        };
        assert_eq!(s.reason, want, "{s:?}");
    }
    let offsets = consumer.context().offsets();
    assert_eq!(
        (0..3).map(|p| offsets.get(&topic, p)).collect::<Vec<_>>(),
        vec![Some(50), Some(50), Some(10)]
    );
}

#[test]
fn subscribe_resumes_from_the_checkpoint_with_the_classic_group_protocol() {
    subscribe_resumes_from_the_checkpoint("classic");
}

#[test]
fn subscribe_resumes_from_the_checkpoint_with_the_consumer_group_protocol() {
    subscribe_resumes_from_the_checkpoint("consumer");
}
