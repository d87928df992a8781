//! `tidemark demo`: the whole idea in one screen, with no server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::demo_cluster::{DemoCluster, DemoEvent, run_consumer};
use tidemark::Offsets;
use tidemark::ops::{self, RunRead};
use tidemark::store::{HistoryQuery, Store};

use crate::cli::{CmdResult, Failure, fail};
use crate::output::Out;

const TOPIC: &str = "demo-orders";
const STREAM: &str = "demo-consumer";
const PARTITIONS: i32 = 3;
const PER_PARTITION: u64 = 20_000;
const BATCH: usize = 2_000;

/// The consumer process: prints its resume plan, then one line per event for the demo to
/// read (`started`, `processed`, `checkpoint`, with offsets as JSON; `finished`).
pub(crate) async fn consumer(dir: &str, bootstrap: &str) -> CmdResult {
    let store = Store::open(dir)?;
    let json = |o: &Offsets| serde_json::to_string(o).unwrap_or_default();
    run_consumer(
        bootstrap,
        TOPIC,
        &store,
        STREAM,
        BATCH,
        Duration::from_millis(150),
        |event| match event {
            DemoEvent::Planned(plan, start) => {
                print!("{plan}");
                println!("started {}", json(&start));
            }
            DemoEvent::Processed(next) => println!("processed {}", json(&next)),
            DemoEvent::Committed { id, offsets } => {
                println!("checkpoint {id} {}", json(&offsets))
            }
            DemoEvent::Finished => println!("finished"),
        },
    )
    .await
    .map_err(|e| fail(tidemark::error_chain(&e)))
}

/// What one run of the consumer reported.
#[derive(Default)]
struct Run {
    plan: Vec<String>,
    started: Offsets,
    processed: Offsets,
    checkpoints: Vec<(u64, Offsets)>,
    finished: bool,
}

impl Run {
    /// Reads one line of the consumer's output; returns whether it was a `processed` line.
    fn read(&mut self, line: &str) -> Result<bool, Failure> {
        let offsets = |text: &str| parse_offsets(text);
        if let Some(rest) = line.strip_prefix("started ") {
            self.started = offsets(rest)?;
            self.processed = self.started.clone();
        } else if let Some(rest) = line.strip_prefix("processed ") {
            self.processed = offsets(rest)?;
            return Ok(true);
        } else if let Some(rest) = line.strip_prefix("checkpoint ") {
            let (id, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let id = id
                .parse()
                .map_err(|_| fail(format!("consumer output: {line:?}")))?;
            self.checkpoints.push((id, offsets(rest)?));
        } else if line == "finished" {
            self.finished = true;
        } else {
            self.plan.push(line.to_owned());
        }
        Ok(false)
    }

    /// `checkpoints 2..5` (or `no checkpoint`).
    fn ids(&self) -> String {
        match (self.checkpoints.first(), self.checkpoints.last()) {
            (Some((a, _)), Some((b, _))) if a == b => format!("checkpoint {a}"),
            (Some((a, _)), Some((b, _))) => format!("checkpoints {a}..{b}"),
            _ => "no checkpoint".to_owned(),
        }
    }

    fn last_checkpoint(&self) -> Offsets {
        self.checkpoints
            .last()
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| self.started.clone())
    }

    fn read_range(&self) -> RunRead {
        RunRead {
            from: self.started.clone(),
            to: self.processed.clone(),
        }
    }
}

