//! Quickstart: a consumer's progress kept as checkpoints on local disk, across a crash and an
//! upgrade. No server needed.
//!
//! ```text
//! cargo run --example quickstart [FOLDER]
//! ```
//!
//! It "consumes" batches of a topic with three partitions, committing after each batch the
//! **next offset to consume** per partition. Then it is killed in the middle of a batch (the
//! batch's offsets were never committed), restarted as version 2.0 of the application, and
//! resumes exactly after the last committed batch: the interrupted batch is processed again
//! (at-least-once), nothing is skipped. Finally it shows the history and what a 30-day
//! retention policy would delete. The store folder defaults to a new temporary folder.

use std::time::Duration;

use tidemark::Offsets;
use tidemark::store::{
    HistoryQuery, NewCheckpoint, RetentionPolicy, Store, StreamWriter, WriterConfig,
};

const TOPIC: &str = "orders";
const BATCH: i64 = 500;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = match std::env::args().nth(1) {
        Some(folder) => std::path::PathBuf::from(folder),
        None => std::env::temp_dir().join(format!("tidemark-quickstart-{}", std::process::id())),
    };
    let store = Store::open(folder.to_str().ok_or("folder is not UTF-8")?)?;
    println!("store: {store}");

    // --- run 1: version 1.0 -------------------------------------------------------------
    let mut writer = store
        .writer(
            "order-enricher",
            WriterConfig::new("order-enricher", "1.0.0"),
        )
        .await?;
    println!(
        "run 1 (app 1.0.0) claimed the stream with epoch {}",
        writer.epoch()
    );
    let position = process_batches(&mut writer, resume_point(&store).await?, 1..=3).await?;
    // Batch 4 is processed but the process dies before committing it.
    let lost = advance(&position);
    println!(
        "  batch 4: processed up to {} ... killed before the commit",
        show(&lost)
    );
    drop(writer);

    // --- run 2: version 2.0, after the crash --------------------------------------------
    let latest = store
        .latest("order-enricher")
        .await?
        .ok_or("no checkpoint")?;
    println!(
        "run 2 (app 2.0.0) finds checkpoint {} by {} {}: resume at {}",
        latest.id,
        latest.writer.app_name,
        latest.writer.app_version,
        show(&latest.offsets)
    );
    let mut writer = store
        .writer(
            "order-enricher",
            WriterConfig::new("order-enricher", "2.0.0"),
        )
        .await?;
    process_batches(&mut writer, resume_point(&store).await?, 4..=5).await?;

    // --- history and retention ----------------------------------------------------------
    println!("history, newest first:");
    for entry in store
        .history("order-enricher", &HistoryQuery::default())
        .await?
    {
        let c = store.get("order-enricher", entry.id).await?;
        let claim = if c.writer.epoch == c.id {
            "  (writer claim)"
        } else {
            ""
        };
        println!(
            "  {:>3}  {} {:<6} {}{claim}",
            c.id,
            c.writer.app_name,
            c.writer.app_version,
            show(&c.offsets)
        );
    }
    let policy = RetentionPolicy::new(Duration::from_secs(30 * 86400), 3);
    let report = store.compact("order-enricher", &policy, true).await?;
    println!(
        "a 30-day retention keeping at least 3 would delete {} checkpoint(s) today (dry run)",
        report.deleted.len()
    );
    println!(
        "checkpoint files are in {}",
        folder.join("streams").display()
    );
    Ok(())
}

/// Processes `batches` from `position` on, committing after each one; returns the position
/// after the last.
async fn process_batches(
    writer: &mut StreamWriter,
    mut position: Offsets,
    batches: std::ops::RangeInclusive<u32>,
) -> Result<Offsets, Box<dyn std::error::Error>> {
    for batch in batches {
        // Process messages [position, position + BATCH) of every partition, store results...
        position = advance(&position);
        let committed = writer.commit(NewCheckpoint::new(position.clone())).await?;
        println!(
            "  batch {batch}: committed checkpoint {} -> {}",
            committed.id,
            show(&position)
        );
    }
    Ok(position)
}

/// Where to start: the latest checkpoint's offsets, or offset 0 of every partition.
async fn resume_point(store: &Store) -> Result<Offsets, Box<dyn std::error::Error>> {
    Ok(match store.latest("order-enricher").await? {
        Some(c) if !c.offsets.is_empty() => c.offsets,
        _ => (0..3).map(|p| (TOPIC, p, 0)).collect(),
    })
}

fn advance(offsets: &Offsets) -> Offsets {
    offsets
        .iter()
        .map(|(t, p, o)| (t.to_owned(), p, o + BATCH + p as i64))
        .collect()
}

fn show(offsets: &Offsets) -> String {
    offsets
        .iter()
        .map(|(t, p, o)| format!("{t}/{p}@{o}"))
        .collect::<Vec<_>>()
        .join(" ")
}
