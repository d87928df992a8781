//! The checkpoint file format, version 1: a pure codec with no I/O.
//!
//! [`encode`] turns a [`Checkpoint`] into the bytes of a checkpoint file; [`decode`] (or
//! [`decode_with_report`]) turns bytes back into a checkpoint, or says precisely why they are not
//! one. The byte layout is specified in `format-spec/FORMAT.md`; this module follows it section
//! by section:
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0  | 8 | [`MAGIC`] |
//! | 8  | 2 | major version, `u16` LE |
//! | 10 | 2 | minor version, `u16` LE |
//! | 12 | 4 | flags, `u32` LE |
//! | 16 | 4 | body length `B`, `u32` LE |
//! | 20 | 4 | extensions length `E`, `u32` LE |
//! | 24 | `B` | body (bincode, see [`BINCODE_CONFIG`]) |
//! | 24+`B` | `E` | extension records |
//! | 24+`B`+`E` | 4 | CRC-32 of everything before, `u32` LE |
//!
//! ```
//! use tidemark::format::{decode, encode};
//! use tidemark::{Checkpoint, Offsets};
//!
//! let offsets: Offsets = [("orders", 0, 42)].into_iter().collect();
//! let checkpoint = Checkpoint::new("billing", offsets).with_id(7);
//! let bytes = encode(&checkpoint)?;
//! assert_eq!(decode(&bytes)?, checkpoint);
//!
//! // A torn write is never mistaken for a checkpoint.
//! assert!(decode(&bytes[..bytes.len() - 1]).is_err());
//! # Ok::<(), tidemark::format::FormatError>(())
//! ```

mod body;
mod checkpoint;
mod error;
mod json;

use std::fmt;

pub use body::BINCODE_CONFIG;
pub use checkpoint::{Checkpoint, Offsets, Writer};
pub use error::{ErrorKind, FormatError, Malformed, Violation};
pub use json::{checkpoint_to_json, hex, to_json};

/// The 8 bytes every checkpoint file starts with: `\x89 T D M \r \n \x1a \n`.
pub const MAGIC: [u8; 8] = *b"\x89TDM\r\n\x1a\n";

/// The version this library writes.
pub const CURRENT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 0 };

/// The major versions this library reads (every minor version of each).
pub const SUPPORTED_MAJOR_VERSIONS: &[u16] = &[1];

/// Size of the fixed header: magic, versions, flags and the two lengths.
pub const HEADER_LEN: usize = 24;

/// Size of the trailing checksum.
pub const CHECKSUM_LEN: usize = 4;

/// The smallest possible file: header and checksum around an empty body.
pub const MIN_FILE_LEN: usize = HEADER_LEN + CHECKSUM_LEN;

/// Flag bits 0–15: features a reader must implement to read the file (none defined in 1.0).
pub const REQUIRED_FLAGS_MASK: u32 = 0x0000_FFFF;

/// The format's limits (spec §5). Writers refuse to exceed them; readers refuse files that do.
pub mod limits {
    /// Maximum size of a checkpoint file, header to checksum.
    pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;
    /// Maximum length in bytes of each string (stream, topic names, writer fields, metadata keys).
    pub const MAX_STRING_BYTES: u64 = 4096;
    /// Maximum number of topics in one checkpoint.
    pub const MAX_TOPICS: u64 = 100_000;
    /// Maximum number of partitions over all topics of one checkpoint.
    pub const MAX_PARTITIONS: u64 = 1_000_000;
    /// Maximum number of metadata entries.
    pub const MAX_METADATA_ENTRIES: u64 = 1024;
    /// Maximum sum of the lengths of all metadata keys and values.
    pub const MAX_METADATA_BYTES: u64 = 1024 * 1024;
}

/// A format version: the major version changes incompatibly, minor versions only add optional
/// data that older readers skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormatVersion {
    /// Incompatible revisions.
    pub major: u16,
    /// Compatible additions within a major version.
    pub minor: u16,
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An extension record that the decoder did not know and skipped (spec §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedExtension {
    /// The record's tag.
    pub tag: u32,
    /// Length of its data in bytes.
    pub length: u32,
    /// Byte offset of the record in the file.
    pub offset: u64,
}

/// A decoded file: the checkpoint and what the decoder learned about the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoded {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The file's format version.
    pub version: FormatVersion,
    /// The file's flags (optional bits this reader does not know are kept here).
    pub flags: u32,
    /// Extension records the decoder skipped, in file order.
    pub skipped_extensions: Vec<SkippedExtension>,
}

