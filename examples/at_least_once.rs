//! At-least-once processing with checkpoints (async, `StreamConsumer`).
//!
//! **Delivery guarantee: at least once.** Each batch is processed and its output appended to
//! the sink file *before* the batch's offsets are checkpointed. If the process dies after
//! writing output but before the checkpoint is durable, the restarted consumer resumes from the
//! previous checkpoint and processes that batch again: no message is ever lost, but the sink
//! may hold some lines twice. A checkpoint is written only after the sink is flushed to disk,
//! and `commit` returns only once the checkpoint itself is durable, so the checkpoint never
//! runs ahead of the output.
//!
//! On start it cuts off a torn last line of the sink (a kill in the middle of a write), reads
//! the latest checkpoint, plans every partition (printing why each starts where it does),
//! assigns them, then loops: consume a batch, write it, fsync, checkpoint, and mirror the
//! offsets to the consumer group so lag monitors keep working.
//!
//! ```text
//! cargo run --example at_least_once -- --brokers 127.0.0.1:9092 --topic orders \
//!     --store ./checkpoints --sink ./sink.txt
//! ```
//!
//! Options are listed in `examples/common/mod.rs`; `--store` takes any store URL
//! (`s3://bucket/prefix` too).

mod common;

use std::io::Write;

use rdkafka::Message;
use rdkafka::consumer::StreamConsumer;
use tidemark::kafka::commit_batch;
use tidemark::store::{NewCheckpoint, Store, WriterConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = common::Options::from_args();
    let store = Store::open(&opts.store)?;
    let consumer: StreamConsumer = opts.consumer_config().create()?;

    // Read where we were, claim the stream (fencing any older instance), plan, assign.
    let latest = store.latest(&opts.stream).await?;
    let mut writer = store
        .writer(
            &opts.stream,
            WriterConfig::new("at-least-once-example", "1.0"),
        )
        .await?;
    let (mut tracker, ends) = common::resume_topic(&consumer, latest.as_ref(), &opts.topic)?;

    let mut sink = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&opts.sink)?;
    // A kill in the middle of a large write can leave a torn last line: cut it off (its
    // message comes again, the batch was never checkpointed).
    let text = std::fs::read(&opts.sink)?;
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < text.len() {
        eprintln!(
            "sink: dropping a torn last line ({} bytes)",
            text.len() - whole
        );
        sink.set_len(whole as u64)?;
        sink.sync_all()?;
    }
    loop {
        if opts.exit_at_end && common::at_end(&tracker.offsets(), &ends) {
            eprintln!("read every partition to its end; stopping");
            return Ok(());
        }
        let mut out = String::new();
        for _ in 0..opts.batch {
            let wait = tokio::time::timeout(std::time::Duration::from_millis(500), consumer.recv());
            let Ok(message) = wait.await else { break };
            let m = message?;
            out.push_str(&common::sink_line(
                m.topic(),
                m.partition(),
                m.offset(),
                m.payload().unwrap_or_default(),
            ));
            tracker.processed(m.topic(), m.partition(), m.offset());
        }
        if out.is_empty() {
            continue;
        }
        // Output first, durably; then the checkpoint.
        sink.write_all(out.as_bytes())?;
        sink.sync_data()?;
        let done = commit_batch(
            &mut writer,
            &tracker,
            NewCheckpoint::default(),
            Some(&consumer),
        )
        .await?;
        if let Some(e) = done.mirror_error {
            eprintln!(
                "checkpoint {} written; group offsets not mirrored: {e}",
                done.committed.id
            );
        }
        println!("checkpoint {}", done.committed.id);
    }
}
