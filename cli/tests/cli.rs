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
        Store::open_with(&self.url, self.options()).unwrap()
    }

    fn options(&self) -> tidemark::store::StoreOptions {
        // The command reads the S3 settings from AWS_* variables; the library gets them as options.
        let mut options = tidemark::store::StoreOptions::default();
        for (k, v) in &self.env {
            let key = k.trim_start_matches("AWS_").to_ascii_lowercase();
            options.backend_options.push((key, v.clone()));
        }
        options
    }

    /// The bytes of checkpoint `id` of `stream`, as the store holds them.
    fn checkpoint_bytes(&self, stream: &str, id: u64) -> Option<Vec<u8>> {
        let store = tidemark::store::Store::open_with(&self.url, self.options()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(store.get_bytes(stream, id))
            .unwrap()
            .map(|b| b.to_vec())
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
            e.contains("stream \"nope\" not found") && e.contains("streams there: billing"),
            "{e}"
        );
        let e = error(&t.run(&["show", u, "billing", "--id", "99"]));
        assert!(e.contains("no checkpoint 99"), "{e}");
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
    let mut bytes = raw_get(t, &name).unwrap();
    bytes[30] ^= 0xff;
    raw_put(t, &name, bytes);
}

/// Runs `f` on the S3 bucket behind an S3 target, with the store's prefix.
fn on_s3<T>(t: &Target, f: impl AsyncFnOnce(object_store::aws::AmazonS3, String) -> T) -> T {
    let url = url::Url::parse(&t.url).unwrap();
    let mut b = object_store::aws::AmazonS3Builder::new().with_bucket_name(url.host_str().unwrap());
    for (k, v) in &t.env {
        b = b.with_config(k.to_ascii_lowercase().parse().unwrap(), v);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(f(
        b.build().unwrap(),
        url.path().trim_matches('/').to_owned(),
    ))
}

/// The bytes of the object `name` (relative to the store's root), behind the store's back.
fn raw_get(t: &Target, name: &str) -> Option<Vec<u8>> {
    use object_store::ObjectStoreExt;
    match t.url.starts_with("s3://") {
        false => std::fs::read(std::path::Path::new(&t.url).join(name)).ok(),
        true => on_s3(t, async |s3, prefix| {
            let path = object_store::path::Path::from(format!("{prefix}/{name}"));
            match s3.get(&path).await {
                Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
                Err(_) => None,
            }
        }),
    }
}

/// Writes the object `name` (relative to the store's root), behind the store's back.
fn raw_put(t: &Target, name: &str, bytes: Vec<u8>) {
    use object_store::ObjectStoreExt;
    match t.url.starts_with("s3://") {
        false => {
            let path = std::path::Path::new(&t.url).join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        true => on_s3(t, async |s3, prefix| {
            let path = object_store::path::Path::from(format!("{prefix}/{name}"));
            s3.put(&path, bytes.into()).await.unwrap();
        }),
    }
}

#[test]
fn compact_dry_run_then_for_real() {
    for t in targets("compact") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&["compact", u, "billing", "--ttl", "0s", "--keep", "2"]));
        assert!(
            text.contains("would delete 4 checkpoint(s) (ids 1..4) and 0 temporary file(s), "),
            "{text}"
        );
        assert!(text.contains(" B; kept 2"), "{text}");
        assert_eq!(
            stdout(&t.run(&[
                "compact",
                u,
                "billing",
                "--ttl",
                "0s",
                "--keep",
                "2",
                "--dry-run"
            ])),
            text
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
            "--json",
            "compact",
            u,
            "billing",
            "--ttl",
            "0s",
            "--keep",
            "2",
            "--execute",
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

        // The stream's writer committed just now: --execute is refused while it looks alive
        // (the dry run already warns), and nothing is written.
        let e = error(&t.run(&[
            "reset",
            u,
            "billing",
            "--to-checkpoint",
            "2",
            "--all-topics",
            "--execute",
        ]));
        assert!(e.contains("looks alive") && e.contains("--force"), "{e}");
        assert_eq!(t.open().latest("billing").unwrap().unwrap().id, 6);
        let o = t.run(&[
            "reset",
            u,
            "billing",
            "--to-checkpoint",
            "2",
            "--all-topics",
        ]);
        assert!(
            stderr(&o).contains("--execute would be refused"),
            "{}",
            stderr(&o)
        );
        let o = t.run(&[
            "reset",
            u,
            "billing",
            "--to-checkpoint",
            "2",
            "--all-topics",
            "--execute",
            "--force",
        ]);
        let text = ok(&o);
        // One checkpoint: a claim holding the new offsets, marked as the operator's action.
        assert!(
            text.contains("written as checkpoint 7 (reset --to-checkpoint 2)"),
            "{text}"
        );
        assert!(stderr(&o).contains("is fenced"), "{}", stderr(&o));
        let latest = t.open().latest("billing").unwrap().unwrap();
        assert_eq!(latest.id, 7);
        assert_eq!(latest.writer.epoch, 7);
        assert_eq!(latest.offsets, offsets(100));
        assert_eq!(latest.metadata["sink"], b"part-7", "metadata carried over");
        let action = String::from_utf8(latest.metadata["tidemark.operator"].clone()).unwrap();
        assert!(
            action.starts_with("reset --to-checkpoint 2 by "),
            "{action}"
        );
        // log shows the action and the rewind, not "+0".
        let text = ok(&t.run(&["log", u, "billing", "--limit", "1"]));
        assert!(text.contains("reset --to-checkpoint 2 by "), "{text}");
        assert!(text.contains("-1400"), "{text}");
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

        // Issue 11.3: a negative offset is refused by the dry run and by --execute, in both
        // spellings, before anything is written (no claim).
        for how in [&["--to-offset=-5"][..], &["--to-offset", "-5"]] {
            for execute in [false, true] {
                let mut args = vec!["reset", u, "billing", "--all-topics", "--force"];
                args.extend_from_slice(how);
                if execute {
                    args.push("--execute");
                }
                let e = error(&t.run(&args));
                assert!(e.contains("offset -5 cannot be written"), "{e}");
                assert_eq!(t.open().latest("billing").unwrap().unwrap().id, 7);
            }
        }
        // Issue 12: clamping below 0 is reported; unknown partitions are refused; a topic or
        // --all-topics is required; --export prints the plan as CSV.
        let text = ok(&t.run(&[
            "reset",
            u,
            "billing",
            "--shift-by",
            "-100000",
            "--topic",
            "orders:0",
        ]));
        assert!(text.contains("clamped: -99900 is below the 0"), "{text}");
        let j = json(&t.run(&[
            "--json",
            "reset",
            u,
            "billing",
            "--shift-by",
            "-100000",
            "--topic",
            "orders:0",
        ]));
        assert_eq!(j["changes"][0]["clamped"]["to"], "zero");
        assert_eq!(j["changes"][0]["clamped"]["requested"], -99_900);
        let e = error(&t.run(&[
            "reset",
            u,
            "billing",
            "--to-offset",
            "5",
            "--topic",
            "orders:7",
        ]));
        assert!(e.contains("partition 7 is not in the checkpoint"), "{e}");
        let text = ok(&t.run(&[
            "reset",
            u,
            "billing",
            "--to-offset",
            "5",
            "--topic",
            "orders:7",
            "--allow-new-partitions",
            "--export",
        ]));
        assert_eq!(text, "orders,7,5\n");
        let e = error(&t.run(&["reset", u, "billing", "--to-offset", "5"]));
        assert!(e.contains("--all-topics"), "{e}");
        let text = ok(&t.run(&["reset", u, "billing", "--to-current", "--all-topics"]));
        assert!(text.contains("+0"), "{text}");

        // Conflicting or missing modes are usage errors.
        let e = error(&t.run(&["reset", u, "billing", "--to-offset", "5", "--shift-by", "1"]));
        assert!(e.contains("cannot be used with"), "{e}");
        let e = error(&t.run(&["reset", u, "billing"]));
        assert!(e.contains("required"), "{e}");
        let e = error(&t.run(&["reset", u, "billing", "--to-earliest", "--all-topics"]));
        assert!(e.contains("--bootstrap-server"), "{e}");
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
        // One write, marked as the import.
        let copy = t.open().latest("copy").unwrap().unwrap();
        assert_eq!(copy.writer.epoch, copy.id);
        let action = String::from_utf8(copy.metadata["tidemark.operator"].clone()).unwrap();
        assert!(action.starts_with("import --from-csv "), "{action}");

        // kafka-consumer-groups' multi-group export, with its header row.
        std::fs::write(
            &file,
            "GROUP,TOPIC,PARTITION,OFFSET\nbilling,orders,0,11\nreports,orders,0,22\n",
        )
        .unwrap();
        let e = error(&t.run(&["import", u, "groups", "--from-csv", f]));
        assert!(
            e.contains("2 consumer groups (billing, reports)") && e.contains("--group"),
            "{e}"
        );
        let e = error(&t.run(&["import", u, "groups", "--from-csv", f, "--group", "nope"]));
        assert!(e.contains("\"nope\" is not in the file"), "{e}");
        ok(&t.run(&[
            "import",
            u,
            "groups",
            "--from-csv",
            f,
            "--group",
            "reports",
            "--execute",
        ]));
        let groups = t.open().latest("groups").unwrap().unwrap();
        assert_eq!(groups.offsets.get("orders", 0), Some(22));
        std::fs::write(&file, "topic,partition,offset\norders,0,5\n").unwrap();
        let text = ok(&t.run(&["import", u, "groups", "--from-csv", f]));
        assert!(text.contains("-17"), "{text}");
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
        "describe",
        "delete-stream",
        "copy",
        "man",
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

/// A topic of 2 partitions with 100 messages each, and a local store whose stream `s` has
/// checkpointed offsets 40 and 70 in it (lag 90): the broker, the topic, the store's folder.
fn topic_and_checkpoint(prefix: &str) -> (kafka::Broker, String, tempfile::TempDir) {
    let broker = kafka::broker();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("{prefix}-{nanos}");
    kafka::create_topic(&broker, &topic, 2);
    for p in 0..2 {
        kafka::produce(&broker.bootstrap, &topic, p, 0, 100);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let mut w = store.writer("s", WriterConfig::new("app", "1")).unwrap();
    w.commit(NewCheckpoint::new(
        [(topic.as_str(), 0, 40), (topic.as_str(), 1, 70)]
            .into_iter()
            .collect(),
    ))
    .unwrap();
    (broker, topic, dir)
}

#[test]
fn kafka_backed_subcommands_lag_reset_and_import_group() {
    let (broker, topic, dir) = topic_and_checkpoint("cli");
    let url = dir.path().to_str().unwrap();
    let store = Store::open(url).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
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
        "--all-topics",
        "--bootstrap-servers",
        b,
    ]));
    assert!(text.contains("+60") && text.contains("+30"), "{text}");
    ok(&run(&[
        "reset",
        url,
        "s",
        "--to-earliest",
        "--all-topics",
        "--bootstrap-servers",
        b,
        "--execute",
        "--force",
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
    // --force: outside CI the mock cluster stands in, and it cannot tell a group's members.
    let text = ok(&run(&[
        "import",
        url,
        "from-group",
        "--from-kafka-group",
        &group,
        "--bootstrap-servers",
        b,
        "--execute",
        "--force",
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

/// A broker that will not tell a consumer group's members (here the mock cluster, which
/// answers no DescribeGroups; in production a client without Describe permission on the
/// group): a dry run warns, `--execute` is refused unless `--force`, for reset and import.
#[test]
fn a_group_whose_members_cannot_be_told_warns_in_a_dry_run_and_stops_execute() {
    let broker = kafka::mock_broker();
    let topic = "unknown-members";
    kafka::create_topic(&broker, topic, 1);
    kafka::produce(&broker.bootstrap, topic, 0, 0, 10);
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().to_str().unwrap();
    let csv = dir.path().join("offsets.csv");
    std::fs::write(&csv, format!("{topic},0,5\n")).unwrap();
    let csv = csv.to_str().unwrap();
    let b = broker.bootstrap.as_str();
    let run = |args: &[&str], more: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--bootstrap-server", b, "--timeout", "5s"]);
        all.extend_from_slice(more);
        Command::new(BIN).args(all).output().unwrap()
    };
    let import = ["import", url, "s", "--from-csv", csv];
    let reset = ["reset", url, "s", "--to-offset", "3", "--all-topics"];
    for (args, written) in [(&import[..], 5), (&reset[..], 3)] {
        let o = run(args, &[]);
        assert!(ok(&o).contains("dry run"), "{args:?}");
        assert!(
            stderr(&o).contains("warning: cannot tell whether consumer group \"s\" has members"),
            "{args:?}: {}",
            stderr(&o)
        );
        let e = error(&run(args, &["--execute"]));
        assert!(
            e.contains("cannot tell whether consumer group \"s\" has members")
                && e.contains("--force"),
            "{args:?}: {e}"
        );
        ok(&run(args, &["--execute", "--force"]));
        let c = Store::open(url).unwrap().latest("s").unwrap().unwrap();
        assert_eq!(c.offsets.get(topic, 0), Some(written), "{args:?}");
    }
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
    assert!(text.contains("SIGKILL"), "{text}");
    assert!(text.contains("resume plan from checkpoint"), "{text}");
    assert!(text.contains("every partition read to its end"), "{text}");
    assert!(text.contains("no problems"), "{text}");
    assert!(text.contains("cargo install --path cli"), "{text}");
    // The tally is counted, not written down: what run 1 processed past its last checkpoint
    // is what was processed twice, and nothing was skipped.
    let number = |after: &str| -> i64 {
        let rest = &text[text
            .find(after)
            .unwrap_or_else(|| panic!("{after}: {text}"))
            + after.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert_eq!(number("messages in the topic"), 60_000);
    assert_eq!(number("then"), number("processed twice"), "{text}");
    assert!(number("processed twice") > 0, "{text}");
    assert_eq!(number("skipped"), 0, "{text}");
    assert_eq!(
        number("processed  "),
        60_000 + number("processed twice"),
        "{text}"
    );
    // One screen: batch lines are collapsed.
    assert!(text.lines().count() <= 40, "{text}");
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
        // Where the offsets came from is in the checkpoint: the Spark batch, its time (also
        // the checkpoint's batch time) and the offsets file.
        let provenance: serde_json::Value =
            serde_json::from_slice(&c.metadata["tidemark.import"]).unwrap();
        assert_eq!(provenance["source"], "spark-checkpoint");
        assert_eq!(provenance["location"], f);
        assert_eq!(provenance["spark_batch_id"], 3);
        assert_eq!(provenance["spark_batch_time_ms"], 1_795_536_804_147u64);
        assert!(
            provenance["file"].as_str().unwrap().ends_with("offsets/3"),
            "{provenance}"
        );
        assert_eq!(c.batch_time_ms, 1_795_536_804_147);
        // A writer opening after the import carries the offsets forward, not the provenance.
        t.open()
            .writer("spark", tidemark::store::WriterConfig::new("job", "1"))
            .unwrap();
        let carried = t.open().latest("spark").unwrap().unwrap();
        assert_eq!(carried.offsets, expected);
        assert!(!carried.metadata.contains_key("tidemark.import"));
        assert!(!carried.metadata.contains_key("tidemark.operator"));
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
        ("describe", readme_shape(&section, "`describe`")),
        ("delete-stream", readme_shape(&section, "`delete-stream`")),
        ("copy", readme_shape(&section, "`copy`")),
        (
            "quarantine",
            readme_shape(&section, "`compact --quarantine`"),
        ),
    ];
    let copy_to = tempfile::tempdir().unwrap();
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
            "reset" => run(&["reset", u, "billing", "--shift-by", "-1", "--all-topics"]),
            "export" => run(&["export", u, "billing", "--format", "json"]),
            // Needs a broker: checked in kafka_backed_subcommands_lag_reset_and_import_group.
            "lag" => continue,
            "describe" => run(&["describe", u]),
            "delete-stream" => run(&["delete-stream", u, "billing"]),
            "copy" => run(&["copy", u, "billing", copy_to.path().to_str().unwrap()]),
            "quarantine" => run(&["compact", u, "other", "--quarantine"]),
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

/// Runs the command in `dir` with no store settings but `env`.
fn run_in(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("TIDEMARK_LOG")
        .env_remove("TIDEMARK_STORE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn no_false_green_and_reading_never_creates_anything() {
    // A mistyped local store: an error for every read-only command, and no folder appears.
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo-store");
    let t = typo.to_str().unwrap();
    for args in [
        vec!["verify", t],
        vec!["verify", t, "billing"],
        vec!["streams", t],
        vec!["show", t, "billing"],
        vec!["log", t, "billing"],
        vec!["diff", t, "billing", "1", "2"],
        vec!["export", t, "billing"],
        vec!["describe", t],
        vec!["compact", t, "billing", "--ttl", "1d"],
        vec!["delete-stream", t, "billing"],
        vec!["lag", t, "billing", "--bootstrap-servers", "127.0.0.1:1"],
        vec![
            "copy",
            t,
            "billing",
            dir.path().join("copy").to_str().unwrap(),
        ],
    ] {
        let e = error(&run_in(dir.path(), &[], &args));
        assert!(e.contains("does not exist"), "{args:?}: {e}");
        assert!(!typo.exists(), "{args:?} created the store folder");
    }
    assert!(!dir.path().join("copy").exists());
    // An import's dry run plans into a store that does not exist yet, creating nothing.
    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(csv.path(), "orders,0,5\n").unwrap();
    let import_csv = |store: &str, more: &[&str]| {
        let mut args = vec!["import", store, "billing", "--from-csv"];
        args.push(csv.path().to_str().unwrap());
        args.extend_from_slice(more);
        run_in(dir.path(), &[], &args)
    };
    let o = import_csv(t, &[]);
    assert!(ok(&o).contains("dry run"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("does not exist yet: --execute creates it"),
        "{}",
        stderr(&o)
    );
    assert!(
        !typo.exists(),
        "an import's dry run created the store folder"
    );
    // A copy of a stream the source does not hold creates no destination.
    let source = dir.path().join("source");
    let s = source.to_str().unwrap();
    ok(&import_csv(s, &["--execute"]));
    let dest = dir.path().join("dest");
    let e = error(&run_in(
        dir.path(),
        &[],
        &["copy", s, "bill", dest.to_str().unwrap()],
    ));
    assert!(e.contains("did you mean \"billing\""), "{e}");
    assert!(
        !dest.exists(),
        "a copy of a missing stream created its destination"
    );
    std::fs::remove_dir_all(&source).unwrap();
    // A URL with one slash is not a local folder named `s3:`.
    for bad in ["s3:/bucket/x", "s3:bucket", "ftp://host/x"] {
        let e = error(&run_in(dir.path(), &[], &["streams", bad]));
        assert!(
            e.contains("s3://bucket/prefix") && e.contains("file:///path"),
            "{e}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    for t in targets("false-green") {
        let u = t.url.as_str();
        // An empty store (an S3 prefix nobody wrote to): verify is not green.
        if t._dir.is_none() {
            let e = error(&t.run(&["verify", u]));
            assert!(e.contains("holds no stream"), "{e}");
        }
        populate(&t);
        let before = t.open().streams().unwrap();
        for args in [
            vec!["verify", u, "no-such-stream"],
            vec!["compact", u, "nope", "--ttl", "1d"],
            vec!["show", u, "bilings"],
            vec!["log", u, "Billing"],
            vec!["describe", u, "billin"],
            vec!["export", u, "bill"],
        ] {
            let e = error(&t.run(&args));
            assert!(
                e.contains(&format!("stream {:?} not found", args[2]))
                    && e.contains("streams there: billing"),
                "{args:?}: {e}"
            );
            if args[2] != "no-such-stream" && args[2] != "nope" {
                assert!(e.contains("did you mean \"billing\"?"), "{args:?}: {e}");
            }
        }
        assert_eq!(
            t.open().streams().unwrap(),
            before,
            "a read created a stream"
        );
        // A missing id gives the ids present.
        for args in [
            vec!["show", u, "billing", "--id", "99"],
            vec!["diff", u, "billing", "1", "99"],
            vec!["export", u, "billing", "--id", "99"],
            vec![
                "reset",
                u,
                "billing",
                "--to-checkpoint",
                "99",
                "--all-topics",
            ],
        ] {
            let e = error(&t.run(&args));
            assert!(
                e.contains("no checkpoint 99; ids present: 1..6 (6 checkpoints)"),
                "{e}"
            );
        }
    }
}

#[test]
fn compact_quarantine_moves_damaged_and_foreign_objects_out() {
    for t in targets("quarantine") {
        populate(&t);
        let u = t.url.as_str();
        damage(&t, "billing", 3);
        raw_put(&t, "streams/billing/notes.txt", b"hello".to_vec());
        let text = ok(&t.run(&["compact", u, "billing", "--ttl", "0s"]));
        assert!(
            text.contains("1 foreign object(s) (move them with --quarantine)"),
            "{text}"
        );
        // Dry run first: nothing moves.
        let text = ok(&t.run(&["compact", u, "billing", "--quarantine"]));
        assert!(
            text.contains("would move 1 damaged and 1 foreign object(s)"),
            "{text}"
        );
        assert!(text.contains("dry run: nothing was moved"), "{text}");
        assert_eq!(t.run(&["verify", u]).status.code(), Some(1));
        let j = json(&t.run(&[
            "--json",
            "compact",
            u,
            "billing",
            "--quarantine",
            "--execute",
        ]));
        assert_eq!(j["dry_run"], false);
        assert_eq!(j["damaged"][0]["id"], 3);
        assert_eq!(j["foreign"][0], "notes.txt");
        let folder = j["folder"].as_str().unwrap();
        assert!(folder.starts_with("quarantine/billing/"), "{folder}");
        // Moved, not deleted: the bytes are in the quarantine folder, and the stream is clean
        // (the gap left by checkpoint 3 is reported, nothing else).
        assert_eq!(
            raw_get(&t, &format!("{folder}/notes.txt")).as_deref(),
            Some(&b"hello"[..])
        );
        assert!(raw_get(&t, &format!("{folder}/00000000000000000003.tdm")).is_some());
        assert!(raw_get(&t, "streams/billing/notes.txt").is_none());
        let v = t.run(&["--json", "verify", u]);
        let v: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert_eq!(v["streams"][0]["damaged"], serde_json::json!([]), "{v}");
        assert_eq!(v["streams"][0]["foreign"], serde_json::json!([]), "{v}");
        assert_eq!(v["streams"][0]["gaps"], serde_json::json!([[3, 3]]), "{v}");
        assert_eq!(t.open().streams().unwrap(), ["billing"]);
        // The newest checkpoint damaged: it stays (its id is never reused).
        damage(&t, "billing", 6);
        let text = ok(&t.run(&["compact", u, "billing", "--quarantine", "--execute"]));
        assert!(
            text.contains("left in place: 00000000000000000006.tdm: damaged, at the highest id"),
            "{text}"
        );
        assert!(raw_get(&t, "streams/billing/00000000000000000006.tdm").is_some());
    }
}

#[test]
fn describe_shows_last_write_liveness_and_health() {
    for t in targets("describe") {
        populate(&t);
        let u = t.url.as_str();
        // A batch time from long ago is carried over; the age is the write's.
        let mut w = t
            .open()
            .writer("old-batch", WriterConfig::new("etl", "3"))
            .unwrap();
        w.commit(NewCheckpoint::new(offsets(1)).with_batch_time_ms(1_000_000_000_000))
            .unwrap();
        drop(w);
        let text = ok(&t.run(&["streams", u]));
        let row = text.lines().find(|l| l.starts_with("old-batch")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[2], "2001-09-09T01:46:40Z", "{row}");
        let seconds: u64 = cells[3]
            .strip_suffix('s')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("age {:?} is not a few seconds: {row}", cells[3]));
        assert!(seconds < 60, "{row}");
        let text = ok(&t.run(&["describe", u, "billing"]));
        for want in [
            "stream:     billing",
            "latest:     checkpoint 6 (6 checkpoints, ids 1..6, ",
            "writer:     app 2.0",
            "looks alive (wrote within 5m)",
            "health:     ok",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        let text = ok(&t.run(&["describe", u, "billing", "--alive-window", "0s"]));
        assert!(text.contains("looks stopped"), "{text}");
        damage(&t, "billing", 6);
        let j = json(&t.run(&["--json", "describe", u]));
        let s = &j["streams"][0];
        assert_eq!(s["stream"], "billing");
        assert_eq!(s["latest_id"], 5);
        assert_eq!(s["healthy"], false);
        assert_eq!(s["writer_alive"], true);
        assert_eq!(s["damaged"][0]["id"], 6);
        assert_eq!(j["streams"][1]["stream"], "old-batch");
        assert_eq!(j["streams"][1]["batch_time_ms"], 1_000_000_000_000u64);
        // streams reports the damaged newest checkpoint instead of silently skipping it.
        let o = t.run(&["streams", u]);
        assert!(
            stderr(&o)
                .contains("stream billing: 1 damaged checkpoint object(s) newer than checkpoint 5"),
            "{}",
            stderr(&o)
        );
        let text = ok(&t.run(&["describe", u, "billing"]));
        assert!(text.contains("health:     PROBLEMS: 1 damaged"), "{text}");
    }
}

#[test]
fn delete_stream_is_a_dry_run_and_refuses_a_live_writer() {
    for t in targets("delete-stream") {
        populate(&t);
        let u = t.url.as_str();
        let text = ok(&t.run(&["delete-stream", u, "billing"]));
        assert!(
            text.contains("would delete 6 checkpoint(s) (ids 1..6), the _latest hint"),
            "{text}"
        );
        assert!(text.contains("its writer looks alive"), "{text}");
        assert!(text.contains("dry run: nothing was deleted"), "{text}");
        assert_eq!(t.open().streams().unwrap(), ["billing"]);
        let e = error(&t.run(&["delete-stream", u, "billing", "--execute"]));
        assert!(e.contains("looks alive") && e.contains("--force"), "{e}");
        // A shorter window: the writer of a second ago no longer looks alive.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let text = ok(&t.run(&["delete-stream", u, "billing", "--alive-window", "1s"]));
        assert!(!text.contains("looks alive"), "{text}");
        let e = error(&t.run(&["delete-stream", u, "bill", "--execute", "--force"]));
        assert!(e.contains("did you mean \"billing\""), "{e}");
        let j = json(&t.run(&[
            "--json",
            "delete-stream",
            u,
            "billing",
            "--execute",
            "--force",
        ]));
        assert_eq!(j["checkpoints"], 6);
        assert_eq!(j["dry_run"], false);
        assert!(t.open().streams().unwrap().is_empty());
    }
}

#[test]
fn copy_a_stream_with_its_history_between_stores() {
    let all = targets("copy");
    let local = &all[0];
    populate(local);
    damage(local, "billing", 2);
    // Every pair of backends: local → local, and with S3 local → S3 → local.
    let dir = tempfile::tempdir().unwrap();
    let mut hops = vec![(
        local,
        local.url.clone(),
        dir.path().join("copy").to_str().unwrap().to_owned(),
        Vec::new(),
    )];
    // HDFS when the test bed runs it (scripts/test.sh): local → HDFS → local.
    if let Some(hdfs) = tidemark_testkit::stores::hdfs_url("cli-copy") {
        hops.push((local, local.url.clone(), hdfs.clone(), Vec::new()));
        let on_hdfs = Box::leak(Box::new(Target {
            url: hdfs,
            env: Vec::new(),
            _dir: None,
        }));
        hops.push((
            on_hdfs,
            on_hdfs.url.clone(),
            dir.path().join("from-hdfs").to_str().unwrap().to_owned(),
            Vec::new(),
        ));
    }
    if let Some(s3) = all.get(1) {
        hops.push((local, local.url.clone(), s3.url.clone(), s3.env.clone()));
        hops.push((
            s3,
            s3.url.clone(),
            dir.path().join("back").to_str().unwrap().to_owned(),
            s3.env.clone(),
        ));
    }
    for (source, from, to, env) in hops {
        let o = run_in(dir.path(), &env, &["copy", &from, "billing", &to]);
        let text = ok(&o);
        assert!(
            text.contains("copied 6 checkpoint(s) (ids 1..6)")
                && text.contains("byte-identical; 5 valid checkpoint(s) verified")
                && text.contains("copied as is: damaged checkpoint 2"),
            "{text}"
        );
        let dest = Target {
            url: to.clone(),
            env: env.clone(),
            _dir: None,
        };
        let b = dest.open();
        for id in 1..=6 {
            assert_eq!(
                Some(source.checkpoint_bytes("billing", id).unwrap()),
                dest.checkpoint_bytes("billing", id),
                "{to} {id}"
            );
        }
        assert_eq!(b.latest("billing").unwrap().unwrap().id, 6);
        // The destination exists now: refused, nothing overwritten.
        let e = error(&run_in(dir.path(), &env, &["copy", &from, "billing", &to]));
        assert!(e.contains("already exists"), "{e}");
    }
    // Renamed: re-encoded under the new name, the damaged object left out.
    let to = dir.path().join("renamed");
    let text = ok(&run_in(
        dir.path(),
        &[],
        &[
            "copy",
            &local.url,
            "billing",
            to.to_str().unwrap(),
            "--as",
            "billing-old",
        ],
    ));
    assert!(
        text.contains("copied 5 checkpoint(s)") && text.contains("left out: damaged checkpoint 2"),
        "{text}"
    );
    let renamed = Store::open(to.to_str().unwrap()).unwrap();
    let (a, b) = (
        local.open().get("billing", 6).unwrap(),
        renamed.get("billing-old", 6).unwrap(),
    );
    assert_eq!(
        (a.offsets, a.writer, a.created_at_ms),
        (b.offsets, b.writer, b.created_at_ms)
    );
    assert_eq!(b.stream, "billing-old");
}

#[test]
fn time_arguments_take_offsets_dates_durations_and_the_store_from_the_environment() {
    let t = &targets("times")[0];
    populate(t);
    let u = t.url.as_str();
    let with_store = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("TIDEMARK_STORE", u)
            .env_remove("TIDEMARK_LOG");
        cmd.output().unwrap()
    };
    // An offset other than Z, in the future: the latest checkpoint.
    let text = ok(&with_store(&[
        "show",
        "billing",
        "--at",
        "2999-12-01T21:59:00+02:00",
    ]));
    assert!(text.contains("checkpoint: 6"), "{text}");
    // A date long past, and a duration ago: nothing that old.
    let e = error(&with_store(&["show", "billing", "--at", "2001-01-01"]));
    assert!(
        e.contains("no checkpoint written at or before 2001-01-01T00:00:00Z"),
        "{e}"
    );
    let e = error(&with_store(&["show", "billing", "--at", "2h"]));
    assert!(e.contains("no checkpoint written at or before"), "{e}");
    // Every command that reads one checkpoint picks it the same way: `export` as `show`.
    assert_eq!(
        ok(&with_store(&["export", "billing", "--at", "now"])),
        ok(&with_store(&["export", "billing"]))
    );
    let e = error(&with_store(&[
        "export", "billing", "--at", "now", "--id", "2",
    ]));
    assert!(e.contains("cannot be used with"), "{e}");
    let e = error(&with_store(&["export", "billing", "--at", "2001-01-01"]));
    assert!(
        e.contains("no checkpoint written at or before 2001-01-01T00:00:00Z"),
        "{e}"
    );
    let j = json(&with_store(&[
        "--json", "log", "billing", "--since", "90m", "--until", "now",
    ]));
    assert_eq!(j.as_array().unwrap().len(), 6);
    let e = error(&with_store(&["log", "billing", "--since", "yesterday"]));
    assert!(
        e.contains("2026-12-01T21:59:00+02:00") && e.contains("90m"),
        "{e}"
    );
    // TIDEMARK_STORE for a store-only command too; an explicit STORE wins.
    assert!(ok(&with_store(&["streams"])).contains("billing"));
    let e = error(&with_store(&["streams", "./no-such-folder"]));
    assert!(e.contains("does not exist"), "{e}");
    let e = error(
        &Command::new(BIN)
            .args(["show", "billing"])
            .env_remove("TIDEMARK_STORE")
            .output()
            .unwrap(),
    );
    assert!(e.contains("TIDEMARK_STORE"), "{e}");
    let help = ok(&Command::new(BIN).arg("--help").output().unwrap());
    assert!(
        help.contains("TIDEMARK_STORE") && help.contains("2h"),
        "{help}"
    );
}

#[test]
fn global_flags_do_what_their_help_says() {
    let t = &targets("flags")[0];
    populate(t);
    let u = t.url.as_str();
    // --json export is JSON; --format csv still wins when asked.
    let j = json(&t.run(&["--json", "export", u, "billing"]));
    assert_eq!(j["orders"]["0"], 450);
    assert!(
        ok(&t.run(&["--json", "export", u, "billing", "--format", "csv"])).starts_with("orders,0,")
    );
    // -q: commands run for their effect or verdict print nothing; data commands print data.
    for args in [
        vec!["-q", "verify", u],
        vec!["-q", "compact", u, "billing", "--ttl", "30d"],
        vec![
            "-q",
            "reset",
            u,
            "billing",
            "--shift-by",
            "-1",
            "--all-topics",
        ],
        vec!["-q", "delete-stream", u, "billing"],
    ] {
        let o = t.run(&args);
        assert_eq!(ok(&o), "", "{args:?}");
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    assert!(ok(&t.run(&["-q", "show", u, "billing"])).contains("checkpoint: 6"));
    // -v: every store operation on stderr.
    let o = t.run(&["-v", "show", u, "billing"]);
    ok(&o);
    assert!(
        stderr(&o).contains("read streams/billing/00000000000000000006.tdm"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&t.run(&["show", u, "billing"])).is_empty());
}

#[test]
fn the_manual_page_covers_every_subcommand() {
    let page = ok(&Command::new(BIN).arg("man").output().unwrap());
    assert!(
        page.starts_with(".ie") || page.contains(".TH tidemark"),
        "{}",
        &page[..200]
    );
    let help = ok(&Command::new(BIN).arg("--help").output().unwrap());
    let subcommands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .collect();
    assert!(subcommands.len() >= 17, "{subcommands:?}");
    for sub in subcommands {
        assert!(
            page.contains(&format!(".SH \"TIDEMARK {}\"", sub.to_uppercase())),
            "{sub} missing from the manual page"
        );
    }
    assert!(page.contains("TIDEMARK_STORE"));
}

#[test]
fn describe_shows_lag_when_a_broker_is_given() {
    let (broker, _topic, dir) = topic_and_checkpoint("cli-describe");
    let url = dir.path().to_str().unwrap();
    let b = broker.bootstrap.as_str();
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    let text = ok(&run(&["describe", url, "s", "--bootstrap-servers", b]));
    assert!(
        text.contains("lag:        90 message(s) behind the log ends"),
        "{text}"
    );
    let j = json(&run(&["--json", "describe", url, "--bootstrap-servers", b]));
    assert_eq!(j["streams"][0]["lag"]["total_lag"], 90);
    // Without a broker there is no lag field.
    let j = json(&run(&["--json", "describe", url]));
    assert!(j["streams"][0].get("lag").is_none(), "{j}");
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
