//! The v1 body (spec §2): field order, gap-encoded partitions, shortest-form varints.
//!
//! Every primitive goes through bincode 2.0.1 (`standard()` configuration, see
//! [`BINCODE_CONFIG`]); this module drives the field order and adds the checks bincode does not
//! make (shortest-form integers, limits, canonical order).

use std::collections::BTreeMap;

use bincode::config::{self, Configuration, Limit, LittleEndian, Varint};
use bincode::error::DecodeError;

use super::checkpoint::{Checkpoint, Offsets, Writer};
use super::error::{FormatError, Malformed, Violation};
use super::limits::{
    MAX_FILE_SIZE, MAX_METADATA_BYTES, MAX_METADATA_ENTRIES, MAX_PARTITIONS, MAX_STRING_BYTES,
    MAX_TOPICS,
};

/// The exact bincode configuration of the body: little-endian, variable-length integers, and no
/// single decode may claim more than [`MAX_FILE_SIZE`] bytes.
pub const BINCODE_CONFIG: Configuration<LittleEndian, Varint, Limit<{ MAX_FILE_SIZE as usize }>> =
    config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<{ MAX_FILE_SIZE as usize }>();

/// Length of the shortest varint encoding of `value` (spec §2.1).
pub(crate) fn varint_len(value: u64) -> usize {
    match value {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// Checks that `checkpoint` can be written: the rules of spec §2.3 and the limits of §5.
pub(crate) fn validate(checkpoint: &Checkpoint) -> Result<(), Violation> {
    check_name("stream", &checkpoint.stream)?;
    let w = &checkpoint.writer;
    for (what, s) in [
        ("writer.app_name", &w.app_name),
        ("writer.app_version", &w.app_version),
        ("writer.host", &w.host),
        ("writer.tidemark_version", &w.tidemark_version),
    ] {
        check_len(what, s)?;
    }
    check_count("topics", checkpoint.offsets.topic_count(), MAX_TOPICS)?;
    check_count(
        "partitions",
        checkpoint.offsets.partition_count(),
        MAX_PARTITIONS,
    )?;
    for (topic, partitions) in checkpoint.offsets.topics() {
        check_name("topic name", topic)?;
        if partitions.is_empty() {
            return Err(Violation::EmptyTopic {
                topic: topic.clone(),
            });
        }
        for (&partition, &offset) in partitions {
            if partition < 0 {
                return Err(Violation::PartitionOutOfRange {
                    topic: topic.clone(),
                    partition: partition.into(),
                });
            }
            if offset < 0 {
                return Err(Violation::OffsetOutOfRange {
                    topic: topic.clone(),
                    partition,
                    offset: offset.into(),
                });
            }
        }
    }
    check_count(
        "metadata entries",
        checkpoint.metadata.len(),
        MAX_METADATA_ENTRIES,
    )?;
    let mut bytes = 0u64;
    for (key, value) in &checkpoint.metadata {
        check_name("metadata key", key)?;
        bytes += (key.len() + value.len()) as u64;
    }
    check_count("metadata bytes", bytes as usize, MAX_METADATA_BYTES)
}

fn check_name(what: &'static str, s: &str) -> Result<(), Violation> {
    if s.is_empty() {
        return Err(Violation::EmptyName { what });
    }
    check_len(what, s)
}

fn check_len(what: &str, s: &str) -> Result<(), Violation> {
    if s.len() as u64 > MAX_STRING_BYTES {
        return Err(Violation::StringTooLong {
            what: what.to_owned(),
            len: s.len() as u64,
            max: MAX_STRING_BYTES,
        });
    }
    Ok(())
}

fn check_count(what: &'static str, count: usize, max: u64) -> Result<(), Violation> {
    if count as u64 > max {
        return Err(Violation::LimitExceeded {
            what,
            count: count as u64,
            max,
        });
    }
    Ok(())
}

/// Appends the body of a validated checkpoint to `out`.
pub(crate) fn write(checkpoint: &Checkpoint, out: &mut Vec<u8>) {
    let mut w = BodyWriter(out);
    w.str(&checkpoint.stream);
    w.varint(checkpoint.id);
    w.varint(checkpoint.batch_time_ms);
    w.varint(checkpoint.created_at_ms);
    let writer = &checkpoint.writer;
    w.varint(writer.epoch);
    w.str(&writer.app_name);
    w.str(&writer.app_version);
    w.str(&writer.host);
    w.str(&writer.tidemark_version);
    w.varint(checkpoint.offsets.topic_count() as u64);
    for (topic, partitions) in checkpoint.offsets.topics() {
        w.str(topic);
        w.varint(partitions.len() as u64);
        let mut next = 0u64; // the partition number a gap of 0 stands for
        for (&partition, &offset) in partitions {
            // validate() guarantees non-negative partitions and offsets.
            let partition = partition as u64;
            w.varint(partition - next);
            w.varint(offset as u64);
            next = partition + 1;
        }
    }
    w.varint(checkpoint.metadata.len() as u64);
    for (key, value) in &checkpoint.metadata {
        w.str(key);
        w.bytes(value);
    }
}

struct BodyWriter<'a>(&'a mut Vec<u8>);

impl BodyWriter<'_> {
    fn put<T: serde::Serialize>(&mut self, value: T) {
        bincode::serde::encode_into_std_write(value, self.0, BINCODE_CONFIG)
            .expect("bincode cannot fail writing a primitive into a Vec");
    }
    fn varint(&mut self, value: u64) {
        self.put(value);
    }
    fn str(&mut self, value: &str) {
        self.put(value);
    }
    fn bytes(&mut self, value: &[u8]) {
        // A serde byte slice is a length and the raw bytes, the spec's `bytes`.
        self.put(serde_bytes_ref(value));
    }
}

