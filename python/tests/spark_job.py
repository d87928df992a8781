"""The Spark driver the crash/upgrade test starts (and SIGKILLs): a Structured Streaming query
reading a Kafka topic into an idempotent SQLite sink keyed by (topic, partition, offset), with
tidemark's listener checkpointing every micro-batch.

    python spark_job.py --variant v1|v2 --checkpoint DIR [--from-tidemark] ...

`--from-tidemark` starts the query from tidemark's `starting_offsets` (an upgrade: a new
checkpoint folder), after catching up from the old query's `--previous-checkpoint` folder.
The job runs until the file `--stop-file` exists, then stops the query.
Progress events (batch id, walCommit time) are appended to `--events` as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQueryListener

import tidemark
from tidemark.spark import TidemarkListener, starting_offsets


class ProgressLog(StreamingQueryListener):
    """Appends every progress event's batch id and durations to a JSON-lines file."""

    def __init__(self, path: str, listener: TidemarkListener) -> None:
        super().__init__()
        self.path = path
        self.listener = listener

    def onQueryStarted(self, event):  # noqa: N802
        pass

    def onQueryIdle(self, event):  # noqa: N802
        pass

    def onQueryTerminated(self, event):  # noqa: N802
        pass

    def onQueryProgress(self, event):  # noqa: N802
        p = event.progress
        record = {
            "batch_id": p.batchId,
            "query_id": str(p.id),
            "run_id": str(p.runId),
            "rows": p.numInputRows,
            "durations": dict(p.durationMs),
            "tidemark_commit_s": self.listener.commit_seconds[-1]
            if self.listener.commit_seconds
            else None,
            "tidemark_commits": len(self.listener.commit_seconds),
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def write_batch(sink_path: str, variant: str):
    def write(df, batch_id: int) -> None:
        rows = df.collect()
        db = sqlite3.connect(sink_path, timeout=60)
        with db:
            db.executemany(
                "INSERT INTO sink (topic, part, off, value, variant, deliveries)"
                " VALUES (?, ?, ?, ?, ?, 1)"
                " ON CONFLICT (topic, part, off) DO UPDATE SET deliveries = deliveries + 1",
                [(r["topic"], r["partition"], r["offset"], r["value"], variant) for r in rows],
            )
        db.close()

    return write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--stream", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("--variant", choices=["v1", "v2"], required=True)
    ap.add_argument("--from-tidemark", action="store_true")
    ap.add_argument("--previous-checkpoint", help="the old query's folder, to catch up from")
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--jars", required=True)
    ap.add_argument("--max-offsets", type=int, default=1000)
    args = ap.parse_args()

    db = sqlite3.connect(args.sink, timeout=60)
    db.execute(
        "CREATE TABLE IF NOT EXISTS sink (topic TEXT, part INTEGER, off INTEGER, value TEXT,"
        " variant TEXT, deliveries INTEGER, PRIMARY KEY (topic, part, off))"
    )
    db.commit()
    db.close()

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(f"tidemark-crash-{args.variant}")
        .config("spark.jars", args.jars)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "768m")
        # A short-lived driver on a busy machine: the JIT's first tier only, one GC thread.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")

    store = tidemark.Store(args.store)
    listener = TidemarkListener(
        store,
        args.stream,
        app_name="crash-test",
        app_version=args.variant,
        query_name="crash",
        checkpoint_location=args.checkpoint,
    )
    spark.streams.addListener(listener)
    spark.streams.addListener(ProgressLog(args.events, listener))

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("maxOffsetsPerTrigger", str(args.max_offsets))
    )
    if args.from_tidemark:
        if args.previous_checkpoint:
            # The old query may have been killed between Spark's commit and the listener's.
            listener.catch_up(args.previous_checkpoint)
        offsets = starting_offsets(store, args.stream, [args.topic], bootstrap=args.bootstrap)
        print(f"startingOffsets from tidemark: {offsets}", flush=True)
        reader = reader.option("startingOffsets", offsets)
    else:
        reader = reader.option("startingOffsets", "earliest")
    df = reader.load()

    if args.variant == "v1":
        out = df.select(
            "topic", "partition", "offset", F.col("value").cast("string").alias("value")
        )
    else:
        # The upgraded query: another projection and a filter (that keeps every message).
        out = (
            df.withColumn("text", F.decode(F.col("value"), "UTF-8"))
            .where(F.col("text").startswith("m-"))
            .select(
                "topic",
                "partition",
                "offset",
                F.concat_ws("", F.col("text")).alias("value"),
                F.length("text").alias("length"),
            )
        )

    query = (
        out.writeStream.queryName("crash")
        .foreachBatch(write_batch(args.sink, args.variant))
        .option("checkpointLocation", args.checkpoint)
        .trigger(processingTime="500 milliseconds")
        .start()
    )
    print("query started", flush=True)
    while not os.path.exists(args.stop_file):
        if query.awaitTermination(0.5):
            break
        time.sleep(0.2)
    query.stop()
    spark.stop()
    if listener.errors:
        raise SystemExit(f"listener errors: {listener.errors}")


if __name__ == "__main__":
    main()
