//! Hand-built files whose checksum is right but whose body or extension area breaks the spec:
//! each gives its specific structured error, with the field and byte offset.

use tidemark::format::{self, FormatError, Malformed, Violation};
use tidemark_testkit::fixtures::raw_file;

/// The fixed fields before the topics: stream "s", id 1, times 2 and 3, epoch 4, writer
/// strings "a", "", "", "".
const PREFIX: &[u8] = &[1, b's', 1, 2, 3, 4, 1, b'a', 0, 0, 0];

fn body(tail: &[u8]) -> Vec<u8> {
    let mut b = PREFIX.to_vec();
    b.extend_from_slice(tail);
    b
}

fn decode_body(tail: &[u8]) -> Result<tidemark::Checkpoint, FormatError> {
    format::decode(&raw_file(1, 0, 0, &body(tail), &[]))
}

#[test]
fn the_minimal_hand_built_file_decodes() {
    let c = decode_body(&[1, 1, b't', 2, 0, 5, 3, 6, 0]).unwrap();
    assert_eq!(c.stream, "s");
    assert_eq!((c.id, c.batch_time_ms, c.created_at_ms), (1, 2, 3));
    assert_eq!(c.writer.epoch, 4);
    assert_eq!(c.writer.app_name, "a");
    // Gaps 0 and 3: partitions 0 and 4.
    let flat: Vec<_> = c.offsets.iter().collect();
    assert_eq!(flat, [("t", 0, 5), ("t", 4, 6)]);
}

fn malformed(result: Result<tidemark::Checkpoint, FormatError>) -> (Malformed, String, u64) {
    match result {
        Err(FormatError::MalformedBody {
            what,
            field,
            offset,
        }) => (what, field, offset),
        other => panic!("expected a malformed body, got {other:?}"),
    }
}

#[test]
fn a_non_shortest_varint_is_refused_with_its_field_and_offset() {
    // The topic count 1 written as FB 01 00.
    let (what, field, offset) = malformed(decode_body(&[0xFB, 1, 0, 1, b't', 1, 0, 5, 0]));
    assert_eq!(what, Malformed::NonMinimalInteger { value: 1 });
    assert_eq!(field, "topics");
    assert_eq!(offset, (format::HEADER_LEN + PREFIX.len()) as u64);
}

#[test]
fn a_non_shortest_string_length_is_refused() {
    let (what, field, _) = malformed(decode_body(&[1, 0xFB, 1, 0, b't', 1, 0, 5, 0]));
    assert_eq!(what, Malformed::NonMinimalInteger { value: 1 });
    assert_eq!(field, "topics[0].name");
}

#[test]
fn u128_and_reserved_varint_markers_are_refused() {
    for marker in [0xFE, 0xFF] {
        let mut tail = vec![marker];
        tail.extend_from_slice(&[0; 16]);
        let (what, field, _) = malformed(decode_body(&tail));
        assert_eq!(what, Malformed::InvalidInteger, "marker {marker:#x}");
        assert_eq!(field, "topics");
    }
}

#[test]
fn a_value_running_past_the_body_is_refused() {
    // The string claims 2^62 bytes: nothing is allocated for it, the end is reported.
    let mut tail = vec![1, 0xFD];
    tail.extend_from_slice(&(1u64 << 62).to_le_bytes());
    let (what, field, _) = malformed(decode_body(&tail));
    assert_eq!(what, Malformed::UnexpectedEnd);
    assert_eq!(field, "topics[0].name");
    // A count with no elements behind it.
    let (what, field, _) = malformed(decode_body(&[0xFC, 0xA0, 0x86, 0x01, 0]));
    assert_eq!(what, Malformed::UnexpectedEnd);
    assert_eq!(field, "topics[0].name");
}

#[test]
fn trailing_body_bytes_are_refused() {
    let (what, field, _) = malformed(decode_body(&[0, 0, 9]));
    assert_eq!(what, Malformed::TrailingBytes { count: 1 });
    assert_eq!(field, "end of body");
}

#[test]
fn invalid_utf8_is_refused() {
    let (what, field, _) = malformed(decode_body(&[1, 2, 0xC3, 0x28, 1, 0, 5, 0]));
    assert_eq!(what, Malformed::InvalidUtf8);
    assert_eq!(field, "topics[0].name");
}

