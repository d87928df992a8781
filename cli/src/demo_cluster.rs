//! The embedded demo behind `tidemark demo`: an in-process Kafka (librdkafka's mock cluster)
//! holding a topic of numbered messages, and a consumer that checkpoints every batch.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};

use rdkafka::error::KafkaError;
use tidemark::Offsets;
use tidemark::kafka::{KafkaIntegrationError, commit_batch, resume};
use tidemark::plan::{ResumePlan, ResumePolicy};
use tidemark::store::{NewCheckpoint, Store, StoreError, WriterConfig};

/// Messages processed between two [`DemoEvent::Processed`] reports.
const REPORT_EVERY: usize = 500;

/// An in-process Kafka cluster with one topic of numbered messages, reachable over TCP on
/// 127.0.0.1 while this value lives.
pub(crate) struct DemoCluster {
    _mock: MockCluster<'static, DefaultProducerContext>,
    /// Its bootstrap servers.
    pub(crate) bootstrap: String,
}

impl std::fmt::Debug for DemoCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DemoCluster({})", self.bootstrap)
    }
}

impl DemoCluster {
    /// Starts the cluster and fills `topic` with `per_partition` messages in each partition.
    pub(crate) fn start(
        topic: &str,
        partitions: i32,
        per_partition: u64,
    ) -> Result<DemoCluster, DemoError> {
        let mock = MockCluster::new(1).map_err(kafka("start mock cluster"))?;
        mock.create_topic(topic, partitions, 1)
            .map_err(kafka("create topic"))?;
        let bootstrap = mock.bootstrap_servers();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "5")
            .create()
            .map_err(kafka("connect"))?;
        for p in 0..partitions {
            for n in 0..per_partition {
                let payload = format!("order {n} of partition {p}");
                let mut record = BaseRecord::<(), _>::to(topic)
                    .partition(p)
                    .payload(&payload);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, back)) => {
                            record = back;
                            producer.poll(Duration::from_millis(10));
                        }
                    }
                }
            }
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_secs(30))
            .map_err(kafka("produce"))?;
        Ok(DemoCluster {
            _mock: mock,
            bootstrap,
        })
    }
}

impl From<StoreError> for DemoError {
    fn from(e: StoreError) -> Self {
        DemoError::Store(Box::new(e))
    }
}

fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> DemoError {
    move |source| DemoError::Client { operation, source }
}

/// What the demo consumer did.
#[derive(Debug)]
pub(crate) enum DemoEvent {
    /// It planned where to start, and starts at these offsets.
    Planned(ResumePlan, Offsets),
    /// It processed messages (its output is written) up to these next offsets.
    Processed(Offsets),
    /// It checkpointed a batch: the checkpoint id and its offsets.
    Committed {
        /// The checkpoint id.
        id: u64,
        /// The checkpoint's offsets.
        offsets: Offsets,
    },
    /// It read every partition to its end.
    Finished,
}

/// Why the demo consumer stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// A request to the in-process cluster failed.
    #[error("kafka {operation} failed")]
    Client {
        /// What was asked.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// Planning or committing through the Kafka integration failed.
    #[error(transparent)]
    Kafka(#[from] KafkaIntegrationError),
    /// The store failed.
    #[error(transparent)]
    Store(Box<StoreError>),
}

/// Consumes `topic` from where the stream's latest checkpoint says, checkpointing after every
/// batch of `batch` messages, pausing `pause` after each (so that a watcher can follow), until
/// every partition is read to its end.
pub(crate) async fn run_consumer(
    bootstrap: &str,
    topic: &str,
    store: &Store,
    stream: &str,
    batch: usize,
    pause: Duration,
    mut on_event: impl FnMut(DemoEvent),
) -> Result<(), DemoError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", stream)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "error")
        .create()
        .map_err(kafka("connect"))?;
    let latest = store.latest(stream).await?;
    let mut writer = store
        .writer(
            stream,
            WriterConfig::new("tidemark-demo", tidemark::VERSION),
        )
        .await?;
    let (plan, mut tracker) = resume(
        &consumer,
        latest.as_ref(),
        &[topic],
        &ResumePolicy::default(),
        Duration::from_secs(10),
    )?;
    let ends: Vec<(String, i32, i64)> = plan
        .starts
        .iter()
        .map(|s| (s.topic.clone(), s.partition, s.watermarks.high))
        .collect();
    on_event(DemoEvent::Planned(plan, tracker.offsets()));
    loop {
        let offsets = tracker.offsets();
        if ends
            .iter()
            .all(|(t, p, end)| offsets.get(t, *p).unwrap_or(0) >= *end)
        {
            on_event(DemoEvent::Finished);
            return Ok(());
        }
        let mut read = 0;
        while read < batch {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    use rdkafka::Message;
                    tracker.processed(m.topic(), m.partition(), m.offset());
                    read += 1;
                    if read % REPORT_EVERY == 0 {
                        on_event(DemoEvent::Processed(tracker.offsets()));
                    }
                }
                Some(Err(e)) => return Err(kafka("consume")(e)),
                None => break,
            }
        }
        if read == 0 {
            continue;
        }
        if read % REPORT_EVERY != 0 {
            on_event(DemoEvent::Processed(tracker.offsets()));
        }
        let done = commit_batch(
            &mut writer,
            &tracker,
            NewCheckpoint::default(),
            Some(&consumer),
        )
        .await?;
        on_event(DemoEvent::Committed {
            id: done.committed.id,
            offsets: tracker.offsets(),
        });
        tokio::time::sleep(pause).await;
    }
}
