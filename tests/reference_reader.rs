//! The independent Python reader (`format-spec/reference/tidemark_reader.py`, written from the
//! spec alone) prints exactly what tidemark prints, for every golden file and for random
//! checkpoints. Needs `python3` on the PATH; fails loudly without it.

use tidemark_testkit::fixtures as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use tidemark::format;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the reference reader on `path`: Ok(stdout) or Err(error kind).
fn python_reader(path: &Path) -> Result<String, String> {
    let out = Command::new("python3")
        .arg(root().join("format-spec/reference/tidemark_reader.py"))
        .arg(path)
        .output()
        .expect("python3 must be installed to run the reference reader");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("reader prints UTF-8"))
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "reader failed: {stderr}");
        let kind = stderr
            .strip_prefix("error: ")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("unexpected reader output: {stderr}"));
        Err(kind.to_owned())
    }
}

fn rust_reader(bytes: &[u8]) -> Result<String, String> {
    format::decode_with_report(bytes)
        .map(|d| format::to_json(&d))
        .map_err(|e| e.kind().as_str().to_owned())
}

#[test]
fn python_and_rust_agree_on_every_golden_file() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("format-spec/vectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tdm"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "golden files missing");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            python_reader(&path),
            rust_reader(&bytes),
            "{}",
            path.display()
        );
    }
}

#[test]
fn python_and_rust_agree_on_generated_files() {
    let dir = std::env::temp_dir().join(format!("tidemark-reference-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A spread of shapes: sizes of every varint width, several topics, metadata, and damaged
    // copies (every 7th byte flipped in turn, every length cut).
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for (i, n) in [0, 1, 3, 250, 251, 3000].into_iter().enumerate() {
        let mut offsets = common::many_partitions("t-ä", n);
        offsets.insert("another", 65_536, 4_294_967_296);
        let c = common::checkpoint("s", i as u64 * 1_000_003, offsets)
            .with_metadata(format!("k{i}"), vec![i as u8; i * 100]);
        cases.push(format::encode(&c).unwrap());
    }
    let base = cases[2].clone();
    for at in (0..base.len()).step_by(7) {
        let mut flipped = base.clone();
        flipped[at] ^= 0x04;
        cases.push(flipped);
    }
    for len in (0..base.len()).step_by(11) {
        cases.push(base[..len].to_vec());
    }
    // A header declaring more than the maximum file size.
    let mut huge = base.clone();
    huge[19] = 0x10;
    cases.push(huge);
    for (i, bytes) in cases.iter().enumerate() {
        let path = dir.join(format!("case-{i}.tdm"));
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(python_reader(&path), rust_reader(bytes), "case {i}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
