//! Kafka helpers for tests: produce numbered messages, build consumers, drain them.
#![allow(dead_code, unreachable_pub)] // shared by several test crates, each using a part

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// Produces `count` messages to `topic`/`partition`, payload `"<partition>:<n>"` for n from
/// `first`.
pub fn produce(bootstrap: &str, topic: &str, partition: i32, first: u64, count: u64) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
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

/// A broker for a test: `TIDEMARK_TEST_KAFKA` (the tansu broker scripts/test.sh starts), or,
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
                "CI=true but TIDEMARK_TEST_KAFKA is not set: these tests need the tansu broker \
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
