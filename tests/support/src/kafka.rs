//! Kafka helpers for tests: produce numbered messages, build consumers, drain them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// Produces `count` messages to `topic`/`partition`, payload `"<partition>:<n>"` for n from
/// `first`.
pub fn produce(bootstrap: &str, topic: &str, partition: i32, first: u64, count: u64) {
    // Idempotence keeps the order across retries: without it, a batch retried after a
    // fresh topic's first "unknown partition" answer can land after later ones, and message
    // n is no longer at offset n (seen once on Apache Kafka: offset 0 held "0:12201").
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for n in first..first + count {
        let payload = format!("{partition}:{n}");
        loop {
            let record = BaseRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(&payload);
            match producer.send(record) {
                Ok(()) => break,
                Err((e, _)) if e.to_string().contains("Queue full") => {
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("produce: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Produces `count` messages to `topic`/`partition` like [`produce`], message `n` with the
/// timestamp `timestamp(n)` (ms since the Unix epoch).
pub fn produce_at(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    first: u64,
    count: u64,
    timestamp: impl Fn(u64) -> i64,
) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for n in first..first + count {
        let payload = format!("{partition}:{n}");
        let record = BaseRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload)
            .timestamp(timestamp(n));
        producer
            .send(record)
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// A consumer config for a consumer group protocol: `classic` or `consumer` (KIP-848, where
/// the broker decides session timeouts, so none is set here).
pub fn consumer_config_for(bootstrap: &str, group: &str, protocol: &str) -> ClientConfig {
    let mut config = consumer_config(bootstrap, group);
    config.set("group.protocol", protocol);
    if protocol == "consumer" {
        config.remove("session.timeout.ms");
    }
    config
}

/// A consumer config for tests: manual commits, given group.
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "error")
        .set("session.timeout.ms", "6000");
    config
}

/// One consumed message: (topic, partition, offset, payload).
pub type Seen = (String, i32, i64, String);

/// Polls until `count` messages arrived or `timeout` passed, calling `each` per message.
pub fn drain<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    count: usize,
    timeout: Duration,
    mut each: impl FnMut(&Seen),
) -> Vec<Seen> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let seen = (
                    m.topic().to_owned(),
                    m.partition(),
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                );
                each(&seen);
                out.push(seen);
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    out
}

/// The payloads of `seen`, as a set.
pub fn payloads(seen: &[Seen]) -> BTreeSet<String> {
    seen.iter().map(|s| s.3.clone()).collect()
}

/// Every payload produced for these partitions: `(partition, first, count)`.
pub fn expected(ranges: &[(i32, u64, u64)]) -> BTreeSet<String> {
    ranges
        .iter()
        .flat_map(|&(p, first, count)| (first..first + count).map(move |n| format!("{p}:{n}")))
        .collect()
}

/// The group's committed offsets for `topic`'s partitions `0..partitions`.
pub fn committed<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: i32,
) -> Vec<(i32, i64)> {
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets")
        .elements()
        .iter()
        .map(|e| {
            (
                e.partition(),
                match e.offset() {
                    rdkafka::Offset::Offset(o) => o,
                    _ => -1,
                },
            )
        })
        .collect()
}

/// A broker for a test: `TIDEMARK_TEST_KAFKA` (the Apache Kafka broker scripts/test.sh starts), or,
/// outside CI only, librdkafka's mock cluster (reachable over TCP), kept alive with it.
pub struct Broker {
    pub bootstrap: String,
    pub mock: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
}

pub fn broker() -> Broker {
    match std::env::var("TIDEMARK_TEST_KAFKA") {
        Ok(b) if !b.is_empty() => Broker {
            bootstrap: b,
            mock: None,
        },
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TIDEMARK_TEST_KAFKA is not set: these tests need the Apache Kafka broker \
                 that scripts/test.sh starts"
            );
            let mock = MockCluster::new(1).unwrap();
            Broker {
                bootstrap: mock.bootstrap_servers(),
                mock: Some(mock),
            }
        }
    }
}

/// librdkafka's mock cluster, in and outside CI: for what a broker may refuse (it answers no
/// DescribeGroups request, as a broker does to a client without Describe permission on the
/// group).
pub fn mock_broker() -> Broker {
    let mock = MockCluster::new(1).unwrap();
    Broker {
        bootstrap: mock.bootstrap_servers(),
        mock: Some(mock),
    }
}

/// The real broker scripts/test.sh starts (`TIDEMARK_TEST_KAFKA`), for tests the mock cluster
/// cannot stand in for (added partitions, deleted records, retention, timestamp look-ups, the
/// KIP-848 group protocol). Its absence is an error, in and outside CI.
pub fn real_broker() -> Broker {
    match std::env::var("TIDEMARK_TEST_KAFKA") {
        Ok(b) if !b.is_empty() => Broker {
            bootstrap: b,
            mock: None,
        },
        _ => panic!(
            "TIDEMARK_TEST_KAFKA is not set: this test needs a real Kafka broker (librdkafka's \
             mock cluster cannot add partitions, delete records or look up timestamps); \
             scripts/kafka/start.sh starts one (see scripts/README.md)"
        ),
    }
}

