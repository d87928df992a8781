//! The `tidemark` command's Kafka-backed commands against a real broker (Apache Kafka 4, started
//! by scripts/test.sh; `TIDEMARK_TEST_KAFKA` is required): `reset --to-datetime` and
//! `--by-duration` resolved by the broker's timestamp look-ups over records produced at known
//! times, `reset --to-earliest` after records were deleted (DeleteRecords), `lag` on the resume
//! cases (records deleted below the checkpoint, partitions added since, a checkpoint past the
//! log end of a re-created topic); connecting over TLS and SASL/SCRAM
//! (`TIDEMARK_TEST_KAFKA_SSL`, `_SSL_CA`, `_SASL`, `_SASL_USER`, `_SASL_PASSWORD`, required
//! too), an unreachable broker, clamping to the log range, the consumer group check, and
//! exports to a consumer group and to ZooKeeper (`TIDEMARK_TEST_ZOOKEEPER`, required).

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

/// As [`setup`], with messages 0..100 in both partitions and the first 25 of partition 0
/// deleted (its log starts at 25).
fn setup_deleted(broker: &kafka::Broker, name: &str) -> (String, tempfile::TempDir, Store) {
    let (topic, dir, store) = setup(broker, name);
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    assert_eq!(kafka::delete_records(broker, &topic, 0, 25), 25);
    (topic, dir, store)
}

/// `reset <mode> --execute` of stream `s`, checking consumer group `group` (the writer's
/// liveness window set to 0: only the group can stop it).
fn execute_checking_group(url: &str, bootstrap: &str, group: &str, mode: &str) -> Output {
    run(&[
        "reset",
        url,
        "s",
        mode,
        "--all-topics",
        "--bootstrap-server",
        bootstrap,
        "--check-group",
        group,
        "--alive-window",
        "0s",
        "--execute",
    ])
}

/// A consumer of `topic` in `group` with this group protocol, once it has its assignment.
fn member_of(
    bootstrap: &str,
    group: &str,
    protocol: &str,
    topic: &str,
) -> rdkafka::consumer::BaseConsumer {
    use rdkafka::consumer::Consumer;
    let member: rdkafka::consumer::BaseConsumer =
        kafka::consumer_config_for(bootstrap, group, protocol)
            .create()
            .unwrap();
    member.subscribe(&[topic]).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while member.assignment().unwrap().count() == 0 {
        assert!(std::time::Instant::now() < deadline, "no assignment");
        let _ = member.poll(std::time::Duration::from_millis(100));
    }
    member
}

fn reset(dir: &tempfile::TempDir, broker: &kafka::Broker, how: &[&str]) -> String {
    let mut args = vec!["reset", dir.path().to_str().unwrap(), "s"];
    args.extend_from_slice(how);
    args.extend_from_slice(&[
        "--all-topics",
        "--bootstrap-server",
        &broker.bootstrap,
        "--execute",
        "--force",
    ]);
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
    let (topic, dir, store) = setup_deleted(&broker, "cli-earliest");
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

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: scripts/test.sh sets it; scripts/README.md says how to start \
             each server by hand and what it exports"
        )
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TIDEMARK_LOG")
        .env_remove("TIDEMARK_BOOTSTRAP_SERVERS")
        .output()
        .unwrap()
}