/// Encodes a checkpoint as the bytes of a version 1.0 file, in canonical form: equal
/// checkpoints give identical bytes.
///
/// Fails with [`FormatError::Invalid`] when the checkpoint breaks a rule of the format (an empty
/// stream name, a negative offset, a limit exceeded).
pub fn encode(checkpoint: &Checkpoint) -> Result<Vec<u8>, FormatError> {
    body::validate(checkpoint)?;
    let mut out = Vec::with_capacity(64 + 12 * checkpoint.offsets.partition_count());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&CURRENT_VERSION.major.to_le_bytes());
    out.extend_from_slice(&CURRENT_VERSION.minor.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&[0; 8]); // body and extension lengths, filled in below
    body::write(checkpoint, &mut out);
    let body_len = out.len() - HEADER_LEN;
    let total = (out.len() + CHECKSUM_LEN) as u64;
    if total > limits::MAX_FILE_SIZE {
        return Err(FormatError::TooLarge {
            size: total,
            max: limits::MAX_FILE_SIZE,
        });
    }
    out[16..20].copy_from_slice(&(body_len as u32).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a checkpoint file, checking (in this order) its length, magic, version, flags,
/// declared length, checksum, body and semantic rules.
///
/// Never panics, and never allocates more than a small multiple of `bytes.len()`, whatever the
/// header claims. Extensions of later minor versions are skipped; use [`decode_with_report`] to
/// see them.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, FormatError> {
    decode_with_report(bytes).map(|decoded| decoded.checkpoint)
}

/// Like [`decode`], but also returns the file's version, flags and skipped extensions.
pub fn decode_with_report(bytes: &[u8]) -> Result<Decoded, FormatError> {
    let actual = bytes.len() as u64;
    // 1. Length.
    if bytes.len() < MIN_FILE_LEN {
        let present = bytes.len().min(MAGIC.len());
        if bytes[..present] != MAGIC[..present] {
            return Err(FormatError::BadMagic {
                found: bytes[..present].to_vec(),
            });
        }
        return Err(FormatError::Truncated {
            expected: MIN_FILE_LEN as u64,
            actual,
        });
    }
    if actual > limits::MAX_FILE_SIZE {
        return Err(FormatError::TooLarge {
            size: actual,
            max: limits::MAX_FILE_SIZE,
        });
    }
    // 2. Magic.
    if bytes[..8] != MAGIC {
        return Err(FormatError::BadMagic {
            found: bytes[..8].to_vec(),
        });
    }
    // 3. Version.
    let version = FormatVersion {
        major: u16_at(bytes, 8),
        minor: u16_at(bytes, 10),
    };
    if !SUPPORTED_MAJOR_VERSIONS.contains(&version.major) {
        return Err(FormatError::UnsupportedVersion {
            found: version,
            supported: SUPPORTED_MAJOR_VERSIONS,
        });
    }
    // 4. Flags.
    let flags = u32_at(bytes, 12);
    if flags & REQUIRED_FLAGS_MASK != 0 {
        return Err(FormatError::UnsupportedFeatures {
            flags: flags & REQUIRED_FLAGS_MASK,
        });
    }
    // 5. Declared length.
    let body_len = u32_at(bytes, 16) as u64;
    let ext_len = u32_at(bytes, 20) as u64;
    let expected = MIN_FILE_LEN as u64 + body_len + ext_len;
    if expected > limits::MAX_FILE_SIZE {
        return Err(FormatError::TooLarge {
            size: expected,
            max: limits::MAX_FILE_SIZE,
        });
    }
    if actual < expected {
        return Err(FormatError::Truncated { expected, actual });
    }
    if actual > expected {
        return Err(FormatError::TrailingBytes { expected, actual });
    }
    // 6. Checksum.
    let content_end = bytes.len() - CHECKSUM_LEN;
    let stored = u32_at(bytes, content_end);
    let computed = crc32fast::hash(&bytes[..content_end]);
    if stored != computed {
        return Err(FormatError::ChecksumMismatch {
            expected: stored,
            actual: computed,
        });
    }
    // 7. Body (with its semantic checks, §2.3).
    let body_end = HEADER_LEN + body_len as usize;
    let checkpoint = body::read(&bytes[HEADER_LEN..body_end], HEADER_LEN as u64)?;
    // 8. Extensions: v1.0 knows none, so every record is skipped.
    let skipped_extensions = read_extensions(&bytes[body_end..content_end], body_end as u64)?;
    Ok(Decoded {
        checkpoint,
        version,
        flags,
        skipped_extensions,
    })
}

/// Walks the extension records of spec §3, checking their framing and order.
fn read_extensions(area: &[u8], base: u64) -> Result<Vec<SkippedExtension>, FormatError> {
    let mut skipped = Vec::new();
    let mut pos = 0usize;
    let mut previous = 0u32;
    while pos < area.len() {
        let offset = base + pos as u64;
        let malformed = |what| FormatError::MalformedExtensions { what, offset };
        if area.len() - pos < 8 {
            return Err(malformed(Malformed::UnexpectedEnd));
        }
        let tag = u32_at(area, pos);
        let length = u32_at(area, pos + 4);
        if tag == 0 {
            return Err(malformed(Malformed::ReservedTag));
        }
        if tag <= previous {
            return Err(malformed(Malformed::TagOrder { tag, previous }));
        }
        if ((area.len() - pos - 8) as u64) < length as u64 {
            return Err(malformed(Malformed::UnexpectedEnd));
        }
        skipped.push(SkippedExtension {
            tag,
            length,
            offset,
        });
        previous = tag;
        pos += 8 + length as usize;
    }
    Ok(skipped)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
