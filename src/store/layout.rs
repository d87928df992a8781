//! Where things live in a store (`format-spec/LAYOUT.md`): pure naming, no I/O.
//!
//! ```text
//! <root>/streams/<encoded stream name>/<id, 20 digits>.tdm   checkpoints
//! <root>/streams/<encoded stream name>/_latest               hint: the newest id, as text
//! ```

use object_store::path::Path;

/// The folder under the root that holds one folder per stream.
pub(crate) const STREAMS_DIR: &str = "streams";
/// The hint object's file name.
pub(crate) const HINT_NAME: &str = "_latest";
/// Extension of checkpoint files.
pub(crate) const CHECKPOINT_EXT: &str = ".tdm";
/// Encoded names longer than this are shortened with a hash.
const MAX_ENCODED_LEN: usize = 120;
/// How much of a long encoded name is kept before the hash.
const KEPT_PREFIX_LEN: usize = 80;

/// Encodes a stream name as one path segment that cannot escape its parent: ASCII lowercase
/// letters, digits, `-` and `_` stand for themselves; every other byte of the UTF-8 name
/// becomes `=XX` (uppercase hex). Encoded names longer than 120 bytes keep their first 80
/// bytes (cut before an escape) followed by `=H` and the 16-hex-digit FNV-1a 64 hash of the
/// whole name.
pub(crate) fn encode_stream_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    if out.len() <= MAX_ENCODED_LEN {
        return out;
    }
    let mut cut = KEPT_PREFIX_LEN;
    // Do not split an escape: back up to its `=` if one of the last two bytes starts one.
    for back in 1..=2 {
        if out.as_bytes()[KEPT_PREFIX_LEN - back] == b'=' {
            cut = KEPT_PREFIX_LEN - back;
        }
    }
    format!("{}=H{:016x}", &out[..cut], fnv1a64(name.as_bytes()))
}

/// Decodes a stream folder's name; `None` when the name was shortened with a hash (then the
/// stream's name is read from its checkpoints) or is not a valid encoding.
pub(crate) fn decode_stream_name(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'=' {
            let hex = segment.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            if hex.bytes().any(|c| c.is_ascii_lowercase()) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (encode_stream_name(&name) == segment).then_some(name)
}

/// FNV-1a, 64 bits: a small, stable hash (its constants are in LAYOUT.md).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The file name of checkpoint `id`: 20 digits, zero-padded, so names sort like ids.
pub(crate) fn checkpoint_file_name(id: u64) -> String {
    format!("{id:020}{CHECKPOINT_EXT}")
}

/// What an object in a stream's folder is, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    /// A checkpoint file with this id.
    Checkpoint(u64),
    /// The latest-id hint.
    Hint,
    /// A temporary file left by an interrupted write (object_store's local `<name>#<n>`
    /// staging files, HDFS's `.<name>.tmp.<n>`).
    Temporary,
    /// Anything else.
    Foreign,
}

/// Classifies an object by its file name.
pub(crate) fn classify(file_name: &str) -> ObjectKind {
    if file_name == HINT_NAME {
        return ObjectKind::Hint;
    }
    if is_temporary(file_name) {
        return ObjectKind::Temporary;
    }
    match parse_checkpoint_file_name(file_name) {
        Some(id) => ObjectKind::Checkpoint(id),
        None => ObjectKind::Foreign,
    }
}