fn error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Issue 12: TLS (the SSL listener, its CA as PEM) and SASL/SCRAM (a Java properties file,
/// as kafka-consumer-groups --command-config takes it, with -X winning over it), for `lag`
/// and a `reset --to-latest` dry run; the bootstrap servers also from the environment.
#[test]
fn tls_and_sasl_scram_listeners_are_reached() {
    let broker = kafka::real_broker();
    let (topic, dir, _store) = setup(&broker, "cli-secure");
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    let url = dir.path().to_str().unwrap();
    let ssl = env("TIDEMARK_TEST_KAFKA_SSL");
    let ca = env("TIDEMARK_TEST_KAFKA_SSL_CA");
    let ca_property = format!("ssl.ca.location={ca}");
    let over_tls = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--bootstrap-server",
            &ssl,
            "-X",
            "security.protocol=SSL",
            "-X",
            &ca_property,
        ]);
        run(&all)
    };
    let text = ok(&over_tls(&["lag", url, "s"]));
    assert!(text.contains("total lag: 20"), "{text}");
    let text = ok(&over_tls(&["describe", url, "s"]));
    assert!(
        text.contains("lag:        20 message(s) behind the log ends"),
        "{text}"
    );

    let sasl = env("TIDEMARK_TEST_KAFKA_SASL");
    let props = dir.path().join("client.properties");
    std::fs::write(
        &props,
        format!(
            "# as for kafka-consumer-groups --command-config\n\
             security.protocol=SASL_PLAINTEXT\n\
             sasl.mechanism: SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20 username=\"{}\" password=\"{}\";\n",
            env("TIDEMARK_TEST_KAFKA_SASL_USER"),
            env("TIDEMARK_TEST_KAFKA_SASL_PASSWORD")
        ),
    )
    .unwrap();
    let props = props.to_str().unwrap();
    let o = Command::new(BIN)
        .args([
            "reset",
            url,
            "s",
            "--to-latest",
            "--all-topics",
            "--command-config",
            props,
        ])
        .env("TIDEMARK_BOOTSTRAP_SERVERS", &sasl)
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(text.contains("+10") && text.contains("dry run"), "{text}");
    // The checkpoint to a consumer group over SASL, and back into a new stream over TLS
    // (each checks the group has no members first).
    let group = format!("g-{topic}");
    let text = ok(&run(&[
        "export",
        url,
        "s",
        "--to-kafka-group",
        &group,
        "--bootstrap-server",
        &sasl,
        "--command-config",
        props,
        "--execute",
    ]));
    assert!(text.contains(&group), "{text}");
    let text = ok(&over_tls(&[
        "import",
        url,
        "from-group",
        "--from-kafka-group",
        &group,
        "--execute",
    ]));
    assert!(text.contains("written as checkpoint"), "{text}");
    let store = tidemark::blocking::Store::open(url).unwrap();
    assert_eq!(
        store.latest("from-group").unwrap().unwrap().offsets,
        store.latest("s").unwrap().unwrap().offsets
    );
    // -X wins over the file: a wrong password is refused by the broker.
    let e = error(&run(&[
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &sasl,
        "--command-config",
        props,
        "-X",
        "sasl.password=wrong",
        "--timeout",
        "5s",
    ]));
    assert!(
        e.contains("cannot reach Kafka") && e.contains("sasl_plaintext"),
        "{e}"
    );
}

/// Issue 12: an unreachable broker (nothing listening; a PLAINTEXT client on the TLS
/// listener) gives one error line with a hint, within the timeout, and no librdkafka log
/// lines unless -v.
#[test]
fn an_unreachable_broker_gives_one_clear_error() {
    let broker = kafka::real_broker();
    let (_topic, dir, _store) = setup(&broker, "cli-unreachable");
    let url = dir.path().to_str().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = free.local_addr().unwrap().to_string();
    drop(free);
    let started = std::time::Instant::now();
    let o = run(&[
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &nobody,
        "--timeout",
        "2s",
    ]);
    let e = error(&o);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(
        e.contains(&format!("cannot reach Kafka at {nobody}")),
        "{e}"
    );
    assert!(e.contains("Connection refused"), "what librdkafka saw: {e}");
    assert!(
        e.contains("security.protocol=plaintext") && e.contains("check the address"),
        "{e}"
    );
    assert!(!e.contains("\x1b["), "no colours: {e}");
    // With -v librdkafka's own lines appear (through tracing).
    let o = run(&[
        "-v",
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &nobody,
        "--timeout",
        "2s",
    ]);
    assert!(error(&o).lines().count() > 1);
    // A PLAINTEXT client on the TLS listener.
    let ssl = env("TIDEMARK_TEST_KAFKA_SSL");
    let e = error(&run(&[
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &ssl,
        "--timeout",
        "3s",
    ]));
    assert!(
        e.contains("cannot reach Kafka") && e.lines().count() == 1,
        "{e}"
    );
    // A property librdkafka does not know, and a Java trust store.
    let e = error(&run(&[
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &nobody,
        "-X",
        "no.such=1",
    ]));
    assert!(
        e.contains("client property") && e.contains("no.such"),
        "{e}"
    );
    let props = dir.path().join("java.properties");
    std::fs::write(&props, "ssl.truststore.location=/x.jks\n").unwrap();
    let e = error(&run(&[
        "lag",
        url,
        "s",
        "--bootstrap-server",
        &nobody,
        "--command-config",
        props.to_str().unwrap(),
    ]));
    assert!(e.contains("line 1") && e.contains("ssl.ca.location"), "{e}");
}

