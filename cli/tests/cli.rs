//! The `tidemark` command, end to end: every subcommand against local disk and S3 (moto),
//! checking output and exit codes, bad input included; the Kafka-backed subcommands against a
//! broker (Apache Kafka in CI); and the demo.

use tidemark_testkit::kafka;

use std::io::Read;
use std::process::{Command, Output, Stdio};

use tidemark::Offsets;
use tidemark::blocking::Store;
use tidemark::store::{NewCheckpoint, WriterConfig};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

/// Where a test's store lives, as the command sees it (URL + environment).
struct Target {
    url: String,
    env: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    fn open(&self) -> Store {
        // The command reads the S3 settings from AWS_* variables; the library gets them as options.
        let mut options = tidemark::store::StoreOptions::default();
        for (k, v) in &self.env {
            let key = k.trim_start_matches("AWS_").to_ascii_lowercase();
            options.backend_options.push((key, v.clone()));
        }
        Store::open_with(&self.url, options).unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_remove("TIDEMARK_LOG");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn targets(test: &str) -> Vec<Target> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![Target {
        url: dir.path().join("store").to_str().unwrap().to_owned(),
        env: Vec::new(),
        _dir: Some(dir),
    }];
    if let Some(server) = tidemark_testkit::s3::server() {
        out.push(Target {
            url: server.url(&format!("cli-{test}")),
            env: server.env(),
            _dir: None,
        });
    }
    out
}

fn offsets(n: i64) -> Offsets {
    [
        ("orders", 0, n),
        ("orders", 1, n + 10),
        ("refunds", 0, n * 2),
    ]
    .into_iter()
    .collect()
}

/// A stream `billing` with checkpoints 1 (claim), 2, 3, 4 by app 1.0, then 5 (claim), 6 by 2.0.
fn populate(t: &Target) {
    let store = t.open();
    let mut w = store
        .writer("billing", WriterConfig::new("app", "1.0"))
        .unwrap();
    for n in [100, 200, 300] {
        w.commit(NewCheckpoint::new(offsets(n))).unwrap();
    }
    let mut w = store
        .writer("billing", WriterConfig::new("app", "2.0"))
        .unwrap();
    w.commit(NewCheckpoint::new(offsets(450)).with_metadata("sink", b"part-7".to_vec()))
        .unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    stdout(o)
}

#[track_caller]
fn error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "stdout: {}", stdout(o));
    assert!(
        stdout(o).is_empty(),
        "an error printed to stdout: {}",
        stdout(o)
    );
    stderr(o)
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).unwrap()
}

#[test]
fn streams_show_log_diff_export() {
    for t in targets("inspect") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&["streams", u]));
        assert!(
            text.contains("billing") && text.contains("app 2.0"),
            "{text}"
        );
        let j = json(&t.run(&["--json", "streams", u]));
        assert_eq!(j[0]["stream"], "billing");
        assert_eq!(j[0]["latest_id"], 6);
        assert_eq!(j[0]["partitions"], 3);

        let text = ok(&t.run(&["show", u, "billing"]));
        assert!(
            text.contains("checkpoint: 6") && text.contains("900"),
            "{text}"
        );
        assert!(text.contains("sink = \"part-7\""), "{text}");
        let j = json(&t.run(&["--json", "show", u, "billing", "--id", "3"]));
        assert_eq!(j["offsets"]["orders"]["1"], 210);
        let text = ok(&t.run(&["show", u, "billing", "--at", "2100-01-01T00:00:00Z"]));
        assert!(text.contains("checkpoint: 6"), "{text}");
        let e = error(&t.run(&["show", u, "billing", "--at", "1999-01-01T00:00:00Z"]));
        assert!(e.contains("no checkpoint written at or before"), "{e}");
        let e = error(&t.run(&["show", u, "billing", "--at", "yesterday-ish"]));
        assert!(e.contains("cannot read time"), "{e}");

        let text = ok(&t.run(&["log", u, "billing"]));
        let ids: Vec<&str> = text
            .lines()
            .skip(1)
            .take(6)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(ids, ["6", "5", "4", "3", "2", "1"], "{text}");
        assert!(
            text.contains("app 2.0") && text.contains("claimed"),
            "{text}"
        );
        assert!(text.contains("+400"), "progress between 2 and 3: {text}");
        assert!(text.contains("rate, oldest to newest:"), "{text}");
        let j = json(&t.run(&["--json", "log", u, "billing", "--limit", "2"]));
        assert_eq!(j.as_array().unwrap().len(), 2);
        assert_eq!(j[1]["writer_claim"], true);

        let text = ok(&t.run(&["diff", u, "billing", "2", "6"]));
        assert!(
            text.contains("+350") && text.contains("total: +1400"),
            "{text}"
        );
        let j = json(&t.run(&["--json", "diff", u, "billing", "2", "6"]));
        assert_eq!(j["total_delta"], 1400);

        let csv = ok(&t.run(&["export", u, "billing"]));
        assert_eq!(csv, "orders,0,450\norders,1,460\nrefunds,0,900\n");
        let j = json(&t.run(&["export", u, "billing", "--format", "json", "--id", "2"]));
        assert_eq!(j["refunds"]["0"], 200);

        // Bad input: unknown stream, bad URL, unknown id.
        let e = error(&t.run(&["show", u, "nope"]));
        assert!(
            e.contains("stream=nope") && e.contains("no checkpoint"),
            "{e}"
        );
        let e = error(&t.run(&["show", u, "billing", "--id", "99"]));
        assert!(e.contains("not found"), "{e}");
        let e = error(&t.run(&["streams", "ftp://x/y"]));
        assert!(e.contains("unsupported scheme"), "{e}");
    }
}