/// `{"topic": {"0": 12}}` as the consumer prints offsets.
fn parse_offsets(text: &str) -> Result<Offsets, Failure> {
    let bad = || fail(format!("consumer output: bad offsets {text:?}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let mut offsets = Offsets::new();
    for (topic, partitions) in value.as_object().ok_or_else(bad)? {
        for (p, o) in partitions.as_object().ok_or_else(bad)? {
            let p = p.parse().map_err(|_| bad())?;
            offsets.insert(topic.as_str(), p, o.as_i64().ok_or_else(bad)?);
        }
    }
    Ok(offsets)
}

/// The demo: start Kafka, run the consumer, kill it mid-batch, restart it, tally what was
/// read, then show the log and verify.
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
        "== an in-process Kafka (librdkafka's mock cluster), topic {TOPIC}: {PARTITIONS} partitions x {PER_PARTITION} messages"
    ))?;
    let cluster =
        tokio::task::block_in_place(|| DemoCluster::start(TOPIC, PARTITIONS, PER_PARTITION))?;
    say(&format!("   checkpoints go to {dir_text}"))?;

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

    say(&format!(
        "\n== run 1: a consumer processes messages and checkpoints after every batch of {BATCH}"
    ))?;
    let mut run1 = Run::default();
    let mut child = spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    // After 4 checkpoints, let it process part of the next batch, then crash it.
    let mut processed_after = 0;
    for line in lines.by_ref() {
        let line = line.map_err(|e| fail(format!("consumer output: {e}")))?;
        if run1.read(&line)? && run1.checkpoints.len() >= 4 {
            processed_after += 1;
            if processed_after == 2 {
                break;
            }
        }
    }
    child
        .kill()
        .map_err(|e| fail(format!("cannot kill the consumer: {e}")))?;
    let _ = child.wait();
    let checkpointed = run1.last_checkpoint();
    say(&format!(
        "   {} written: {} messages processed and checkpointed",
        run1.ids(),
        ops::total(&checkpointed)
    ))?;
    say(&format!(
        "   then {} more processed (their output written) and ** SIGKILL ** mid-batch: not checkpointed",
        ops::ahead(&checkpointed, &run1.processed)
    ))?;

    say("\n== run 2: restarted, it reads its latest checkpoint and plans the resume")?;
    let mut run2 = Run::default();
    let mut child = spawn()?;
    let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    for line in lines {
        let line = line.map_err(|e| fail(format!("consumer output: {e}")))?;
        run2.read(&line)?;
    }
    let status = child.wait().map_err(|e| fail(format!("consumer: {e}")))?;
    if !status.success() || !run2.finished {
        return Err(fail(format!("the restarted consumer failed: {status}")));
    }
    for line in &run2.plan {
        say(&format!("   {line}"))?;
    }
    say(&format!(
        "   {} written: every partition read to its end",
        run2.ids()
    ))?;

    // The log's real bounds, asked from the cluster.
    let (log_start, log_end) = tokio::task::block_in_place(|| {
        let consumer = tidemark::kafka::tool_consumer(&cluster.bootstrap, "tidemark-demo-tally")?;
        let state = tidemark::kafka::cluster_state(&consumer, &[TOPIC], Duration::from_secs(10))?;
        Ok::<_, Failure>(state.bounds())
    })?;
    let both = ops::tally(
        &log_start,
        &log_end,
        &[run1.read_range(), run2.read_range()],
    );
    let one = |run: &Run| ops::tally(&log_start, &log_end, &[run.read_range()]).read;
    say("\n== tally (from what each run reported processing)")?;
    say(&format!("   messages in the topic  {:>7}", both.in_log))?;
    say(&format!(
        "   processed              {:>7}  (run 1: {}, run 2: {})",
        both.read,
        one(&run1),
        one(&run2)
    ))?;
    say(&format!(
        "   processed twice        {:>7}  (run 1's work after its last checkpoint: at-least-once)",
        both.read_twice
    ))?;
    say(&format!("   skipped                {:>7}", both.skipped))?;

    let store = Store::open(&dir_text)?;
    let query = HistoryQuery {
        limit: Some(3),
        ..HistoryQuery::default()
    };
    say(&format!("\n== tidemark log {dir_text} {STREAM} --limit 3"))?;
    crate::commands::log(&store, STREAM, &query, out).await?;
    say(&format!("\n== tidemark verify {dir_text}"))?;
    match crate::commands::verify(&store, None, out).await {
        Ok(()) => {}
        Err(Failure::Problems) => return Err(fail("verify found problems")),
        Err(e) => return Err(e),
    }
    say(&format!(
        "\nTry (with the command installed: cargo install --path cli):\n  tidemark show {dir_text} {STREAM}\n  tidemark reset {dir_text} {STREAM} --shift-by -500 --all-topics"
    ))?;
    Ok(())
}
