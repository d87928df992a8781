//! Property tests: encode→decode is the identity, and encoding is canonical.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use tidemark::format::{self, FormatError, Violation};
use tidemark::{Checkpoint, Offsets, Writer};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9._-]{0,20}",
        "\\PC{1,12}",               // any printable Unicode
        "[\\x00-\\x1f\"\\\\]{1,4}", // control characters, quotes, backslashes
    ]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![0..300i64, 0..70_000i64, 0..i64::MAX, Just(i64::MAX)]
}

fn offsets() -> impl Strategy<Value = Offsets> {
    vec((name(), 0..=i32::MAX, offset()), 0..60).prop_map(|v| v.into_iter().collect())
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        name(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        (any::<u64>(), "\\PC{0,10}", "\\PC{0,10}", "\\PC{0,10}"),
        offsets(),
        btree_map(name(), vec(any::<u8>(), 0..40), 0..5),
    )
        .prop_map(
            |(stream, id, batch, created, (epoch, app, ver, host), offsets, metadata)| {
                let mut c = Checkpoint::new(stream, offsets)
                    .with_id(id)
                    .with_batch_time_ms(batch)
                    .with_created_at_ms(created)
                    .with_writer(Writer::new(epoch, app, ver).with_host(host));
                c.metadata = metadata;
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_inverts_encode(c in checkpoint()) {
        let bytes = format::encode(&c).unwrap();
        let back = format::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &c);
        // Canonical: the decoded checkpoint re-encodes to the same bytes.
        prop_assert_eq!(format::encode(&back).unwrap(), bytes);
    }

    #[test]
    fn insertion_order_does_not_change_the_bytes(c in checkpoint(), seed in any::<u64>()) {
        // Rebuild the same offsets in a shuffled order: the file must be byte-identical.
        let mut entries: Vec<_> = c.offsets.iter().map(|(t, p, o)| (t.to_owned(), p, o)).collect();
        let n = entries.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            entries.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut shuffled = c.clone();
        shuffled.offsets = entries.into_iter().collect();
        prop_assert_eq!(format::encode(&shuffled).unwrap(), format::encode(&c).unwrap());
    }

    #[test]
    fn negative_partitions_and_offsets_are_refused(
        c in checkpoint(), partition in i32::MIN..0, offset in i64::MIN..0,
    ) {
        let mut bad = c.clone();
        bad.offsets.insert("t", partition, 0);
        let refused = matches!(
            format::encode(&bad),
            Err(FormatError::Invalid(Violation::PartitionOutOfRange { .. }))
        );
        prop_assert!(refused);
        let mut bad = c;
        bad.offsets.insert("t", 0, offset);
        let refused = matches!(
            format::encode(&bad),
            Err(FormatError::Invalid(Violation::OffsetOutOfRange { .. }))
        );
        prop_assert!(refused);
    }
}