#[test]
fn secrets_in_urls_are_never_printed() {
    let o = Command::new(BIN)
        .args([
            "streams",
            "s3://bucket/p?aws_secret_access_key=hunter2&bogus=1",
        ])
        .output()
        .unwrap();
    let e = error(&o);
    assert!(!e.contains("hunter2") && e.contains("bogus"), "{e}");
}

#[test]
fn verify_finds_damage_and_exits_one() {
    for t in targets("verify") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&["verify", u]));
        assert!(text.contains("no problems"), "{text}");
        // Damage checkpoint 3.
        damage(&t, "billing", 3);
        let o = t.run(&["verify", u, "billing"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("PROBLEMS") && text.contains("damaged checkpoint 3"),
            "{text}"
        );
        let j: serde_json::Value =
            serde_json::from_slice(&t.run(&["--json", "verify", u]).stdout).unwrap();
        assert_eq!(j["problems"], true);
        assert_eq!(j["streams"][0]["damaged"][0]["id"], 3);
        // show of the damaged id says so; latest is unaffected.
        let e = error(&t.run(&["show", u, "billing", "--id", "3"]));
        assert!(e.contains("damaged") && e.contains("checksum"), "{e}");
        ok(&t.run(&["show", u, "billing"]));
    }
}

/// Flips a byte of checkpoint `id` through the raw backend.
fn damage(t: &Target, stream: &str, id: u64) {
    let name = format!("streams/{stream}/{id:020}.tdm");
    match &t._dir {
        Some(_) => {
            let path = std::path::Path::new(&t.url).join(&name);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[30] ^= 0xff;
            std::fs::write(&path, bytes).unwrap();
        }
        None => {
            use object_store::ObjectStoreExt;
            let url = url::Url::parse(&t.url).unwrap();
            let mut b =
                object_store::aws::AmazonS3Builder::new().with_bucket_name(url.host_str().unwrap());
            for (k, v) in &t.env {
                b = b.with_config(k.to_ascii_lowercase().parse().unwrap(), v);
            }
            let s3 = b.build().unwrap();
            let path =
                object_store::path::Path::from(format!("{}/{name}", url.path().trim_matches('/')));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut bytes = s3.get(&path).await.unwrap().bytes().await.unwrap().to_vec();
                bytes[30] ^= 0xff;
                s3.put(&path, bytes.into()).await.unwrap();
            });
        }
    }
}

#[test]
fn compact_dry_run_then_for_real() {
    for t in targets("compact") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&[
            "compact",
            u,
            "billing",
            "--ttl",
            "0s",
            "--keep",
            "2",
            "--dry-run",
        ]));
        assert!(
            text.contains("would delete 4 checkpoint(s) (ids 1..4)"),
            "{text}"
        );
        assert!(text.contains("nothing was deleted"), "{text}");
        assert_eq!(
            t.open()
                .history("billing", &Default::default())
                .unwrap()
                .len(),
            6
        );
        let j = json(&t.run(&[
            "--json", "compact", u, "billing", "--ttl", "0s", "--keep", "2",
        ]));
        assert_eq!(j["deleted"], serde_json::json!([1, 2, 3, 4]));
        assert_eq!(
            t.open()
                .history("billing", &Default::default())
                .unwrap()
                .len(),
            2
        );
        let e = error(&t.run(&["compact", u, "billing", "--ttl", "forever"]));
        assert!(e.contains("cannot read duration"), "{e}");
        let e = error(&t.run(&["compact", u, "billing"]));
        assert!(e.contains("--ttl"), "{e}");
    }
}

