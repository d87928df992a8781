//! The rdkafka integration (cargo feature `kafka`, on by default): read the cluster's state,
//! start consumers where the [resume plan](crate::plan) says, and commit after each batch —
//! the article's recipe, correct in every case. The only module that touches `rdkafka`.
//!
//! The recipe with explicit assignment (works with `BaseConsumer` and `StreamConsumer`):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use rdkafka::consumer::{Consumer, StreamConsumer};
//! use rdkafka::{ClientConfig, Message};
//! use tidemark::kafka::{commit_batch, resume};
//! use tidemark::plan::ResumePolicy;
//! use tidemark::store::{NewCheckpoint, Store, WriterConfig};
//!
//! let store = Store::open("/var/lib/billing/checkpoints")?;
//! let consumer: StreamConsumer = ClientConfig::new()
//!     .set("bootstrap.servers", "localhost:9092")
//!     .set("group.id", "billing")
//!     .set("enable.auto.commit", "false")
//!     .create()?;
//!
//! // 1. Read the last checkpoint, plan, assign: every partition starts at a known offset.
//! let latest = store.latest("billing").await?;
//! let mut writer = store.writer("billing", WriterConfig::new("billing", "2.3.0")).await?;
//! let (plan, mut tracker) =
//!     resume(&consumer, latest.as_ref(), &["orders"], &ResumePolicy::default(), Duration::from_secs(10))?;
//! println!("{plan}");
//!
//! loop {
//!     // 2. Consume and process a batch, then store its results.
//!     for _ in 0..1000 {
//!         let m = consumer.recv().await?;
//!         // ... process m ...
//!         tracker.processed(m.topic(), m.partition(), m.offset());
//!     }
//!     // 3. Then persist the offsets (and mirror them to the consumer group for lag monitors).
//!     let done = commit_batch(&mut writer, &tracker, NewCheckpoint::default(), Some(&consumer)).await?;
//!     if let Some(e) = done.mirror_error { eprintln!("offsets not mirrored: {e}"); }
//! }
//! # }
//! ```

mod client;
mod rebalance;

use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::plan::{
    self, ClusterState, OffsetTracker, PlanError, ResumePlan, ResumePolicy, StartOffset,
};
use crate::store::{Committed, NewCheckpoint, StoreError, StreamWriter};
use crate::{Checkpoint, Offsets};

pub use client::{
    DEFAULT_TIMEOUT, GroupMember, KafkaOptions, ToolConsumer, ToolContext, connect, group_members,
    parse_properties, parse_property, read_properties_file,
};
pub use rebalance::PlannedRebalance;

/// Why a Kafka-side step failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaIntegrationError {
    /// A request to the cluster failed.
    #[error("kafka {operation} failed")]
    Kafka {
        /// What was asked: `metadata`, `watermarks`, `offsets_for_times`, `assign`.
        operation: &'static str,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The policy refuses to resume (data loss, offsets beyond the log).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// No broker answered within the timeout.
    #[error(
        "cannot reach Kafka at {bootstrap} (security.protocol={security_protocol}, timeout {timeout:?}): {reason}; \
         check the address and port, that this port is a listener for {security_protocol} \
         (set security.protocol, sasl.* and ssl.* with --command-config FILE or -X key=value)"
    )]
    Unreachable {
        /// The bootstrap servers tried.
        bootstrap: String,
        /// The security protocol used.
        security_protocol: String,
        /// How long it waited.
        timeout: Duration,
        /// What librdkafka last reported.
        reason: String,
    },
    /// A client property is malformed or unknown to librdkafka.
    #[error("client property{}: {reason}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Property {
        /// The line of the properties file, if it came from one.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

pub(crate) fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> KafkaIntegrationError {
    move |source| KafkaIntegrationError::Kafka { operation, source }
}

/// Reads the partitions of `topics` and their watermarks. Blocks for up to `timeout` per
/// request. Topics the cluster does not have are left out (the plan reports them).
pub fn cluster_state<K, C>(
    consumer: &K,
    topics: &[&str],
    timeout: Duration,
) -> Result<ClusterState, KafkaIntegrationError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(kafka("metadata"))?;
    let mut state = ClusterState::new();
    for topic in metadata.topics() {
        if !topics.contains(&topic.name()) || topic.error().is_some() {
            continue;
        }
        state.add_topic(topic.name());
        for partition in topic.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic.name(), partition.id(), timeout)
                .map_err(kafka("watermarks"))?;
            state.add_partition(topic.name(), partition.id(), low, high);
        }
    }
    Ok(state)
}

