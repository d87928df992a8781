//! Golden files: every released file in `format-spec/vectors/` decodes, on every run, forever.
//!
//! Each valid vector `NAME.tdm` has `NAME.json` beside it (the JSON rendering of spec §9); each
//! corrupted twin has `NAME.error` holding the error kind the decoder must report. Released
//! files are never edited. To add a new vector, add its case below and run
//! `TIDEMARK_WRITE_VECTORS=1 cargo test --test golden`: only missing files are written.

use tidemark_testkit::fixtures as common;

use std::fs;
use std::path::{Path, PathBuf};

use tidemark::format::{self, ErrorKind, FormatError};
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

/// A body built byte by byte (spec §2.1), for files tidemark refuses to write. Fields other
/// than those given are fixed: id 1, the times and writer of [`common::checkpoint`].
struct Body(Vec<u8>);

impl Body {
    fn varint(&mut self, v: u64) -> &mut Self {
        match v {
            0..=250 => self.0.push(v as u8),
            251..=0xFFFF => {
                self.0.push(0xFB);
                self.0.extend_from_slice(&(v as u16).to_le_bytes());
            }
            0x1_0000..=0xFFFF_FFFF => {
                self.0.push(0xFC);
                self.0.extend_from_slice(&(v as u32).to_le_bytes());
            }
            _ => {
                self.0.push(0xFD);
                self.0.extend_from_slice(&v.to_le_bytes());
            }
        }
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
}

/// The topic name of the hand-built bodies.
const T: &[u8] = b"t";

/// One topic of a hand-built body: name and (gap, offset) pairs as written.
type RawTopic<'a> = (&'a [u8], Vec<(u64, u64)>);

fn raw_body(stream: &[u8], topics: &[RawTopic], metadata: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut b = Body(Vec::new());
    b.bytes(stream).varint(1);
    b.varint(1_700_000_000_000)
        .varint(1_700_000_000_123)
        .varint(3);
    for field in ["golden-app", "1.2.3", "host-a", "0.1.0"] {
        b.bytes(field.as_bytes());
    }
    b.varint(topics.len() as u64);
    for (name, partitions) in topics {
        b.bytes(name).varint(partitions.len() as u64);
        for &(gap, offset) in partitions {
            b.varint(gap).varint(offset);
        }
    }
    b.varint(metadata.len() as u64);
    for (k, v) in metadata {
        b.bytes(k).bytes(v);
    }
    b.0
}

fn v1(body: &[u8]) -> Vec<u8> {
    common::raw_file(1, 0, 0, body, &[])
}

/// What a vector must decode to.
enum Expect {
    /// A valid file of this checkpoint, in canonical form (re-encoding gives the same bytes).
    Valid(Checkpoint),
    /// A valid file that is not what a 1.0 writer produces (optional flags or extensions).
    ValidNonCanonical,
    /// An error of this kind.
    Error(ErrorKind),
}

