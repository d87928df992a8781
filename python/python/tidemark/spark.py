"""Spark Structured Streaming with tidemark: upgrade-safe restarts, no JVM code.

A Spark checkpoint folder is tied to its query: change the query and you need a new folder,
and with it the position in Kafka is lost. With tidemark:

1. `TidemarkListener` commits each Kafka source's end offsets after every completed
   micro-batch, as a checkpoint of a named tidemark stream (batch id, query id and run id in
   its metadata), and optionally mirrors them to a Kafka consumer group so that lag tools see
   the job.
2. `starting_offsets(store, stream, topics, ...)` gives the JSON for the Kafka source's
   `startingOffsets` option: every partition of the subscribed topics, at the checkpointed
   offset, or at the earliest offset (-2) for partitions and topics added since.

Upgrade recipe: stop the query, change it, start it with a *new* checkpoint folder and
`.option("startingOffsets", starting_offsets(...))`. It resumes where the old query stopped.
`startingOffsets` only applies to a new checkpoint folder: a query restarted on its old folder
resumes from that folder, as usual.

Offsets are the next offsets to consume, exactly as Spark writes them in `endOffset`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tidemark._tidemark import (
    FencedError,
    GroupMirror,
    ResumePlan,
    Store,
    StreamWriter,
    kafka_partitions,
    plan_resume,
    read_spark_batch,
    spark_completed_batches,
)

try:  # PySpark is optional: starting_offsets works without it.
    from pyspark.sql.streaming import StreamingQueryListener as _ListenerBase
except ImportError:  # pragma: no cover - exercised only without pyspark
    _ListenerBase = object  # type: ignore[assignment,misc]

__all__ = [
    "TidemarkListener",
    "kafka_end_offsets",
    "resume_plan",
    "starting_offsets",
]

log = logging.getLogger("tidemark.spark")

# Metadata keys of the checkpoints the listener writes.
META_BATCH_ID = "spark.batch_id"
META_QUERY_ID = "spark.query_id"
META_RUN_ID = "spark.run_id"
META_QUERY_NAME = "spark.query_name"
META_SOURCE = "spark.source"
META_IMPORTED = "spark.imported_from"

# With only the partition numbers known (no broker asked), the log's bounds are unknown: the
# plan cannot check for data loss (Spark's failOnDataLoss still does).
_UNKNOWN_LOG_END = 2**63 - 1


def kafka_end_offsets(end_offset: Any) -> dict[str, dict[int, int]] | None:
    """A Kafka source's `endOffset` from a progress event (JSON text or parsed) as
    `{topic: {partition: offset}}`, or None when it is not a Kafka source's offsets."""
    if end_offset is None:
        return None
    if isinstance(end_offset, str):
        try:
            end_offset = json.loads(end_offset)
        except ValueError:
            return None
    if not isinstance(end_offset, dict) or not end_offset:
        return None
    out: dict[str, dict[int, int]] = {}
    for topic, partitions in end_offset.items():
        if not isinstance(partitions, dict):
            return None
        parsed: dict[int, int] = {}
        for partition, offset in partitions.items():
            try:
                parsed[int(partition)] = int(offset)
            except (TypeError, ValueError):
                return None
            if isinstance(offset, bool) or not isinstance(offset, int):
                return None
        out[topic] = parsed
    return out


def _cluster(
    topics: list[str],
    bootstrap: str | None,
    partitions: Mapping[str, int | Iterable[int]] | None,
    timeout: float,
) -> dict[str, dict[int, tuple[int, int]]]:
    if partitions is not None:
        cluster: dict[str, dict[int, tuple[int, int]]] = {}
        for topic, parts in partitions.items():
            numbers = range(parts) if isinstance(parts, int) else parts
            cluster[topic] = {int(p): (0, _UNKNOWN_LOG_END) for p in numbers}
        return cluster
    if bootstrap is None:
        raise ValueError(
            "starting offsets need the topics' partitions: pass bootstrap (the Kafka cluster "
            "to ask) or partitions ({topic: count or partition numbers})"
        )
    return kafka_partitions(bootstrap, topics, timeout)