/// Issue 12: with a broker, offsets outside the log are clamped and reported; a partition
/// neither in the checkpoint nor in the cluster is refused; --execute is refused while the
/// consumer group has members.
#[test]
fn reset_with_a_broker_clamps_checks_partitions_and_the_group() {
    let broker = kafka::real_broker();
    let (topic, dir, store) = setup_deleted(&broker, "cli-clamp");
    let url = dir.path().to_str().unwrap();
    let b = broker.bootstrap.as_str();
    let t0 = format!("{topic}:0");
    let j: serde_json::Value = serde_json::from_slice(
        &run(&[
            "--json",
            "reset",
            url,
            "s",
            "--shift-by",
            "-80",
            "--topic",
            &t0,
            "--bootstrap-server",
            b,
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(j["changes"][0]["after"], 25, "{j}");
    assert_eq!(j["changes"][0]["clamped"]["to"], "log_start");
    assert_eq!(j["changes"][0]["clamped"]["requested"], 10);
    let text = ok(&run(&[
        "reset",
        url,
        "s",
        "--to-offset",
        "1000",
        "--all-topics",
        "--bootstrap-server",
        b,
    ]));
    assert!(
        text.contains("clamped: 1000 is above the log end"),
        "{text}"
    );
    assert!(text.contains("2 offset(s) clamped"), "{text}");
    let t7 = format!("{topic}:7");
    let e = error(&run(&[
        "reset",
        url,
        "s",
        "--to-offset",
        "5",
        "--topic",
        &t7,
        "--bootstrap-server",
        b,
    ]));
    assert!(
        e.contains("partition 7 is not in the checkpoint nor in the cluster"),
        "{e}"
    );

    // A member in the stream's consumer group (named like the stream by default).
    let group = format!("g-{topic}");
    let member = member_of(b, &group, "classic", &topic);
    let before = store.latest("s").unwrap().unwrap().id;
    let reset_to_latest = || execute_checking_group(url, b, &group, "--to-latest");
    let e = error(&reset_to_latest());
    assert!(
        e.contains(&format!("consumer group {group:?} has 1 active member")),
        "{e}"
    );
    // Exporting to the group is refused too while it has members.
    let e = error(&run(&[
        "export",
        url,
        "s",
        "--to-kafka-group",
        &group,
        "--bootstrap-server",
        b,
        "--execute",
    ]));
    assert!(e.contains("active member"), "{e}");
    assert_eq!(
        store.latest("s").unwrap().unwrap().id,
        before,
        "nothing written"
    );
    // Without --check-group, the group checked is the one named like the stream: an import
    // into a stream named like the group is refused, and so is a reset of it.
    let csv = dir.path().join("one.csv");
    std::fs::write(&csv, format!("{topic},0,30\n")).unwrap();
    let csv = csv.to_str().unwrap();
    let import = |force: bool| {
        let mut args = vec![
            "import",
            url,
            &group,
            "--from-csv",
            csv,
            "--bootstrap-server",
            b,
            "--execute",
        ];
        if force {
            args.push("--force");
        }
        run(&args)
    };
    let e = error(&import(false));
    assert!(
        e.contains(&format!("consumer group {group:?} has 1 active member")),
        "{e}"
    );
    ok(&import(true));
    let e = error(&run(&[
        "reset",
        url,
        &group,
        "--to-latest",
        "--all-topics",
        "--bootstrap-server",
        b,
        "--execute",
    ]));
    assert!(
        e.contains(&format!("consumer group {group:?} has 1 active member")),
        "{e}"
    );
    drop(member);
    // Once the member left: exported, and kafka-consumer-groups' view is the checkpoint's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let o = run(&[
            "export",
            url,
            "s",
            "--to-kafka-group",
            &group,
            "--bootstrap-server",
            b,
            "--execute",
        ]);
        if o.status.success() {
            assert!(
                String::from_utf8_lossy(&o.stdout)
                    .contains(&format!("written to kafka group {group}"))
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let options = tidemark::kafka::KafkaOptions::new(b);
    let committed = tidemark::kafka::group_offsets(&options, &group).unwrap();
    assert_eq!(
        (committed.get(&topic, 0), committed.get(&topic, 1)),
        (Some(90), Some(90))
    );
    let text = ok(&reset_to_latest());
    assert!(text.contains("written as checkpoint"), "{text}");
}

/// Issue 12: `export --to-zookeeper` writes /consumers/<group>/offsets/<topic>/<partition>,
/// the layout Burrow reads (read back with the ZooKeeper importer); a dry run writes nothing.
#[test]
fn export_to_zookeeper_writes_the_old_consumer_layout() {
    let zk = env("TIDEMARK_TEST_ZOOKEEPER");
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().to_str().unwrap();
    let store = Store::open(url).unwrap();
    let mut w = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    w.commit(NewCheckpoint::new(
        [("orders", 0, 7), ("orders", 1, 9)].into_iter().collect(),
    ))
    .unwrap();
    let group = format!("zk-{}", now_ms());
    let text = ok(&run(&[
        "export",
        url,
        "s",
        "--to-zookeeper",
        &zk,
        "--group",
        &group,
    ]));
    assert!(text.contains("dry run"), "{text}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(
        rt.block_on(tidemark::import::read_zookeeper(&zk, &group, None))
            .is_err()
    );
    for chroot in [None, Some("/kafka")] {
        let mut args = vec![
            "export",
            url,
            "s",
            "--to-zookeeper",
            &zk,
            "--group",
            &group,
            "--execute",
        ];
        if let Some(c) = chroot {
            args.extend_from_slice(&["--chroot", c]);
        }
        let text = ok(&run(&args));
        assert!(
            text.contains("/consumers/") && text.contains("written to zookeeper"),
            "{text}"
        );
        let found = rt
            .block_on(tidemark::import::read_zookeeper(&zk, &group, chroot))
            .unwrap();
        assert_eq!(found.offsets, store.latest("s").unwrap().unwrap().offsets);
    }
    // Written again over the old nodes.
    w.commit(NewCheckpoint::new(
        [("orders", 0, 70)].into_iter().collect(),
    ))
    .unwrap();
    ok(&run(&[
        "export",
        url,
        "s",
        "--to-zookeeper",
        &zk,
        "--group",
        &group,
        "--execute",
    ]));
    let found = rt
        .block_on(tidemark::import::read_zookeeper(&zk, &group, None))
        .unwrap();
    assert_eq!(found.offsets.get("orders", 0), Some(70));
}

/// The group check sees members of both group protocols (classic and KIP-848's consumer).
#[test]
fn group_members_of_the_consumer_protocol_are_seen() {
    let broker = kafka::real_broker();
    let (topic, dir, store) = setup(&broker, "cli-kip848");
    let url = dir.path().to_str().unwrap();
    let b = broker.bootstrap.as_str();
    let group = format!("g-{topic}");
    let _member = member_of(b, &group, "consumer", &topic);
    let before = store.latest("s").unwrap().unwrap().id;
    let e = error(&execute_checking_group(url, b, &group, "--to-earliest"));
    assert!(e.contains("active member"), "{e}");
    assert_eq!(store.latest("s").unwrap().unwrap().id, before);
}
