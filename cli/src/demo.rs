//! `tidemark demo`: the whole idea in a minute, with no server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::demo_cluster::{DemoCluster, DemoEvent, run_consumer};
use tidemark::store::{HistoryQuery, Store};

use crate::cli::{CmdResult, Failure, fail};
use crate::output::Out;

const TOPIC: &str = "demo-orders";
const STREAM: &str = "demo-consumer";
const PARTITIONS: i32 = 3;
const PER_PARTITION: u64 = 20_000;
const BATCH: usize = 2_000;

/// The consumer process: prints one line per event.
pub(crate) async fn consumer(dir: &str, bootstrap: &str) -> CmdResult {
    let store = Store::open(dir)?;
    run_consumer(
        bootstrap,
        TOPIC,
        &store,
        STREAM,
        BATCH,
        Duration::from_millis(150),
        |event| match event {
            DemoEvent::Planned(plan) => print!("{plan}"),
            DemoEvent::Committed { id, position } => {
                println!("checkpoint {id}: {position} messages consumed and checkpointed")
            }
            DemoEvent::Finished => println!("every partition read to its end"),
        },
    )
    .await
    .map_err(|e| fail(tidemark::error_chain(&e)))
}

/// The demo: start Kafka, run the consumer, kill it, restart it, show the log and verify.
pub(crate) async fn run(dir: Option<PathBuf>, out: &Out) -> CmdResult {
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("tidemark-demo-{}", std::process::id())),
    };
    let dir_text = dir
        .to_str()
        .ok_or_else(|| fail("the demo folder's path is not UTF-8"))?
        .to_owned();
    let say = |text: &str| out.print(&format!("{text}\n"));
    say(&format!(
        "== starting an in-process Kafka (librdkafka's mock cluster) with topic {TOPIC}: {PARTITIONS} partitions x {PER_PARTITION} messages"
    ))?;
    let cluster =
        tokio::task::block_in_place(|| DemoCluster::start(TOPIC, PARTITIONS, PER_PARTITION))?;
    say(&format!(
        "   Kafka at {}; checkpoints go to {dir_text}",
        cluster.bootstrap
    ))?;

    say("\n== run 1: a consumer checkpoints after every batch of 2000 messages")?;
    let exe =
        std::env::current_exe().map_err(|e| fail(format!("cannot find this program: {e}")))?;
    let spawn = || {
        Command::new(&exe)
            .args([
                "demo",
                "--dir",
                &dir_text,
                "--consumer-of",
                &cluster.bootstrap,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| fail(format!("cannot start the consumer: {e}")))
    };
    let mut child = spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut checkpoints = 0;
    for line in lines.by_ref() {
        let line = line.map_err(|e| fail(format!("consumer output: {e}")))?;
        say(&format!("   {line}"))?;
        if line.starts_with("checkpoint ") {
            checkpoints += 1;
            if checkpoints == 4 {
                break;
            }
        }
    }
    // Let it get into the next batch, then crash it.
    std::thread::sleep(Duration::from_millis(100));
    child
        .kill()
        .map_err(|e| fail(format!("cannot kill the consumer: {e}")))?;
    let _ = child.wait();
    say(
        "   ** killed with SIGKILL in the middle of a batch: that batch was never checkpointed **",
    )?;

    say(
        "\n== run 2: the restarted consumer reads its latest checkpoint and plans where to resume",
    )?;
    let mut child = spawn()?;
    let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    for line in lines {
        let line = line.map_err(|e| fail(format!("consumer output: {e}")))?;
        say(&format!("   {line}"))?;
    }
    let status = child.wait().map_err(|e| fail(format!("consumer: {e}")))?;
    if !status.success() {
        return Err(fail(format!("the restarted consumer failed: {status}")));
    }

    let store = Store::open(&dir_text)?;
    let history = store
        .history(
            STREAM,
            &HistoryQuery {
                limit: Some(8),
                ..HistoryQuery::default()
            },
        )
        .await?;
    say(&format!(
        "\n== tidemark log {dir_text} {STREAM} --limit {}",
        history.len()
    ))?;
    crate::commands::log(
        &store,
        STREAM,
        &HistoryQuery {
            limit: Some(8),
            ..HistoryQuery::default()
        },
        out,
    )
    .await?;
    say(&format!("\n== tidemark verify {dir_text}"))?;
    match crate::commands::verify(&store, None, out).await {
        Ok(()) => {}
        Err(Failure::Problems) => return Err(fail("verify found problems")),
        Err(e) => return Err(e),
    }
    say(&format!(
        "\nTry: tidemark show {dir_text} {STREAM}    tidemark reset {dir_text} {STREAM} --shift-by -500"
    ))?;
    Ok(())
}