fn violation(result: Result<tidemark::Checkpoint, FormatError>) -> Violation {
    match result {
        Err(FormatError::Invalid(v)) => v,
        other => panic!("expected an invalid checkpoint, got {other:?}"),
    }
}

#[test]
fn unsorted_or_duplicate_topics_are_refused() {
    let v = violation(decode_body(&[2, 1, b'b', 1, 0, 5, 1, b'a', 1, 0, 5, 0]));
    assert_eq!(
        v,
        Violation::TopicOrder {
            topic: "a".into(),
            previous: "b".into()
        }
    );
    let v = violation(decode_body(&[2, 1, b'a', 1, 0, 5, 1, b'a', 1, 0, 5, 0]));
    assert!(matches!(v, Violation::TopicOrder { .. }), "{v:?}");
}

#[test]
fn unsorted_metadata_keys_are_refused() {
    let v = violation(decode_body(&[0, 2, 1, b'z', 0, 1, b'y', 0]));
    assert!(matches!(v, Violation::MetadataOrder { .. }), "{v:?}");
}

#[test]
fn a_topic_without_partitions_is_refused() {
    let v = violation(decode_body(&[1, 1, b't', 0, 0]));
    assert_eq!(v, Violation::EmptyTopic { topic: "t".into() });
}

#[test]
fn an_empty_stream_or_topic_name_is_refused() {
    let mut b = vec![0];
    b.extend_from_slice(&PREFIX[2..]);
    b.extend_from_slice(&[0, 0]);
    let v = violation(format::decode(&raw_file(1, 0, 0, &b, &[])));
    assert_eq!(v, Violation::EmptyName { what: "stream" });
    let v = violation(decode_body(&[1, 0, 1, 0, 5, 0]));
    assert_eq!(v, Violation::EmptyName { what: "topic name" });
}

#[test]
fn partitions_beyond_i32_and_offsets_beyond_i64_are_refused() {
    // Gap 2^31 - 1 then gap 0: partition 2^31.
    let mut tail = vec![1, 1, b't', 2, 0xFC];
    tail.extend_from_slice(&(i32::MAX as u32).to_le_bytes());
    tail.extend_from_slice(&[5, 0, 5, 0]);
    let v = violation(decode_body(&tail));
    assert_eq!(
        v,
        Violation::PartitionOutOfRange {
            topic: "t".into(),
            partition: 1 << 31
        }
    );
    let mut tail = vec![1, 1, b't', 1, 0, 0xFD];
    tail.extend_from_slice(&(1u64 << 63).to_le_bytes());
    tail.push(0);
    let v = violation(decode_body(&tail));
    assert!(
        matches!(v, Violation::OffsetOutOfRange { offset, .. } if offset == 1i128 << 63),
        "{v:?}"
    );
}

#[test]
fn limits_are_enforced_on_decode() {
    // 100,001 topics claimed.
    let v = violation(decode_body(&[0xFC, 0xA1, 0x86, 0x01, 0x00]));
    assert!(
        matches!(
            v,
            Violation::LimitExceeded {
                what: "topics",
                count: 100_001,
                ..
            }
        ),
        "{v:?}"
    );
    // A stream name of 4,097 bytes.
    let mut b = vec![0xFB, 0x01, 0x10];
    b.extend(std::iter::repeat_n(b'x', 4097));
    b.extend_from_slice(&PREFIX[2..]);
    b.extend_from_slice(&[0, 0]);
    let v = violation(format::decode(&raw_file(1, 0, 0, &b, &[])));
    assert!(
        matches!(v, Violation::StringTooLong { len: 4097, .. }),
        "{v:?}"
    );
}

#[test]
fn limits_are_enforced_on_encode() {
    let big: tidemark::Offsets = (0..1_000_001).map(|p| ("t", p, 0)).collect();
    let err = format::encode(&tidemark::Checkpoint::new("s", big)).unwrap_err();
    assert!(
        matches!(
            err,
            FormatError::Invalid(Violation::LimitExceeded {
                what: "partitions",
                ..
            })
        ),
        "{err:?}"
    );
    let err = format::encode(&tidemark::Checkpoint::new("", Default::default())).unwrap_err();
    assert_eq!(
        err,
        FormatError::Invalid(Violation::EmptyName { what: "stream" })
    );
}

