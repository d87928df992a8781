//! Golden files: every released file in `format-spec/vectors/` decodes, on every run, forever.
//!
//! Each valid vector `NAME.tdm` has `NAME.json` beside it (the JSON rendering of spec §9); each
//! corrupted twin has `NAME.error` holding the error kind the decoder must report. Released
//! files are never edited. To add a new vector, add its case below and run
//! `TIDEMARK_WRITE_VECTORS=1 cargo test --test golden`: only missing files are written.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use tidemark::format::{self, FormatError};
use tidemark::{Checkpoint, Offsets};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("format-spec/vectors")
}

/// The valid v1.0 vectors: file name and the checkpoint it must decode to.
fn valid_cases() -> Vec<(&'static str, Checkpoint)> {
    let unicode: Offsets = [
        ("clicks", 0, 1),
        ("naïve-topic", 0, 250),
        ("naïve-topic", 1, 251),
        ("Заказы", 2, 65_535),
        ("注文.events", 0, 65_536),
        ("🚀 launches", 4, 4_294_967_295),
        ("🚀 launches", 5, 4_294_967_296),
        ("quote\"back\\slash\ttab\u{1}ctl\u{7f}", 0, i64::MAX),
    ]
    .into_iter()
    .collect();
    let mut worked = Checkpoint::new("s", [("t", 0, 42), ("t", 3, 300)].into_iter().collect())
        .with_id(1)
        .with_batch_time_ms(1_700_000_000_000)
        .with_created_at_ms(1_700_000_000_000)
        .with_metadata("k", vec![1, 2]);
    worked.writer = tidemark::Writer::new(1, "app", "1").with_host("h");
    worked.writer.tidemark_version = "0.1.0".into();
    vec![
        (
            "v1-empty-offsets",
            common::checkpoint("fresh-stream", 0, Offsets::new()),
        ),
        (
            "v1-one-topic",
            common::checkpoint(
                "billing",
                41,
                [
                    ("orders", 0, 74_963),
                    ("orders", 1, 74_950),
                    ("orders", 2, 0),
                ]
                .into_iter()
                .collect(),
            ),
        ),
        (
            "v1-unicode-topics",
            common::checkpoint("流-ström ✓", u64::MAX, unicode),
        ),
        (
            "v1-10000-partitions",
            common::checkpoint("wide", 1_000_000, common::many_partitions("events", 10_000)),
        ),
        (
            "v1-metadata",
            common::checkpoint("sink", 7, [("orders", 5, 123)].into_iter().collect())
                .with_metadata("sink.file", b"part-00017.json".to_vec())
                .with_metadata("sink.position", 987_654u64.to_le_bytes().to_vec())
                .with_metadata("empty", Vec::new()),
        ),
        ("v1-worked-example", worked),
    ]
}

