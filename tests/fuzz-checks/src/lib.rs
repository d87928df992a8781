//! The properties the fuzz targets check, written once and shared by the targets
//! (`fuzz/fuzz_targets/*.rs`) and by the corpus replay test of the main crate
//! (`tests/fuzz_corpus.rs`): a crate of its own, so that both depend on it.
//!
//! - [`check_decode`] (target `decode`): whatever the bytes, decoding never panics; a file that
//!   decodes re-encodes, its body is byte-identical to the re-encoded body, and a v1.0 file with
//!   flags 0 and no extensions is byte-identical to the re-encoding (canonical form, spec §4).
//! - [`check_roundtrip`] (target `roundtrip`): a structured [`FuzzCheckpoint`] is encoded; the
//!   encoder refuses exactly the checkpoints that break a rule of the spec (§2.3, §5), checked
//!   here independently, and what it writes has the length the spec predicts, decodes to an equal
//!   checkpoint and re-encodes to the same bytes.
//!
//! It only uses `arbitrary`, `crc32fast` and `tidemark`'s codec (no default features), so the
//! fuzz package builds without object stores or Kafka.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use tidemark::format::{
    self, CHECKSUM_LEN, CURRENT_VERSION, Decoded, FormatError, HEADER_LEN, MIN_FILE_LEN, limits,
};
use tidemark::{Checkpoint, Offsets, Writer};

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

/// The `decode` property, for arbitrary bytes.
///
/// The input is decoded as it is, then (when it is long enough to have a header and a checksum)
/// twice more with parts of the framing repaired, so that random mutations get past the CRC and
/// the length checks and exercise the body and extension parsers:
///
/// 1. the bytes as given;
/// 2. the bytes with the trailing checksum replaced by the correct CRC-32;
/// 3. the bytes with the body and extension lengths set to fit the input, and the checksum fixed.
pub fn check_decode(data: &[u8]) {
    check_decode_exact(data);
    if let Some(repaired) = with_checksum(data)
        && repaired != data
    {
        check_decode_exact(&repaired);
    }
    if let Some(repaired) = with_lengths_and_checksum(data)
        && repaired != data
    {
        check_decode_exact(&repaired);
    }
}

/// `data` with its last four bytes replaced by the CRC-32 of everything before them.
fn with_checksum(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < MIN_FILE_LEN {
        return None;
    }
    let mut fixed = data.to_vec();
    seal(&mut fixed);
    Some(fixed)
}

/// `data` with the header's lengths made consistent with its size (keeping the declared
/// extension length when it fits), then the checksum fixed.
fn with_lengths_and_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let room = data.len().checked_sub(MIN_FILE_LEN)?;
    let room = u32::try_from(room).ok()?;
    let mut fixed = data.to_vec();
    let ext_len = u32_at(&fixed, 20);
    let ext_len = if ext_len <= room { ext_len } else { 0 };
    fixed[16..20].copy_from_slice(&(room - ext_len).to_le_bytes());
    fixed[20..24].copy_from_slice(&ext_len.to_le_bytes());
    seal(&mut fixed);
    Some(fixed)
}