/// The id of a checkpoint file name, if it is one (exactly 20 digits and `.tdm`).
pub(crate) fn parse_checkpoint_file_name(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(CHECKPOINT_EXT)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Temporary files younger than this are never deleted, whatever the rules by id say: a
/// create in flight (a claim racing another writer's) lasts far less.
pub(crate) const MIN_TEMPORARY_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The checkpoint id a temporary file was staging (`<name>#<n>`, `.<name>.tmp.<n>`), when the
/// name it stages is a checkpoint's.
pub(crate) fn temporary_target(file_name: &str) -> Option<u64> {
    parse_checkpoint_file_name(staged_name(file_name)?)
}

/// Whether a temporary file was staging the `_latest` hint (`_latest#<n>`,
/// `._latest.tmp.<n>`).
pub(crate) fn is_hint_temporary(file_name: &str) -> bool {
    staged_name(file_name) == Some(HINT_NAME)
}

/// The name a temporary file was staging, if it is one.
fn staged_name(file_name: &str) -> Option<&str> {
    if !is_temporary(file_name) {
        return None;
    }
    match file_name.rsplit_once('#') {
        Some((name, _)) => Some(name),
        None => Some(file_name.strip_prefix('.')?.rsplit_once(".tmp.")?.0),
    }
}

fn is_temporary(file_name: &str) -> bool {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((_, suffix)) = file_name.rsplit_once('#') {
        return all_digits(suffix);
    }
    if let Some(rest) = file_name.strip_prefix('.')
        && let Some((_, n)) = rest.rsplit_once(".tmp.")
    {
        return all_digits(n);
    }
    false
}

/// Paths of one stream inside a store rooted at `root`.
#[derive(Debug, Clone)]
pub(crate) struct StreamPaths {
    dir: Path,
    /// Built once: a writer reads the hint before every commit.
    hint: Path,
}

impl StreamPaths {
    pub(crate) fn new(root: &Path, stream: &str) -> Self {
        let dir = root
            .clone()
            .join(STREAMS_DIR)
            .join(encode_stream_name(stream).as_str());
        let hint = dir.clone().join(HINT_NAME);
        StreamPaths { dir, hint }
    }

    /// The stream's folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The checkpoint with this id.
    pub(crate) fn checkpoint(&self, id: u64) -> Path {
        self.dir.clone().join(checkpoint_file_name(id).as_str())
    }

    /// The hint object.
    pub(crate) fn hint(&self) -> &Path {
        &self.hint
    }
}

/// The folder holding every stream's folder.
pub(crate) fn streams_dir(root: &Path) -> Path {
    root.clone().join(STREAMS_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(encode_stream_name("billing-v2_eu"), "billing-v2_eu");
        assert_eq!(encode_stream_name("Orders.v1"), "=4Frders=2Ev1");
    }

    #[test]
    fn names_that_could_escape_or_hide_are_escaped() {
        for (name, encoded) in [
            ("..", "=2E=2E"),
            (".", "=2E"),
            ("a/b", "a=2Fb"),
            ("../../etc", "=2E=2E=2F=2E=2E=2Fetc"),
            ("a\\b", "a=5Cb"),
            ("tab\tnul\0", "tab=09nul=00"),
            ("ä", "=C3=A4"),
            ("#1", "=231"),
            ("_latest", "_latest"),
        ] {
            assert_eq!(encode_stream_name(name), encoded, "{name:?}");
            assert_eq!(decode_stream_name(encoded).as_deref(), Some(name));
        }
    }

    #[test]
    fn encoded_names_are_single_safe_segments() {
        for name in [
            "..",
            "/",
            "a/../b",
            "🚀",
            "\u{7f}",
            "x".repeat(5000).as_str(),
            "A",
        ] {
            let e = encode_stream_name(name);
            assert!(e.len() <= MAX_ENCODED_LEN + 18, "{name:?}");
            assert!(!e.is_empty() && e != "." && e != "..");
            assert!(
                e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=-_".contains(&b)),
                "{e}"
            );
            // object_store accepts it unchanged as one segment.
            let p = Path::from_iter([e.as_str()]);
            assert_eq!(p.as_ref(), e);
        }
    }

    #[test]
    fn long_names_are_shortened_with_a_hash_and_stay_distinct() {
        let a = "s".repeat(300);
        let b = format!("{}t", "s".repeat(299));
        let (ea, eb) = (encode_stream_name(&a), encode_stream_name(&b));
        assert_ne!(ea, eb);
        assert!(ea.contains("=H"));
        assert_eq!(decode_stream_name(&ea), None);
        // A long name of escapes is never cut inside an escape.
        let c = "é".repeat(100);
        let ec = encode_stream_name(&c);
        let prefix = ec.split("=H").next().unwrap();
        assert_eq!(prefix.len() % 3, 0, "{ec}");
    }

    #[test]
    fn checkpoint_names_sort_and_parse() {
        assert_eq!(checkpoint_file_name(42), "00000000000000000042.tdm");
        assert_eq!(checkpoint_file_name(u64::MAX), "18446744073709551615.tdm");
        assert!(checkpoint_file_name(9) < checkpoint_file_name(10));
        for id in [0, 1, 42, u64::MAX] {
            assert_eq!(
                parse_checkpoint_file_name(&checkpoint_file_name(id)),
                Some(id)
            );
        }
        assert_eq!(parse_checkpoint_file_name("42.tdm"), None);
        assert_eq!(parse_checkpoint_file_name("99999999999999999999.tdm"), None);
    }

    #[test]
    fn temporary_files_name_the_checkpoint_they_staged() {
        assert_eq!(temporary_target("00000000000000000007.tdm#3"), Some(7));
        assert_eq!(
            temporary_target(".00000000000000000007.tdm.tmp.12"),
            Some(7)
        );
        assert_eq!(temporary_target("_latest#1"), None);
        assert_eq!(temporary_target("00000000000000000007.tdm"), None);
    }

    #[test]
    fn temporary_files_of_the_hint_are_told_apart() {
        for hint in ["_latest#1", "._latest.tmp.12"] {
            assert!(is_hint_temporary(hint), "{hint}");
        }
        for other in [
            "_latest",
            "_latest#x",
            "._latest.tmp.",
            "00000000000000000007.tdm#3",
            ".00000000000000000007.tdm.tmp.3",
            "x_latest#1",
        ] {
            assert!(!is_hint_temporary(other), "{other}");
        }
    }

    #[test]
    fn objects_are_classified_by_name() {
        assert_eq!(
            classify("00000000000000000007.tdm"),
            ObjectKind::Checkpoint(7)
        );
        assert_eq!(classify("_latest"), ObjectKind::Hint);
        assert_eq!(
            classify("00000000000000000007.tdm#1"),
            ObjectKind::Temporary
        );
        assert_eq!(
            classify(".00000000000000000007.tdm.tmp.3"),
            ObjectKind::Temporary
        );
        assert_eq!(classify("notes.txt"), ObjectKind::Foreign);
        // 20 digits beyond u64::MAX: not a checkpoint name.
        assert_eq!(classify("18446744073709551616.tdm"), ObjectKind::Foreign);
        assert_eq!(classify("00000000000000000007.tdm#x"), ObjectKind::Foreign);
    }
}