def resume_plan(
    store: Store,
    stream: str,
    topics: Iterable[str],
    *,
    bootstrap: str | None = None,
    partitions: Mapping[str, int | Iterable[int]] | None = None,
    first_start: str = "earliest",
    new_partitions: str = "earliest",
    on_data_loss: str = "fail",
    timeout: float = 10.0,
) -> ResumePlan:
    """The resume plan behind `starting_offsets`: where each partition starts and why
    (`print(plan)` shows a table). Same arguments as `starting_offsets`."""
    topics = list(topics)
    cluster = _cluster(topics, bootstrap, partitions, timeout)
    checkpoint = store.latest(stream)
    return plan_resume(
        checkpoint,
        topics,
        cluster,
        first_start=first_start,
        new_partitions=new_partitions,
        on_data_loss=on_data_loss,
    )


def starting_offsets(
    store: Store,
    stream: str,
    topics: Iterable[str],
    *,
    bootstrap: str | None = None,
    partitions: Mapping[str, int | Iterable[int]] | None = None,
    first_start: str = "earliest",
    new_partitions: str = "earliest",
    on_data_loss: str = "fail",
    timeout: float = 10.0,
) -> str:
    """The JSON for the Kafka source's `startingOffsets` option, from the latest checkpoint of
    `stream`: `{"topic": {"0": offset, ...}, ...}` listing every partition of `topics` (Spark
    requires them all).

    - a partition in the checkpoint starts at its checkpointed offset;
    - a partition added since, or a topic not in the checkpoint, starts per `new_partitions`
      / `first_start`: "earliest" (-2) or "latest" (-1);
    - with no checkpoint at all, every partition starts per `first_start`.

    The partitions come from the Kafka cluster at `bootstrap` (through tidemark's Rust Kafka
    client, which also checks checkpointed offsets against the log's bounds: a checkpointed
    offset below the log start raises `PlanError` unless `on_data_loss="earliest"`), or from
    `partitions` (`{topic: partition count or partition numbers}`, no broker asked, no bounds
    check). Topics the cluster does not have are left out (a warning is logged).
    """
    plan = resume_plan(
        store,
        stream,
        topics,
        bootstrap=bootstrap,
        partitions=partitions,
        first_start=first_start,
        new_partitions=new_partitions,
        on_data_loss=on_data_loss,
        timeout=timeout,
    )
    symbolic = {"earliest": -2, "latest": -1}
    out: dict[str, dict[str, int]] = {}
    for start in plan.starts:
        if start.reason == "resumed" or start.reason == "data_loss":
            offset = start.offset
        elif start.reason == "new_partition":
            offset = symbolic.get(new_partitions)
        elif start.reason in ("first_start", "new_topic"):
            offset = symbolic.get(first_start)
        else:
            offset = start.offset
        if offset is None:
            raise ValueError(
                f"topic {start.topic!r} partition {start.partition}: cannot express a start "
                f"at {start.explanation!r} in startingOffsets (use 'earliest' or 'latest')"
            )
        out.setdefault(start.topic, {})[str(start.partition)] = offset
    for topic in plan.missing_topics:
        log.warning("topic %r: not on the cluster, left out of startingOffsets", topic)
    return json.dumps(out, sort_keys=True)


