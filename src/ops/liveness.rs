//! Whether a stream's writer looks alive: the one definition `reset`, `import` and
//! `describe` share.

use std::time::Duration;

use serde::Serialize;

use crate::Checkpoint;
use crate::store::OPERATOR_ACTION_KEY;

/// How recent a write must be for the stream's writer to count as alive, by default.
pub const DEFAULT_ALIVE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Whether a stream's writer looks alive (see [`writer_liveness`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Liveness {
    /// Whether the writer looks alive.
    pub alive: bool,
    /// The newest checkpoint's id.
    pub checkpoint: u64,
    /// When it was written (its creation time, not its batch time), ms since the Unix epoch.
    pub written_at_ms: u64,
    /// How long ago, in ms (0 when written "in the future" by a skewed clock).
    pub age_ms: u64,
    /// The window used, in ms.
    pub window_ms: u64,
    /// Whether the newest checkpoint is an operator's action (a reset, an import): it fenced
    /// every writer, so none is alive until one claims the stream again.
    pub operator_action: bool,
}

/// Whether the writer of the stream whose newest valid checkpoint is `newest` looks alive at
/// `now_ms`: that checkpoint was written (its creation time) less than `window` ago and is
/// not an operator's action (which fences every writer). A writer that commits less often
/// than `window` looks dead between commits: choose the window above the commit interval.
///
/// ```
/// use std::time::Duration;
/// use tidemark::Checkpoint;
/// use tidemark::ops::writer_liveness;
///
/// let c = Checkpoint::new("s", Default::default()).with_id(7).with_created_at_ms(1_000_000);
/// let window = Duration::from_secs(300);
/// assert!(writer_liveness(&c, 1_000_000 + 299_999, window).alive);
/// assert!(!writer_liveness(&c, 1_000_000 + 300_000, window).alive);
/// ```
pub fn writer_liveness(newest: &Checkpoint, now_ms: u64, window: Duration) -> Liveness {
    let age_ms = now_ms.saturating_sub(newest.created_at_ms);
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    let operator_action = newest.metadata.contains_key(OPERATOR_ACTION_KEY);
    Liveness {
        alive: !operator_action && age_ms < window_ms,
        checkpoint: newest.id,
        written_at_ms: newest.created_at_ms,
        age_ms,
        window_ms,
        operator_action,
    }
}