/// Resolves the plan's timestamp starts (first offset at or after the time, or the log end
/// when there is none) and returns every start as an offset.
pub fn resolve_starts<K, C>(
    consumer: &K,
    plan: &ResumePlan,
    timeout: Duration,
) -> Result<Offsets, KafkaIntegrationError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let mut offsets = Offsets::new();
    // Partitions to resolve, grouped by time (usually one time for all).
    let mut by_time: std::collections::BTreeMap<i64, Vec<(String, i32)>> = Default::default();
    let mut ends = ClusterState::new();
    for s in &plan.starts {
        match s.start {
            StartOffset::Offset(o) => {
                offsets.insert(s.topic.clone(), s.partition, o);
            }
            StartOffset::Timestamp(t) => {
                by_time
                    .entry(t)
                    .or_default()
                    .push((s.topic.clone(), s.partition));
                ends.add_partition(&s.topic, s.partition, s.watermarks.low, s.watermarks.high);
            }
        }
    }
    for (time, partitions) in by_time {
        let found = offsets_for_time(consumer, &partitions, time, &ends, timeout)?;
        offsets.extend(found.iter().map(|(t, p, o)| (t.to_owned(), p, o)));
    }
    Ok(offsets)
}

/// The article's start, in one call: reads the cluster's state, plans from `checkpoint`,
/// assigns every planned partition at its start offset, and returns the plan (print it: it
/// says what was decided and why) with an [`OffsetTracker`] to feed processed messages to.
pub fn resume<K, C>(
    consumer: &K,
    checkpoint: Option<&Checkpoint>,
    topics: &[&str],
    policy: &ResumePolicy,
    timeout: Duration,
) -> Result<(ResumePlan, OffsetTracker), KafkaIntegrationError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let cluster = cluster_state(consumer, topics, timeout)?;
    let plan = plan::plan(checkpoint, topics.iter().copied(), &cluster, policy)?;
    let starts = resolve_starts(consumer, &plan, timeout)?;
    assign(consumer, &starts)?;
    let mut tracker = OffsetTracker::from_plan(&plan);
    for (topic, partition, offset) in starts.iter() {
        tracker.set_next(topic, partition, offset);
    }
    Ok((plan, tracker))
}

/// Assigns exactly these partitions, each at its offset (the article's `Assign` strategy).
pub fn assign<K, C>(consumer: &K, starts: &Offsets) -> Result<(), KafkaIntegrationError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let tpl = to_partition_list(starts).map_err(kafka("assign"))?;
    consumer.assign(&tpl).map_err(kafka("assign"))
}

/// A partition list of offsets, leaving out names no Kafka topic can have.
fn to_partition_list(offsets: &Offsets) -> Result<TopicPartitionList, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, offset) in offsets.iter() {
        if topic.contains('\0') {
            continue;
        }
        tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    Ok(tpl)
}

/// How long [`commit_batch`] waits for the group coordinator to confirm the mirrored offsets.
pub const MIRROR_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes `offsets` (next offsets to consume) as the consumer group's committed offsets, so
/// that `kafka-consumer-groups --describe` and lag monitors see the progress. Blocks until the
/// group coordinator answers, at most `timeout`; then fails with
/// `ConsumerCommit(OperationTimedOut)` (the commit may still land later). A synchronous
/// librdkafka commit has no time limit and waits for an unreachable coordinator forever.
/// (rdkafka's `store_offset` adds one to the offset it is given; `store_offsets` and this
/// function do not.)
pub fn mirror_offsets<K, C>(
    consumer: &K,
    offsets: &Offsets,
    timeout: Duration,
) -> Result<(), KafkaError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    use rdkafka::bindings as rd;
    use rdkafka::error::IsError;
    use rdkafka::types::RDKafkaErrorCode;

    let tpl = to_partition_list(offsets)?;
    if tpl.count() == 0 {
        return Ok(());
    }
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let rk = consumer.client().native_ptr();
    // SAFETY: `rk` and `tpl` are live for the whole block (librdkafka copies the list); the
    // queue is ours and destroyed once. librdkafka's reply keeps its own reference to the
    // queue, so destroying it while the commit is still pending is safe.
    let code = unsafe {
        let queue = rd::rd_kafka_queue_new(rk);
        let mut code = rd::rd_kafka_commit_queue(rk, tpl.ptr(), queue, None, std::ptr::null_mut());
        if !code.is_error() {
            let event = rd::rd_kafka_queue_poll(queue, timeout_ms);
            code = if event.is_null() {
                rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT
            } else {
                let code = if rd::rd_kafka_event_type(event) == rd::RD_KAFKA_EVENT_OFFSET_COMMIT {
                    rd::rd_kafka_event_error(event)
                } else {
                    rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FAIL
                };
                rd::rd_kafka_event_destroy(event);
                code
            };
        }
        rd::rd_kafka_queue_destroy(queue);
        code
    };
    if code.is_error() {
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::from(code)))
    } else {
        Ok(())
    }
}

