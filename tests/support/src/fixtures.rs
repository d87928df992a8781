//! Checkpoints shared by the format tests, benches and the golden-file generator.

use tidemark::{Checkpoint, Offsets, Writer};

/// A writer with fixed fields, so that files built from it never change.
pub fn writer(epoch: u64) -> Writer {
    let mut w = Writer::new(epoch, "golden-app", "1.2.3").with_host("host-a");
    w.tidemark_version = "0.1.0".into();
    w
}

/// A checkpoint of `stream` with fixed times and writer.
pub fn checkpoint(stream: &str, id: u64, offsets: Offsets) -> Checkpoint {
    Checkpoint::new(stream, offsets)
        .with_id(id)
        .with_batch_time_ms(1_700_000_000_000)
        .with_created_at_ms(1_700_000_000_123)
        .with_writer(writer(3))
}

/// `partitions` partitions of one topic, with offsets that vary in size.
pub fn many_partitions(topic: &str, partitions: i32) -> Offsets {
    (0..partitions)
        .map(|p| (topic, p, 74_963 + (p as i64 * 7_919) % 1_000_000))
        .collect()
}

/// A whole checkpoint file built by hand around `body` and `extensions` (FORMAT.md §3: magic,
/// version, flags, lengths, body, extension area), with a correct checksum. For files tidemark
/// itself would never write: other versions, flags, malformed bodies.
pub fn raw_file(major: u16, minor: u16, flags: u32, body: &[u8], extensions: &[u8]) -> Vec<u8> {
    let mut out = tidemark::format::MAGIC.to_vec();
    out.extend_from_slice(&major.to_le_bytes());
    out.extend_from_slice(&minor.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&(extensions.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(extensions);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The checkpoint file `base` (a 1.0 file without extensions) as a 1.1 file with one extension
/// record (tag 7) holding `data`: what a later minor version could write, which a 1.0 reader
/// skips. Built by hand because tidemark writes only 1.0.
pub fn with_minor_extension(base: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = base[..base.len() - 4].to_vec();
    out[10..12].copy_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&7u32.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out[20..24].copy_from_slice(&((8 + data.len()) as u32).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `name` made unique with the current time in nanoseconds (`name-<nanos>`): topics, groups and
/// paths on servers that outlive one test.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    format!("{name}-{nanos}")
}
