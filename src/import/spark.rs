//! The Kafka source offsets of a Spark Structured Streaming checkpoint folder.
//!
//! Spark records each micro-batch in two logs of the checkpoint folder:
//!
//! - `offsets/<batchId>`, written before the batch runs: the log version `v1`, the batch
//!   metadata as JSON (`batchWatermarkMs`, `batchTimestampMs`, `conf`), then one line per source
//!   of the query, in query order: the source's end offset for this batch as JSON, or `-` for a
//!   source that has no offset yet. A Kafka source's line maps topic → partition → offset:
//!
//!   ```text
//!   v1
//!   {"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{}}
//!   {"orders":{"0":74963,"1":74963}}
//!   -
//!   ```
//!
//! - `commits/<batchId>`, written when the batch's output is committed.
//!
//! A batch whose commit file is missing did not complete (Spark reruns it on restart), so the
//! importer reads the newest batch that has both files. Hadoop's `.<name>.crc` sidecars, temporary
//! files and any other non-numeric names are ignored. A Kafka source's offsets are the offsets
//! the next batch starts from, that is, the next offsets to consume: they are imported as they
//! are.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ImportError, SparkProblem};
use crate::Offsets;

/// The offsets log version this reader supports (the first line of every offsets file).
pub const SPARK_OFFSETS_VERSION: &str = "v1";

/// The offsets of one Kafka source of a Spark checkpoint, as read by
/// [`read_spark_checkpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SparkImport {
    /// The batch the offsets belong to: the newest batch with a commit file.
    pub batch_id: u64,
    /// The batch's `batchTimestampMs` (milliseconds since the Unix epoch; 0 when the file has
    /// no metadata, as Spark assumes).
    pub batch_timestamp_ms: u64,
    /// The offsets file read, `<dir>/offsets/<batch_id>`.
    pub offsets_file: PathBuf,
    /// The chosen source's position among the query's sources (0 is the first, on line 3).
    pub source_index: usize,
    /// Every source of the batch, in query order.
    pub sources: Vec<SparkSource>,
    /// The chosen source's offsets: every topic it reads, next offset to consume per
    /// partition.
    pub offsets: Offsets,
}

/// One source line of a Spark offsets file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SparkSource {
    /// The source's position in the query (0 is the first).
    pub index: usize,
    /// Its line in the offsets file (counting from 1; the first source is on line 3).
    pub line: usize,
    /// What the line holds.
    pub kind: SparkSourceKind,
}

/// What a source line of a Spark offsets file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SparkSourceKind {
    /// A Kafka source's offsets: a JSON object of topics, each an object of partition numbers
    /// to integer offsets.
    Kafka {
        /// The topics, sorted.
        topics: Vec<String>,
    },
    /// `-`: the source had no offset yet in this batch.
    NoOffset,
    /// Any other source (a file, rate or Delta source, ...).
    Other,
}

impl fmt::Display for SparkSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {} (line {}): ", self.index, self.line)?;
        match &self.kind {
            SparkSourceKind::Kafka { topics } => write!(f, "kafka topics {}", topics.join(", ")),
            SparkSourceKind::NoOffset => f.write_str("no offset yet (-)"),
            SparkSourceKind::Other => f.write_str("not a kafka source"),
        }
    }
}

/// Reads the offsets of one Kafka source from the newest committed batch of a Spark
/// Structured Streaming checkpoint folder.
///
/// The batch is the highest id `N` with both `<dir>/offsets/N` and `<dir>/commits/N`. The
/// source is the Kafka source whose offsets include every topic of `topics`; with `topics`
/// empty, the only Kafka source of the query. No match, or several, is an error that lists
/// every source line with its index and topics. Only reads files.
///
/// ```no_run
/// use std::path::Path;
/// use tidemark::import::read_spark_checkpoint;
///
/// let import = read_spark_checkpoint(Path::new("checkpoints/billing"), &["orders"])?;
/// println!("batch {}: {:?}", import.batch_id, import.offsets);
/// # Ok::<(), tidemark::import::ImportError>(())
/// ```
pub fn read_spark_checkpoint(dir: &Path, topics: &[&str]) -> Result<SparkImport, ImportError> {
    read_spark_batch(dir, newest_committed_batch(dir)?, topics)
}

