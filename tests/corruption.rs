//! Every single-bit flip and every truncation of a checkpoint file is detected: the decoder
//! returns an error, never `Ok` with other content, and never panics.

use tidemark_testkit::fixtures as common;

use tidemark::format::{self, FormatError};

fn samples() -> Vec<Vec<u8>> {
    let one = common::checkpoint(
        "billing",
        41,
        [("orders", 0, 74_963), ("orders", 7, 12), ("refunds", 2, 9)]
            .into_iter()
            .collect(),
    )
    .with_metadata("sink.position", vec![1, 2, 3, 4]);
    let empty = common::checkpoint("s", 0, tidemark::Offsets::new());
    vec![
        format::encode(&one).unwrap(),
        format::encode(&empty).unwrap(),
    ]
}

#[test]
fn every_single_bit_flip_is_detected() {
    for file in samples() {
        for byte in 0..file.len() {
            for bit in 0..8 {
                let mut flipped = file.clone();
                flipped[byte] ^= 1 << bit;
                let result = std::panic::catch_unwind(|| format::decode(&flipped));
                let result = result.unwrap_or_else(|_| panic!("panic at byte {byte} bit {bit}"));
                let err = result.expect_err(&format!("flip at byte {byte} bit {bit} decoded"));
                // The header's own fields are reported as such; anything after them by the
                // checksum.
                let expected = match byte {
                    0..=7 => "bad_magic",
                    8..=9 => "unsupported_version",
                    12..=13 => "unsupported_features",
                    16..=23 => "length", // truncated, trailing_bytes or too_large
                    _ => "checksum_mismatch",
                };
                let kind = err.kind().as_str();
                let ok = match expected {
                    "length" => matches!(kind, "truncated" | "trailing_bytes" | "too_large"),
                    _ => kind == expected,
                };
                assert!(
                    ok,
                    "flip at byte {byte} bit {bit}: expected {expected}, got {err}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    for file in samples() {
        for len in 0..file.len() {
            let err = format::decode(&file[..len])
                .expect_err(&format!("truncation to {len} bytes decoded"));
            let expected = if len < format::MIN_FILE_LEN {
                format::MIN_FILE_LEN as u64
            } else {
                file.len() as u64
            };
            assert_eq!(
                err,
                FormatError::Truncated {
                    expected,
                    actual: len as u64
                },
                "truncation to {len} bytes"
            );
        }
    }
}

#[test]
fn appended_bytes_are_detected() {
    for file in samples() {
        let mut longer = file.clone();
        longer.push(0);
        assert_eq!(
            format::decode(&longer).unwrap_err(),
            FormatError::TrailingBytes {
                expected: file.len() as u64,
                actual: file.len() as u64 + 1
            }
        );
    }
}
