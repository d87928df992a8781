//! Support code of tidemark's fuzz targets. The properties live in [`checks`] so that the
//! corpus replay test of the main crate (`tests/fuzz_corpus.rs`) checks exactly the same ones.

pub mod checks;
