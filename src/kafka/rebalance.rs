//! The `subscribe` variant: a consumer context whose rebalance callback starts every newly
//! assigned partition at its planned offset.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{KafkaIntegrationError, kafka};
use crate::plan::{self, ClusterState, OffsetTracker, ResumePlan, ResumePolicy};
use crate::{Checkpoint, Offsets};

/// A [`ConsumerContext`] for `subscribe`: when partitions are assigned, it plans them (from
/// the checkpoint, or from what this process has processed since) and assigns each at its
/// start offset, so the group's stored offsets and `auto.offset.reset` never decide.
///
/// It keeps the offset tracker: feed it with [`processed`](Self::processed) and checkpoint
/// [`offsets`](Self::offsets). Offsets of revoked partitions stay in the tracker (so a
/// single-writer stream keeps them); use one stream per consumer group of one member, or per
/// member. If the policy refuses a partition (data loss, offset beyond the log), nothing of
/// that assignment is consumed and [`last_error`](Self::last_error) says why.
#[derive(Debug)]
pub struct PlannedRebalance {
    state: Mutex<State>,
    topics: Vec<String>,
    policy: ResumePolicy,
    timeout: Duration,
}

#[derive(Debug)]
struct State {
    checkpoint: Option<Checkpoint>,
    tracker: OffsetTracker,
    last_plan: Option<ResumePlan>,
    last_error: Option<KafkaIntegrationError>,
}

impl PlannedRebalance {
    /// A context resuming from `checkpoint` for `topics`, following `policy`; `timeout` bounds
    /// each watermark request made during a rebalance.
    pub fn new(
        checkpoint: Option<Checkpoint>,
        topics: &[&str],
        policy: ResumePolicy,
        timeout: Duration,
    ) -> Self {
        PlannedRebalance {
            state: Mutex::new(State {
                checkpoint,
                tracker: OffsetTracker::default(),
                last_plan: None,
                last_error: None,
            }),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            policy,
            timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a processed message (the next offset to consume becomes `offset + 1`).
    pub fn processed(&self, topic: &str, partition: i32, offset: i64) {
        self.lock().tracker.processed(topic, partition, offset);
    }

    /// The next offsets to consume of every partition seen: what to checkpoint.
    pub fn offsets(&self) -> Offsets {
        self.lock().tracker.offsets()
    }

    /// A copy of the tracker, for [`commit_batch`](super::commit_batch).
    pub fn tracker(&self) -> OffsetTracker {
        self.lock().tracker.clone()
    }

    /// The plan of the last assignment.
    pub fn last_plan(&self) -> Option<ResumePlan> {
        self.lock().last_plan.clone()
    }

    /// Why the last assignment was refused or could not be applied, if it was: the policy's
    /// [`PlanError`](crate::plan::PlanError) (as [`KafkaIntegrationError::Plan`]) or a failed
    /// request to the cluster.
    pub fn last_error(&self) -> Option<KafkaIntegrationError> {
        self.lock().last_error.clone()
    }

    /// Plans the assigned partitions and writes their start offsets into `tpl`.
    fn plan_assignment(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), KafkaIntegrationError> {
        let mut cluster = ClusterState::new();
        for e in tpl.elements() {
            let (low, high) = consumer
                .fetch_watermarks(e.topic(), e.partition(), self.timeout)
                .map_err(kafka("watermarks"))?;
            cluster.add_partition(e.topic(), e.partition(), low, high);
        }
        let state = self.lock();
        // What this process has processed since the checkpoint is newer than the checkpoint.
        let known = state.checkpoint.clone().map(|mut c| {
            c.offsets.extend(
                state
                    .tracker
                    .offsets()
                    .iter()
                    .map(|(t, p, o)| (t.to_owned(), p, o)),
            );
            c
        });
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        let plan = plan::plan(known.as_ref(), topics, &cluster, &self.policy)?;
        drop(state);
        let starts = super::resolve_starts(consumer, &plan, self.timeout)?;
        let mut state = self.lock();
        for (topic, partition, offset) in starts.iter() {
            tpl.set_partition_offset(topic, partition, Offset::Offset(offset))
                .map_err(kafka("assign"))?;
            state.tracker.set_next(topic, partition, offset);
        }
        tracing::info!("partitions assigned:\n{plan}");
        state.last_plan = Some(plan);
        Ok(())
    }
}

impl ClientContext for PlannedRebalance {}

impl ConsumerContext for PlannedRebalance {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                match self.plan_assignment(consumer, tpl) {
                    Ok(()) => {
                        self.lock().last_error = None;
                        if cooperative {
                            consumer.incremental_assign(tpl)
                        } else {
                            consumer.assign(tpl)
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %crate::error_chain(&e), "refusing the assignment");
                        self.lock().last_error = Some(e);
                        // Take nothing rather than let the group's offsets decide.
                        if cooperative {
                            Ok(())
                        } else {
                            consumer.assign(&TopicPartitionList::new())
                        }
                    }
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not apply the rebalance");
            self.lock().last_error = Some(kafka("assign")(e));
        }
    }
}
