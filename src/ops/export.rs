//! Exporting a checkpoint's offsets to where other tools read them: a Kafka consumer group
//! (`kafka-consumer-groups --describe`, lag monitors) or ZooKeeper's old consumer layout
//! (Burrow).

use serde::Serialize;

#[cfg(any(feature = "kafka", feature = "zookeeper"))]
use super::OpsError;
#[cfg(any(feature = "kafka", feature = "zookeeper"))]
use crate::Checkpoint;
use crate::Offsets;

/// What an export did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportReport {
    /// The stream.
    pub stream: String,
    /// The checkpoint exported.
    pub checkpoint: u64,
    /// Where to: `kafka group <G>` or `zookeeper <host:port><path>`.
    pub destination: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The offsets exported: `{topic: {partition: offset}}`.
    pub offsets: Offsets,
}

#[cfg(any(feature = "kafka", feature = "zookeeper"))]
impl ExportReport {
    fn new(checkpoint: &Checkpoint, destination: String, dry_run: bool) -> Self {
        ExportReport {
            stream: checkpoint.stream.clone(),
            checkpoint: checkpoint.id,
            destination,
            dry_run,
            offsets: checkpoint.offsets.clone(),
        }
    }
}

/// Commits `checkpoint`'s offsets as consumer group `group`'s committed offsets (blocking), so
/// that `kafka-consumer-groups` and lag monitors see them. Refused with
/// [`OpsError::GroupActive`] while the group has members (they would overwrite or race the
/// commit), as `kafka-consumer-groups --reset-offsets` refuses. With `execute` false, checks
/// everything and writes nothing.
#[cfg(feature = "kafka")]
pub fn export_to_kafka_group(
    checkpoint: &Checkpoint,
    options: &crate::kafka::KafkaOptions,
    group: &str,
    execute: bool,
) -> Result<ExportReport, OpsError> {
    use crate::kafka::KafkaIntegrationError;
    let consumer = crate::kafka::connect(options, group)?;
    let members = crate::kafka::group_members(&consumer, group, options.timeout)?;
    if !members.is_empty() {
        return Err(OpsError::GroupActive {
            group: group.to_owned(),
            members: members
                .iter()
                .map(|m| format!("{} on {}", m.client_id, m.host))
                .collect(),
        });
    }
    if execute {
        crate::kafka::mirror_offsets(&consumer, &checkpoint.offsets, options.timeout).map_err(
            |source| KafkaIntegrationError::Kafka {
                operation: "offset commit",
                source,
            },
        )?;
    }
    Ok(ExportReport::new(
        checkpoint,
        format!("kafka group {group}"),
        !execute,
    ))
}

/// Writes `checkpoint`'s offsets to ZooKeeper at `/consumers/<group>/offsets/<topic>/<partition>`
/// (under `chroot`), where Burrow and Kafka's old tools read them (see
/// [`write_zookeeper`](crate::import::zookeeper::write_zookeeper)). With `execute` false,
/// checks the arguments and writes nothing.
#[cfg(feature = "zookeeper")]
pub async fn export_to_zookeeper(
    checkpoint: &Checkpoint,
    connect: &str,
    group: &str,
    chroot: Option<&str>,
    execute: bool,
) -> Result<ExportReport, OpsError> {
    let root = chroot.map(|c| c.trim_end_matches('/')).unwrap_or_default();
    let mut path = format!("{root}/consumers/{group}/offsets");
    if execute {
        path =
            crate::import::zookeeper::write_zookeeper(connect, group, chroot, &checkpoint.offsets)
                .await?;
    }
    Ok(ExportReport::new(
        checkpoint,
        format!("zookeeper {connect}{path}"),
        !execute,
    ))
}

/// The offsets of a report's changed partitions.
pub(crate) fn changed(changes: &[super::OffsetChange]) -> Offsets {
    changes
        .iter()
        .map(|c| (c.topic.as_str(), c.partition, c.after))
        .collect()
}