#[test]
fn reset_is_a_dry_run_until_executed() {
    for t in targets("reset") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&[
            "reset",
            u,
            "billing",
            "--shift-by",
            "-50",
            "--topic",
            "orders:1",
        ]));
        assert!(
            text.contains("460") && text.contains("410") && text.contains("-50"),
            "{text}"
        );
        assert!(text.contains("dry run"), "{text}");
        assert_eq!(t.open().latest("billing").unwrap().unwrap().id, 6);

        let o = t.run(&["reset", u, "billing", "--to-checkpoint", "2", "--execute"]);
        let text = ok(&o);
        // The reset's writer claims the stream (checkpoint 7), then writes checkpoint 8.
        assert!(text.contains("written as checkpoint 8"), "{text}");
        assert!(stderr(&o).contains("will be fenced"), "{}", stderr(&o));
        let latest = t.open().latest("billing").unwrap().unwrap();
        assert_eq!(latest.id, 8);
        assert_eq!(latest.offsets, offsets(100));
        assert_eq!(latest.metadata["sink"], b"part-7", "metadata carried over");
        // History is never rewritten.
        assert_eq!(t.open().get("billing", 6).unwrap().offsets, offsets(450));

        let j = json(&t.run(&[
            "--json",
            "reset",
            u,
            "billing",
            "--to-offset",
            "5",
            "--topic",
            "refunds",
        ]));
        assert_eq!(j["dry_run"], true);
        assert_eq!(j["changes"][0]["after"], 5);

        // Conflicting or missing modes are usage errors.
        let e = error(&t.run(&["reset", u, "billing", "--to-offset", "5", "--shift-by", "1"]));
        assert!(e.contains("cannot be used with"), "{e}");
        let e = error(&t.run(&["reset", u, "billing"]));
        assert!(e.contains("required"), "{e}");
        let e = error(&t.run(&["reset", u, "billing", "--to-earliest"]));
        assert!(e.contains("--bootstrap-servers"), "{e}");
        let e = error(&t.run(&[
            "reset",
            u,
            "billing",
            "--shift-by",
            "1",
            "--topic",
            "orders:x",
        ]));
        assert!(e.contains("not a partition number"), "{e}");
    }
}

#[test]
fn export_then_import_csv_round_trips_and_bad_csv_is_refused() {
    for t in targets("import") {
        populate(&t);
        let u = t.url.as_str();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("offsets.csv");
        std::fs::write(&file, ok(&t.run(&["export", u, "billing"]))).unwrap();
        let f = file.to_str().unwrap();
        let text = ok(&t.run(&["import", u, "copy", "--from-csv", f]));
        assert!(text.contains("dry run"), "{text}");
        assert!(t.open().latest("copy").unwrap().is_none());
        ok(&t.run(&["import", u, "copy", "--from-csv", f, "--execute"]));
        assert_eq!(
            t.open().latest("copy").unwrap().unwrap().offsets,
            offsets(450)
        );

        std::fs::write(&file, "orders,0,1\norders,zero,2\n").unwrap();
        let e = error(&t.run(&["import", u, "copy", "--from-csv", f]));
        assert!(
            e.contains("line 2") && e.contains("\"zero\" is not a decimal"),
            "{e}"
        );
        std::fs::write(&file, "orders,0,1\norders,0,2\n").unwrap();
        let e = error(&t.run(&["import", u, "copy", "--from-csv", f]));
        assert!(e.contains("listed twice (first on line 1)"), "{e}");
        let e = error(&t.run(&["import", u, "copy", "--from-csv", "/nonexistent.csv"]));
        assert!(e.contains("cannot read"), "{e}");
    }
}