/// The ids of the batches Spark completed in a checkpoint folder (both `offsets/N` and
/// `commits/N` present), ascending. Only lists the two folders.
pub fn spark_completed_batches(dir: &Path) -> Result<Vec<u64>, ImportError> {
    let mut ids = batch_ids(&dir.join("offsets"))?;
    ids.sort_unstable();
    let commits_dir = dir.join("commits");
    ids.retain(|id| commits_dir.join(id.to_string()).is_file());
    Ok(ids)
}

/// Like [`read_spark_checkpoint`], for batch `batch_id` (read from `offsets/<batch_id>`,
/// whether or not Spark completed it: check with [`spark_completed_batches`]).
pub fn read_spark_batch(
    dir: &Path,
    batch_id: u64,
    topics: &[&str],
) -> Result<SparkImport, ImportError> {
    let path = dir.join("offsets").join(batch_id.to_string());
    let text = fs::read_to_string(&path).map_err(|source| ImportError::Io {
        path: path.clone(),
        source,
    })?;
    let file = parse_offsets_file(&path, &text)?;
    let source_index = choose_source(&path, &file.sources, topics)?;
    let offsets = kafka_offsets(&path, &file.sources[source_index], &file.lines)?;
    Ok(SparkImport {
        batch_id,
        batch_timestamp_ms: file.batch_timestamp_ms,
        offsets_file: path,
        source_index,
        sources: file.sources,
        offsets,
    })
}

/// The highest batch id in `offsets/` that has a commit file.
fn newest_committed_batch(dir: &Path) -> Result<u64, ImportError> {
    let offsets_dir = dir.join("offsets");
    let mut ids = batch_ids(&offsets_dir)?;
    ids.sort_unstable();
    let commits_dir = dir.join("commits");
    for &id in ids.iter().rev() {
        if commits_dir.join(id.to_string()).is_file() {
            return Ok(id);
        }
    }
    Err(ImportError::SparkNoCommittedBatch {
        dir: dir.to_owned(),
        uncommitted: ids,
    })
}

/// The batch ids of the files in a log folder: names that are a batch id as Spark writes it
/// (decimal, no sign, no leading zero). Everything else (`.N.crc`, temporary files) is skipped.
fn batch_ids(log_dir: &Path) -> Result<Vec<u64>, ImportError> {
    let io = |source| ImportError::Io {
        path: log_dir.to_owned(),
        source,
    };
    let mut ids = Vec::new();
    for entry in fs::read_dir(log_dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(id) = parse_batch_id(&name) else {
            continue;
        };
        if entry.path().is_file() {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn parse_batch_id(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok()
}

/// An offsets file, parsed as far as choosing a source needs.
#[derive(Debug)]
struct OffsetsFile<'a> {
    batch_timestamp_ms: u64,
    sources: Vec<SparkSource>,
    /// Every line of the file (without line ends).
    lines: Vec<&'a str>,
}

const FIRST_SOURCE_LINE: usize = 3;

fn parse_offsets_file<'a>(path: &Path, text: &'a str) -> Result<OffsetsFile<'a>, ImportError> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let malformed = |line, problem, json| ImportError::SparkMalformed {
        path: path.to_owned(),
        line,
        problem,
        json,
    };
    let Some(version) = lines.first() else {
        return Err(malformed(
            1,
            SparkProblem::MissingLine { what: "version" },
            None,
        ));
    };
    if version.trim() != SPARK_OFFSETS_VERSION {
        return Err(ImportError::SparkUnsupportedVersion {
            path: path.to_owned(),
            found: version.trim().to_owned(),
            supported: SPARK_OFFSETS_VERSION,
        });
    }
    let Some(metadata) = lines.get(1) else {
        return Err(malformed(
            2,
            SparkProblem::MissingLine { what: "metadata" },
            None,
        ));
    };
    let batch_timestamp_ms = batch_timestamp(metadata).map_err(|(p, j)| malformed(2, p, j))?;
    let sources = lines
        .iter()
        .enumerate()
        .skip(FIRST_SOURCE_LINE - 1)
        .map(|(i, line)| SparkSource {
            index: i + 1 - FIRST_SOURCE_LINE,
            line: i + 1,
            kind: classify(line),
        })
        .collect();
    Ok(OffsetsFile {
        batch_timestamp_ms,
        sources,
        lines,
    })
}

