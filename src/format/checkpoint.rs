//! The checkpoint: the value a checkpoint file holds.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One immutable checkpoint of a stream: where to resume every (topic, partition), who wrote it
/// and when.
///
/// Build one with [`Checkpoint::new`] and the `with_*` methods; the store fills in the id, the
/// creation time and the writer when it commits.
///
/// ```
/// use tidemark::{Checkpoint, Offsets};
///
/// let mut offsets = Offsets::new();
/// offsets.insert("orders", 0, 1_042);
/// offsets.insert("orders", 1, 997);
/// let checkpoint = Checkpoint::new("billing", offsets)
///     .with_batch_time_ms(1_700_000_000_000)
///     .with_metadata("sink.txn", b"t-17".to_vec());
/// assert_eq!(checkpoint.offsets.get("orders", 1), Some(997));
/// assert_eq!(checkpoint.metadata["sink.txn"], b"t-17");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The stream's name (one consumer's progress, usually one consumer group).
    pub stream: String,
    /// The checkpoint id; ids of one stream strictly increase.
    pub id: u64,
    /// The batch time the offsets belong to, in milliseconds since the Unix epoch.
    pub batch_time_ms: u64,
    /// When the checkpoint was written, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Who wrote the checkpoint.
    pub writer: Writer,
    /// The next offset to consume for every (topic, partition).
    pub offsets: Offsets,
    /// Small user metadata, for example a sink's transaction id or file position.
    pub metadata: BTreeMap<String, Vec<u8>>,
}

impl Checkpoint {
    /// A checkpoint of `stream` holding `offsets`, with id 0, times 0, an empty writer and no
    /// metadata.
    pub fn new(stream: impl Into<String>, offsets: Offsets) -> Self {
        Checkpoint {
            stream: stream.into(),
            id: 0,
            batch_time_ms: 0,
            created_at_ms: 0,
            writer: Writer::default(),
            offsets,
            metadata: BTreeMap::new(),
        }
    }

    /// Sets the checkpoint id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    /// Sets the batch time, in milliseconds since the Unix epoch.
    pub fn with_batch_time_ms(mut self, ms: u64) -> Self {
        self.batch_time_ms = ms;
        self
    }

    /// Sets the creation time, in milliseconds since the Unix epoch.
    pub fn with_created_at_ms(mut self, ms: u64) -> Self {
        self.created_at_ms = ms;
        self
    }

    /// Sets the writer.
    pub fn with_writer(mut self, writer: Writer) -> Self {
        self.writer = writer;
        self
    }

    /// Adds (or replaces) one metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// The batch time as a [`SystemTime`].
    pub fn batch_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.batch_time_ms)
    }

    /// The creation time as a [`SystemTime`].
    pub fn created_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.created_at_ms)
    }
}

/// Who wrote a checkpoint: the fencing epoch and a description of the process.
///
/// It serializes (serde) as `{epoch, app_name, app_version, host, tidemark_version}`, the
/// `writer` object of the JSON rendering (FORMAT.md §9).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Writer {
    /// The writer's epoch; a writer with a higher epoch fences out older ones.
    pub epoch: u64,
    /// The application's name.
    pub app_name: String,
    /// The application's version.
    pub app_version: String,
    /// The host the writer ran on.
    pub host: String,
    /// The version of tidemark that wrote the checkpoint.
    pub tidemark_version: String,
}

impl Writer {
    /// A writer with the given epoch and application, an empty host and an empty tidemark
    /// version. The format layer knows no library version: the store records its own in every
    /// checkpoint it writes; [`with_tidemark_version`](Self::with_tidemark_version) sets one
    /// on a checkpoint built by hand.
    pub fn new(epoch: u64, app_name: impl Into<String>, app_version: impl Into<String>) -> Self {
        Writer {
            epoch,
            app_name: app_name.into(),
            app_version: app_version.into(),
            host: String::new(),
            tidemark_version: String::new(),
        }
    }

    /// Sets the tidemark version recorded (the writing library's, e.g. `tidemark::VERSION`).
    pub fn with_tidemark_version(mut self, version: impl Into<String>) -> Self {
        self.tidemark_version = version.into();
        self
    }