#[test]
fn cat_decodes_any_file_and_reports_corruption() {
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../format-spec/vectors");
    let o = Command::new(BIN)
        .args(["--json", "cat"])
        .arg(vectors.join("v1-unicode-topics.tdm"))
        .output()
        .unwrap();
    assert_eq!(
        ok(&o),
        std::fs::read_to_string(vectors.join("v1-unicode-topics.json")).unwrap()
    );
    let o = Command::new(BIN)
        .arg("cat")
        .arg(vectors.join("v1.1-unknown-extension.tdm"))
        .output()
        .unwrap();
    assert!(ok(&o).contains("skipped extension: tag 7"));
    let o = Command::new(BIN)
        .arg("cat")
        .arg(vectors.join("v1-one-topic.bitflip.tdm"))
        .output()
        .unwrap();
    let e = error(&o);
    assert!(e.starts_with("error: checksum_mismatch: "), "{e}");
    assert!(e.contains("checksum mismatch"), "{e}");
    let o = Command::new(BIN)
        .arg("cat")
        .arg(vectors.join("v1-one-topic.future-major.tdm"))
        .output()
        .unwrap();
    assert!(error(&o).contains("upgrade tidemark"));
    // Every golden error file: the kind identifier first (FORMAT.md §9), as text and as JSON.
    let mut checked = 0;
    for entry in std::fs::read_dir(&vectors).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.to_str().and_then(|p| p.strip_suffix(".error")) else {
            continue;
        };
        let kind = std::fs::read_to_string(&path).unwrap();
        let kind = kind.trim().split(':').next().unwrap().trim().to_owned();
        let tdm = format!("{name}.tdm");
        let o = Command::new(BIN).arg("cat").arg(&tdm).output().unwrap();
        let e = error(&o);
        assert!(e.starts_with(&format!("error: {kind}: ")), "{tdm}: {e}");
        let o = Command::new(BIN)
            .args(["--json", "cat"])
            .arg(&tdm)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{tdm}");
        assert!(stderr(&o).is_empty(), "{tdm}: {}", stderr(&o));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(j["error"], kind.as_str(), "{tdm}: {j}");
        assert!(
            j["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{tdm}: {j}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} golden error files");
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().to_str().unwrap();
    let store = Store::open(url).unwrap();
    let mut w = store.writer("wide", WriterConfig::new("app", "1")).unwrap();
    let wide: Offsets = (0..50_000)
        .map(|p| ("t", p, 1_000_000 + p as i64))
        .collect();
    w.commit(NewCheckpoint::new(wide)).unwrap();
    let mut child = Command::new(BIN)
        .args(["export", url, "wide"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn every_subcommand_has_help_with_an_example_and_completions_work() {
    for sub in [
        "streams",
        "show",
        "log",
        "diff",
        "verify",
        "compact",
        "reset",
        "lag",
        "export",
        "import",
        "cat",
        "demo",
        "completions",
    ] {
        let o = Command::new(BIN).args([sub, "--help"]).output().unwrap();
        let text = ok(&o);
        assert!(text.contains("Example"), "{sub} --help has no example");
    }
    let text = ok(&Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap());
    assert!(text.contains("tidemark"));
    let e = error(&Command::new(BIN).arg("frobnicate").output().unwrap());
    assert!(e.contains("unrecognized subcommand"), "{e}");
}

#[test]
fn kafka_backed_subcommands_lag_reset_and_import_group() {
    let broker = kafka::broker();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("cli-{nanos}");
    kafka::create_topic(&broker, &topic, 2);
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().to_str().unwrap();
    let store = Store::open(url).unwrap();
    let mut w = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    w.commit(NewCheckpoint::new(
        [(topic.as_str(), 0, 40), (topic.as_str(), 1, 70)]
            .into_iter()
            .collect(),
    ))
    .unwrap();
    drop(w);
    let b = broker.bootstrap.as_str();
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();

    let text = ok(&run(&["lag", url, "s", "--bootstrap-servers", b]));
    assert!(text.contains("total lag: 90"), "{text}");
    let j = json(&run(&["--json", "lag", url, "s", "--bootstrap-servers", b]));
    assert_eq!(j["total_lag"], 90);
    let section = readme_json_section();
    let writer = readme_shape(&section, "`writer` is");
    check_shape(&j, &readme_shape(&section, "`lag`"), &writer, "lag");
    assert_eq!(j["partitions"][0]["log_end"], 100);

    let text = ok(&run(&[
        "reset",
        url,
        "s",
        "--to-latest",
        "--bootstrap-servers",
        b,
    ]));
    assert!(text.contains("+60") && text.contains("+30"), "{text}");
    ok(&run(&[
        "reset",
        url,
        "s",
        "--to-earliest",
        "--bootstrap-servers",
        b,
        "--execute",
    ]));
    let c = store.latest("s").unwrap().unwrap();
    assert_eq!(
        (c.offsets.get(&topic, 0), c.offsets.get(&topic, 1)),
        (Some(0), Some(0))
    );

    // A consumer group's committed offsets, imported.
    let group = format!("g-{nanos}");
    let consumer: rdkafka::consumer::BaseConsumer =
        kafka::consumer_config(b, &group).create().unwrap();
    tidemark::kafka::mirror_offsets(
        &consumer,
        &[(topic.as_str(), 0, 12), (topic.as_str(), 1, 34)]
            .into_iter()
            .collect(),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    drop(consumer);
    let text = ok(&run(&[
        "import",
        url,
        "from-group",
        "--from-kafka-group",
        &group,
        "--bootstrap-servers",
        b,
        "--execute",
    ]));
    assert!(text.contains("written as checkpoint"), "{text}");
    let c = store.latest("from-group").unwrap().unwrap();
    assert_eq!(
        (c.offsets.get(&topic, 0), c.offsets.get(&topic, 1)),
        (Some(12), Some(34))
    );
    let e = error(&run(&[
        "import",
        url,
        "x",
        "--from-kafka-group",
        "no-such-group-ever",
        "--bootstrap-servers",
        b,
    ]));
    assert!(e.contains("no committed offsets"), "{e}");
}

#[test]
fn the_demo_runs_without_any_server() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(text.contains("killed with SIGKILL"), "{text}");
    assert!(text.contains("resume plan from checkpoint"), "{text}");
    assert!(text.contains("every partition read to its end"), "{text}");
    assert!(text.contains("no problems"), "{text}");
}

#[test]
fn import_from_a_real_spark_checkpoint_folder() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/spark-checkpoint");
    let f = fixture.to_str().unwrap();
    for t in targets("spark") {
        let u = t.url.as_str();
        // The query has two Kafka-shaped sources: without --topic the choice is ambiguous.
        let e = error(&t.run(&["import", u, "spark", "--from-spark-checkpoint", f]));
        assert!(e.contains("orders") && e.contains("audit"), "{e}");
        let o = t.run(&[
            "import",
            u,
            "spark",
            "--from-spark-checkpoint",
            f,
            "--topic",
            "orders",
            "--execute",
        ]);
        let text = ok(&o);
        assert!(text.contains("written as checkpoint"), "{text}");
        assert!(
            stderr(&o).contains("batch 3 (newest committed)"),
            "{}",
            stderr(&o)
        );
        let c = t.open().latest("spark").unwrap().unwrap();
        let expected: Offsets = [
            ("orders", 0, 31),
            ("orders", 1, 22),
            ("orders", 2, 17),
            ("payments", 0, 9),
            ("payments", 1, 10),
        ]
        .into_iter()
        .collect();
        assert_eq!(c.offsets, expected);
        let j = json(&t.run(&[
            "--json",
            "import",
            u,
            "audit",
            "--from-spark-checkpoint",
            f,
            "--topic",
            "audit",
        ]));
        assert_eq!(j["changes"][0]["after"], 3);
        let e = error(&t.run(&[
            "import",
            u,
            "x",
            "--from-spark-checkpoint",
            "/nonexistent-dir",
        ]));
        assert!(e.contains("nonexistent-dir"), "{e}");
    }
}

#[test]
fn import_from_zookeeper_with_and_without_chroot() {
    let server = match std::env::var("TIDEMARK_TEST_ZOOKEEPER") {
        Ok(s) if !s.is_empty() => s,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TIDEMARK_TEST_ZOOKEEPER is not set (scripts/test.sh starts ZooKeeper)"
            );
            eprintln!("skipping: TIDEMARK_TEST_ZOOKEEPER is not set");
            return;
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let group = format!("old-consumer-{nanos}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use zookeeper_client::{Acls, Client, CreateMode};
        let client = Client::connector().connect(&server).await.unwrap();
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        for (root, base) in [("", 100), ("/kafka", 500)] {
            for (topic, partition) in [("orders", 0), ("orders", 1), ("clicks", 0)] {
                let dir = format!("{root}/consumers/{group}/offsets/{topic}");
                client.mkdir(&dir, &options).await.unwrap();
                let value = (base + partition).to_string();
                client
                    .create(&format!("{dir}/{partition}"), value.as_bytes(), &options)
                    .await
                    .unwrap();
            }
        }
    });
    for t in targets("zookeeper") {
        let u = t.url.as_str();
        ok(&t.run(&[
            "import",
            u,
            "zk",
            "--from-zookeeper",
            &server,
            "--group",
            &group,
            "--execute",
        ]));
        let c = t.open().latest("zk").unwrap().unwrap();
        assert_eq!(
            c.offsets,
            [("clicks", 0, 100), ("orders", 0, 100), ("orders", 1, 101)]
                .into_iter()
                .collect()
        );
        ok(&t.run(&[
            "import",
            u,
            "zk2",
            "--from-zookeeper",
            &server,
            "--group",
            &group,
            "--chroot",
            "/kafka",
            "--execute",
        ]));
        assert_eq!(
            t.open()
                .latest("zk2")
                .unwrap()
                .unwrap()
                .offsets
                .get("orders", 1),
            Some(501)
        );
        let e = error(&t.run(&[
            "import",
            u,
            "zk3",
            "--from-zookeeper",
            &server,
            "--group",
            "no-such-group",
        ]));
        assert!(e.contains("no-such-group"), "{e}");
        let e = error(&t.run(&["import", u, "zk3", "--from-zookeeper", &server]));
        assert!(e.contains("--group"), "{e}");
    }
}

/// A shape of the README's "JSON output" section: `{a, b: [{c, d}], e: {x: y}}`.
#[derive(Debug)]
enum Shape {
    /// An object with at least these keys.
    Object(Vec<(String, Option<Shape>)>),
    /// An array whose items have this shape.
    Array(Box<Shape>),
}

/// Parses one shape of the README (keys are words; `{key: value}` with a one-key object
/// whose key is a placeholder such as `topic` stands for a map and is not checked inside).
fn parse_shape(text: &str) -> Shape {
    let tokens: Vec<String> = {
        let mut out = Vec::new();
        let mut word = String::new();
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if "{}[],:".contains(c) {
                out.push(c.to_string());
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
        out
    };
    fn shape(tokens: &[String], at: &mut usize) -> Shape {
        match tokens[*at].as_str() {
            "[" => {
                *at += 1;
                let inner = shape(tokens, at);
                assert_eq!(tokens[*at], "]");
                *at += 1;
                Shape::Array(Box::new(inner))
            }
            "{" => {
                *at += 1;
                let mut keys = Vec::new();
                loop {
                    let key = tokens[*at].clone();
                    *at += 1;
                    let value = if tokens[*at] == ":" {
                        *at += 1;
                        if tokens[*at] == "[" || tokens[*at] == "{" {
                            Some(shape(tokens, at))
                        } else {
                            *at += 1; // a placeholder value: `offset`, `hex`
                            None
                        }
                    } else {
                        None
                    };
                    keys.push((key, value));
                    let sep = tokens[*at].clone();
                    *at += 1;
                    if sep == "}" {
                        break;
                    }
                    assert_eq!(sep, ",", "in {tokens:?}");
                }
                Shape::Object(keys)
            }
            other => panic!("unexpected {other:?} in {tokens:?}"),
        }
    }
    let mut at = 0;
    let s = shape(&tokens, &mut at);
    assert_eq!(at, tokens.len(), "trailing text in {text:?}");
    s
}

fn shape_is_array(shape: &Shape) -> bool {
    matches!(shape, Shape::Array(_))
}

/// Placeholder keys of the README's map shapes: `{topic: {partition: offset}}`, `{key: hex}`.
const MAP_PLACEHOLDERS: [&str; 3] = ["topic", "partition", "key"];

#[track_caller]
fn check_shape(value: &serde_json::Value, shape: &Shape, writer: &Shape, at: &str) {
    match shape {
        Shape::Array(inner) => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array: {value}"));
            for (i, item) in items.iter().enumerate() {
                check_shape(item, inner, writer, &format!("{at}[{i}]"));
            }
        }
        Shape::Object(keys) => {
            let object = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object: {value}"));
            if let [(key, _)] = &keys[..]
                && MAP_PLACEHOLDERS.contains(&key.as_str())
            {
                return; // a map with any keys
            }
            for (key, inner) in keys {
                let v = object
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}: key {key:?} missing from {value}"));
                if key == "writer" {
                    check_shape(v, writer, writer, &format!("{at}.writer"));
                } else if let Some(inner) = inner
                    && !v.is_null()
                {
                    check_shape(v, inner, writer, &format!("{at}.{key}"));
                }
            }
        }
    }
}

/// The shape the README gives for `what` (`` `streams` an array of `{...}` ``), read from the
/// README itself, so that the test and the documentation cannot drift apart.
fn readme_shape(section: &str, what: &str) -> Shape {
    let start = section
        .find(what)
        .unwrap_or_else(|| panic!("README JSON output: {what:?} not found"));
    let rest = &section[start + what.len()..];
    let open = rest.find(['{', '[']).unwrap();
    let mut depth = 0;
    let mut end = open;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    end = open + i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    let shape = parse_shape(&rest[open..end]);
    if rest[..open].contains("an array of") {
        Shape::Array(Box::new(shape))
    } else {
        shape
    }
}

/// The README's "JSON output" section, on one line.
fn readme_json_section() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("### JSON output").unwrap();
    let s = &readme[start..];
    let end = s[4..].find("\n#").map_or(s.len(), |e| e + 4);
    s[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn json_output_matches_the_readme_schema() {
    let section = readme_json_section();
    let writer = readme_shape(&section, "`writer` is");
    let shapes = [
        ("streams", readme_shape(&section, "`streams`")),
        ("show", readme_shape(&section, "`show`")),
        ("log", readme_shape(&section, "`log`")),
        ("diff", readme_shape(&section, "`diff`")),
        ("verify", readme_shape(&section, "`verify`")),
        ("reset", readme_shape(&section, "`reset` and `import`")),
        ("lag", readme_shape(&section, "`lag`")),
        ("export", readme_shape(&section, "`export --format json`")),
    ];
    // The README calls compact's output "the compaction report": these are its keys.
    let compact = parse_shape(
        "{dry_run, newest_valid, kept, deleted, bytes_freed, temporary_deleted, skipped, foreign}",
    );

    let t = &targets("json-schema")[0];
    populate(t);
    let u = t.url.as_str();
    // A second stream whose first checkpoint is damaged: verify lists it, log marks it.
    let mut w = t
        .open()
        .writer("other", WriterConfig::new("app", "1"))
        .unwrap();
    w.commit(NewCheckpoint::new(offsets(1))).unwrap();
    drop(w);
    damage(t, "other", 1);
    let run = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        json(&t.run(&all))
    };
    for (command, shape) in &shapes {
        let value = match *command {
            "streams" => run(&["streams", u]),
            "show" => run(&["show", u, "billing"]),
            "log" => run(&["log", u, "billing"]),
            "diff" => run(&["diff", u, "billing", "2", "6"]),
            // Exit code 1: the damaged stream is a problem.
            "verify" => serde_json::from_slice(&t.run(&["--json", "verify", u]).stdout).unwrap(),
            "reset" => run(&["reset", u, "billing", "--shift-by", "-1"]),
            "export" => run(&["export", u, "billing", "--format", "json"]),
            // Needs a broker: checked in kafka_backed_subcommands_lag_reset_and_import_group.
            "lag" => continue,
            other => unreachable!("{other}"),
        };
        if shape_is_array(shape) {
            assert!(
                value.as_array().is_some_and(|a| !a.is_empty()),
                "{command}: {value}"
            );
        }
        check_shape(&value, shape, &writer, command);
    }
    let verified: serde_json::Value =
        serde_json::from_slice(&t.run(&["--json", "verify", u]).stdout).unwrap();
    assert_eq!(verified["streams"][1]["damaged"][0]["id"], 1, "{verified}");
    // import prints the same document as reset.
    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(csv.path(), "orders,0,7\n").unwrap();
    let value = run(&[
        "import",
        u,
        "billing",
        "--from-csv",
        csv.path().to_str().unwrap(),
    ]);
    check_shape(&value, &shapes[5].1, &writer, "import");
    let value = run(&["compact", u, "billing", "--ttl", "0s", "--dry-run"]);
    check_shape(&value, &compact, &writer, "compact");
    // show's document is the format's rendering of a checkpoint (FORMAT.md §9).
    let shown = t.run(&["--json", "show", u, "billing"]);
    let c = t.open().latest("billing").unwrap().unwrap();
    assert_eq!(stdout(&shown), tidemark::format::checkpoint_to_json(&c));
    // A damaged log entry is `{id, damaged: true}` at least.
    let value = run(&["log", u, "other"]);
    let entry = value
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == 1)
        .unwrap();
    assert_eq!(entry["damaged"], true, "{entry}");
    // And the shape checker itself goes red on a missing key.
    let missing = std::panic::catch_unwind(|| {
        check_shape(
            &serde_json::json!({"a": 1}),
            &parse_shape("{a, b}"),
            &writer,
            "test",
        )
    });
    assert!(missing.is_err());
}