/// An admin client on the real broker, its request options, and a runtime to wait with.
fn admin(
    broker: &Broker,
) -> (
    AdminClient<DefaultClientContext>,
    AdminOptions,
    tokio::runtime::Runtime,
) {
    assert!(broker.mock.is_none(), "admin requests need the real broker");
    let admin = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .create()
        .unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (admin, options, rt)
}

/// Creates `topic` with these topic configs (e.g. `retention.ms`).
pub fn create_topic_with(broker: &Broker, topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    let (a, o, rt) = admin(broker);
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let results = rt.block_on(a.create_topics(&[new], &o)).unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// Replaces the configs of `topic` with these (AlterConfigs: configs not named return to the
/// broker's defaults).
pub fn set_topic_configs(broker: &Broker, topic: &str, configs: &[(&str, &str)]) {
    let (a, o, rt) = admin(broker);
    let mut alter = AlterConfig::new(ResourceSpecifier::Topic(topic));
    for (k, v) in configs {
        alter = alter.set(k, v);
    }
    let results = rt.block_on(a.alter_configs(&[alter], &o)).unwrap();
    for r in results {
        r.unwrap_or_else(|(resource, e)| panic!("alter configs of {resource:?}: {e}"));
    }
}

/// Grows `topic` to `total` partitions (CreatePartitions).
pub fn add_partitions(broker: &Broker, topic: &str, total: usize) {
    let (a, o, rt) = admin(broker);
    let results = rt
        .block_on(a.create_partitions(&[NewPartitions::new(topic, total)], &o))
        .unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("add partitions to {t}: {e}"));
    }
}

/// Deletes the records of `topic`/`partition` below `before` (DeleteRecords); returns the new
/// log start.
pub fn delete_records(broker: &Broker, topic: &str, partition: i32, before: i64) -> i64 {
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(before))
        .unwrap();
    let (a, o, rt) = admin(broker);
    let result = rt
        .block_on(a.delete_records(&tpl, &o))
        .expect("delete records");
    let e = result.find_partition(topic, partition).unwrap();
    if let Err(err) = e.error() {
        panic!("delete records of {topic}/{partition}: {err}");
    }
    match e.offset() {
        rdkafka::Offset::Offset(o) => o,
        other => panic!("delete records: low watermark {other:?}"),
    }
}

/// Deletes `topic` and waits until it is gone from the metadata.
pub fn delete_topic(broker: &Broker, topic: &str) {
    let (a, o, rt) = admin(broker);
    let results = rt.block_on(a.delete_topics(&[topic], &o)).unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("delete topic {t}: {e}"));
    }
    let probe: BaseConsumer = consumer_config(&broker.bootstrap, "probe")
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = probe
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .unwrap();
        if metadata
            .topics()
            .iter()
            .all(|t| t.error().is_some() || t.partitions().is_empty())
        {
            return;
        }
        assert!(Instant::now() < deadline, "topic {topic} still there");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The log start and end of `topic`/`partition`.
pub fn watermarks(broker: &Broker, topic: &str, partition: i32) -> (i64, i64) {
    let probe: BaseConsumer = consumer_config(&broker.bootstrap, "probe")
        .create()
        .unwrap();
    probe
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .unwrap()
}

pub fn create_topic(broker: &Broker, topic: &str, partitions: i32) {
    if let Some(mock) = &broker.mock {
        mock.create_topic(topic, partitions, 1).unwrap();
        return;
    }
    let bootstrap = &broker.bootstrap;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .unwrap();
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// Deletes `topic` and creates it again, empty, with `partitions` partitions (what a checkpoint
/// ahead of the log end comes from). Re-creating right after the deletion can race the
/// controller: it is retried for up to 30 s.
pub fn recreate_topic(broker: &Broker, topic: &str, partitions: i32) {
    delete_topic(broker, topic);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = std::panic::catch_unwind(|| create_topic(broker, topic, partitions));
        if created.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "cannot re-create {topic}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Commits what `tracker` saw as one checkpoint of `writer` and mirrors it to `consumer`'s
/// group (`kafka::commit_batch_blocking`), asserting that the mirror worked.
pub fn commit_mirrored<C: ConsumerContext>(
    writer: &mut tidemark::blocking::StreamWriter,
    tracker: &tidemark::plan::OffsetTracker,
    consumer: &BaseConsumer<C>,
) -> tidemark::kafka::BatchCommit {
    let done = tidemark::kafka::commit_batch_blocking(
        writer,
        tracker,
        tidemark::store::NewCheckpoint::default(),
        Some(consumer),
    )
    .expect("commit");
    assert!(done.mirror_error.is_none(), "{:?}", done.mirror_error);
    done
}
