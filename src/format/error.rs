//! Errors of the checkpoint codec.

use super::FormatVersion;

/// Why bytes are not a valid checkpoint file, or a checkpoint cannot be encoded.
///
/// Variants follow the decoding order of the format spec (§6): length, magic, version, flags,
/// declared length, checksum, body, extensions, semantics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The input ends before the file does: a torn or empty write.
    #[error("checkpoint file is truncated: expected {expected} bytes, found {actual}")]
    Truncated {
        /// Bytes the file needs (at least this many when the header is incomplete).
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The input is longer than its header declares.
    #[error("checkpoint file has trailing bytes: expected {expected} bytes, found {actual}")]
    TrailingBytes {
        /// Bytes the header declares.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The input (or the size its header declares) exceeds the maximum file size.
    #[error("checkpoint file is too large: {size} bytes, the maximum is {max}")]
    TooLarge {
        /// The size found or declared.
        size: u64,
        /// [`limits::MAX_FILE_SIZE`](super::limits::MAX_FILE_SIZE).
        max: u64,
    },
    /// The input does not start with the checkpoint magic: not a checkpoint file.
    #[error("not a checkpoint file: bad magic {found:02x?}")]
    BadMagic {
        /// The first bytes of the input (up to 8).
        found: Vec<u8>,
    },
    /// The file's major version is not one this reader knows.
    #[error(
        "unsupported checkpoint format version {found}: this tidemark reads major version(s) {supported:?}; upgrade tidemark"
    )]
    UnsupportedVersion {
        /// The version in the file.
        found: FormatVersion,
        /// The major versions this reader supports.
        supported: &'static [u16],
    },
    /// The file uses required features this reader does not implement.
    #[error("checkpoint file requires unknown features (flags {flags:#010x}); upgrade tidemark")]
    UnsupportedFeatures {
        /// The unknown required flag bits.
        flags: u32,
    },
    /// The stored checksum does not match the content: the file is corrupt.
    #[error(
        "checkpoint file is corrupt: checksum mismatch (stored {expected:#010x}, computed {actual:#010x})"
    )]
    ChecksumMismatch {
        /// The checksum stored in the file.
        expected: u32,
        /// The checksum computed over the file's content.
        actual: u32,
    },
    /// The body's bytes do not follow the encoding of the spec.
    #[error("malformed checkpoint body: {what} (field {field}, at byte {offset})")]
    MalformedBody {
        /// What is wrong.
        what: Malformed,
        /// The field being decoded, e.g. `topics[2].partitions[7].offset`.
        field: String,
        /// Byte offset in the file where the field starts.
        offset: u64,
    },
    /// The extension area's records do not follow the spec.
    #[error("malformed extension area: {what} (at byte {offset})")]
    MalformedExtensions {
        /// What is wrong.
        what: Malformed,
        /// Byte offset in the file where the record starts.
        offset: u64,
    },
    /// The checkpoint breaks a rule of the format (decoding) or cannot be written (encoding).
    ///
    /// The message includes the violation, which is therefore not also the error's `source`
    /// (an error chain would print it twice).
    #[error("invalid checkpoint: {0}")]
    Invalid(Violation),
}

impl FormatError {
    /// The kind of error, with its stable identifier ([`ErrorKind::as_str`]) as the format
    /// spec (§6) and the reference reader name it. Compare implementations by kind, not by
    /// message.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FormatError::Truncated { .. } => ErrorKind::Truncated,
            FormatError::TrailingBytes { .. } => ErrorKind::TrailingBytes,
            FormatError::TooLarge { .. } => ErrorKind::TooLarge,
            FormatError::BadMagic { .. } => ErrorKind::BadMagic,
            FormatError::UnsupportedVersion { .. } => ErrorKind::UnsupportedVersion,
            FormatError::UnsupportedFeatures { .. } => ErrorKind::UnsupportedFeatures,
            FormatError::ChecksumMismatch { .. } => ErrorKind::ChecksumMismatch,
            FormatError::MalformedBody { .. } => ErrorKind::MalformedBody,
            FormatError::MalformedExtensions { .. } => ErrorKind::MalformedExtensionArea,
            FormatError::Invalid(_) => ErrorKind::InvalidCheckpoint,
        }
    }
}

impl From<Violation> for FormatError {
    fn from(violation: Violation) -> Self {
        FormatError::Invalid(violation)
    }
}