/// Issue 11, case 2: a valid checkpoint whose times are past year 9999 (microseconds passed as
/// milliseconds) made every command that prints it panic (exit 101). Every command prints it
/// now, the times in ISO 8601's expanded form, JSON with the raw milliseconds.
#[test]
fn times_past_year_9999_are_printed_by_every_command() {
    const MICROS_AS_MS: u64 = 1_700_000_000_000_000;
    const SHOWN: &str = "+55840-11-08T22:13:20Z";
    for t in targets("far-times") {
        let u = t.url.as_str();
        let store = t.open();
        let mut w = store
            .writer("far", WriterConfig::new("app", "1.0"))
            .unwrap();
        for n in [1, 2] {
            w.commit(NewCheckpoint::new(offsets(n)).with_batch_time_ms(MICROS_AS_MS))
                .unwrap();
        }
        w.commit(NewCheckpoint::new(offsets(3)).with_batch_time_ms(u64::MAX))
            .unwrap();
        // A second stream in the same store: one odd stream must not break `streams`.
        store
            .writer("plain", WriterConfig::new("app", "1.0"))
            .unwrap()
            .commit(NewCheckpoint::new(offsets(1)))
            .unwrap();

        let text = ok(&t.run(&["streams", u]));
        assert!(
            text.contains("+584556019-04-03T14:25:51Z") && text.contains("plain"),
            "{text}"
        );
        let j = json(&t.run(&["--json", "streams", u]));
        assert_eq!(j[0]["stream"], "far");
        assert_eq!(j[0]["batch_time_ms"], u64::MAX);
        let text = ok(&t.run(&["show", u, "far", "--id", "3"]));
        assert!(text.contains(&format!("batch time: {SHOWN}")), "{text}");
        let j = json(&t.run(&["--json", "show", u, "far", "--id", "3"]));
        assert_eq!(j["batch_time_ms"], MICROS_AS_MS);
        ok(&t.run(&["show", u, "far"]));
        let text = ok(&t.run(&["log", u, "far"]));
        assert!(text.lines().count() >= 5, "{text}");
        let j = json(&t.run(&["--json", "log", u, "far"]));
        assert_eq!(j[0]["batch_time_ms"], u64::MAX);
        assert_eq!(j[1]["batch_time_ms"], MICROS_AS_MS);
        ok(&t.run(&["diff", u, "far", "2", "4"]));
        ok(&t.run(&["export", u, "far"]));
        ok(&t.run(&["verify", u]));
        ok(&t.run(&["--json", "verify", u]));
    }
    // `cat` of a file whose times are the largest the format holds.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("far.tdm");
    let checkpoint = tidemark::Checkpoint::new("far", offsets(1))
        .with_batch_time_ms(MICROS_AS_MS)
        .with_created_at_ms(u64::MAX);
    std::fs::write(&file, tidemark::format::encode(&checkpoint).unwrap()).unwrap();
    let o = Command::new(BIN).arg("cat").arg(&file).output().unwrap();
    let text = ok(&o);
    assert!(
        text.contains(&format!("batch time: {SHOWN}"))
            && text.contains("written:    +584556019-04-03T14:25:51Z"),
        "{text}"
    );
    let o = Command::new(BIN)
        .args(["--json", "cat"])
        .arg(&file)
        .output()
        .unwrap();
    let j = json(&o);
    assert_eq!(
        (&j["batch_time_ms"], &j["created_at_ms"]),
        (
            &serde_json::json!(MICROS_AS_MS),
            &serde_json::json!(u64::MAX)
        )
    );
}

