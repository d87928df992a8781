//! Importing Kafka source offsets from a Spark Structured Streaming checkpoint folder, against
//! a real folder written by PySpark (`tests/fixtures/spark-checkpoint/`, made by
//! `tests/fixtures/make_spark_checkpoint.py`): four committed batches of a query with three
//! sources, `orders`+`payments`, `audit`, and a file source that is `-` in batches 0 and 1.

use std::fs;
use std::path::{Path, PathBuf};

use tidemark::Offsets;
use tidemark::import::{
    ImportError, SparkImport, SparkSourceKind, read_spark_batch, read_spark_checkpoint,
    spark_completed_batches,
};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spark-checkpoint")
}

/// What the fixture's `kafkalike` sources reported for each batch (`BATCHES` in the script).
fn reported(batch: usize) -> (Offsets, Offsets) {
    let orders = [[5, 3, 0], [12, 9, 4], [20, 15, 11], [31, 22, 17]][batch];
    let payments = [[2, 4], [2, 7], [6, 7], [9, 10]][batch];
    let audit = [1, 1, 3, 3][batch];
    let mut first = Offsets::new();
    for (p, o) in orders.into_iter().enumerate() {
        first.insert("orders", p as i32, o);
    }
    for (p, o) in payments.into_iter().enumerate() {
        first.insert("payments", p as i32, o);
    }
    let second = [("audit", 0, audit)].into_iter().collect();
    (first, second)
}

fn kafka(topics: &[&str]) -> SparkSourceKind {
    SparkSourceKind::Kafka {
        topics: topics.iter().map(|t| t.to_string()).collect(),
    }
}

fn read(dir: &Path, topics: &[&str]) -> SparkImport {
    read_spark_checkpoint(dir, topics).unwrap_or_else(|e| panic!("{}", tidemark::error_chain(&e)))
}

/// A temporary copy of the fixture, to damage.
fn copy_fixture() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(), dir.path());
    dir
}

/// `batchTimestampMs` of a batch, read independently of the importer.
fn timestamp_in_file(dir: &Path, batch: u64) -> u64 {
    let text = fs::read_to_string(dir.join("offsets").join(batch.to_string())).unwrap();
    let metadata: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    metadata["batchTimestampMs"].as_u64().unwrap()
}

#[test]
fn imports_the_newest_committed_batch_of_the_real_fixture() {
    let import = read(&fixture(), &["orders"]);
    assert_eq!(import.batch_id, 3);
    assert_eq!(import.source_index, 0);
    assert_eq!(import.offsets, reported(3).0);
    assert_eq!(import.offsets_file, fixture().join("offsets/3"));
    assert_eq!(import.batch_timestamp_ms, timestamp_in_file(&fixture(), 3));
    assert!(import.batch_timestamp_ms > 1_600_000_000_000);
    let kinds: Vec<_> = import.sources.iter().map(|s| s.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            kafka(&["orders", "payments"]),
            kafka(&["audit"]),
            SparkSourceKind::Other
        ]
    );
    let lines: Vec<_> = import.sources.iter().map(|s| (s.index, s.line)).collect();
    assert_eq!(lines, [(0, 3), (1, 4), (2, 5)]);
}

#[test]
fn chooses_each_source_by_its_topics() {
    let (first, second) = reported(3);
    for topics in [&["orders"][..], &["payments"], &["payments", "orders"]] {
        let import = read(&fixture(), topics);
        assert_eq!(
            (import.source_index, &import.offsets),
            (0, &first),
            "{topics:?}"
        );
    }
    let import = read(&fixture(), &["audit"]);
    assert_eq!(import.source_index, 1);
    assert_eq!(import.offsets, second);
}

