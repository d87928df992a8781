//! Counting what consumers read against what the log holds: how many messages were read,
//! read more than once, or never read. The arithmetic behind the demo's closing tally.

use serde::Serialize;

use crate::Offsets;

/// The sum of a set of offsets: for the next offsets to consume of partitions that start at
/// 0, the number of messages consumed.
///
/// ```
/// let o: tidemark::Offsets = [("t", 0, 100), ("t", 1, 50)].into_iter().collect();
/// assert_eq!(tidemark::ops::total(&o), 150);
/// ```
pub fn total(offsets: &Offsets) -> i64 {
    offsets
        .iter()
        .map(|(_, _, o)| o)
        .fold(0i64, i64::saturating_add)
}

/// What one run read: per partition, from `from` (its first offset read) up to `to` (the next
/// offset after its last one read), each partition read in order without gaps, as a Kafka
/// consumer does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRead {
    /// The first offset read per partition (where the run started).
    pub from: Offsets,
    /// The next offset after the last one read per partition.
    pub to: Offsets,
}

/// How runs of a consumer covered the log (see [`tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReadTally {
    /// Messages in the log (log end minus log start, summed over partitions).
    pub in_log: i64,
    /// Messages read, counting each time a message was read.
    pub read: i64,
    /// Messages read more than once (each extra reading counted).
    pub read_twice: i64,
    /// Messages of the log no run read.
    pub skipped: i64,
}

/// Tallies `runs` against the log `[log_start, log_end)` of every partition in `log_end`
/// (a partition missing from `log_start` starts at 0). Reads outside the log are ignored.
///
/// ```
/// use tidemark::Offsets;
/// use tidemark::ops::{RunRead, tally};
///
/// let o = |n| -> Offsets { [("t", 0, n)].into_iter().collect() };
/// // Run 1 read 0..900 (checkpointed 800), run 2 resumed at 800 and read to the end, 1000.
/// let runs = [RunRead { from: o(0), to: o(900) }, RunRead { from: o(800), to: o(1000) }];
/// let t = tally(&Offsets::new(), &o(1000), &runs);
/// assert_eq!((t.in_log, t.read, t.read_twice, t.skipped), (1000, 1100, 100, 0));
/// ```
pub fn tally(log_start: &Offsets, log_end: &Offsets, runs: &[RunRead]) -> ReadTally {
    let mut t = ReadTally {
        in_log: 0,
        read: 0,
        read_twice: 0,
        skipped: 0,
    };
    for (topic, partition, high) in log_end.iter() {
        let low = log_start.get(topic, partition).unwrap_or(0).min(high);
        t.in_log += high - low;
        let mut spans: Vec<(i64, i64)> = runs
            .iter()
            .filter_map(|r| {
                let from = r.from.get(topic, partition)?.max(low);
                let to = r.to.get(topic, partition)?.min(high);
                (to > from).then_some((from, to))
            })
            .collect();
        spans.sort_unstable();
        let read: i64 = spans.iter().map(|(a, b)| b - a).sum();
        // The union of the spans.
        let (mut covered, mut end) = (0i64, low);
        for (a, b) in spans {
            let a = a.max(end);
            if b > a {
                covered += b - a;
                end = b;
            }
        }
        t.read += read;
        t.read_twice += read - covered;
        t.skipped += (high - low) - covered;
    }
    t
}

/// How many messages `to` is ahead of `from`: the sum over `to`'s partitions of the positive
/// differences (a partition `from` lacks counts from 0).
///
/// ```
/// let a: tidemark::Offsets = [("t", 0, 100), ("t", 1, 50)].into_iter().collect();
/// let b: tidemark::Offsets = [("t", 0, 130), ("t", 1, 50), ("t", 2, 5)].into_iter().collect();
/// assert_eq!(tidemark::ops::ahead(&a, &b), 35);
/// ```
pub fn ahead(from: &Offsets, to: &Offsets) -> i64 {
    to.iter()
        .map(|(t, p, o)| o.saturating_sub(from.get(t, p).unwrap_or(0)).max(0))
        .fold(0i64, i64::saturating_add)
}
