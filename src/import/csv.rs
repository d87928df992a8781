//! The CSV offsets format of Kafka's `kafka-consumer-groups` tool: what `--reset-offsets
//! --export` prints for one group and what `--reset-offsets --from-file` reads.
//!
//! One line per partition, `topic,partition,offset`, no header; the offset is the next offset to
//! consume (Kafka's committed-offset convention, the same as [`Offsets`]):
//!
//! ```text
//! orders,0,1042
//! orders,1,997
//! payments,0,12
//! ```
//!
//! Blank lines are ignored, `\r\n` line ends and spaces around fields are accepted.

use std::collections::BTreeMap;

use super::{CsvProblem, ImportError};
use crate::Offsets;

/// Parses `kafka-consumer-groups` CSV (`topic,partition,offset` lines) into offsets.
///
/// Fails on the first bad line with [`ImportError::Csv`], which names the line (1-based) and
/// what is wrong: a wrong number of fields, an empty topic, a partition or offset that is not a
/// decimal integer or is negative, or a topic/partition listed twice.
///
/// ```
/// use tidemark::import::parse_csv;
///
/// let offsets = parse_csv("orders,0,1042\r\norders,1,997\n\npayments,0,12\n")?;
/// assert_eq!(offsets.get("orders", 1), Some(997));
/// assert_eq!(offsets.partition_count(), 3);
/// # Ok::<(), tidemark::import::ImportError>(())
/// ```
pub fn parse_csv(text: &str) -> Result<Offsets, ImportError> {
    let mut offsets = Offsets::new();
    // (topic, partition) -> line where it was first seen, to report duplicates.
    let mut seen: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        if content.trim().is_empty() {
            continue;
        }
        let fail = |problem| ImportError::Csv { line, problem };
        let fields: Vec<&str> = content.split(',').map(str::trim).collect();
        let [topic, partition, offset] = fields[..] else {
            return Err(fail(CsvProblem::FieldCount {
                found: fields.len(),
            }));
        };
        if topic.is_empty() {
            return Err(fail(CsvProblem::EmptyTopic));
        }
        let partition = parse_number(partition)
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| {
                fail(CsvProblem::BadPartition {
                    value: partition.to_owned(),
                })
            })?;
        if partition < 0 {
            return Err(fail(CsvProblem::NegativePartition { value: partition }));
        }
        let offset = parse_number(offset).ok_or_else(|| {
            fail(CsvProblem::BadOffset {
                value: offset.to_owned(),
            })
        })?;
        if offset < 0 {
            return Err(fail(CsvProblem::NegativeOffset { value: offset }));
        }
        if let Some(&first_line) = seen.get(&(topic.to_owned(), partition)) {
            return Err(fail(CsvProblem::Duplicate {
                topic: topic.to_owned(),
                partition,
                first_line,
            }));
        }
        seen.insert((topic.to_owned(), partition), line);
        offsets.insert(topic, partition, offset);
    }
    Ok(offsets)
}

