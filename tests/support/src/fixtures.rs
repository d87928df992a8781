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
