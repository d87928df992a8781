//! Errors of the checkpoint store.

use crate::Writer;
use crate::format::{FormatError, FormatVersion};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL cannot be used.
    #[error("invalid store url {url}: {reason}")]
    InvalidUrl {
        /// The URL with any secret removed.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The store does not exist: a local folder opened with
    /// [`Store::open_existing`](super::Store::open_existing) is missing (nothing was created).
    #[error("store {store} does not exist ({reason})")]
    StoreNotFound {
        /// The store, as a path.
        store: String,
        /// What was found instead.
        reason: &'static str,
    },
    /// The stream name cannot be used.
    #[error("invalid stream name: {reason}")]
    InvalidStreamName {
        /// What is wrong.
        reason: &'static str,
    },
    /// The backend failed (network, permissions, disk); the operation may be retried.
    #[error("store operation {operation} failed on {path}")]
    Backend {
        /// The operation: `put`, `get`, `head`, `list`, `delete`.
        operation: &'static str,
        /// The object or prefix.
        path: String,
        /// The backend's error.
        #[source]
        source: object_store::Error,
    },
    /// No checkpoint with this id exists.
    #[error("stream={stream} checkpoint={id}: not found")]
    NotFound {
        /// The stream.
        stream: String,
        /// The id.
        id: u64,
    },
    /// A checkpoint object exists but is not a valid checkpoint of this stream.
    #[error("stream={stream} checkpoint={id}: damaged")]
    Damaged {
        /// The stream.
        stream: String,
        /// The id.
        id: u64,
        /// Why it cannot be read.
        #[source]
        source: Damage,
    },
    /// In strict mode, `latest` found damaged checkpoint objects newer than the newest valid
    /// one.
    #[error(
        "stream={stream}: {count} damaged checkpoint(s) newer than the newest valid one, newest damaged id {newest_damaged}"
    )]
    DamagedLatest {
        /// The stream.
        stream: String,
        /// How many damaged objects were found.
        count: usize,
        /// The highest damaged id.
        newest_damaged: u64,
    },
    /// A checkpoint of the stream was written by a newer tidemark: its format's major version
    /// is above the ones this library reads, or it uses required features this library does
    /// not implement. [`Store::latest`](super::Store::latest) stops here instead of falling
    /// back to an older checkpoint (which would resume from stale offsets), and no writer of
    /// this library opens or commits past it. Upgrade tidemark.
    #[error(
        "stream={stream} checkpoint={id}: written by a newer tidemark (format {version}{}): upgrade tidemark to read or write this stream",
        features_text(*required_features)
    )]
    NewerFormat {
        /// The stream.
        stream: String,
        /// The checkpoint's id.
        id: u64,
        /// The format version in the checkpoint file.
        version: FormatVersion,
        /// The required feature bits (flags 0-15) this library does not implement; 0 when
        /// the major version alone is newer.
        required_features: u32,
    },
    /// A newer writer has claimed the stream: this writer may not commit any more.
    #[error("stream={stream} checkpoint={id}: fenced by a newer writer, {by}")]
    Fenced {
        /// The stream.
        stream: String,
        /// The id this writer tried to create.
        id: u64,
        /// The writer that holds the stream now.
        by: Box<Writer>,
    },
    /// The id this writer tried to create holds something it cannot account for: an older
    /// writer's checkpoint or an object it cannot decode. Nothing was overwritten.
    #[error("stream={stream} checkpoint={id}: conflicting object, {reason}")]
    Conflict {
        /// The stream.
        stream: String,
        /// The id.
        id: u64,
        /// What was found there, or why no id could be taken.
        reason: ConflictReason,
    },
    /// The stream's ids are used up: its newest id is the largest the format allows.
    #[error("stream {stream:?} has no id left after {last} (the largest the format allows)")]
    IdsExhausted {
        /// The stream.
        stream: String,
        /// Its newest id.
        last: u64,
    },
    /// The backend does not enforce create-if-absent writes, so commits cannot be fenced.
    #[error(
        "store {store} does not enforce create-if-absent writes (a second conditional write to {path} succeeded); refusing to write. Use a backend that supports conditional writes, or opt out explicitly with allow_unconditional_writes"
    )]
    ConditionalWritesUnsupported {
        /// The store, without secrets.
        store: String,
        /// The probe object.
        path: String,
    },
    /// The backend acknowledged a commit, but reading it back did not return it. Retry the
    /// commit; if this repeats, the backend loses writes.
    #[error(
        "stream={stream} checkpoint={id}: the backend acknowledged the write but does not return it"
    )]
    LostWrite {
        /// The stream.
        stream: String,
        /// The id.
        id: u64,
    },
    /// A writer's claim landed, but the `_latest` hint still names a lower id (its rewrite
    /// failed or was lost): the writer does not open, since an older writer trusting that hint
    /// could write below the claim. Retry opening the writer.
    #[error(
        "stream={stream}: claim {claim} written but the latest-id hint still names {hint}; retry opening the writer"
    )]
    StaleHint {
        /// The stream.
        stream: String,
        /// The claim's id.
        claim: u64,
        /// The id the hint names.
        hint: u64,
    },
    /// The checkpoint cannot be encoded (it breaks a rule of the format).
    #[error("stream={stream}: checkpoint cannot be written")]
    Invalid {
        /// The stream.
        stream: String,
        /// The format's reason.
        #[source]
        source: FormatError,
    },
}

