"""Type stubs of the native module (the Rust core's bindings)."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from os import PathLike
from typing import Literal

__version__: str

Offsets = dict[str, dict[int, int]]
Cluster = Mapping[str, Mapping[int, tuple[int, int]]]
StartAt = Literal["earliest", "latest"] | int

class TidemarkError(Exception):
    """Base class of every error tidemark raises."""

class StoreError(TidemarkError):
    """A store operation failed (base class of the store's errors)."""

class InvalidUrlError(StoreError):
    url: str
    reason: str

class InvalidStreamNameError(StoreError):
    reason: str

class BackendError(StoreError):
    operation: str
    path: str

class NotFoundError(StoreError):
    stream: str
    id: int

class DamagedError(StoreError):
    stream: str
    id: int
    reason: str
    format_kind: str | None

class DamagedLatestError(StoreError):
    stream: str
    count: int
    newest_damaged: int

class FencedError(StoreError):
    """A newer writer has claimed the stream; `by_*` name it."""

    stream: str
    id: int
    by: str
    by_epoch: int
    by_app_name: str
    by_app_version: str
    by_host: str

class ConflictError(StoreError):
    stream: str
    id: int
    reason: str

class ConditionalWritesUnsupportedError(StoreError):
    store: str
    path: str

class LostWriteError(StoreError):
    stream: str
    id: int

class NewerFormatError(StoreError):
    stream: str
    id: int
    format_version: str
    required_features: int

class InvalidCheckpointError(StoreError):
    stream: str
    format_kind: str

class PlanError(TidemarkError):
    problems: list[dict[str, object]]

class KafkaError(TidemarkError):
    operation: str | None

class SparkImportError(TidemarkError): ...

class OperationError(TidemarkError):
    """An operation (reset, rewind, lag) was refused before anything was written."""

class NoCheckpointError(OperationError):
    stream: str
    store: str

class NothingSelectedError(OperationError):
    operation: str

class WriterAliveError(OperationError):
    stream: str
    checkpoint: int
    age_ms: int
    window_ms: int

class NotInClusterError(OperationError):
    topic: str
    partition: int

class MissingInputError(OperationError):
    mode: str
    needs: str

class InvalidOffsetError(OperationError):
    topic: str
    partition: int
    offset: int

class WriterInfo:
    epoch: int
    app_name: str
    app_version: str
    host: str
    tidemark_version: str

class Checkpoint:
    """One checkpoint of a stream (read-only)."""

    @property
    def stream(self) -> str: ...
    @property
    def id(self) -> int: ...
    @property
    def batch_time_ms(self) -> int: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def writer(self) -> WriterInfo: ...
    @property
    def offsets(self) -> Offsets: ...
    @property
    def metadata(self) -> dict[str, bytes]: ...
    def offset(self, topic: str, partition: int) -> int | None: ...

class HistoryEntry:
    id: int
    committed_at_ms: int
    size: int

class Committed:
    id: int
    size: int

class CompactionReport:
    dry_run: bool
    newest_valid: int | None
    kept: int
    deleted: list[int]
    bytes_freed: int
    temporary_deleted: list[str]
    skipped: list[int]
    foreign: list[str]

class VerifyReport:
    stream: str
    checked: int
    valid: int
    damaged: list[tuple[int, str]]
    non_canonical: list[int]
    gaps: list[tuple[int, int]]
    temporary: list[str]
    foreign: list[str]
    range: tuple[int, int] | None
    has_problems: bool

class StreamWriter:
    """The only writer of a stream until a newer one opens."""

    @property
    def stream(self) -> str: ...
    @property
    def epoch(self) -> int: ...
    @property
    def last_id(self) -> int: ...
    def commit(
        self,
        offsets: Mapping[str, Mapping[int, int]],
        batch_time_ms: int | None = None,
        metadata: Mapping[str, bytes] | None = None,
    ) -> Committed: ...

class Store:
    """A checkpoint store named by a URL (local path, s3://, gs://, az://, memory://)."""

    def __init__(
        self,
        url: str,
        *,
        strict: bool = False,
        allow_unconditional_writes: bool = False,
        verify_writes: bool | None = None,
        **options: str | bool | int,
    ) -> None: ...
    def latest(self, stream: str) -> Checkpoint | None: ...
    def latest_report(
        self, stream: str
    ) -> tuple[Checkpoint | None, list[tuple[int, str]], int | None]: ...
    def get(self, stream: str, id: int) -> Checkpoint: ...
    def history(
        self,
        stream: str,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[HistoryEntry]: ...
    def streams(self) -> list[str]: ...
    def writer(
        self, stream: str, app_name: str, app_version: str, *, host: str | None = None
    ) -> StreamWriter: ...
    def compact(
        self,
        stream: str,
        ttl: float | timedelta,
        keep: int = 1,
        dry_run: bool = True,
    ) -> CompactionReport: ...
    def verify(self, stream: str | None = None) -> list[VerifyReport]: ...

class PartitionStart:
    topic: str
    partition: int
    offset: int | None
    timestamp_ms: int | None
    reason: Literal[
        "first_start", "new_topic", "new_partition", "resumed", "data_loss", "ahead_of_log"
    ]
    explanation: str
    is_warning: bool
    checkpointed: int | None
    log_start: int
    log_end: int

class ResumePlan:
    @property
    def checkpoint_id(self) -> int | None: ...
    @property
    def starts(self) -> list[PartitionStart]: ...
    @property
    def dropped(self) -> list[tuple[str, int, int, str]]: ...
    @property
    def missing_topics(self) -> list[str]: ...
    def carried_over(self) -> Offsets: ...

def plan_resume(
    checkpoint: Checkpoint | None,
    topics: Sequence[str],
    cluster: Cluster,
    *,
    first_start: StartAt | None = None,
    new_partitions: StartAt | None = None,
    on_data_loss: Literal["fail", "earliest"] = "fail",
    on_ahead_of_log: Literal["fail", "earliest", "latest"] = "fail",
    keep_dropped: bool = False,
) -> ResumePlan: ...
def kafka_partitions(
    bootstrap: str, topics: Sequence[str], timeout: float = 10.0
) -> dict[str, dict[int, tuple[int, int]]]: ...

class GroupMirror:
    def __init__(self, bootstrap: str, group: str) -> None: ...
    @property
    def group(self) -> str: ...
    def mirror(self, offsets: Mapping[str, Mapping[int, int]], timeout: float = 10.0) -> None: ...

def read_spark_checkpoint(
    path: str | PathLike[str], topics: Sequence[str] = ...
) -> tuple[int, int, Offsets, int]: ...
def read_spark_batch(
    path: str | PathLike[str], batch_id: int, topics: Sequence[str] = ...
) -> tuple[int, int, Offsets, int]: ...
def spark_completed_batches(path: str | PathLike[str]) -> list[int]: ...

class PartitionLag:
    """One partition of a `LagReport`: `lag` is what a resume would read; `lost` the records
    deleted below the log start before they were read; `state` one of "ok",
    "behind_log_start", "ahead_of_log_end", "not_in_cluster"."""

    topic: str
    partition: int
    checkpointed: int
    log_start: int | None
    log_end: int | None
    lag: int | None
    lost: int | None
    state: str

class NewPartitionLag:
    """A partition added to a checkpointed topic since: a resume starts it at its log start."""

    topic: str
    partition: int
    log_start: int
    log_end: int
    lag: int

class LagReport:
    """How far a checkpoint is behind the log ends (`tidemark lag`'s report)."""

    stream: str
    checkpoint: int
    created_at_ms: int
    partitions: list[PartitionLag]
    total_lag: int
    new_partitions: list[NewPartitionLag]
    new_partitions_lag: int
    total_lost: int

def lag(checkpoint: Checkpoint, cluster: Cluster) -> LagReport: ...
def kafka_lag(store: Store, stream: str, bootstrap: str, timeout: float = 10.0) -> LagReport: ...

class Progress:
    messages: int
    seconds: float
    messages_per_second: float

def progress(older: Checkpoint, newer: Checkpoint) -> Progress: ...

class PartitionDiff:
    topic: str
    partition: int
    a: int | None
    b: int | None
    delta: int | None

class DiffReport:
    a: int
    b: int
    partitions: list[PartitionDiff]
    total_delta: int

def diff(a: Checkpoint, b: Checkpoint) -> DiffReport: ...

class OffsetChange:
    """One partition of a reset: its offset before (None: new to the stream) and after."""

    topic: str
    partition: int
    before: int | None
    after: int
    change: int | None

class ResetReport:
    operation: str
    stream: str
    base_id: int | None
    dry_run: bool
    changes: list[OffsetChange]
    checkpoint_id: int | None

class ResetPlan:
    """A planned reset, validated, not written yet; `execute()` writes it."""

    @property
    def operation(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def base_id(self) -> int | None: ...
    @property
    def changes(self) -> list[OffsetChange]: ...
    @property
    def offsets(self) -> Offsets: ...
    def dry_run(self) -> ResetReport: ...
    def execute(self, *, force: bool = False, alive_window: float = 300.0) -> ResetReport: ...

def plan_reset(
    store: Store,
    stream: str,
    *,
    to_offset: int | None = None,
    shift_by: int | None = None,
    to_earliest: bool = False,
    to_latest: bool = False,
    to_datetime: datetime | int | None = None,
    by_duration: float | timedelta | None = None,
    to_checkpoint: int | None = None,
    to_offsets: Mapping[str, Mapping[int, int]] | None = None,
    topics: Sequence[str] | Mapping[str, Sequence[int] | None] | None = None,
    cluster: Cluster | None = None,
    bootstrap: str | None = None,
    timeout: float = 10.0,
    allow_new_partitions: bool = False,
) -> ResetPlan: ...
def rewind(store: Store, stream: str, id: int) -> ResetPlan: ...