/// Issue 11, case 7: names with control characters were printed raw to the terminal (an
/// escape sequence in a stream or topic name could rewrite the screen). Tables and text show
/// them escaped; JSON escapes them itself.
#[test]
fn control_characters_in_names_are_escaped_on_the_terminal() {
    let stream = "evil\u{1b}[31mred\nline";
    let topic = "t\u{1b}]0;title\u{7}\u{202e}";
    for t in targets("control") {
        let u = t.url.as_str();
        let store = t.open();
        let mut w = store
            .writer(stream, WriterConfig::new("app\r", "1.0"))
            .unwrap();
        let offsets: Offsets = [(topic, 0, 5)].into_iter().collect();
        w.commit(NewCheckpoint::new(offsets)).unwrap();
        for args in [
            vec!["streams", u],
            vec!["show", u, stream],
            vec!["log", u, stream],
            vec!["verify", u],
            vec!["diff", u, stream, "1", "2"],
            vec![
                "compact",
                u,
                stream,
                "--ttl",
                "1d",
                "--keep",
                "1",
                "--dry-run",
            ],
        ] {
            let text = ok(&t.run(&args));
            assert!(
                !text.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
                "{args:?}: {text:?}"
            );
            if args[0] != "diff" && args[0] != "log" {
                assert!(
                    text.contains(r"evil\u{1b}[31mred\nline"),
                    "{args:?}: {text}"
                );
            }
        }
        let text = ok(&t.run(&["show", u, stream]));
        assert!(text.contains(r"t\u{1b}]0;title\u{7}\u{202e}"), "{text}");
        // JSON keeps the names, escaped as JSON escapes them.
        let j = json(&t.run(&["--json", "show", u, stream]));
        assert_eq!(j["stream"], stream);
        assert!(j["offsets"].get(topic).is_some(), "{j}");
        let raw = ok(&t.run(&["--json", "streams", u]));
        assert!(raw.contains(r"evil\u001b[31mred\nline"), "{raw}");
        // Error messages too.
        let e = error(&t.run(&["show", u, "nope\u{1b}[2J"]));
        assert!(!e.contains('\u{1b}') && e.contains(r"\u{1b}[2J"), "{e:?}");
    }
}