fn features_text(required_features: u32) -> String {
    if required_features == 0 {
        String::new()
    } else {
        format!(", unknown required features {required_features:#06x}")
    }
}

/// What [`StoreError::Conflict`] found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConflictReason {
    /// Other writers took every id this writer tried, this many times in a row.
    #[error("the id kept changing under this writer in {attempts} attempts")]
    Contended {
        /// How many ids were tried.
        attempts: usize,
    },
    /// A copy's destination already holds an object at the id (nothing was overwritten).
    #[error("the destination already holds an object with this id")]
    Occupied,
    /// The id holds a checkpoint of an older writer (which should have been fenced).
    #[error("it holds a checkpoint of an older writer, {writer}")]
    OlderWriter {
        /// That checkpoint's writer.
        writer: Box<Writer>,
    },
    /// A claim with given offsets expected another newest checkpoint: the stream moved since
    /// its offsets were planned (plan again).
    #[error("the stream moved since the offsets were planned: expected checkpoint {}, found {}",
        expected.map_or("none".to_owned(), |i| i.to_string()),
        found.map_or("none".to_owned(), |i| i.to_string()))]
    Moved {
        /// The newest valid checkpoint expected.
        expected: Option<u64>,
        /// The newest valid checkpoint found.
        found: Option<u64>,
    },
}

/// Why a checkpoint object is not a valid checkpoint of its stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The bytes are not a valid checkpoint file.
    #[error("not a valid checkpoint file")]
    Format(#[from] FormatError),
    /// The file is valid but names another stream (a foreign copy or a hash collision).
    #[error("the file belongs to stream {found:?}")]
    WrongStream {
        /// The stream named in the file.
        found: String,
    },
    /// The file is valid but carries another id than its name.
    #[error("the file holds checkpoint {found}")]
    WrongId {
        /// The id in the file.
        found: u64,
    },
    /// Something at the name holds no readable object (a directory with a checkpoint name).
    #[error("not a file")]
    NotAFile,
}

impl Damage {
    /// A stable identifier of the damage: the format error's kind
    /// ([`ErrorKind::as_str`](crate::format::ErrorKind::as_str), e.g. `checksum_mismatch`), or
    /// `wrong_stream` / `wrong_id` for a valid file in the wrong place (LAYOUT.md §5).
    pub fn kind(&self) -> &'static str {
        match self {
            Damage::Format(e) => e.kind().as_str(),
            Damage::WrongStream { .. } => "wrong_stream",
            Damage::WrongId { .. } => "wrong_id",
            Damage::NotAFile => "not_a_file",
        }
    }
}

/// A `Result` with a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
