//! What tidemark's tests, benches and command-line tests share (not published): checkpoint
//! fixtures, a fresh store location on every backend the test bed offers, the S3 test server's
//! settings, Kafka helpers, and the benches' measuring helpers. The servers themselves are started by `scripts/test.sh`
//! (`scripts/README.md`); under `CI=true` a missing server is an error, never a silent skip.

pub mod bench;
pub mod fixtures;
pub mod kafka;
pub mod s3;
pub mod stores;