/// `batchTimestampMs` of the metadata line; Spark writes an empty line for no metadata and
/// defaults missing fields to 0.
fn batch_timestamp(line: &str) -> Result<u64, (SparkProblem, Option<serde_json::Error>)> {
    if line.trim().is_empty() {
        return Ok(0);
    }
    let value: Value =
        serde_json::from_str(line).map_err(|e| (SparkProblem::MetadataNotJson, Some(e)))?;
    let Value::Object(fields) = value else {
        return Err((SparkProblem::MetadataNotObject, None));
    };
    for field in ["batchTimestampMs", "batchWatermarkMs"] {
        if fields.get(field).is_some_and(|v| v.as_u64().is_none()) {
            return Err((SparkProblem::MetadataField { field }, None));
        }
    }
    Ok(fields
        .get("batchTimestampMs")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

/// Whether a source line is Kafka-shaped: a non-empty JSON object whose values are all
/// non-empty objects of integers.
fn classify(line: &str) -> SparkSourceKind {
    if line.trim() == "-" {
        return SparkSourceKind::NoOffset;
    }
    match kafka_json(line) {
        Some(topics) => SparkSourceKind::Kafka {
            topics: topics.keys().cloned().collect(),
        },
        None => SparkSourceKind::Other,
    }
}

/// A Kafka-shaped source line as topic → partition key → offset number.
fn kafka_json(line: &str) -> Option<BTreeMap<String, Vec<(String, serde_json::Number)>>> {
    let Ok(Value::Object(topics)) = serde_json::from_str::<Value>(line) else {
        return None;
    };
    if topics.is_empty() {
        return None;
    }
    let mut out = BTreeMap::new();
    for (topic, partitions) in topics {
        let Value::Object(partitions) = partitions else {
            return None;
        };
        if partitions.is_empty() {
            return None;
        }
        let mut list = Vec::with_capacity(partitions.len());
        for (partition, offset) in partitions {
            match offset {
                Value::Number(n) if n.is_i64() || n.is_u64() => list.push((partition, n)),
                _ => return None,
            }
        }
        out.insert(topic, list);
    }
    Some(out)
}

/// The source to import: the Kafka source that has all of `topics`, or the only Kafka source.
fn choose_source(
    path: &Path,
    sources: &[SparkSource],
    topics: &[&str],
) -> Result<usize, ImportError> {
    let matching: Vec<usize> = sources
        .iter()
        .filter(|s| match &s.kind {
            SparkSourceKind::Kafka { topics: has } => {
                topics.iter().all(|t| has.iter().any(|h| h == t))
            }
            _ => false,
        })
        .map(|s| s.index)
        .collect();
    let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    match matching[..] {
        [index] => Ok(index),
        [] => Err(ImportError::SparkNoMatchingSource {
            path: path.to_owned(),
            topics,
            sources: sources.to_vec(),
        }),
        _ => Err(ImportError::SparkAmbiguousSource {
            path: path.to_owned(),
            topics,
            matching,
            sources: sources.to_vec(),
        }),
    }
}

/// The offsets of a Kafka-shaped source line.
fn kafka_offsets(
    path: &Path,
    source: &SparkSource,
    lines: &[&str],
) -> Result<Offsets, ImportError> {
    let malformed = |problem| ImportError::SparkMalformed {
        path: path.to_owned(),
        line: source.line,
        problem,
        json: None,
    };
    let topics = kafka_json(lines[source.line - 1]).expect("the source line was classified Kafka");
    let mut offsets = Offsets::new();
    for (topic, partitions) in topics {
        for (key, number) in partitions {
            let partition = parse_partition(&key).ok_or_else(|| {
                malformed(SparkProblem::BadPartition {
                    topic: topic.clone(),
                    partition: key.clone(),
                })
            })?;
            let offset = number.as_i64().filter(|o| *o >= 0).ok_or_else(|| {
                malformed(SparkProblem::BadOffset {
                    topic: topic.clone(),
                    partition,
                    value: number.to_string(),
                })
            })?;
            offsets.insert(topic.clone(), partition, offset);
        }
    }
    Ok(offsets)
}

fn parse_partition(key: &str) -> Option<i32> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OffsetsFile<'_>, ImportError> {
        parse_offsets_file(Path::new("ckpt/offsets/7"), text)
    }

    #[test]
    fn batch_ids_are_canonical_decimal_names() {
        assert_eq!(parse_batch_id("0"), Some(0));
        assert_eq!(parse_batch_id("17"), Some(17));
        for name in [".17.crc", "17.crc", "017", "+1", "", "-1", "1a", ".1.tmp"] {
            assert_eq!(parse_batch_id(name), None, "{name}");
        }
    }

    #[test]
    fn classifies_source_lines() {
        let kafka = |t: &[&str]| SparkSourceKind::Kafka {
            topics: t.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            classify(r#"{"orders":{"0":74963,"1":74963}}"#),
            kafka(&["orders"])
        );
        assert_eq!(
            classify(r#"{"payments": {"0": 1}, "orders": {"2": 3}}"#),
            kafka(&["orders", "payments"])
        );
        assert_eq!(classify("-"), SparkSourceKind::NoOffset);
        for other in [
            r#"{"logOffset":0}"#,
            "5",
            "",
            "{}",
            r#"{"t":{}}"#,
            r#"{"t":{"0":1.5}}"#,
            r#"{"t":{"0":"1"}}"#,
            r#"{"sourceVersion":1,"reservoirId":"x","index":-1,"isStartingVersion":true}"#,
            "not json",
        ] {
            assert_eq!(classify(other), SparkSourceKind::Other, "{other}");
        }
    }

    #[test]
    fn reads_timestamp_and_sources() {
        let file = parse(
            "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1700000000000,\"conf\":{}}\n-\n{\"t\":{\"0\":5}}",
        )
        .unwrap();
        assert_eq!(file.batch_timestamp_ms, 1_700_000_000_000);
        assert_eq!(file.sources.len(), 2);
        assert_eq!(file.sources[1].index, 1);
        assert_eq!(file.sources[1].line, 4);
        // No metadata: Spark writes an empty line.
        assert_eq!(parse("v1\n\n-").unwrap().batch_timestamp_ms, 0);
        assert_eq!(parse("v1\r\n{}\r\n-\r\n").unwrap().sources.len(), 1);
    }

    #[test]
    fn refuses_other_versions_and_bad_metadata() {
        match parse("v2\n{}\n-") {
            Err(ImportError::SparkUnsupportedVersion { found, .. }) => assert_eq!(found, "v2"),
            other => panic!("{other:?}"),
        }
        let cases = [
            ("", 1, SparkProblem::MissingLine { what: "version" }),
            ("v1", 2, SparkProblem::MissingLine { what: "metadata" }),
            ("v1\n{", 2, SparkProblem::MetadataNotJson),
            ("v1\n[1]", 2, SparkProblem::MetadataNotObject),
            (
                "v1\n{\"batchTimestampMs\":-5}",
                2,
                SparkProblem::MetadataField {
                    field: "batchTimestampMs",
                },
            ),
        ];
        for (text, want_line, want) in cases {
            match parse(text) {
                Err(ImportError::SparkMalformed { line, problem, .. }) => {
                    assert_eq!((line, problem), (want_line, want), "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_partitions_and_offsets_of_the_chosen_source_name_the_line() {
        let text =
            "v1\n{}\n{\"t\":{\"x\":1}}\n{\"u\":{\"0\":-2}}\n{\"w\":{\"0\":18446744073709551615}}";
        let file = parse(text).unwrap();
        let path = Path::new("p");
        let err = kafka_offsets(path, &file.sources[0], &file.lines).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p:3: topic t: partition \"x\" is not a non-negative 32-bit integer"
        );
        let err = kafka_offsets(path, &file.sources[1], &file.lines).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p:4: u/0: offset -2 is not a non-negative 64-bit integer"
        );
        let err = kafka_offsets(path, &file.sources[2], &file.lines).unwrap_err();
        assert!(matches!(
            err,
            ImportError::SparkMalformed {
                line: 5,
                problem: SparkProblem::BadOffset { .. },
                ..
            }
        ));
    }
}
