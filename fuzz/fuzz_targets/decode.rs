//! Arbitrary bytes through the decoder: see `tidemark_fuzz_checks::check_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_fuzz_checks::check_decode;

fuzz_target!(|data: &[u8]| check_decode(data));
