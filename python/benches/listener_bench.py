"""The Spark listener's cost per micro-batch against Spark's own offset-log write.

A query reads a Kafka topic (TIDEMARK_TEST_KAFKA) into Spark's `noop` sink with
`maxOffsetsPerTrigger`, checkpointing to a local folder, with `TidemarkListener` committing
every batch to a local tidemark store. Spark's progress events give its own `walCommit` (the
offset log write, before the batch) and `commitOffsets` (the commit log write, after it); the
listener records its whole `onQueryProgress` time and the tidemark commit inside it.

    TIDEMARK_TEST_KAFKA=... TIDEMARK_TEST_SPARK_JARS=... \
        python python/benches/listener_bench.py [batches]

(scripts/python-test.sh bench sets both and runs it.)"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQueryListener

import tidemark
from tidemark.spark import TidemarkListener


class Durations(StreamingQueryListener):
    def __init__(self) -> None:
        super().__init__()
        self.wal: list[float] = []
        self.commit_log: list[float] = []
        self.batches = 0

    def onQueryStarted(self, event):  # noqa: N802
        pass

    def onQueryIdle(self, event):  # noqa: N802
        pass

    def onQueryTerminated(self, event):  # noqa: N802
        pass

    def onQueryProgress(self, event):  # noqa: N802
        p = event.progress
        if p.numInputRows > 0:
            d = p.durationMs
            self.wal.append(d.get("walCommit", 0) / 1000)
            self.commit_log.append(d.get("commitOffsets", 0) / 1000)
            self.batches += 1


def ms(values: list[float]) -> str:
    v = sorted(values)
    return (
        f"median {statistics.median(v) * 1000:7.2f} ms  p90 {v[int(len(v) * 0.9)] * 1000:7.2f} ms"
    )


def main() -> None:
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    per_batch = 200
    bootstrap = os.environ["TIDEMARK_TEST_KAFKA"]
    jars = os.environ["TIDEMARK_TEST_SPARK_JARS"]
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, 4, 1)]).values():
        f.result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(batches * per_batch):
        producer.produce(topic, value=f"m-{i}".encode(), partition=i % 4)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)

    work = tempfile.mkdtemp(prefix="tidemark-listener-bench-")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tidemark-listener-bench")
        .config("spark.jars", jars)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    listener = TidemarkListener(
        tidemark.Store(os.path.join(work, "store")), "bench", app_name="bench", app_version="1"
    )
    durations = Durations()
    spark.streams.addListener(listener)
    spark.streams.addListener(durations)
    query = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(per_batch))
        .load()
        .writeStream.format("noop")
        .option("checkpointLocation", os.path.join(work, "checkpoint"))
        .start()
    )
    deadline = time.monotonic() + 900
    while durations.batches < batches and time.monotonic() < deadline:
        time.sleep(0.5)
    query.stop()
    spark.stop()
    assert durations.batches >= batches, f"only {durations.batches} batches"
    assert not listener.errors, listener.errors
    # The first batches include Spark's and the store's warm-up: leave out the first five.
    wal, commit_log = durations.wal[5:], durations.commit_log[5:]
    handler, commit = listener.handler_seconds[5:], listener.commit_seconds[5:]
    print(
        f"listener bench: {durations.batches} batches of {per_batch} messages, "
        f"pyspark {spark.version if hasattr(spark, 'version') else ''}, local disk, "
        f"tidemark {tidemark.__version__}"
    )
    print(f"  spark walCommit (offset log)      {ms(wal)}")
    print(f"  spark commitOffsets (commit log)  {ms(commit_log)}")
    print(f"  listener onQueryProgress (total)  {ms(handler)}")
    print(f"  tidemark commit inside it         {ms(commit)}")
    print(
        f"  ratio listener / walCommit (medians) "
        f"{statistics.median(handler) / statistics.median(wal):.2f}"
    )


if __name__ == "__main__":
    main()
