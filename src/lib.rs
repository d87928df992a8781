//! # tidemark
//!
//! Stream-consumer offsets (Kafka partition offsets) stored as versioned, checksummed
//! checkpoint files, so that a consumer restarts exactly where it left off, whatever changed in
//! its code.
//!
//! - [`format`](mod@format): the [`Checkpoint`] type and the pure codec (no I/O), specified byte by byte
//!   in `format-spec/FORMAT.md`;
//! - [`ops`]: the operations fronts share (reset, rewind, diff, lag, log, ...), returning
//!   typed reports;
//! - [`store`]: atomic, durable, fenced commits to local disk, S3, HDFS and other object
//!   stores, a constant-cost `latest`, history and TTL compaction (layout in
//!   `format-spec/LAYOUT.md`); [`blocking`] wraps it for applications that are not async.
//!
//! ```
//! use tidemark::{format, Checkpoint, Offsets, Writer};
//!
//! let mut offsets = Offsets::new();
//! offsets.insert("orders", 0, 1_042); // next offset to consume on orders/0
//! let checkpoint = Checkpoint::new("billing", offsets)
//!     .with_id(1)
//!     .with_writer(Writer::new(1, "billing-app", "2.3.0").with_tidemark_version(tidemark::VERSION));
//!
//! let bytes = format::encode(&checkpoint)?;
//! let back = format::decode(&bytes)?;
//! assert_eq!(back.offsets.get("orders", 0), Some(1_042));
//! # Ok::<(), tidemark::format::FormatError>(())
//! ```

#![deny(unreachable_pub)]

pub mod format;
pub mod import;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod ops;
pub mod plan;

pub use format::{Checkpoint, Offsets, Writer};

/// An error and its causes on one line, `outer: cause: root cause`.
///
/// Each cause is printed once: a cause whose message the line already holds is left out
/// (many errors, such as `object_store`'s and the HTTP client's, include their source's message
/// in their own, and `source()` returns it as well). tidemark's own errors never include their
/// source's message.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let message = s.to_string();
        if !message.is_empty() && !out.contains(&message) {
            out.push_str(": ");
            out.push_str(&message);
        }
        source = s.source();
    }
    out
}

/// This library's version, recorded in every checkpoint it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod blocking;
pub mod store;

// The README's Rust examples are compiled as doctests.
#[cfg(all(doctest, feature = "kafka"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    /// An error whose message holds its source's message in the middle (as HTTP clients'
    /// do: "... - {source}, after 2 retries"), with that source also returned by `source()`.
    #[derive(Debug)]
    struct Wrapping(std::io::Error);

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "request failed - {}, after 2 retries", self.0)
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_printed_once() {
        let e = Wrapping(std::io::Error::other("connection reset"));
        assert_eq!(
            super::error_chain(&e),
            "request failed - connection reset, after 2 retries"
        );
    }
}