/// The ten kinds of [`FormatError`], one per failure of the format spec's decoding order
/// (§6). Each has a stable `snake_case` identifier that never changes: `.error` golden files,
/// the reference reader and `tidemark cat` print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `truncated`: the input ends before the file does.
    Truncated,
    /// `trailing_bytes`: the input is longer than its header declares.
    TrailingBytes,
    /// `too_large`: the input, or the length its header declares, exceeds `MAX_FILE_SIZE`.
    TooLarge,
    /// `bad_magic`: not a checkpoint file.
    BadMagic,
    /// `unsupported_version`: a major version this reader does not know.
    UnsupportedVersion,
    /// `unsupported_features`: required flag bits this reader does not implement.
    UnsupportedFeatures,
    /// `checksum_mismatch`: the stored CRC-32 does not match the content.
    ChecksumMismatch,
    /// `malformed_body`: the body's bytes do not follow the encoding of §2.
    MalformedBody,
    /// `malformed_extension_area`: the extension records do not follow §3.
    MalformedExtensionArea,
    /// `invalid_checkpoint`: the checkpoint breaks a rule of §2.3 or a limit of §5.
    InvalidCheckpoint,
}

impl ErrorKind {
    /// Every kind, in the decoding order of the spec (§6).
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Truncated,
        ErrorKind::TrailingBytes,
        ErrorKind::TooLarge,
        ErrorKind::BadMagic,
        ErrorKind::UnsupportedVersion,
        ErrorKind::UnsupportedFeatures,
        ErrorKind::ChecksumMismatch,
        ErrorKind::MalformedBody,
        ErrorKind::MalformedExtensionArea,
        ErrorKind::InvalidCheckpoint,
    ];

    /// The stable identifier, e.g. `checksum_mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::TrailingBytes => "trailing_bytes",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::BadMagic => "bad_magic",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::UnsupportedFeatures => "unsupported_features",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::MalformedBody => "malformed_body",
            ErrorKind::MalformedExtensionArea => "malformed_extension_area",
            ErrorKind::InvalidCheckpoint => "invalid_checkpoint",
        }
    }

    /// The kind an identifier names, if any.
    pub fn from_identifier(identifier: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == identifier)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A structural defect in the encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// A value runs past the end of its area.
    #[error("unexpected end of data")]
    UnexpectedEnd,
    /// An integer uses a longer encoding than needed.
    #[error("integer {value} is not in its shortest encoding")]
    NonMinimalInteger {
        /// The value.
        value: u64,
    },
    /// An integer's first byte is not a valid marker, or the value does not fit.
    #[error("invalid integer encoding")]
    InvalidInteger,
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes remain after the last field.
    #[error("{count} unexpected bytes after the last field")]
    TrailingBytes {
        /// How many.
        count: u64,
    },
    /// An extension record uses tag 0, which is reserved.
    #[error("extension tag 0 is reserved")]
    ReservedTag,
    /// Extension tags are not strictly ascending.
    #[error("extension tag {tag} follows tag {previous}")]
    TagOrder {
        /// The tag found.
        tag: u32,
        /// The tag before it.
        previous: u32,
    },
    /// Any other decoding failure reported by the body decoder.
    #[error("{0}")]
    Other(String),
}

/// A rule of the checkpoint format that a checkpoint breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A name that must not be empty is empty.
    #[error("{what} is empty")]
    EmptyName {
        /// Which name: `stream`, `topic name` or `metadata key`.
        what: &'static str,
    },
    /// A string is longer than [`MAX_STRING_BYTES`](super::limits::MAX_STRING_BYTES).
    #[error("{what} is {len} bytes long, the maximum is {max}")]
    StringTooLong {
        /// Which string.
        what: String,
        /// Its length in bytes.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A count exceeds one of the format's limits.
    #[error("too many {what}: {count}, the maximum is {max}")]
    LimitExceeded {
        /// What is counted.
        what: &'static str,
        /// How many there are.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// A partition number is negative or above `i32::MAX`.
    #[error("topic {topic:?}: partition {partition} is out of range")]
    PartitionOutOfRange {
        /// The topic.
        topic: String,
        /// The partition number, exactly: a negative `i32` (encoding), or the number the gaps
        /// of a file add up to (decoding; up to `2^31 - 1 + 2^64 - 1`).
        partition: i128,
    },
    /// An offset is negative or above `i64::MAX`.
    #[error("topic {topic:?} partition {partition}: offset {offset} is out of range")]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset, as written (an `i64` value, or a `u64` read above `i64::MAX`).
        offset: i128,
    },
    /// A topic has no partitions.
    #[error("topic {topic:?} has no partitions")]
    EmptyTopic {
        /// The topic.
        topic: String,
    },
    /// Topics are not strictly ascending (unsorted or duplicated).
    #[error("topic {topic:?} follows {previous:?}: topics must be sorted and unique")]
    TopicOrder {
        /// The topic found.
        topic: String,
        /// The topic before it.
        previous: String,
    },
    /// Metadata keys are not strictly ascending (unsorted or duplicated).
    #[error("metadata key {key:?} follows {previous:?}: keys must be sorted and unique")]
    MetadataOrder {
        /// The key found.
        key: String,
        /// The key before it.
        previous: String,
    },
}