fn seal(file: &mut [u8]) {
    let end = file.len() - CHECKSUM_LEN;
    let crc = crc32fast::hash(&file[..end]);
    file[end..].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn check_decode_exact(data: &[u8]) {
    match format::decode_with_report(data) {
        Ok(decoded) => check_decoded(data, &decoded),
        Err(error) => check_error(data, &error),
    }
}

/// What must hold for bytes that decoded.
fn check_decoded(data: &[u8], decoded: &Decoded) {
    assert_eq!(decoded.version.major, 1, "decoded a file of another major");
    assert_eq!(
        decoded.flags & 0xFFFF,
        0,
        "decoded a file with required flags"
    );
    // The JSON rendering of anything that decodes must not panic either.
    let json = format::to_json(decoded);
    assert!(json.ends_with('\n'));

    // The skipped extension records tile the extension area exactly, in ascending tag order.
    let body_len = u32_at(data, 16) as usize;
    let ext_len = u32_at(data, 20) as usize;
    let body_end = HEADER_LEN + body_len;
    let mut pos = body_end;
    let mut previous = 0u32;
    for ext in &decoded.skipped_extensions {
        assert_eq!(
            ext.offset, pos as u64,
            "extension record at the wrong offset"
        );
        assert!(ext.tag > previous, "extension tags not strictly ascending");
        previous = ext.tag;
        pos += 8 + ext.length as usize;
    }
    assert_eq!(
        pos,
        body_end + ext_len,
        "extension records do not fill the area"
    );

    let bytes = format::encode(&decoded.checkpoint)
        .unwrap_or_else(|e| panic!("a decoded checkpoint does not encode: {e}"));
    // Whatever the version, flags and extensions, the body has one encoding.
    assert_eq!(
        &bytes[HEADER_LEN..bytes.len() - CHECKSUM_LEN],
        &data[HEADER_LEN..body_end],
        "the decoder accepted a body that is not in canonical form"
    );
    if decoded.version == CURRENT_VERSION
        && decoded.flags == 0
        && decoded.skipped_extensions.is_empty()
    {
        assert_eq!(
            bytes, data,
            "the decoder accepted a v1.0 file that is not in canonical form"
        );
    } else {
        // A later minor version, optional flags or extensions: the v1.0 re-encoding drops
        // them and must still decode to the same checkpoint.
        assert_eq!(
            format::decode(&bytes).as_ref(),
            Ok(&decoded.checkpoint),
            "the re-encoded checkpoint does not decode to the same checkpoint"
        );
    }
}

/// What the error for bytes that did not decode must say about them.
fn check_error(data: &[u8], error: &FormatError) {
    let len = data.len() as u64;
    match error {
        FormatError::Truncated { expected, actual } => {
            assert_eq!(*actual, len, "{error}");
            assert!(expected > actual, "{error}");
        }
        FormatError::TrailingBytes { expected, actual } => {
            assert_eq!(*actual, len, "{error}");
            assert!(expected < actual, "{error}");
        }
        FormatError::BadMagic { found } => {
            assert!(data.starts_with(found), "{error}");
            assert!(
                !format::MAGIC.starts_with(found),
                "{error}: found is a prefix of the magic"
            );
        }
        FormatError::ChecksumMismatch { expected, actual } => {
            assert_ne!(expected, actual, "{error}");
        }
        FormatError::MalformedBody { offset, .. } => {
            let body_end = (HEADER_LEN as u64) + u64::from(u32_at(data, 16));
            assert!(
                (HEADER_LEN as u64..=body_end).contains(offset),
                "{error}: offset outside the body"
            );
        }
        FormatError::MalformedExtensions { offset, .. } => {
            let body_end = (HEADER_LEN as u64) + u64::from(u32_at(data, 16));
            let ext_end = body_end + u64::from(u32_at(data, 20));
            assert!(
                (body_end..ext_end).contains(offset),
                "{error}: offset outside the extension area"
            );
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// roundtrip
// ---------------------------------------------------------------------------------------------

/// Interprets fuzz input bytes as a [`FuzzCheckpoint`], exactly as the `roundtrip` target does.
/// `None` means the target rejects the input (it is then never added to the corpus).
pub fn roundtrip_input(data: &[u8]) -> Option<FuzzCheckpoint> {
    FuzzCheckpoint::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// The `roundtrip` property, for one structured checkpoint.
pub fn check_roundtrip(input: &FuzzCheckpoint) {
    let checkpoint = input.to_checkpoint();
    let violation = spec_violation(&checkpoint);
    match format::encode(&checkpoint) {
        Ok(bytes) => {
            if let Some(rule) = violation {
                panic!("encode accepted a checkpoint that breaks a rule ({rule}): {checkpoint:?}");
            }
            assert_eq!(
                bytes.len() as u64,
                expected_file_len(&checkpoint),
                "the encoding does not have the length the spec gives"
            );
            let decoded = format::decode_with_report(&bytes)
                .unwrap_or_else(|e| panic!("an encoded checkpoint does not decode: {e}"));
            assert_eq!(decoded.checkpoint, checkpoint, "decode(encode(c)) != c");
            assert_eq!(decoded.version, CURRENT_VERSION);
            assert_eq!(decoded.flags, 0);
            assert!(decoded.skipped_extensions.is_empty());
            let again = format::encode(&decoded.checkpoint)
                .unwrap_or_else(|e| panic!("a decoded checkpoint does not encode: {e}"));
            assert_eq!(again, bytes, "re-encoding gave different bytes");
        }
        Err(FormatError::Invalid(v)) => {
            assert!(
                violation.is_some(),
                "encode refused a valid checkpoint ({v}): {checkpoint:?}"
            );
        }
        Err(FormatError::TooLarge { size, .. }) => {
            assert!(
                violation.is_none(),
                "TooLarge for a checkpoint breaking {violation:?}"
            );
            assert!(size > limits::MAX_FILE_SIZE);
            assert_eq!(size, expected_file_len(&checkpoint));
        }
        Err(other) => panic!("encode failed with {other:?}; only Invalid or TooLarge may happen"),
    }
}

/// The first rule of spec §2.3 / §5 that `c` breaks, checked independently of the codec.
fn spec_violation(c: &Checkpoint) -> Option<&'static str> {
    let max = limits::MAX_STRING_BYTES as usize;
    if c.stream.is_empty() || c.stream.len() > max {
        return Some("stream name length");
    }
    let w = &c.writer;
    if [&w.app_name, &w.app_version, &w.host, &w.tidemark_version]
        .iter()
        .any(|s| s.len() > max)
    {
        return Some("writer string length");
    }
    if c.offsets.topic_count() as u64 > limits::MAX_TOPICS {
        return Some("MAX_TOPICS");
    }
    if c.offsets.partition_count() as u64 > limits::MAX_PARTITIONS {
        return Some("MAX_PARTITIONS");
    }
    for (topic, partitions) in c.offsets.topics() {
        if topic.is_empty() || topic.len() > max {
            return Some("topic name length");
        }
        if partitions.is_empty() {
            return Some("topic without partitions");
        }
        for (&partition, &offset) in partitions {
            if partition < 0 {
                return Some("negative partition");
            }
            if offset < 0 {
                return Some("negative offset");
            }
        }
    }
    if c.metadata.len() as u64 > limits::MAX_METADATA_ENTRIES {
        return Some("MAX_METADATA_ENTRIES");
    }
    let mut metadata_bytes = 0u64;
    for (key, value) in &c.metadata {
        if key.is_empty() || key.len() > max {
            return Some("metadata key length");
        }
        metadata_bytes += (key.len() + value.len()) as u64;
    }
    if metadata_bytes > limits::MAX_METADATA_BYTES {
        return Some("MAX_METADATA_BYTES");
    }
    None
}

/// The size of the file encoding a valid `c`, from the layout of spec §1 and §2.
fn expected_file_len(c: &Checkpoint) -> u64 {
    fn varint(v: u64) -> u64 {
        match v {
            0..=250 => 1,
            251..=0xFFFF => 3,
            0x1_0000..=0xFFFF_FFFF => 5,
            _ => 9,
        }
    }
    fn bytes(len: usize) -> u64 {
        varint(len as u64) + len as u64
    }
    let w = &c.writer;
    let mut body = bytes(c.stream.len())
        + varint(c.id)
        + varint(c.batch_time_ms)
        + varint(c.created_at_ms)
        + varint(w.epoch)
        + bytes(w.app_name.len())
        + bytes(w.app_version.len())
        + bytes(w.host.len())
        + bytes(w.tidemark_version.len())
        + varint(c.offsets.topic_count() as u64);
    for (topic, partitions) in c.offsets.topics() {
        body += bytes(topic.len()) + varint(partitions.len() as u64);
        let mut next = 0u64;
        for (&partition, &offset) in partitions {
            body += varint(partition as u64 - next) + varint(offset as u64);
            next = partition as u64 + 1;
        }
    }
    body += varint(c.metadata.len() as u64);
    for (key, value) in &c.metadata {
        body += bytes(key.len()) + bytes(value.len());
    }
    MIN_FILE_LEN as u64 + body
}

/// A checkpoint as the fuzzer builds it: a mirror of [`Checkpoint`] whose parts are biased
/// towards the interesting cases (empty and odd strings, strings at the length limit, varint
/// boundaries, negative and huge values, many partitions, topics or metadata entries).
#[derive(Debug, Arbitrary)]
pub struct FuzzCheckpoint {
    stream: Text,
    id: U64,
    batch_time_ms: U64,
    created_at_ms: U64,
    epoch: U64,
    app_name: Text,
    app_version: Text,
    host: Text,
    tidemark_version: Text,
    offsets: Vec<(Text, Partition, Offset)>,
    bulk: Option<Bulk>,
    metadata: Vec<(Text, Blob)>,
    bulk_metadata: Option<BulkMetadata>,
}

impl FuzzCheckpoint {
    /// The checkpoint this input stands for (later duplicates replace earlier ones).
    pub fn to_checkpoint(&self) -> Checkpoint {
        let mut offsets = Offsets::new();
        for (topic, partition, offset) in &self.offsets {
            offsets.insert(topic.render(), partition.value(), offset.value());
        }
        if let Some(bulk) = &self.bulk {
            bulk.add_to(&mut offsets);
        }
        let mut writer = Writer::new(
            self.epoch.value(),
            self.app_name.render(),
            self.app_version.render(),
        )
        .with_host(self.host.render());
        writer.tidemark_version = self.tidemark_version.render();
        let mut metadata = BTreeMap::new();
        let mut metadata_bytes = 0;
        for (key, value) in &self.metadata {
            // Past twice the limit, more entries cannot make the checkpoint more interesting,
            // only slower: stop (`NearLimit` blobs are 1 MiB each).
            if metadata_bytes > 2 * limits::MAX_METADATA_BYTES as usize {
                break;
            }
            let (key, value) = (key.render(), value.render());
            metadata_bytes += key.len() + value.len();
            metadata.insert(key, value);
        }
        if let Some(bulk) = &self.bulk_metadata {
            bulk.add_to(&mut metadata);
        }
        let mut checkpoint = Checkpoint::new(self.stream.render(), offsets)
            .with_id(self.id.value())
            .with_batch_time_ms(self.batch_time_ms.value())
            .with_created_at_ms(self.created_at_ms.value())
            .with_writer(writer);
        checkpoint.metadata = metadata;
        checkpoint
    }
}

/// Names that sort in tricky ways (prefixes, NUL, combining and multi-byte characters).
const NAMES: &[&str] = &[
    "a",
    "b",
    "ab",
    "a\0",
    "A",
    "orders",
    "orders.v2",
    "é",
    "e\u{301}",
    "\u{7f}",
    "\u{80}",
    "\u{FEFF}",
    "\u{FFFD}",
    "\u{10FFFF}",
    "😀",
    "\"\\",
    "\n",
    " ",
    "ａ",
];

/// Characters JSON and terminals treat specially.
const SPECIAL: &[char] = &[
    '\0', '\u{1}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1b}', '\u{1f}', '"', '\\', '/',
    '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{2029}', '\u{FEFF}',
];

#[derive(Debug, Arbitrary)]
enum Text {
    Empty,
    Pool(u8),
    Any(String),
    Special(Vec<u8>),
    Chars(Vec<char>),
    /// A string whose byte length is as close as `fill` allows to `MAX_STRING_BYTES + delta`
    /// (`delta` taken modulo 200, so both sides of the limit).
    Long {
        fill: char,
        delta: i16,
    },
}

impl Text {
    fn render(&self) -> String {
        match self {
            Text::Empty => String::new(),
            Text::Pool(i) => NAMES[*i as usize % NAMES.len()].to_owned(),
            Text::Any(s) => s.clone(),
            Text::Special(picks) => picks
                .iter()
                .map(|&i| SPECIAL[i as usize % SPECIAL.len()])
                .collect(),
            Text::Chars(chars) => chars.iter().collect(),
            Text::Long { fill, delta } => {
                let target = limits::MAX_STRING_BYTES as usize;
                let target = target.saturating_add_signed((delta % 200) as isize);
                fill.to_string().repeat(target / fill.len_utf8())
            }
        }
    }
}

macro_rules! biased_int {
    ($name:ident, $ty:ty, $edges:expr) => {
        #[derive(Debug, Arbitrary)]
        enum $name {
            Small(u8),
            Edge(u8),
            Any($ty),
        }

        impl $name {
            const EDGES: &[$ty] = $edges;

            fn value(&self) -> $ty {
                match self {
                    $name::Small(v) => <$ty>::from(*v),
                    $name::Edge(i) => Self::EDGES[*i as usize % Self::EDGES.len()],
                    $name::Any(v) => *v,
                }
            }
        }
    };
}

biased_int!(
    U64,
    u64,
    &[
        0,
        1,
        250,
        251,
        255,
        256,
        0xFFFF,
        0x1_0000,
        0xFFFF_FFFF,
        0x1_0000_0000,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        u64::MAX,
    ]
);
biased_int!(
    Partition,
    i32,
    &[
        0,
        1,
        250,
        251,
        252,
        0xFFFF,
        0x1_0000,
        i32::MAX - 1,
        i32::MAX,
        -1,
        i32::MIN,
    ]
);
biased_int!(
    Offset,
    i64,
    &[
        0,
        1,
        250,
        251,
        0xFFFF,
        0x1_0000,
        0xFFFF_FFFF,
        0x1_0000_0000,
        i64::MAX - 1,
        i64::MAX,
        -1,
        i64::MIN,
    ]
);

#[derive(Debug, Arbitrary)]
enum Blob {
    Raw(Vec<u8>),
    /// `len` bytes of `byte`.
    Filled {
        len: u16,
        byte: u8,
    },
    /// `MAX_METADATA_BYTES - 1 + delta % 64` bytes of `byte`: with a one-byte key, on either
    /// side of the metadata size limit.
    NearLimit {
        delta: i8,
        byte: u8,
    },
}

impl Blob {
    fn render(&self) -> Vec<u8> {
        match self {
            Blob::Raw(bytes) => bytes.clone(),
            Blob::Filled { len, byte } => vec![*byte; usize::from(*len)],
            Blob::NearLimit { delta, byte } => {
                let len = limits::MAX_METADATA_BYTES as usize - 1;
                vec![*byte; len.saturating_add_signed((delta % 64) as isize)]
            }
        }
    }
}

/// How many items a bulk generator makes: usually fewer than 1000, sometimes just across a
/// varint boundary (a count of 65,536 needs the 5-byte form).
#[derive(Debug, Arbitrary)]
enum Count {
    Some(u16),
    Boundary(u8),
}

impl Count {
    const BOUNDARIES: &[usize] = &[250, 251, 0xFFFF, 0x1_0000];

    fn value(&self) -> usize {
        match self {
            Count::Some(n) => usize::from(*n) % 1000,
            Count::Boundary(i) => Self::BOUNDARIES[usize::from(*i) % Self::BOUNDARIES.len()],
        }
    }
}

/// The most bytes of topic names a [`Bulk`] generates (counting the copy of the name each
/// partition insert makes), so that one input costs at most a few MiB. The file size limit
/// (`FormatError::TooLarge`, 64 MiB) is therefore out of the fuzzer's reach.
const BULK_NAME_BYTES: usize = 4 << 20;

/// Many offsets from a few input bytes.
#[derive(Debug, Arbitrary)]
enum Bulk {
    /// One topic with `count` partitions from `first`, `stride + 1` apart (stopping at
    /// `i32::MAX`), offsets counting up from `offset`.
    Partitions {
        topic: Text,
        first: Partition,
        count: Count,
        stride: u8,
        offset: Offset,
    },
    /// `count` topics named `prefix` followed by a number, with one partition each.
    Topics {
        prefix: Text,
        count: Count,
        partition: Partition,
        offset: Offset,
    },
}

impl Bulk {
    fn add_to(&self, offsets: &mut Offsets) {
        match self {
            Bulk::Partitions {
                topic,
                first,
                count,
                stride,
                offset,
            } => {
                let topic = topic.render();
                let count = count.value().min(BULK_NAME_BYTES / (topic.len() + 1));
                for i in 0..count as i64 {
                    let partition = i64::from(first.value()) + i * (i64::from(*stride) + 1);
                    let Ok(partition) = i32::try_from(partition) else {
                        break;
                    };
                    offsets.insert(topic.clone(), partition, offset.value().saturating_add(i));
                }
            }
            Bulk::Topics {
                prefix,
                count,
                partition,
                offset,
            } => {
                let prefix = prefix.render();
                let count = count.value().min(BULK_NAME_BYTES / (prefix.len() + 6));
                for i in 0..count {
                    offsets.insert(format!("{prefix}{i}"), partition.value(), offset.value());
                }
            }
        }
    }
}

/// `count % 1100` metadata entries (around `MAX_METADATA_ENTRIES`) named `prefix` followed by a
/// number, each with `value_len % 2048` bytes (so around `MAX_METADATA_BYTES` in total too).
#[derive(Debug, Arbitrary)]
struct BulkMetadata {
    prefix: Text,
    count: u16,
    value_len: u16,
    byte: u8,
}

impl BulkMetadata {
    fn add_to(&self, metadata: &mut BTreeMap<String, Vec<u8>>) {
        let prefix = self.prefix.render();
        let value = vec![self.byte; self.value_len as usize % 2048];
        for i in 0..self.count % 1100 {
            metadata.insert(format!("{prefix}{i}"), value.clone());
        }
    }
}
