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
//! Blank lines are ignored, `\r\n` line ends and spaces around fields are accepted. A topic
//! name holding a comma, a quote, a line end or spaces at either end (the format allows any
//! name) is quoted as RFC 4180 does: `"a,b",0,5`, a quote doubled inside (`"say ""hi""",0,5`).

use std::collections::BTreeMap;

use super::{CsvProblem, ImportError};
use crate::Offsets;

/// Parses `kafka-consumer-groups` CSV (`topic,partition,offset` lines) into offsets.
///
/// Fails on the first bad line with [`ImportError::Csv`], which names the line (1-based) and
/// what is wrong: a wrong number of fields, an empty topic, a partition or offset that is not a
/// decimal integer or is negative, or a topic/partition listed twice. A UTF-8 byte order mark
/// at the start (as spreadsheet programs write) is not part of the first topic's name.
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
    parse_csv_for_group(text, None)
}

/// Parses `kafka-consumer-groups` CSV of one group or several: `topic,partition,offset` lines,
/// or `group,topic,partition,offset` lines (what `--export` prints for several groups), of
/// which the lines of `group` are taken (`None`: the file must hold one group). A header row
/// (`topic,partition,offset` or `group,topic,partition,offset`) is skipped.
///
/// Fails as [`parse_csv`] does, and with [`CsvProblem::SeveralGroups`] or
/// [`CsvProblem::GroupNotFound`] (both listing the groups in the file).
///
/// ```
/// use tidemark::import::csv::parse_csv_for_group;
///
/// let text = "GROUP,TOPIC,PARTITION,OFFSET\nbilling,orders,0,10\nreports,orders,0,7\n";
/// assert_eq!(parse_csv_for_group(text, Some("reports"))?.get("orders", 0), Some(7));
/// assert!(parse_csv_for_group(text, None).is_err());
/// # Ok::<(), tidemark::import::ImportError>(())
/// ```
pub fn parse_csv_for_group(text: &str, group: Option<&str>) -> Result<Offsets, ImportError> {
    // A byte order mark (spreadsheets write one) is not part of the first topic.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = records(text)?;
    if rows.first().is_some_and(|(_, f)| is_header(f)) {
        rows.remove(0);
    }
    if let Some((first_line, first)) = rows.first()
        && first.len() == 4
    {
        let first_line = *first_line;
        let groups: Vec<String> = rows
            .iter()
            .filter(|(_, f)| f.len() == 4)
            .map(|(_, f)| f[0].clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let chosen = match group {
            Some(g) if groups.iter().any(|x| x == g) => g.to_owned(),
            Some(g) => {
                return Err(ImportError::Csv {
                    line: first_line,
                    problem: CsvProblem::GroupNotFound {
                        group: g.to_owned(),
                        groups,
                    },
                });
            }
            None if groups.len() == 1 => groups[0].clone(),
            None => {
                return Err(ImportError::Csv {
                    line: first_line,
                    problem: CsvProblem::SeveralGroups { groups },
                });
            }
        };
        rows = rows
            .into_iter()
            .filter(|(_, f)| f.len() != 4 || f[0] == chosen)
            .map(|(line, mut f)| {
                if f.len() == 4 {
                    f.remove(0);
                }
                (line, f)
            })
            .collect();
    }
    offsets_from(rows)
}

/// Whether a record is a header row: its last two fields name the partition and the offset.
fn is_header(fields: &[String]) -> bool {
    let [.., partition, offset] = fields else {
        return false;
    };
    (fields.len() == 3 || fields.len() == 4)
        && partition.eq_ignore_ascii_case("partition")
        && offset.eq_ignore_ascii_case("offset")
}

fn offsets_from(rows: Vec<(usize, Vec<String>)>) -> Result<Offsets, ImportError> {
    let mut offsets = Offsets::new();
    // (topic, partition) -> line where it was first seen, to report duplicates.
    let mut seen: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for (line, fields) in rows {
        let fail = |problem| ImportError::Csv { line, problem };
        let [topic, partition, offset] = &fields[..] else {
            return Err(fail(CsvProblem::FieldCount {
                found: fields.len(),
            }));
        };
        let (topic, partition, offset) = (topic.as_str(), partition.as_str(), offset.as_str());
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

/// Splits CSV text into records, each with the (1-based) line it starts on and its fields:
/// unquoted fields trimmed, quoted fields (RFC 4180) as written between the quotes. Blank
/// lines are skipped.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes, mut after_quote) = (false, false, false);
    let (mut line, mut record_line) = (1, 1);
    let end_field = |field: &mut String, quoted: &mut bool, fields: &mut Vec<String>| {
        let value = if *quoted {
            std::mem::take(field)
        } else {
            let v = field.trim().to_owned();
            field.clear();
            v
        };
        fields.push(value);
        *quoted = false;
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                _ => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            ',' => {
                end_field(&mut field, &mut quoted, &mut fields);
                after_quote = false;
            }
            '\n' => {
                end_field(&mut field, &mut quoted, &mut fields);
                after_quote = false;
                let blank = fields.len() == 1 && fields[0].is_empty();
                let record = std::mem::take(&mut fields);
                if !blank {
                    out.push((record_line, record));
                }
                line += 1;
                record_line = line;
            }
            '"' if !quoted && field.trim().is_empty() => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            _ if after_quote => {
                if !c.is_whitespace() {
                    return Err(ImportError::Csv {
                        line,
                        problem: CsvProblem::TextAfterQuote,
                    });
                }
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(ImportError::Csv {
            line: record_line,
            problem: CsvProblem::UnterminatedQuote,
        });
    }
    end_field(&mut field, &mut quoted, &mut fields);
    if !(fields.len() == 1 && fields[0].is_empty()) {
        out.push((record_line, fields));
    }
    Ok(out)
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
        out.push_str(&csv_field(topic));
        out.push_str(&format!(",{partition},{offset}\n"));
    }
    out
}

/// A field as written: quoted (RFC 4180, quotes doubled) when it holds a comma, a quote or a
/// line end, or starts or ends with whitespace (which the reader would trim).
fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    let needs_quotes = value.contains([',', '"', '\n', '\r'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if needs_quotes {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
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
    fn a_byte_order_mark_is_not_part_of_the_first_topic() {
        let offsets = parse_csv("\u{feff}orders,0,1042\norders,1,997\n").unwrap();
        let flat: Vec<_> = offsets.iter().collect();
        assert_eq!(flat, [("orders", 0, 1042), ("orders", 1, 997)]);
        // Only at the start: elsewhere it is a character of a name like any other.
        let offsets = parse_csv("a,0,1\n\u{feff}b,0,2\n").unwrap();
        assert_eq!(offsets.get("\u{feff}b", 0), Some(2));
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
        // Five fields, or a fourth one mixed into three-field lines.
        assert_eq!(
            problem("g,a,0,1,2\n"),
            (1, CsvProblem::FieldCount { found: 5 })
        );
        assert!(matches!(
            problem("a,0,1\ng,a,0,1\n"),
            (2, CsvProblem::FieldCount { .. })
        ));
    }

    #[test]
    fn a_header_line_is_skipped_and_only_the_first_line_may_be_one() {
        let offsets = parse_csv("topic,partition,offset\na,0,1\n").unwrap();
        assert_eq!(
            (offsets.get("a", 0), offsets.partition_count()),
            (Some(1), 1)
        );
        assert_eq!(
            problem("a,0,1\ntopic,partition,offset\n"),
            (
                2,
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

    #[test]
    fn topics_with_commas_quotes_line_ends_and_spaces_are_quoted_and_read_back() {
        let offsets: Offsets = [
            ("a,b", 0, 5),
            ("say \"hi\"", 1, 6),
            ("two\nlines", 2, 7),
            (" padded ", 3, 8),
            ("plain", 4, 9),
        ]
        .into_iter()
        .collect();
        let text = write_csv(&offsets);
        assert_eq!(
            text,
            "\" padded \",3,8\n\"a,b\",0,5\nplain,4,9\n\"say \"\"hi\"\"\",1,6\n\"two\nlines\",2,7\n"
        );
        assert_eq!(parse_csv(&text).unwrap(), offsets);
        // The same through \r\n line ends and spaces around the quotes.
        let crlf = "  \"a,b\" , 0 ,5\r\n\r\nplain,4,9\r\n";
        let back = parse_csv(crlf).unwrap();
        assert_eq!(back.get("a,b", 0), Some(5));
        assert_eq!(back.get("plain", 4), Some(9));
    }

    #[test]
    fn broken_quoting_is_refused_with_its_line() {
        assert_eq!(
            problem("a,0,1\n\"open,0,1\nb,0,2\n"),
            (2, CsvProblem::UnterminatedQuote)
        );
        assert_eq!(
            problem("a,0,1\n\"a\"x,0,1"),
            (2, CsvProblem::TextAfterQuote)
        );
        // A line after a quoted line end keeps its own number.
        assert_eq!(
            problem("\"x\ny\",0,1\nz,0\n"),
            (3, CsvProblem::FieldCount { found: 2 })
        );
    }
}
