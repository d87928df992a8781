//! The `tidemark` command's Kafka-backed commands against a real broker (Apache Kafka 4, started
//! by scripts/test.sh; `TIDEMARK_TEST_KAFKA` is required): `reset --to-datetime` and
//! `--by-duration` resolved by the broker's timestamp look-ups over records produced at known
//! times, `reset --to-earliest` after records were deleted (DeleteRecords), and `lag` on the
//! resume cases: records deleted below the checkpoint, partitions added since, a checkpoint
//! past the log end of a re-created topic.

use tidemark_testkit::kafka;

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use tidemark::blocking::Store;
use tidemark::store::{NewCheckpoint, WriterConfig};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

fn ok(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {text}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A fresh topic of two partitions and a store whose stream `s` has one checkpoint at 90/90.
fn setup(broker: &kafka::Broker, name: &str) -> (String, tempfile::TempDir, Store) {
    let topic = format!("{name}-{}", now_ms());
    kafka::create_topic(broker, &topic, 2);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let mut w = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    w.commit(NewCheckpoint::new(
        [(topic.as_str(), 0, 90), (topic.as_str(), 1, 90)]
            .into_iter()
            .collect(),
    ))
    .unwrap();
    (topic, dir, store)
}

fn reset(dir: &tempfile::TempDir, broker: &kafka::Broker, how: &[&str]) -> String {
    let mut args = vec!["reset", dir.path().to_str().unwrap(), "s"];
    args.extend_from_slice(how);
    args.extend_from_slice(&["--bootstrap-servers", &broker.bootstrap, "--execute"]);
    ok(&Command::new(BIN)
        .args(&args)
        .env_remove("TIDEMARK_LOG")
        .output()
        .unwrap())
}

fn latest(store: &Store, topic: &str) -> (Option<i64>, Option<i64>) {
    let c = store.latest("s").unwrap().unwrap();
    (c.offsets.get(topic, 0), c.offsets.get(topic, 1))
}

#[test]
fn reset_to_a_datetime_asks_the_broker() {
    let broker = kafka::real_broker();
    let (topic, dir, store) = setup(&broker, "cli-datetime");
    // Message n of partition p at base + n seconds + p ms, a day ago.
    let base = now_ms() - 86_400_000;
    for p in 0..2 {
        kafka::produce_at(&broker.bootstrap, &topic, p, 0, 100, |n| {
            base + n as i64 * 1000 + p as i64
        });
    }
    // In milliseconds: message 40 of partition 0 exactly, just before 40 of partition 1.
    let text = reset(
        &dir,
        &broker,
        &["--to-datetime", &(base + 40_000).to_string()],
    );
    assert!(text.contains("written as checkpoint"), "{text}");
    assert_eq!(latest(&store, &topic), (Some(40), Some(40)));
    // One ms later partition 0's message 40 is before the time.
    reset(
        &dir,
        &broker,
        &["--to-datetime", &(base + 40_001).to_string()],
    );
    assert_eq!(latest(&store, &topic), (Some(41), Some(40)));
    // RFC 3339, after every message: the log end.
    reset(&dir, &broker, &["--to-datetime", "2999-01-01T00:00:00Z"]);
    assert_eq!(latest(&store, &topic), (Some(100), Some(100)));
}

#[test]
fn reset_by_a_duration_asks_the_broker() {
    let broker = kafka::real_broker();
    let (topic, dir, store) = setup(&broker, "cli-duration");
    // Message n produced (100 - n) minutes ago, minus half a minute: "30m" ago falls between
    // messages 69 and 70 as long as the reset runs within 30 s of now.
    let t0 = now_ms();
    for p in 0..2 {
        kafka::produce_at(&broker.bootstrap, &topic, p, 0, 100, |n| {
            t0 - (100 - n as i64) * 60_000 + 30_000
        });
    }
    reset(&dir, &broker, &["--by-duration", "30m"]);
    assert_eq!(latest(&store, &topic), (Some(70), Some(70)));
    reset(&dir, &broker, &["--by-duration", "2h"]);
    assert_eq!(latest(&store, &topic), (Some(0), Some(0)));
}

#[test]
fn reset_to_earliest_after_deleted_records_starts_at_the_log_start() {
    let broker = kafka::real_broker();
    let (topic, dir, store) = setup(&broker, "cli-earliest");
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    assert_eq!(kafka::delete_records(&broker, &topic, 0, 25), 25);
    reset(&dir, &broker, &["--to-earliest"]);
    assert_eq!(latest(&store, &topic), (Some(25), Some(0)));
    reset(&dir, &broker, &["--to-latest"]);
    assert_eq!(latest(&store, &topic), (Some(100), Some(100)));
}

/// `tidemark lag` (table and `--json`) on the stream `s` of `dir`.
fn lag(dir: &tempfile::TempDir, broker: &kafka::Broker) -> (String, serde_json::Value) {
    let run = |json: bool| {
        let mut cmd = Command::new(BIN);
        if json {
            cmd.arg("--json");
        }
        ok(&cmd
            .args(["lag", dir.path().to_str().unwrap(), "s"])
            .args(["--bootstrap-servers", &broker.bootstrap])
            .env_remove("TIDEMARK_LOG")
            .output()
            .unwrap())
    };
    let text = run(false);
    (text, serde_json::from_str(&run(true)).unwrap())
}

#[test]
fn lag_reports_deleted_records_and_partitions_added_since() {
    let broker = kafka::real_broker();
    let (topic, dir, _store) = setup(&broker, "cli-lag");
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    // Partition 0 loses records 0..95 (the checkpoint is at 90); a third partition is added.
    assert_eq!(kafka::delete_records(&broker, &topic, 0, 95), 95);
    kafka::add_partitions(&broker, &topic, 3);
    kafka::produce(&broker.bootstrap, &topic, 2, 0, 7);

    let (text, j) = lag(&dir, &broker);
    let p0 = &j["partitions"][0];
    assert_eq!(
        (&p0["state"], &p0["lost"], &p0["lag"], &p0["log_start"]),
        (
            &serde_json::json!("behind_log_start"),
            &serde_json::json!(5),
            &serde_json::json!(5),
            &serde_json::json!(95)
        ),
        "{j}"
    );
    let p1 = &j["partitions"][1];
    assert_eq!(
        (&p1["state"], &p1["lag"]),
        (&serde_json::json!("ok"), &serde_json::json!(10))
    );
    assert_eq!(j["new_partitions"][0]["partition"], 2, "{j}");
    assert_eq!(j["new_partitions"][0]["lag"], 7, "{j}");
    assert_eq!(
        (&j["total_lag"], &j["new_partitions_lag"], &j["total_lost"]),
        (
            &serde_json::json!(15),
            &serde_json::json!(7),
            &serde_json::json!(5)
        )
    );
    assert!(
        text.contains("5 records deleted before they were read"),
        "{text}"
    );
    assert!(
        text.contains("new partition: a resume starts at its log start"),
        "{text}"
    );
    assert!(
        text.contains("total lag: 15 (+7 in 1 new partition(s))"),
        "{text}"
    );
}

#[test]
fn lag_reports_a_checkpoint_past_the_log_end_of_a_recreated_topic() {
    let broker = kafka::real_broker();
    let (topic, dir, _store) = setup(&broker, "cli-lag-ahead");
    kafka::recreate_topic(&broker, &topic, 2);
    kafka::produce(&broker.bootstrap, &topic, 0, 0, 10);

    let (text, j) = lag(&dir, &broker);
    let p0 = &j["partitions"][0];
    assert_eq!(p0["state"], "ahead_of_log_end", "{j}");
    assert_eq!(
        (&p0["log_end"], &p0["lag"]),
        (&serde_json::json!(10), &serde_json::json!(0))
    );
    assert_eq!(j["partitions"][1]["state"], "ahead_of_log_end", "{j}");
    assert!(text.contains("checkpoint past the log end"), "{text}");
}