#[test]
fn several_kafka_sources_without_topics_is_ambiguous_and_lists_them() {
    let err = read_spark_checkpoint(&fixture(), &[]).unwrap_err();
    let ImportError::SparkAmbiguousSource {
        ref matching,
        ref sources,
        ..
    } = err
    else {
        panic!("expected an ambiguous source, got {err:?}");
    };
    assert_eq!(matching, &[0, 1]);
    assert_eq!(sources.len(), 3);
    let message = err.to_string();
    for part in [
        "offsets/3",
        "2 kafka sources in the batch (no topics given)",
        "source 0 (line 3): kafka topics orders, payments",
        "source 1 (line 4): kafka topics audit",
        "source 2 (line 5): not a kafka source",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[test]
fn topics_of_no_single_source_match_nothing() {
    for topics in [&["orders", "audit"][..], &["refunds"]] {
        let err = read_spark_checkpoint(&fixture(), topics).unwrap_err();
        let ImportError::SparkNoMatchingSource {
            topics: ref wanted,
            ref sources,
            ..
        } = err
        else {
            panic!("expected no matching source, got {err:?}");
        };
        assert_eq!(wanted, topics);
        assert_eq!(sources.len(), 3);
        let message = err.to_string();
        assert!(
            message.contains(&format!(
                "no kafka source with all of the topics {}",
                topics.join(", ")
            )) && message.contains("source 1 (line 4): kafka topics audit"),
            "{message}"
        );
    }
}

#[test]
fn an_uncommitted_newest_batch_is_skipped() {
    let dir = copy_fixture();
    // Batch 3 ran but its commit never landed (its .crc sidecar is not a commit).
    fs::remove_file(dir.path().join("commits/3")).unwrap();
    assert!(dir.path().join("commits/.3.crc").exists());
    let import = read(dir.path(), &["orders"]);
    assert_eq!(import.batch_id, 2);
    assert_eq!(import.offsets, reported(2).0);
    assert_eq!(import.batch_timestamp_ms, timestamp_in_file(dir.path(), 2));
    assert_eq!(import.sources[2].kind, SparkSourceKind::Other);

    // Batch 1 is where the file source had no offset yet: Spark wrote `-` for it.
    fs::remove_file(dir.path().join("commits/2")).unwrap();
    let import = read(dir.path(), &["audit"]);
    assert_eq!(import.batch_id, 1);
    assert_eq!(import.offsets, reported(1).1);
    assert_eq!(import.sources[2].kind, SparkSourceKind::NoOffset);
    assert!(
        fs::read_to_string(dir.path().join("offsets/1"))
            .unwrap()
            .ends_with("\n-")
    );
}

#[test]
fn no_committed_batch_is_an_error() {
    let dir = copy_fixture();
    for id in 0..4 {
        fs::remove_file(dir.path().join(format!("commits/{id}"))).unwrap();
    }
    match read_spark_checkpoint(dir.path(), &["orders"]) {
        Err(ImportError::SparkNoCommittedBatch { uncommitted, .. }) => {
            assert_eq!(uncommitted, [0, 1, 2, 3])
        }
        other => panic!("expected no committed batch, got {other:?}"),
    }
}

#[test]
fn a_future_version_is_refused() {
    let dir = copy_fixture();
    let path = dir.path().join("offsets/3");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replacen("v1\n", "v2\n", 1)).unwrap();
    let err = read_spark_checkpoint(dir.path(), &["orders"]).unwrap_err();
    match &err {
        ImportError::SparkUnsupportedVersion {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(p, &path);
            assert_eq!(found, "v2");
            assert_eq!(*supported, "v1");
        }
        other => panic!("expected an unsupported version, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("offsets/3:1:") && message.contains("\"v2\""),
        "{message}"
    );
}

#[test]
fn crc_sidecars_and_other_names_are_ignored() {
    // The real fixture has Hadoop's sidecars next to every file.
    for log in ["offsets", "commits"] {
        for id in 0..4 {
            assert!(fixture().join(format!("{log}/.{id}.crc")).is_file());
        }
    }
    let dir = copy_fixture();
    let offsets = dir.path().join("offsets");
    let commits = dir.path().join("commits");
    // Sidecars and leftovers that look like newer batches, none of them a committed batch 4.
    fs::copy(offsets.join(".3.crc"), offsets.join(".4.crc")).unwrap();
    fs::copy(commits.join(".3.crc"), commits.join(".4.crc")).unwrap();
    fs::write(offsets.join(".5.3f2a.tmp"), "v1\n{}\n-").unwrap();
    fs::write(offsets.join("6.tmp"), "garbage").unwrap();
    fs::write(commits.join("6.tmp"), "garbage").unwrap();
    fs::write(offsets.join("07"), "garbage").unwrap();
    fs::write(commits.join("07"), "garbage").unwrap();
    fs::create_dir(offsets.join("8")).unwrap();
    fs::create_dir(commits.join("8")).unwrap();
    let import = read(dir.path(), &["orders"]);
    assert_eq!(import.batch_id, 3);
    assert_eq!(import.offsets, reported(3).0);
}

#[test]
fn batch_ids_compare_as_numbers() {
    let dir = copy_fixture();
    let text = fs::read_to_string(dir.path().join("offsets/3")).unwrap();
    let text = text.replace(r#""orders": {"0": 31"#, r#""orders": {"0": 40"#);
    fs::write(dir.path().join("offsets/10"), text).unwrap();
    fs::copy(dir.path().join("commits/3"), dir.path().join("commits/10")).unwrap();
    let import = read(dir.path(), &["orders"]);
    assert_eq!(import.batch_id, 10);
    assert_eq!(import.offsets.get("orders", 0), Some(40));
}

#[test]
fn a_missing_folder_names_the_offsets_log() {
    let dir = tempfile::tempdir().unwrap();
    match read_spark_checkpoint(dir.path(), &["orders"]) {
        Err(ImportError::Io { path, source }) => {
            assert_eq!(path, dir.path().join("offsets"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an io error, got {other:?}"),
    }
}

#[test]
fn every_completed_batch_can_be_read() {
    let dir = copy_fixture();
    // A batch planned but not completed: offsets file, no commit file.
    fs::copy(dir.path().join("offsets/3"), dir.path().join("offsets/4")).unwrap();
    assert_eq!(
        spark_completed_batches(dir.path()).unwrap(),
        vec![0, 1, 2, 3]
    );
    for batch in 0..4 {
        let import = read_spark_batch(dir.path(), batch, &["orders"])
            .unwrap_or_else(|e| panic!("{}", tidemark::error_chain(&e)));
        assert_eq!(import.batch_id, batch);
        assert_eq!(import.offsets, reported(batch as usize).0);
    }
    assert_eq!(read(dir.path(), &["orders"]).batch_id, 3);
}