/// Issue 11, case 7: tracing warnings carried ANSI colour codes when stderr was not a
/// terminal (a file, a pipe, a log collector).
#[test]
fn warnings_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    for t in targets("colours") {
        populate(&t);
        damage(&t, "billing", 6);
        let o = t.run(&["show", t.url.as_str(), "billing"]);
        ok(&o);
        let e = stderr(&o);
        assert!(e.contains("skipped damaged checkpoint"), "{e}");
        assert!(!e.contains('\u{1b}'), "{e:?}");
    }
}

/// Issue 11, case 7: an S3 error repeated its chain of causes 3 to 6 times (600 to 900
/// characters). Each cause is printed once: a server that refuses connections, and a bucket
/// that does not exist on the S3 test server.
#[test]
fn an_s3_error_prints_each_cause_once() {
    let refused = Command::new(BIN)
        .args([
            "streams",
            "s3://b/x?endpoint=http://127.0.0.1:1&allow_http=true&region=us-east-1&retries=1",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("TIDEMARK_LOG")
        .output()
        .unwrap();
    let mut cases = vec![(error(&refused), "connection refused", 450)];
    if let Some(server) = tidemark_testkit::s3::server() {
        let o = Command::new(BIN)
            .args(["streams", "s3://no-such-bucket-for-tidemark/x"])
            .envs(server.env())
            .env_remove("TIDEMARK_LOG")
            .output()
            .unwrap();
        // The server's XML answer is part of the message.
        cases.push((error(&o), "nosuchbucket", 650));
    }
    for (e, expected, longest) in cases {
        let chars: Vec<char> = e.chars().collect();
        let mut seen = std::collections::BTreeSet::new();
        for window in chars.windows(32) {
            let piece: String = window.iter().collect();
            assert!(
                seen.insert(piece.clone()),
                "{piece:?} appears twice in: {e}"
            );
        }
        assert!(e.len() < longest, "{} characters: {e}", e.len());
        assert!(e.to_ascii_lowercase().contains(expected), "{e}");
    }
}