/// A 1.1 file: the one-topic checkpoint plus an extension record (tag 7) this reader does not
/// know. Built by hand because tidemark writes only 1.0.
fn minor_version_file(base: &[u8]) -> Vec<u8> {
    let content = &base[..base.len() - 4];
    let mut out = content.to_vec();
    out[10..12].copy_from_slice(&1u16.to_le_bytes()); // minor version 1
    let data = b"a later minor version's optional data";
    out.extend_from_slice(&7u32.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out[20..24].copy_from_slice(&((8 + data.len()) as u32).to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn with_fixed_crc(mut content: Vec<u8>) -> Vec<u8> {
    let end = content.len() - 4;
    let crc = crc32fast::hash(&content[..end]);
    content[end..].copy_from_slice(&crc.to_le_bytes());
    content
}

/// Corrupted twins of `v1-one-topic`: file name, bytes, expected error kind.
fn corrupt_cases(base: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut bitflip = base.to_vec();
    bitflip[30] ^= 0x10;
    let mut magic = base.to_vec();
    magic[..8].copy_from_slice(b"TIDEMARK");
    let mut major = base.to_vec();
    major[8..10].copy_from_slice(&2u16.to_le_bytes());
    vec![
        ("v1-one-topic.bitflip", bitflip, "checksum_mismatch"),
        (
            "v1-one-topic.truncated",
            base[..base.len() / 2].to_vec(),
            "truncated",
        ),
        ("v1-one-topic.zero-filled", vec![0; base.len()], "bad_magic"),
        ("v1-one-topic.wrong-magic", magic, "bad_magic"),
        (
            "v1-one-topic.future-major",
            with_fixed_crc(major),
            "unsupported_version",
        ),
        ("v1-one-topic.empty", Vec::new(), "truncated"),
    ]
}

/// Writes `path` only when it does not exist and writing was asked for; otherwise fails when
/// it is missing. Released files are never rewritten.
fn ensure(path: &Path, bytes: &[u8]) {
    if path.exists() {
        return;
    }
    assert!(
        std::env::var_os("TIDEMARK_WRITE_VECTORS").is_some(),
        "golden file {} is missing (set TIDEMARK_WRITE_VECTORS=1 to create new vectors)",
        path.display()
    );
    fs::write(path, bytes).unwrap();
}

fn read(name: &str, ext: &str) -> Vec<u8> {
    let path = vectors().join(format!("{name}.{ext}"));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn valid_vectors_decode_to_their_checkpoint_and_json() {
    for (name, checkpoint) in valid_cases() {
        let encoded = format::encode(&checkpoint).unwrap();
        let decoded = format::decode_with_report(&encoded).unwrap();
        ensure(&vectors().join(format!("{name}.tdm")), &encoded);
        ensure(
            &vectors().join(format!("{name}.json")),
            format::to_json(&decoded).as_bytes(),
        );

        let file = read(name, "tdm");
        let decoded = format::decode_with_report(&file)
            .unwrap_or_else(|e| panic!("{name}: released file no longer decodes: {e}"));
        assert_eq!(decoded.checkpoint, checkpoint, "{name}: decoded content");
        assert!(decoded.skipped_extensions.is_empty(), "{name}");
        assert_eq!(
            format::to_json(&decoded).as_bytes(),
            read(name, "json").as_slice(),
            "{name}: JSON rendering"
        );
        // Canonical form: re-encoding gives the released bytes back.
        assert_eq!(format::encode(&decoded.checkpoint).unwrap(), file, "{name}");
    }
}

#[test]
fn a_later_minor_version_with_an_unknown_extension_decodes_and_reports_it() {
    let base = read("v1-one-topic", "tdm");
    let name = "v1.1-unknown-extension";
    let built = minor_version_file(&base);
    ensure(&vectors().join(format!("{name}.tdm")), &built);
    let decoded = format::decode_with_report(&built).unwrap();
    ensure(
        &vectors().join(format!("{name}.json")),
        format::to_json(&decoded).as_bytes(),
    );

    let file = read(name, "tdm");
    let decoded = format::decode_with_report(&file).unwrap();
    assert_eq!(decoded.version.to_string(), "1.1");
    assert_eq!(decoded.checkpoint, format::decode(&base).unwrap());
    assert_eq!(decoded.skipped_extensions.len(), 1);
    assert_eq!(decoded.skipped_extensions[0].tag, 7);
    assert_eq!(decoded.skipped_extensions[0].length, 37);
    assert_eq!(
        format::to_json(&decoded).as_bytes(),
        read(name, "json").as_slice()
    );
}

#[test]
fn corrupted_twins_fail_with_their_specific_error() {
    let base = read("v1-one-topic", "tdm");
    for (name, bytes, kind) in corrupt_cases(&base) {
        ensure(&vectors().join(format!("{name}.tdm")), &bytes);
        ensure(
            &vectors().join(format!("{name}.error")),
            format!("{kind}\n").as_bytes(),
        );
        let file = read(name, "tdm");
        let expected = String::from_utf8(read(name, "error")).unwrap();
        let err = format::decode(&file).expect_err(name);
        assert_eq!(err.kind(), expected.trim(), "{name}: {err}");
    }
    // The specific fields of each error.
    let err = format::decode(&read("v1-one-topic.truncated", "tdm")).unwrap_err();
    assert_eq!(
        err,
        FormatError::Truncated {
            expected: base.len() as u64,
            actual: (base.len() / 2) as u64
        }
    );
    let err = format::decode(&read("v1-one-topic.future-major", "tdm")).unwrap_err();
    assert!(
        matches!(&err, FormatError::UnsupportedVersion { found, supported }
            if found.major == 2 && found.minor == 0 && supported == &[1]),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade tidemark"), "{err}");
    let err = format::decode(&read("v1-one-topic.bitflip", "tdm")).unwrap_err();
    let stored = u32::from_le_bytes(base[base.len() - 4..].try_into().unwrap());
    assert!(
        matches!(err, FormatError::ChecksumMismatch { expected, actual }
            if expected == stored && actual != stored),
        "{err:?}"
    );
}

#[test]
fn every_file_in_the_vectors_folder_is_covered() {
    // A released file must never be dropped from the suite: each one is either valid (has a
    // .json) or corrupt (has a .error).
    for entry in fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tdm") {
            let json = path.with_extension("json");
            let error = path.with_extension("error");
            assert!(
                json.exists() != error.exists(),
                "{}: needs exactly one of .json or .error",
                path.display()
            );
            let bytes = fs::read(&path).unwrap();
            let result = format::decode_with_report(&bytes);
            if json.exists() {
                let decoded = result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(
                    format::to_json(&decoded),
                    fs::read_to_string(&json).unwrap(),
                    "{}",
                    path.display()
                );
            } else {
                let err = result.expect_err("corrupt vector decoded");
                assert_eq!(err.kind(), fs::read_to_string(&error).unwrap().trim());
            }
        }
    }
}