/// One vector per error kind that the corrupted twins above do not show, and each limit at
/// and one past its bound where the file stays small (a few KiB). The limits on topics,
/// partitions and metadata bytes need files of 0.7 to 2 MiB at their bound and are tested in
/// `tests/malformed.rs` instead.
fn kind_and_limit_cases(base: &[u8]) -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::{Error, Valid, ValidNonCanonical};
    let one = |p: i32, o: i64| -> Offsets { [("t", p, o)].into_iter().collect() };
    let valid = |stream: &str, offsets: Offsets| common::checkpoint(stream, 1, offsets);
    let body_t = |gap: u64, offset: u64| raw_body(b"s", &[(T, vec![(gap, offset)])], &[]);
    let header_len = |declared_body: u32| {
        let mut f = base.to_vec();
        f[16..20].copy_from_slice(&declared_body.to_le_bytes());
        f
    };
    let max_body = (format::limits::MAX_FILE_SIZE - format::MIN_FILE_LEN as u64) as u32;
    let with_flags = |flags: u32| {
        let mut f = base.to_vec();
        f[12..16].copy_from_slice(&flags.to_le_bytes());
        with_fixed_crc(f)
    };
    let mut trailing = base.to_vec();
    trailing.push(0);
    let mut non_shortest = raw_body(b"s", &[(T, vec![(0, 5)])], &[]);
    // The id (third byte, value 1) as FB 01 00: a 3-byte form of a 1-byte value.
    non_shortest.splice(2..3, [0xFB, 0x01, 0x00]);
    let mut left_over = raw_body(b"s", &[(T, vec![(0, 5)])], &[]);
    left_over.push(0);
    let mut tag_zero = Vec::new();
    tag_zero.extend_from_slice(&0u32.to_le_bytes());
    tag_zero.extend_from_slice(&0u32.to_le_bytes());
    let long = |n: usize| "s".repeat(n);
    let entries = |n: usize| -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| (format!("k{i:04}").into_bytes(), Vec::new()))
            .collect()
    };
    let mut at_entries = valid("s", one(0, 5));
    for (k, v) in entries(1024) {
        at_entries = at_entries.with_metadata(String::from_utf8(k).unwrap(), v);
    }
    let mut features_and_bitflip = with_flags(1);
    features_and_bitflip[30] ^= 0x10;
    vec![
        // Length, step 5: the declared length at and one past MAX_FILE_SIZE.
        (
            "v1-limit-file-size.at",
            header_len(max_body),
            Error(ErrorKind::Truncated),
        ),
        (
            "v1-limit-file-size.past",
            header_len(max_body + 1),
            Error(ErrorKind::TooLarge),
        ),
        (
            "v1-one-topic.trailing-byte",
            trailing,
            Error(ErrorKind::TrailingBytes),
        ),
        // Flags, step 4: a required bit refuses, an optional bit is ignored.
        (
            "v1-one-topic.required-feature",
            with_flags(1),
            Error(ErrorKind::UnsupportedFeatures),
        ),
        (
            "v1-one-topic.optional-feature",
            with_flags(1 << 16),
            ValidNonCanonical,
        ),
        // Steps 1-6 are strictly ordered: the flags are judged before the checksum.
        (
            "v1-two-defects.required-feature-and-bitflip",
            features_and_bitflip,
            Error(ErrorKind::UnsupportedFeatures),
        ),
        (
            "v1-body.non-shortest-varint",
            v1(&non_shortest),
            Error(ErrorKind::MalformedBody),
        ),
        (
            "v1-body.byte-left-over",
            v1(&left_over),
            Error(ErrorKind::MalformedBody),
        ),
        (
            "v1.1-extension-tag-zero",
            common::raw_file(
                1,
                1,
                0,
                &raw_body(b"s", &[(T, vec![(0, 5)])], &[]),
                &tag_zero,
            ),
            Error(ErrorKind::MalformedExtensionArea),
        ),
        // Semantic limits (step 9).
        (
            "v1-limit-string.at",
            v1(&raw_body(long(4096).as_bytes(), &[(T, vec![(0, 5)])], &[])),
            Valid(valid(&long(4096), one(0, 5))),
        ),
        (
            "v1-limit-string.past",
            v1(&raw_body(long(4097).as_bytes(), &[(T, vec![(0, 5)])], &[])),
            Error(ErrorKind::InvalidCheckpoint),
        ),
        (
            "v1-limit-metadata-entries.at",
            v1(&raw_body(b"s", &[(T, vec![(0, 5)])], &entries(1024))),
            Valid(at_entries),
        ),
        (
            "v1-limit-metadata-entries.past",
            v1(&raw_body(b"s", &[(T, vec![(0, 5)])], &entries(1025))),
            Error(ErrorKind::InvalidCheckpoint),
        ),
        (
            "v1-limit-partition.at",
            v1(&body_t(i32::MAX as u64, 5)),
            Valid(valid("s", one(i32::MAX, 5))),
        ),
        (
            "v1-limit-partition.past",
            v1(&body_t(1 << 31, 5)),
            Error(ErrorKind::InvalidCheckpoint),
        ),
        // A partition the gaps put beyond 2^64 - 1 (0, then a gap of 2^64 - 1).
        (
            "v1-limit-partition.gap-overflow",
            v1(&raw_body(b"s", &[(T, vec![(0, 5), (u64::MAX, 5)])], &[])),
            Error(ErrorKind::InvalidCheckpoint),
        ),
        (
            "v1-limit-offset.at",
            v1(&body_t(0, i64::MAX as u64)),
            Valid(valid("s", one(0, i64::MAX))),
        ),
        (
            "v1-limit-offset.past",
            v1(&body_t(0, 1 << 63)),
            Error(ErrorKind::InvalidCheckpoint),
        ),
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
    let built = common::with_minor_extension(&base, b"a later minor version's optional data");
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
        assert_eq!(err.kind().as_str(), expected.trim(), "{name}: {err}");
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
                let expected = fs::read_to_string(&error).unwrap();
                assert_eq!(err.kind().as_str(), expected.trim(), "{}", path.display());
                // An .error file holds exactly one identifier of spec §6 and a newline.
                assert_eq!(
                    ErrorKind::from_identifier(expected.trim()),
                    Some(err.kind())
                );
                assert_eq!(expected, format!("{}\n", err.kind()));
            }
        }
    }
}