/// Serializes a byte slice with `serialize_bytes` (a plain `&[u8]` would go through
/// `serialize_seq`; bincode writes the same bytes for both, this is just the direct path).
fn serde_bytes_ref(value: &[u8]) -> impl serde::Serialize + '_ {
    struct Bytes<'a>(&'a [u8]);
    impl serde::Serialize for Bytes<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    Bytes(value)
}

/// Decodes a body that starts at byte `base` of the file.
pub(crate) fn read(body: &[u8], base: u64) -> Result<Checkpoint, FormatError> {
    let mut r = BodyReader { body, pos: 0, base };
    let stream = r.str(|| "stream".into())?;
    let id = r.varint(|| "id".into())?;
    let batch_time_ms = r.varint(|| "batch_time_ms".into())?;
    let created_at_ms = r.varint(|| "created_at_ms".into())?;
    let epoch = r.varint(|| "writer.epoch".into())?;
    let app_name = r.str(|| "writer.app_name".into())?;
    let app_version = r.str(|| "writer.app_version".into())?;
    let host = r.str(|| "writer.host".into())?;
    let tidemark_version = r.str(|| "writer.tidemark_version".into())?;
    check_name("stream", stream)?;
    for (what, s) in [
        ("writer.app_name", app_name),
        ("writer.app_version", app_version),
        ("writer.host", host),
        ("writer.tidemark_version", tidemark_version),
    ] {
        check_len(what, s)?;
    }

    let topic_count = r.varint(|| "topics".into())?;
    check_count("topics", topic_count as usize, MAX_TOPICS)?;
    let mut offsets = Offsets::new();
    let mut total_partitions = 0u64;
    let mut previous: Option<&str> = None;
    for t in 0..topic_count {
        let name = r.str(|| format!("topics[{t}].name"))?;
        check_name("topic name", name)?;
        if let Some(previous) = previous
            && previous.as_bytes() >= name.as_bytes()
        {
            return Err(Violation::TopicOrder {
                topic: name.to_owned(),
                previous: previous.to_owned(),
            }
            .into());
        }
        previous = Some(name);
        let count = r.varint(|| format!("topics[{t}].partitions"))?;
        if count == 0 {
            return Err(Violation::EmptyTopic {
                topic: name.to_owned(),
            }
            .into());
        }
        total_partitions = total_partitions.saturating_add(count);
        check_count("partitions", total_partitions as usize, MAX_PARTITIONS)?;
        // Gathered in a vector, then built in bulk: `BTreeMap::from_iter` is linear on sorted
        // input, where one `insert` per partition searches from the root every time (several
        // times slower at 10,000 partitions). Each partition takes at least two bytes, so the
        // capacity is bounded by the input, whatever the count claims.
        let mut partitions = Vec::with_capacity((count as usize).min(r.remaining() / 2));
        let mut next = 0u64;
        for p in 0..count {
            let gap = r.varint(|| format!("topics[{t}].partitions[{p}].gap"))?;
            // Exact: `next` is at most 2^31, so the sum fits an i128 whatever the gap.
            let partition = i128::from(next) + i128::from(gap);
            let Ok(partition) = i32::try_from(partition) else {
                return Err(Violation::PartitionOutOfRange {
                    topic: name.to_owned(),
                    partition,
                }
                .into());
            };
            let offset = r.varint(|| format!("topics[{t}].partitions[{p}].offset"))?;
            let Ok(offset) = i64::try_from(offset) else {
                return Err(Violation::OffsetOutOfRange {
                    topic: name.to_owned(),
                    partition,
                    offset: offset.into(),
                }
                .into());
            };
            partitions.push((partition, offset));
            next = partition as u64 + 1;
        }
        offsets.insert_topic(name.to_owned(), partitions.into_iter().collect());
    }

    let entry_count = r.varint(|| "metadata".into())?;
    check_count(
        "metadata entries",
        entry_count as usize,
        MAX_METADATA_ENTRIES,
    )?;
    let mut metadata = BTreeMap::new();
    let mut metadata_bytes = 0u64;
    let mut previous: Option<&str> = None;
    for m in 0..entry_count {
        let key = r.str(|| format!("metadata[{m}].key"))?;
        check_name("metadata key", key)?;
        if let Some(previous) = previous
            && previous.as_bytes() >= key.as_bytes()
        {
            return Err(Violation::MetadataOrder {
                key: key.to_owned(),
                previous: previous.to_owned(),
            }
            .into());
        }
        previous = Some(key);
        let value = r.bytes(|| format!("metadata[{m}].value"))?;
        metadata_bytes += (key.len() + value.len()) as u64;
        check_count(
            "metadata bytes",
            metadata_bytes as usize,
            MAX_METADATA_BYTES,
        )?;
        metadata.insert(key.to_owned(), value.to_vec());
    }
    if r.pos != body.len() {
        return Err(r.error(
            r.pos,
            Malformed::TrailingBytes {
                count: (body.len() - r.pos) as u64,
            },
            "end of body".into(),
        ));
    }

    Ok(Checkpoint {
        stream: stream.to_owned(),
        id,
        batch_time_ms,
        created_at_ms,
        writer: Writer {
            epoch,
            app_name: app_name.to_owned(),
            app_version: app_version.to_owned(),
            host: host.to_owned(),
            tidemark_version: tidemark_version.to_owned(),
        },
        offsets,
        metadata,
    })
}