/// A decimal integer with an optional leading `-` (no `+`, no spaces inside).
fn parse_number(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Writes offsets as `kafka-consumer-groups` CSV: one `topic,partition,offset` line per
/// partition, each ending in `\n`, in [`Offsets`] order (topics sorted, partitions ascending).
///
/// The output is what `kafka-consumer-groups --reset-offsets --from-file` reads, and
/// [`parse_csv`] reads it back to the same offsets.
///
/// ```
/// use tidemark::Offsets;
/// use tidemark::import::write_csv;
///
/// let offsets: Offsets = [("payments", 0, 12), ("orders", 1, 997), ("orders", 0, 1042)]
///     .into_iter()
///     .collect();
/// assert_eq!(write_csv(&offsets), "orders,0,1042\norders,1,997\npayments,0,12\n");
/// ```
pub fn write_csv(offsets: &Offsets) -> String {
    let mut out = String::new();
    for (topic, partition, offset) in offsets.iter() {
        out.push_str(&format!("{topic},{partition},{offset}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> (usize, CsvProblem) {
        match parse_csv(text) {
            Err(ImportError::Csv { line, problem }) => (line, problem),
            other => panic!("expected a csv error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_export_format() {
        let offsets = parse_csv("orders,0,1042\norders,1,997\npayments,0,12\n").unwrap();
        let flat: Vec<_> = offsets.iter().collect();
        assert_eq!(
            flat,
            [("orders", 0, 1042), ("orders", 1, 997), ("payments", 0, 12)]
        );
    }

    #[test]
    fn tolerates_crlf_blank_lines_spaces_and_no_trailing_newline() {
        let offsets = parse_csv("\r\norders, 0 ,1042\r\n\r\n  \n payments,3,0").unwrap();
        assert_eq!(offsets.get("orders", 0), Some(1042));
        assert_eq!(offsets.get("payments", 3), Some(0));
        assert_eq!(offsets.partition_count(), 2);
    }

    #[test]
    fn empty_input_is_empty_offsets() {
        assert!(parse_csv("").unwrap().is_empty());
        assert!(parse_csv("\n\r\n").unwrap().is_empty());
    }

    #[test]
    fn accepts_the_extremes() {
        let text = format!("t,{},{}\n", i32::MAX, i64::MAX);
        let offsets = parse_csv(&text).unwrap();
        assert_eq!(offsets.get("t", i32::MAX), Some(i64::MAX));
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        assert_eq!(
            problem("a,0,1\n\na,1\n"),
            (3, CsvProblem::FieldCount { found: 2 })
        );
        // The multi-group export has a fourth column.
        assert_eq!(
            problem("group,a,0,1\n"),
            (1, CsvProblem::FieldCount { found: 4 })
        );
        assert_eq!(
            problem("a,0,1,\n"),
            (1, CsvProblem::FieldCount { found: 4 })
        );
    }

    #[test]
    fn a_header_line_is_a_bad_partition() {
        assert_eq!(
            problem("topic,partition,offset\na,0,1\n"),
            (
                1,
                CsvProblem::BadPartition {
                    value: "partition".into()
                }
            )
        );
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert_eq!(
            problem("a,x,1"),
            (1, CsvProblem::BadPartition { value: "x".into() })
        );
        assert_eq!(
            problem("a,+1,1"),
            (1, CsvProblem::BadPartition { value: "+1".into() })
        );
        assert_eq!(
            problem("a,2147483648,1"),
            (
                1,
                CsvProblem::BadPartition {
                    value: "2147483648".into()
                }
            )
        );
        assert_eq!(
            problem("a,0,1.5"),
            (
                1,
                CsvProblem::BadOffset {
                    value: "1.5".into()
                }
            )
        );
        assert_eq!(
            problem("a,0,"),
            (1, CsvProblem::BadOffset { value: "".into() })
        );
        assert_eq!(
            problem("a,0,9223372036854775808"),
            (
                1,
                CsvProblem::BadOffset {
                    value: "9223372036854775808".into()
                }
            )
        );
        assert_eq!(
            problem("a,0,1 2"),
            (
                1,
                CsvProblem::BadOffset {
                    value: "1 2".into()
                }
            )
        );
    }

    #[test]
    fn negative_values_are_refused() {
        assert_eq!(
            problem("a,0,1\na,-1,5"),
            (2, CsvProblem::NegativePartition { value: -1 })
        );
        // -1 is what the export prints for a partition without a committed offset.
        assert_eq!(
            problem("a,0,-1"),
            (1, CsvProblem::NegativeOffset { value: -1 })
        );
    }

    #[test]
    fn empty_topic_is_refused() {
        assert_eq!(problem(" ,0,1"), (1, CsvProblem::EmptyTopic));
    }

    #[test]
    fn duplicates_name_both_lines() {
        assert_eq!(
            problem("a,0,1\nb,0,2\n\na,0,3\n"),
            (
                4,
                CsvProblem::Duplicate {
                    topic: "a".into(),
                    partition: 0,
                    first_line: 1
                }
            )
        );
    }

    #[test]
    fn error_messages_name_line_and_problem() {
        let e = parse_csv("a,0,1\na,0,2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "csv line 2: partition a/0 is listed twice (first on line 1)"
        );
        let e = parse_csv("a;0;1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "csv line 1: expected 3 fields topic,partition,offset, found 1"
        );
    }

    #[test]
    fn write_then_parse_round_trips() {
        let offsets: Offsets = [("b", 1, 10), ("a", 0, 5), ("b", 0, 7), ("a.b-c_d", 9, 0)]
            .into_iter()
            .collect();
        let text = write_csv(&offsets);
        assert_eq!(text, "a,0,5\na.b-c_d,9,0\nb,0,7\nb,1,10\n");
        assert_eq!(parse_csv(&text).unwrap(), offsets);
        assert_eq!(write_csv(&Offsets::new()), "");
    }
}