#[test]
fn every_error_kind_and_small_limit_has_a_vector() {
    let base = read("v1-one-topic", "tdm");
    let mut kinds_seen = std::collections::BTreeSet::new();
    for (name, bytes, expect) in kind_and_limit_cases(&base) {
        let tdm = vectors().join(format!("{name}.tdm"));
        ensure(&tdm, &bytes);
        match &expect {
            Expect::Valid(_) | Expect::ValidNonCanonical => {
                let decoded =
                    format::decode_with_report(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
                ensure(
                    &vectors().join(format!("{name}.json")),
                    format::to_json(&decoded).as_bytes(),
                );
            }
            Expect::Error(kind) => ensure(
                &vectors().join(format!("{name}.error")),
                format!("{kind}\n").as_bytes(),
            ),
        }
        let file = read(name, "tdm");
        assert_eq!(
            file, bytes,
            "{name}: the generator no longer builds the released file"
        );
        let result = format::decode_with_report(&file);
        match expect {
            Expect::Valid(checkpoint) => {
                let decoded = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(decoded.checkpoint, checkpoint, "{name}");
                assert_eq!(
                    format::encode(&checkpoint).unwrap(),
                    file,
                    "{name}: canonical"
                );
                assert_eq!(
                    format::to_json(&decoded).as_bytes(),
                    read(name, "json"),
                    "{name}"
                );
            }
            Expect::ValidNonCanonical => {
                let decoded = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_ne!(format::encode(&decoded.checkpoint).unwrap(), file, "{name}");
                assert_eq!(
                    format::to_json(&decoded).as_bytes(),
                    read(name, "json"),
                    "{name}"
                );
            }
            Expect::Error(kind) => {
                let err = result.expect_err(name);
                assert_eq!(err.kind(), kind, "{name}: {err}");
                assert_eq!(
                    read(name, "error"),
                    format!("{kind}\n").into_bytes(),
                    "{name}"
                );
            }
        }
    }
    // Every kind of spec §6 has at least one golden file.
    for entry in fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "error") {
            let text = fs::read_to_string(&path).unwrap();
            kinds_seen.insert(ErrorKind::from_identifier(text.trim()).expect("known kind"));
        }
    }
    assert_eq!(
        kinds_seen.into_iter().collect::<Vec<_>>(),
        ErrorKind::ALL.to_vec()
    );
}