#[test]
fn extension_records_are_checked_and_skipped() {
    let b = body(&[0, 0]);
    let record = |tag: u32, data: &[u8]| {
        let mut r = tag.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(data);
        r
    };
    let ext = [record(3, b"abc"), record(9, b"")].concat();
    let decoded = format::decode_with_report(&raw_file(1, 4, 0, &b, &ext)).unwrap();
    let tags: Vec<_> = decoded
        .skipped_extensions
        .iter()
        .map(|e| (e.tag, e.length))
        .collect();
    assert_eq!(tags, [(3, 3), (9, 0)]);
    assert_eq!(decoded.version.minor, 4);

    let base = (format::HEADER_LEN + b.len()) as u64;
    let err = format::decode(&raw_file(1, 1, 0, &b, &record(0, b"x"))).unwrap_err();
    assert_eq!(
        err,
        FormatError::MalformedExtensions {
            what: Malformed::ReservedTag,
            offset: base
        }
    );
    let ext = [record(5, b""), record(5, b"")].concat();
    let err = format::decode(&raw_file(1, 1, 0, &b, &ext)).unwrap_err();
    assert!(
        matches!(err, FormatError::MalformedExtensions { what: Malformed::TagOrder { tag: 5, previous: 5 }, offset } if offset == base + 8),
        "{err:?}"
    );
    let mut cut = record(5, b"abcdef");
    cut.truncate(10);
    let err = format::decode(&raw_file(1, 1, 0, &b, &cut)).unwrap_err();
    assert!(
        matches!(
            err,
            FormatError::MalformedExtensions {
                what: Malformed::UnexpectedEnd,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn flags_required_are_refused_optional_are_ignored() {
    let b = body(&[0, 0]);
    let err = format::decode(&raw_file(1, 0, 0x0000_0002, &b, &[])).unwrap_err();
    assert_eq!(err, FormatError::UnsupportedFeatures { flags: 2 });
    let decoded = format::decode_with_report(&raw_file(1, 0, 0x0001_0000, &b, &[])).unwrap();
    assert_eq!(decoded.flags, 0x0001_0000);
}

#[test]
fn a_short_foreign_file_is_bad_magic_and_a_short_prefix_is_truncated() {
    assert_eq!(
        format::decode(b"{\"a\":1}").unwrap_err().kind(),
        "bad_magic"
    );
    assert_eq!(
        format::decode(&format::MAGIC[..5]).unwrap_err(),
        FormatError::Truncated {
            expected: 28,
            actual: 5
        }
    );
}

#[test]
fn a_header_claiming_more_than_the_maximum_size_is_too_large() {
    let mut f = raw_file(1, 0, 0, &body(&[0, 0]), &[]);
    f[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        format::decode(&f).unwrap_err(),
        FormatError::TooLarge { .. }
    ));
}

#[test]
fn messages_never_repeat_themselves() {
    let mut b = vec![0];
    b.extend_from_slice(&PREFIX[2..]);
    b.extend_from_slice(&[0, 0]);
    let err = format::decode(&raw_file(1, 0, 0, &b, &[])).unwrap_err();
    assert_eq!(
        tidemark::error_chain(&err),
        "invalid checkpoint: stream is empty"
    );
    // Through the store's errors too: each cause once.
    let damaged = tidemark::store::StoreError::Damaged {
        stream: "s".into(),
        id: 1,
        source: err.into(),
    };
    assert_eq!(
        tidemark::error_chain(&damaged),
        "stream=s checkpoint=1: damaged: not a valid checkpoint file: invalid checkpoint: stream is empty"
    );
    // An error that already includes its cause's message (object_store's do) is not
    // followed by it again.
    let io = std::io::Error::other("disk on fire");
    let wrapped = object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(io),
    };
    let chain = tidemark::error_chain(&wrapped);
    assert_eq!(chain.matches("disk on fire").count(), 1, "{chain}");
}
