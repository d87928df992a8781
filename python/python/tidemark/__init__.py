"""tidemark: Kafka consumer offsets as versioned, checksummed checkpoint files.

A Python front over the Rust library: every read, commit, compaction and verification goes
through the Rust core (the same code as the `tidemark` crate and command-line tool), and every
call that waits on storage or Kafka releases the GIL.

    import tidemark

    store = tidemark.Store("/var/lib/billing/offsets")          # or s3://bucket/prefix, ...
    writer = store.writer("billing", "billing-app", "2.3.0")    # claims the stream (fencing)
    writer.commit({"orders": {0: 1042, 1: 977}})                 # next offsets to consume
    store.latest("billing").offsets                              # {'orders': {0: 1042, 1: 977}}

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
    FencedError,
    GroupMirror,
    HistoryEntry,
    InvalidCheckpointError,
    InvalidStreamNameError,
    InvalidUrlError,
    KafkaError,
    LostWriteError,
    NotFoundError,
    PartitionStart,
    PlanError,
    ResumePlan,
    SparkImportError,
    Store,
    StoreError,
    StreamWriter,
    TidemarkError,
    VerifyReport,
    WriterInfo,
    __version__,
    kafka_partitions,
    lag,
    plan_resume,
    read_spark_batch,
    read_spark_checkpoint,
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
    "FencedError",
    "GroupMirror",
    "HistoryEntry",
    "InvalidCheckpointError",
    "InvalidStreamNameError",
    "InvalidUrlError",
    "KafkaError",
    "LostWriteError",
    "NotFoundError",
    "PartitionStart",
    "PlanError",
    "ResumePlan",
    "SparkImportError",
    "Store",
    "StoreError",
    "StreamWriter",
    "TidemarkError",
    "VerifyReport",
    "WriterInfo",
    "__version__",
    "kafka_partitions",
    "lag",
    "plan_resume",
    "read_spark_batch",
    "read_spark_checkpoint",
    "spark_completed_batches",
]