def _iso_to_ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class TidemarkListener(_ListenerBase):  # type: ignore[misc,valid-type]
    """A `StreamingQueryListener` that commits each Kafka source's end offsets after every
    completed micro-batch as a checkpoint of a tidemark stream.

        listener = TidemarkListener(store, "billing", app_name="billing", app_version="2.0")
        spark.streams.addListener(listener)

    - `stream`: the tidemark stream of the query's Kafka source; with several Kafka sources,
      `streams` maps a topic each source reads to its own stream name instead
      (`{"orders": "billing-orders", "refunds": "billing-refunds"}`).
    - `query_name`: only queries with this name (`.queryName(...)`); default all.
    - `checkpoint_location`: the query's Spark checkpoint folder (local path). On
      construction, before the query starts, the batches Spark completed there that the
      listener did not record (the last run was killed) are committed (see `catch_up`).
    - `mirror`: a `GroupMirror` (Kafka bootstrap and group): offsets are also committed to
      that consumer group after each checkpoint, so that lag tools see the job. A failed
      mirror is logged, never fatal.

    Each checkpoint's metadata holds `spark.batch_id`, `spark.query_id`, `spark.run_id`,
    `spark.query_name` and `spark.source` (UTF-8 bytes). Events for idle triggers (no new
    batch) are not committed. The listener opens one tidemark writer per stream (claiming it,
    which fences any older writer); a `FencedError` stops committing to that stream and is
    logged. Errors never fail the query: they are logged and kept in `errors`.

    `commit_seconds` holds the wall time of each tidemark commit, `handler_seconds` that of
    each `onQueryProgress` call (parsing, commit, mirroring; for benchmarks), and `committed`
    the `(stream, batch_id, checkpoint_id)` of each commit.
    """

    def __init__(
        self,
        store: Store,
        stream: str | None = None,
        *,
        streams: Mapping[str, str] | None = None,
        app_name: str = "spark",
        app_version: str = "",
        query_name: str | None = None,
        checkpoint_location: str | os.PathLike[str] | None = None,
        mirror: GroupMirror | None = None,
        mirror_timeout: float = 10.0,
    ) -> None:
        if _ListenerBase is not object:
            super().__init__()
        if (stream is None) == (streams is None):
            raise ValueError("give exactly one of stream (one Kafka source) or streams")
        self.store = store
        self.stream = stream
        self.streams = dict(streams or {})
        self.app_name = app_name
        self.app_version = app_version
        self.query_name = query_name
        self.mirror = mirror
        self.mirror_timeout = mirror_timeout
        self.errors: list[BaseException] = []
        self.commit_seconds: list[float] = []
        self.handler_seconds: list[float] = []
        self.committed: list[tuple[str, int, int]] = []
        self._writers: dict[str, StreamWriter] = {}
        self._fenced: set[str] = set()
        self._last_offsets: dict[str, dict[str, dict[int, int]]] = {}
        self._lock = threading.Lock()
        if checkpoint_location is not None:
            self.catch_up(checkpoint_location)

    # -- which stream a source goes to ---------------------------------------------------------

    def _stream_for(self, offsets: Mapping[str, Any], description: str) -> str | None:
        if self.stream is not None:
            return self.stream
        for key, name in self.streams.items():
            if key in offsets or key == description:
                return name
        return None

    def _writer(self, stream: str) -> StreamWriter:
        writer = self._writers.get(stream)
        if writer is None:
            writer = self.store.writer(stream, self.app_name, self.app_version)
            self._writers[stream] = writer
        return writer

    def _commit(
        self,
        stream: str,
        offsets: dict[str, dict[int, int]],
        batch_id: int,
        batch_time_ms: int | None,
        metadata: dict[str, bytes],
    ) -> bool:
        """Commits one checkpoint; False (the error logged and kept) when it failed."""
        if stream in self._fenced:
            return False
        try:
            writer = self._writer(stream)
            started = time.perf_counter()
            committed = writer.commit(offsets, batch_time_ms=batch_time_ms, metadata=metadata)
            self.commit_seconds.append(time.perf_counter() - started)
        except FencedError as e:
            self._fenced.add(stream)
            self.errors.append(e)
            log.error("stream %r: fenced, no longer committing: %s", stream, e)
            return False
        except Exception as e:  # noqa: BLE001 - a listener must never fail the query
            self.errors.append(e)
            log.error("stream %r batch %d: tidemark commit failed: %s", stream, batch_id, e)
            return False
        self._last_offsets[stream] = offsets
        self.committed.append((stream, batch_id, committed.id))
        if self.mirror is not None:
            try:
                self.mirror.mirror(offsets, self.mirror_timeout)
            except Exception as e:  # noqa: BLE001
                self.errors.append(e)
                log.warning(
                    "stream %r batch %d: mirroring to the group failed: %s", stream, batch_id, e
                )
        return True

    # -- catching up after a kill ----------------------------------------------------------------

    def catch_up(self, checkpoint_location: str | os.PathLike[str]) -> list[int]:
        """Commits to tidemark the batches Spark completed in `checkpoint_location` that the
        listener did not record (the driver was killed between Spark's commits and the
        listener's, which runs asynchronously and can lag a few batches). Call it before the
        query starts: with the query's own folder on a restart, and with the old query's
        folder before an upgrade computes `starting_offsets`.

        For each stream: if its latest checkpoint was written for this folder's query, every
        completed batch after the one it records is committed, in order; if the stream has no
        checkpoint yet, the newest completed batch is; if the latest checkpoint belongs to
        another query, nothing is (the folder is not where the stream stands). Returns the
        batch ids committed."""
        folder = os.fspath(checkpoint_location)
        if not os.path.isdir(os.path.join(folder, "commits")):
            return []
        try:
            with open(os.path.join(folder, "metadata"), encoding="utf-8") as f:
                query_id = str(json.loads(f.readline()).get("id", ""))
        except (OSError, ValueError) as e:
            log.warning("%s: no query id (%s), not catching up", folder, e)
            return []
        completed = spark_completed_batches(folder)
        if not completed:
            return []
        if self.stream is not None:
            targets: list[tuple[str, list[str]]] = [(self.stream, [])]
        else:
            targets = [(name, [topic]) for topic, name in self.streams.items()]
        done = []
        for stream, topics in targets:
            latest = self.store.latest(stream)
            if latest is None:
                missing = completed[-1:]
            else:
                meta = latest.metadata
                if meta.get(META_QUERY_ID, b"").decode() != query_id:
                    log.info(
                        "stream %r: latest checkpoint is not of query %s in %s",
                        stream,
                        query_id,
                        folder,
                    )
                    continue
                recorded = int(meta.get(META_BATCH_ID, b"-1"))
                missing = [b for b in completed if b > recorded]
            for batch_id in missing:
                try:
                    _, batch_ms, offsets, index = read_spark_batch(folder, batch_id, topics)
                except Exception as e:  # noqa: BLE001 - e.g. no such source in this query
                    self.errors.append(e)
                    log.error(
                        "stream %r: cannot read batch %d of %s: %s", stream, batch_id, folder, e
                    )
                    break
                metadata = {
                    META_BATCH_ID: str(batch_id).encode(),
                    META_QUERY_ID: query_id.encode(),
                    META_RUN_ID: b"",
                    META_QUERY_NAME: (self.query_name or "").encode(),
                    META_SOURCE: f"source {index}".encode(),
                    META_IMPORTED: folder.encode(),
                }
                if not self._commit(stream, offsets, batch_id, batch_ms or None, metadata):
                    break
                done.append(batch_id)
        return done

    # -- StreamingQueryListener ------------------------------------------------------------------

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's name
        pass

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        started = time.perf_counter()
        try:
            self._on_progress(event.progress)
        finally:
            self.handler_seconds.append(time.perf_counter() - started)

    def _on_progress(self, progress: Any) -> None:
        if self.query_name is not None and progress.name != self.query_name:
            return
        batch_id = int(progress.batchId)
        batch_ms = _iso_to_ms(progress.timestamp)
        kafka_sources = [
            (index, source, offsets)
            for index, source in enumerate(progress.sources)
            if (offsets := kafka_end_offsets(source.endOffset)) is not None
        ]
        if self.stream is not None and len(kafka_sources) > 1:
            e = ValueError(
                f"query {progress.name!r} has {len(kafka_sources)} Kafka sources: give "
                "streams={topic: stream name} to tell them apart"
            )
            self.errors.append(e)
            log.error("%s", e)
            return
        with self._lock:
            for index, source, offsets in kafka_sources:
                stream = self._stream_for(offsets, source.description)
                if stream is None:
                    if not self.stream and not self.streams:
                        continue
                    e = ValueError(
                        f"query {progress.name!r} source {index} ({source.description}): "
                        f"no stream configured for topics {sorted(offsets)}"
                    )
                    self.errors.append(e)
                    log.error("%s", e)
                    continue
                if self._last_offsets.get(stream) == offsets:
                    continue  # no new data since the last checkpoint (an idle trigger)
                metadata = {
                    META_BATCH_ID: str(batch_id).encode(),
                    META_QUERY_ID: str(progress.id).encode(),
                    META_RUN_ID: str(progress.runId).encode(),
                    META_QUERY_NAME: (progress.name or "").encode(),
                    META_SOURCE: f"source {index}: {source.description}".encode(),
                }
                self._commit(stream, offsets, batch_id, batch_ms, metadata)