/// Reads primitives one at a time so that an error names its field and byte offset, and so
/// that nothing is allocated for a length or count before its bytes are seen.
struct BodyReader<'a> {
    body: &'a [u8],
    pos: usize,
    /// File offset of the body's first byte.
    base: u64,
}

impl<'a> BodyReader<'a> {
    fn error(&self, at: usize, what: Malformed, field: String) -> FormatError {
        FormatError::MalformedBody {
            what,
            field,
            offset: self.base + at as u64,
        }
    }

    /// Decodes one `T`; returns it with the number of bytes it took.
    fn take<T: serde::Deserialize<'a>>(
        &mut self,
        field: &dyn Fn() -> String,
    ) -> Result<(T, usize), FormatError> {
        let start = self.pos;
        match bincode::serde::borrow_decode_from_slice::<T, _>(&self.body[start..], BINCODE_CONFIG)
        {
            Ok((value, used)) => {
                self.pos += used;
                Ok((value, used))
            }
            Err(e) => Err(self.error(start, malformed(e), field())),
        }
    }

    /// Bytes of the body not read yet.
    fn remaining(&self) -> usize {
        self.body.len() - self.pos
    }

    fn varint(&mut self, field: impl Fn() -> String) -> Result<u64, FormatError> {
        let start = self.pos;
        let (value, used) = self.take::<u64>(&field)?;
        if used != varint_len(value) {
            return Err(self.error(start, Malformed::NonMinimalInteger { value }, field()));
        }
        Ok(value)
    }

    fn str(&mut self, field: impl Fn() -> String) -> Result<&'a str, FormatError> {
        let start = self.pos;
        let (value, used) = self.take::<&'a str>(&field)?;
        self.check_prefix(start, value.len(), used, &field)?;
        Ok(value)
    }

    fn bytes(&mut self, field: impl Fn() -> String) -> Result<&'a [u8], FormatError> {
        let start = self.pos;
        let (value, used) = self.take::<&'a [u8]>(&field)?;
        self.check_prefix(start, value.len(), used, &field)?;
        Ok(value)
    }

    /// The length prefix of a string or byte string must be a shortest-form varint.
    fn check_prefix(
        &self,
        start: usize,
        len: usize,
        used: usize,
        field: &dyn Fn() -> String,
    ) -> Result<(), FormatError> {
        if used - len != varint_len(len as u64) {
            return Err(self.error(
                start,
                Malformed::NonMinimalInteger { value: len as u64 },
                field(),
            ));
        }
        Ok(())
    }
}

fn malformed(e: DecodeError) -> Malformed {
    match e {
        DecodeError::UnexpectedEnd { .. } | DecodeError::LimitExceeded => Malformed::UnexpectedEnd,
        DecodeError::Utf8 { .. } => Malformed::InvalidUtf8,
        DecodeError::InvalidIntegerType { .. } | DecodeError::OutsideUsizeRange(_) => {
            Malformed::InvalidInteger
        }
        other => Malformed::Other(other.to_string()),
    }
}
