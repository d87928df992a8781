//! Exactly-once output to a file sink (blocking, `BaseConsumer`).
//!
//! **Delivery guarantee: exactly once, for this sink.** The sink file and the checkpoint are
//! tied together: every checkpoint records, in its metadata, the sink file's length after the
//! batch it covers (`sink.position`). Each batch is appended and fsynced, then checkpointed.
//! On restart the consumer truncates the sink to the position recorded in the latest
//! checkpoint — throwing away whatever a crashed run wrote after its last checkpoint, including
//! a torn last line — and resumes from that checkpoint's offsets. So every message's line is in
//! the sink exactly once, however often the process is killed. (It works because the sink can
//! be truncated; a sink that cannot undo writes needs idempotent writes or transactions, keyed
//! by the same metadata.)
//!
//! ```text
//! cargo run --example exactly_once -- --brokers 127.0.0.1:9092 --topic orders \
//!     --store ./checkpoints --sink ./sink.txt
//! ```
//!
//! Options are listed in `examples/common/mod.rs`.

mod common;

use std::io::Write;

use rdkafka::Message;
use rdkafka::consumer::BaseConsumer;
use tidemark::blocking::Store;
use tidemark::kafka::commit_batch_blocking;
use tidemark::store::{NewCheckpoint, WriterConfig};

const POSITION: &str = "sink.position";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = common::Options::from_args();
    let store = Store::open(&opts.store)?;
    let consumer: BaseConsumer = opts.consumer_config().create()?;

    let latest = store.latest(&opts.stream)?;
    let mut writer = store.writer(
        &opts.stream,
        WriterConfig::new("exactly-once-example", "1.0"),
    )?;

    // Undo whatever was written after the last checkpoint.
    let position = match latest.as_ref().and_then(|c| c.metadata.get(POSITION)) {
        Some(bytes) => u64::from_le_bytes(bytes.as_slice().try_into()?),
        None => 0,
    };
    let sink = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&opts.sink)?;
    let length = sink.metadata()?.len();
    if length < position {
        return Err(format!(
            "sink {} has {length} bytes but the checkpoint says {position} were written: it was \
             truncated or replaced, exactly-once cannot be kept",
            opts.sink
        )
        .into());
    }
    if length > position {
        eprintln!(
            "sink: dropping {} bytes written after the last checkpoint",
            length - position
        );
    }
    sink.set_len(position)?;
    sink.sync_all()?;
    let mut sink = std::fs::OpenOptions::new().append(true).open(&opts.sink)?;

    let (mut tracker, ends) = common::resume_topic(&consumer, latest.as_ref(), &opts.topic)?;
    let mut position = position;
    loop {
        if opts.exit_at_end && common::at_end(&tracker.offsets(), &ends) {
            eprintln!("read every partition to its end; stopping");
            return Ok(());
        }
        let mut out = String::new();
        for _ in 0..opts.batch {
            match consumer.poll(std::time::Duration::from_millis(500)) {
                Some(m) => {
                    let m = m?;
                    out.push_str(&common::sink_line(
                        m.topic(),
                        m.partition(),
                        m.offset(),
                        m.payload().unwrap_or_default(),
                    ));
                    tracker.processed(m.topic(), m.partition(), m.offset());
                }
                None => break,
            }
        }
        if out.is_empty() {
            continue;
        }
        sink.write_all(out.as_bytes())?;
        sink.sync_data()?;
        position += out.len() as u64;
        let batch =
            NewCheckpoint::default().with_metadata(POSITION, position.to_le_bytes().to_vec());
        let done = commit_batch_blocking(&mut writer, &tracker, batch, Some(&consumer))?;
        println!(
            "checkpoint {} at sink position {position}",
            done.committed.id
        );
    }
}