/// The outcome of [`commit_batch`].
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchCommit {
    /// The checkpoint written.
    pub committed: Committed,
    /// Why mirroring the offsets to the consumer group failed, if it was asked and failed.
    /// The checkpoint is written regardless: a failed mirror never fails the commit.
    pub mirror_error: Option<KafkaError>,
}

/// Commits after a batch: writes a checkpoint of the tracker's offsets (atomic and durable when
/// `Ok`, see [`StreamWriter::commit`]), then, if a consumer is given, mirrors the same offsets
/// to its consumer group, waiting at most [`MIRROR_TIMEOUT`] for the group coordinator.
/// `batch` supplies the batch time and metadata; its offsets are replaced by the tracker's.
pub async fn commit_batch<K, C>(
    writer: &mut StreamWriter,
    tracker: &OffsetTracker,
    batch: NewCheckpoint,
    mirror_to: Option<&K>,
) -> Result<BatchCommit, StoreError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let offsets = tracker.offsets();
    let committed = writer
        .commit(NewCheckpoint {
            offsets: offsets.clone(),
            ..batch
        })
        .await?;
    Ok(BatchCommit {
        committed,
        mirror_error: mirror_after_commit(mirror_to, &offsets),
    })
}

/// Mirrors the offsets of a written checkpoint, logging (not returning) a failure.
fn mirror_after_commit<K, C>(mirror_to: Option<&K>, offsets: &Offsets) -> Option<KafkaError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let error = mirror_to.and_then(|c| mirror_offsets(c, offsets, MIRROR_TIMEOUT).err());
    if let Some(e) = &error {
        tracing::warn!(error = %e, "checkpoint written; mirroring offsets to the consumer group failed");
    }
    error
}

/// [`commit_batch`] for applications that are not async, with the
/// [blocking](crate::blocking) writer.
pub fn commit_batch_blocking<K, C>(
    writer: &mut crate::blocking::StreamWriter,
    tracker: &OffsetTracker,
    batch: NewCheckpoint,
    mirror_to: Option<&K>,
) -> Result<BatchCommit, StoreError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let offsets = tracker.offsets();
    let committed = writer.commit(NewCheckpoint {
        offsets: offsets.clone(),
        ..batch
    })?;
    Ok(BatchCommit {
        committed,
        mirror_error: mirror_after_commit(mirror_to, &offsets),
    })
}

/// A consumer for tools (inspection, resets) with default [`KafkaOptions`]: no automatic
/// commits; it does not check that the cluster answers (see [`connect`]).
pub fn tool_consumer(bootstrap: &str, group: &str) -> Result<ToolConsumer, KafkaIntegrationError> {
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Debug)
        .create_with_context(ToolContext::default())
        .map_err(kafka("connect"))
}

/// For each partition, the first offset whose message time is at or after `time_ms`, or the
/// log end when there is none (`cluster` gives the log ends).
pub fn offsets_for_time<K, C>(
    consumer: &K,
    partitions: &[(String, i32)],
    time_ms: i64,
    cluster: &ClusterState,
    timeout: Duration,
) -> Result<Offsets, KafkaIntegrationError>
where
    K: Consumer<C>,
    C: ConsumerContext,
{
    let mut tpl = TopicPartitionList::new();
    for (t, p) in partitions {
        tpl.add_partition_offset(t, *p, Offset::Offset(time_ms))
            .map_err(kafka("offsets_for_times"))?;
    }
    let mut out = Offsets::new();
    if tpl.count() == 0 {
        return Ok(out);
    }
    let found = consumer
        .offsets_for_times(tpl, timeout)
        .map_err(kafka("offsets_for_times"))?;
    for e in found.elements() {
        let end = cluster
            .topic(e.topic())
            .and_then(|ps| ps.get(&e.partition()))
            .map_or(0, |w| w.high);
        let offset = match e.offset() {
            Offset::Offset(o) if o >= 0 => o,
            _ => end,
        };
        out.insert(e.topic(), e.partition(), offset);
    }
    Ok(out)
}

/// A consumer group's committed offsets over every non-internal topic of the cluster.
pub fn group_offsets(
    options: &KafkaOptions,
    group: &str,
) -> Result<Offsets, KafkaIntegrationError> {
    let timeout = options.timeout;
    let consumer = connect(options, group)?;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(kafka("metadata"))?;
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        if t.name().starts_with("__") {
            continue;
        }
        for p in t.partitions() {
            tpl.add_partition(t.name(), p.id());
        }
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .map_err(kafka("committed offsets"))?;
    let mut offsets = Offsets::new();
    for e in committed.elements() {
        if let Offset::Offset(o) = e.offset()
            && o >= 0
        {
            offsets.insert(e.topic(), e.partition(), o);
        }
    }
    Ok(offsets)
}