    /// Sets the host name.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }
}

/// `epoch 5 (billing-app 2.3.0 on host-1)`, a dash for each empty field.
impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_owned()
            } else {
                s.to_owned()
            }
        };
        write!(
            f,
            "epoch {} ({} {} on {})",
            self.epoch,
            or_dash(&self.app_name),
            or_dash(&self.app_version),
            or_dash(&self.host)
        )
    }
}

/// The offsets of a checkpoint: topic name → partition → **next offset to consume** (the last
/// processed offset + 1, Kafka's committed-offset convention).
///
/// Topics are kept sorted by name and partitions ascending, so iteration order is the canonical
/// order of the file format. A topic never has zero partitions: removing its last partition
/// removes the topic.
///
/// ```
/// use tidemark::Offsets;
///
/// let offsets: Offsets = [("b", 1, 10), ("a", 0, 5), ("b", 0, 7)].into_iter().collect();
/// let flat: Vec<_> = offsets.iter().collect();
/// assert_eq!(flat, [("a", 0, 5), ("b", 0, 7), ("b", 1, 10)]);
/// assert_eq!(offsets.partition_count(), 3);
/// ```
///
/// It serializes (serde) as `{topic: {partition: offset}}` (partition numbers become strings
/// in JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Offsets {
    topics: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl Offsets {
    /// No offsets.
    pub fn new() -> Self {
        Offsets::default()
    }

    /// Sets the next offset to consume for `topic`/`partition`, returning the previous value.
    ///
    /// Values are checked when the checkpoint is encoded: partitions and offsets must not be
    /// negative.
    pub fn insert(&mut self, topic: impl Into<String>, partition: i32, offset: i64) -> Option<i64> {
        self.topics
            .entry(topic.into())
            .or_default()
            .insert(partition, offset)
    }

    /// The next offset to consume for `topic`/`partition`, if recorded.
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.topics.get(topic)?.get(&partition).copied()
    }

    /// Removes one partition (and its topic when it was the last), returning its offset.
    pub fn remove(&mut self, topic: &str, partition: i32) -> Option<i64> {
        let partitions = self.topics.get_mut(topic)?;
        let removed = partitions.remove(&partition);
        if partitions.is_empty() {
            self.topics.remove(topic);
        }
        removed
    }

    /// Removes a whole topic, returning its partitions.
    pub fn remove_topic(&mut self, topic: &str) -> Option<BTreeMap<i32, i64>> {
        self.topics.remove(topic)
    }

    /// The partitions of one topic, ascending, with their offsets.
    pub fn topic(&self, topic: &str) -> Option<&BTreeMap<i32, i64>> {
        self.topics.get(topic)
    }

    /// Topics in canonical order (sorted by their UTF-8 bytes) with their partitions.
    pub fn topics(&self) -> btree_map::Iter<'_, String, BTreeMap<i32, i64>> {
        self.topics.iter()
    }

    /// Every `(topic, partition, offset)` in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i32, i64)> + '_ {
        self.topics
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |(p, o)| (t.as_str(), *p, *o)))
    }

    /// Number of topics.
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// Number of partitions over all topics.
    pub fn partition_count(&self) -> usize {
        self.topics.values().map(BTreeMap::len).sum()
    }

    /// Whether no offset is recorded.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// Adds a topic with its partitions, for decoders that build offsets topic by topic.
    pub(crate) fn insert_topic(&mut self, topic: String, partitions: BTreeMap<i32, i64>) {
        self.topics.insert(topic, partitions);
    }
}

impl<T: Into<String>> FromIterator<(T, i32, i64)> for Offsets {
    fn from_iter<I: IntoIterator<Item = (T, i32, i64)>>(iter: I) -> Self {
        let mut offsets = Offsets::new();
        offsets.extend(iter);
        offsets
    }
}

impl<T: Into<String>> Extend<(T, i32, i64)> for Offsets {
    fn extend<I: IntoIterator<Item = (T, i32, i64)>>(&mut self, iter: I) {
        for (topic, partition, offset) in iter {
            self.insert(topic, partition, offset);
        }
    }
}
