//! Structured checkpoints through encode and decode: see `tidemark_fuzz_checks::check_roundtrip`.
//!
//! The bytes are turned into a `FuzzCheckpoint` by `tidemark_fuzz_checks::roundtrip_input` (rather than by
//! `fuzz_target!`'s typed form) so that the corpus replay test interprets them identically.
#![no_main]

use libfuzzer_sys::{Corpus, fuzz_target};
use tidemark_fuzz_checks::{check_roundtrip, roundtrip_input};

fuzz_target!(|data: &[u8]| -> Corpus {
    match roundtrip_input(data) {
        Some(input) => {
            check_roundtrip(&input);
            Corpus::Keep
        }
        None => Corpus::Reject,
    }
});