#[test]
fn out_of_range_numbers_are_printed_exactly() {
    // Beyond 2^63 and beyond 2^64: the message names the number the file holds.
    let err = format::decode(&read("v1-limit-partition.gap-overflow", "tdm")).unwrap_err();
    assert!(
        err.to_string().contains("partition 18446744073709551616 "),
        "{err}"
    );
    let body = raw_body(b"s", &[(T, vec![((1 << 63) + 5, 5)])], &[]);
    let err = format::decode(&v1(&body)).unwrap_err();
    assert!(
        err.to_string().contains("partition 9223372036854775813 "),
        "{err}"
    );
    let err = format::decode(&read("v1-limit-offset.past", "tdm")).unwrap_err();
    assert!(
        err.to_string().contains("offset 9223372036854775808 "),
        "{err}"
    );
}

#[test]
fn a_checkpoint_renders_as_its_file_without_the_two_file_keys() {
    // FORMAT.md §9: `show --json` is `cat --json` without `format_version` (the first key)
    // and `skipped_extensions` (the last), byte for byte.
    for entry in fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if !path.with_extension("json").exists() || path.extension().is_none_or(|e| e != "tdm") {
            continue;
        }
        let decoded = format::decode_with_report(&fs::read(&path).unwrap()).unwrap();
        let file = format::to_json(&decoded);
        let (first, rest) = file.split_once('\n').unwrap();
        let (_, rest) = rest.split_once('\n').unwrap(); // the "format_version" line
        let cut = rest.rfind(",\n  \"skipped_extensions\": ").unwrap();
        let expected = format!("{first}\n{}\n}}\n", &rest[..cut]);
        assert_eq!(
            format::checkpoint_to_json(&decoded.checkpoint),
            expected,
            "{}",
            path.display()
        );
    }
}

/// The reference reader's verdict on `bytes`: Ok(JSON) or Err(kind).
fn python_reader(bytes: &[u8]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.tdm");
    fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("format-spec/reference/tidemark_reader.py"))
        .arg(&path)
        .output()
        .expect("python3 must be installed to run the reference reader");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(String::from_utf8(out.stdout).unwrap()),
        Some(1) => Err(stderr
            .strip_prefix("error: ")
            .and_then(|r| r.split(':').next())
            .unwrap_or_else(|| panic!("{stderr}"))
            .to_owned()),
        _ => panic!("reference reader failed: {stderr}"),
    }
}

#[test]
fn large_limits_at_and_past_their_bound() {
    // The limits whose files are too large to keep as golden files (FORMAT.md §5): built here,
    // at the bound (valid) and one past it (invalid_checkpoint), read by both readers.
    let names: Vec<String> = (0..=100_000).map(|i| format!("{i:06}")).collect();
    let topics = |n: usize| -> Vec<RawTopic<'_>> {
        names[..n]
            .iter()
            .map(|name| (name.as_bytes(), vec![(0, 0)]))
            .collect()
    };
    let partitions = |n: usize| vec![(T, vec![(0u64, 0u64); n])];
    let metadata = |value_len: usize| vec![(b"k".to_vec(), vec![7u8; value_len])];
    let max_meta = format::limits::MAX_METADATA_BYTES as usize - 1; // plus the 1-byte key
    let cases = [
        (
            "topics",
            v1(&raw_body(b"s", &topics(100_000), &[])),
            v1(&raw_body(b"s", &topics(100_001), &[])),
        ),
        (
            "partitions",
            v1(&raw_body(b"s", &partitions(1_000_000), &[])),
            v1(&raw_body(b"s", &partitions(1_000_001), &[])),
        ),
        (
            "metadata bytes",
            v1(&raw_body(b"s", &topics(1), &metadata(max_meta))),
            v1(&raw_body(b"s", &topics(1), &metadata(max_meta + 1))),
        ),
    ];
    for (what, at, past) in cases {
        let decoded = format::decode_with_report(&at).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            format::encode(&decoded.checkpoint).unwrap(),
            at,
            "{what}: canonical"
        );
        assert_eq!(
            python_reader(&at),
            Ok(format::to_json(&decoded)),
            "{what} at the bound"
        );
        let err = format::decode(&past).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCheckpoint, "{what}: {err}");
        assert_eq!(
            python_reader(&past),
            Err("invalid_checkpoint".into()),
            "{what} past it"
        );
    }
}
