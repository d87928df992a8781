"""tidemark: Kafka consumer offsets as versioned, checksummed checkpoint files.

A Python front over the Rust library: every read, commit, compaction and verification goes
through the Rust core (the same code as the `tidemark` crate and command-line tool), and every
call that waits on storage or Kafka releases the GIL.

    import tidemark

    store = tidemark.Store("/var/lib/billing/offsets")          # or s3://bucket/prefix, ...
    writer = store.writer("billing", "billing-app", "2.3.0")    # claims the stream (fencing)
    writer.commit({"orders": {0: 1042, 1: 977}})                 # next offsets to consume
    store.latest("billing").offsets                              # {'orders': {0: 1042, 1: 977}}

The command line's operations, with the same reports as objects: `plan_reset` and `rewind`
(a `ResetPlan` to read, then `execute()`), `lag` and `kafka_lag`, `diff`, `progress`.

    plan = tidemark.plan_reset(store, "billing", shift_by=-500, topics=["orders"])
    print(plan)                                                  # before/after per partition
    plan.execute()                                               # writes one new checkpoint

Spark Structured Streaming: see `tidemark.spark` (a query listener that checkpoints every
micro-batch, and `starting_offsets` for restarting a changed query from a new checkpoint
folder).
"""

from tidemark._tidemark import (
    BackendError,
    Checkpoint,
    Committed,
    CompactionReport,
    ConditionalWritesUnsupportedError,
    ConflictError,
    DamagedError,
    DamagedLatestError,
    DiffReport,
    FencedError,
    GroupMirror,
    HistoryEntry,
    InvalidCheckpointError,
    InvalidOffsetError,
    InvalidStreamNameError,
    InvalidUrlError,
    KafkaError,
    LagReport,
    LostWriteError,
    MissingInputError,
    NewerFormatError,
    NewPartitionLag,
    NoCheckpointError,
    NotFoundError,
    NothingSelectedError,
    NotInClusterError,
    OffsetChange,
    OperationError,
    PartitionDiff,
    PartitionLag,
    PartitionStart,
    PlanError,
    Progress,
    ResetPlan,
    ResetReport,
    ResumePlan,
    SparkImportError,
    Store,
    StoreError,
    StreamWriter,
    TidemarkError,
    VerifyReport,
    WriterAliveError,
    WriterInfo,
    __version__,
    diff,
    kafka_lag,
    kafka_partitions,
    lag,
    plan_reset,
    plan_resume,
    progress,
    read_spark_batch,
    read_spark_checkpoint,
    rewind,
    spark_completed_batches,
)

__all__ = [
    "BackendError",
    "Checkpoint",
    "Committed",
    "CompactionReport",
    "ConditionalWritesUnsupportedError",
    "ConflictError",
    "DamagedError",
    "DamagedLatestError",
    "DiffReport",
    "FencedError",
    "GroupMirror",
    "HistoryEntry",
    "InvalidCheckpointError",
    "InvalidOffsetError",
    "InvalidStreamNameError",
    "InvalidUrlError",
    "KafkaError",
    "LagReport",
    "LostWriteError",
    "MissingInputError",
    "NewPartitionLag",
    "NewerFormatError",
    "NoCheckpointError",
    "NotFoundError",
    "NotInClusterError",
    "NothingSelectedError",
    "OffsetChange",
    "OperationError",
    "PartitionDiff",
    "PartitionLag",
    "PartitionStart",
    "PlanError",
    "Progress",
    "ResetPlan",
    "ResetReport",
    "ResumePlan",
    "SparkImportError",
    "Store",
    "StoreError",
    "StreamWriter",
    "TidemarkError",
    "VerifyReport",
    "WriterAliveError",
    "WriterInfo",
    "__version__",
    "diff",
    "kafka_lag",
    "kafka_partitions",
    "lag",
    "plan_reset",
    "plan_resume",
    "progress",
    "read_spark_batch",
    "read_spark_checkpoint",
    "rewind",
    "spark_completed_batches",
]
