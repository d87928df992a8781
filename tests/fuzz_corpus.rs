//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same checks as the
//! cargo-fuzz targets, on stable Rust: every input the fuzzer kept stays a regression test.
//!
//! The properties themselves live in the `tidemark-fuzz-checks` crate (`tests/fuzz-checks`,
//! see `fuzz/README.md`).

use tidemark_fuzz_checks as checks;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The files of one target's corpus, sorted; fails if the directory is missing or empty, so the
/// replay can never silently test nothing.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the fuzz corpus {}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "the fuzz corpus {} is empty: nothing would be replayed",
        dir.display()
    );
    files
}

/// Runs `check` on every file of `target`'s corpus and reports all the files that fail.
fn replay(target: &str, check: impl Fn(&[u8]) -> Result<(), String>) {
    let files = corpus(target);
    let mut failures = Vec::new();
    for path in &files {
        let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match panic::catch_unwind(AssertUnwindSafe(|| check(&data))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("{name}: {why}")),
            Err(_) => failures.push(format!("{name}: panicked (message above)")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files of fuzz/corpus/{target} fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn decode_corpus() {
    replay("decode", |data| {
        checks::check_decode(data);
        Ok(())
    });
}

#[test]
fn roundtrip_corpus() {
    replay("roundtrip", |data| match checks::roundtrip_input(data) {
        Some(input) => {
            checks::check_roundtrip(&input);
            Ok(())
        }
        // libFuzzer never keeps an input the target rejects, so this means the bytes are no
        // longer read the way they were when the corpus was made (e.g. `arbitrary` changed).
        None => Err("not a FuzzCheckpoint (the roundtrip target rejects it)".to_owned()),
    });
}
