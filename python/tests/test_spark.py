"""The real thing: PySpark (from PyPI) reading a real Kafka 4 broker with Spark's Kafka
connector (from Maven Central), the driver SIGKILLed mid-stream several times, the query's code
changed (new checkpoint folder, started from tidemark's starting_offsets), partitions added
while it is stopped. Every message must land in the sink exactly once, and tidemark's stream
history must show every batch Spark completed.

Two sizes of the same scenario: the CI variant (the default; 3 kills, 1 upgrade with 2
partitions added, 4 driver runs, a few minutes) and the long one (TIDEMARK_SPARK_LONG=1; 4
kills, 2 upgrades, partitions added twice, 5 driver runs, longer runs between kills).

Needs TIDEMARK_TEST_KAFKA and TIDEMARK_TEST_SPARK_JARS (set by scripts/python-test.sh)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

import tidemark
from conftest import require_env
from tidemark.spark import META_BATCH_ID, META_QUERY_ID, starting_offsets

JOB = Path(__file__).with_name("spark_job.py")
RUN_TIMEOUT = 420.0
LONG = os.environ.get("TIDEMARK_SPARK_LONG") == "1"

# The driver runs, in order: (query variant, checkpoint folder, the previous query's folder when
# upgrading (a new folder started from tidemark), the topic's partitions during the run).
# Partitions are added between runs, while no driver runs. Every run but the last is SIGKILLed.
CI_RUNS = [
    ("v1", "ck1", None, 3),
    ("v1", "ck1", None, 3),  # restart on the same folder
    ("v2", "ck2", "ck1", 5),  # upgrade: new code, new folder; 2 partitions added
    ("v2", "ck2", None, 5),  # to the end
]
LONG_RUNS = [
    ("v1", "ck1", None, 3),
    ("v1", "ck1", None, 3),  # restart on the same folder
    ("v2", "ck2", "ck1", 5),  # upgrade: new code, new folder; 2 partitions added
    ("v2", "ck2", None, 5),
    ("v1", "ck3", "ck2", 6),  # upgrade again; 1 partition added; to the end
]


class BackgroundProducer:
    """Produces `m-<seq>` messages round-robin over the topic's current partitions and keeps
    every delivered (partition, offset) -> value."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.topic = topic
        self.partitions = partitions
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "topic.metadata.refresh.interval.ms": 1000}
        )
        self.delivered: dict[tuple[int, int], str] = {}
        self.failed = 0
        self.seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self.failed += 1
            return
        self.delivered[(msg.partition(), msg.offset())] = msg.value().decode()

    def produce(self, count: int) -> None:
        for _ in range(count):
            value = f"m-{self.seq}"
            self.producer.produce(
                self.topic,
                value=value.encode(),
                partition=self.seq % self.partitions,
                on_delivery=self._on_delivery,
            )
            self.seq += 1
            self.producer.poll(0)
        self.producer.flush(30)

    def start(self, per_second: int) -> None:
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                self.produce(max(1, per_second // 10))
                time.sleep(0.1)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.producer.flush(30)


def add_partitions(admin: AdminClient, topic: str, total: int) -> None:
    for f in admin.create_partitions([NewPartitions(topic, total)]).values():
        f.result(30)


def log_ends(bootstrap: str, topic: str) -> dict[int, int]:
    cluster = tidemark.kafka_partitions(bootstrap, [topic])
    return {p: high for p, (_, high) in cluster[topic].items()}


def events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Job:
    """One driver process (the Python driver and its JVM, in their own process group)."""

    def __init__(
        self,
        tmp: Path,
        run: int,
        variant: str,
        checkpoint: Path,
        previous: Path | None,
        common: list[str],
    ) -> None:
        self.events = tmp / f"events-{run}.jsonl"
        self.stop_file = tmp / f"stop-{run}"
        self.log = open(tmp / f"driver-{run}.log", "wb")  # noqa: SIM115
        cmd = [
            sys.executable,
            str(JOB),
            "--variant",
            variant,
            "--checkpoint",
            str(checkpoint),
            "--events",
            str(self.events),
            "--stop-file",
            str(self.stop_file),
            *common,
        ]
        if previous is not None:
            cmd += ["--from-tidemark", "--previous-checkpoint", str(previous)]
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_batches(self, count: int) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while len([e for e in events(self.events) if e["rows"] > 0]) < count:
            assert self.proc.poll() is None, f"driver exited early ({self.log.name})"
            assert time.monotonic() < deadline, f"no {count} batches in time ({self.log.name})"
            time.sleep(0.2)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        # The whole group (the JVM too) must be gone before the next driver starts.
        deadline = time.monotonic() + 60
        while True:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "driver process group survived SIGKILL"
            time.sleep(0.1)
        self.log.close()

    def stop(self) -> None:
        self.stop_file.touch()
        code = self.proc.wait(RUN_TIMEOUT)
        self.log.close()
        assert code == 0, f"driver failed with {code} ({self.log.name})"


def spark_batches(checkpoint: Path) -> tuple[str, set[int]]:
    """The query id and the ids of the batches Spark completed in a checkpoint folder."""
    with open(checkpoint / "metadata", encoding="utf-8") as f:
        query_id = json.loads(f.readline())["id"]
    done = {int(p.name) for p in (checkpoint / "commits").iterdir() if p.name.isdigit()}
    return query_id, done


def test_kill_upgrade_add_partitions_exactly_once(tmp_path):
    started = time.monotonic()
    bootstrap = require_env("TIDEMARK_TEST_KAFKA")
    jars = require_env("TIDEMARK_TEST_SPARK_JARS")
    absent = [j for j in jars.split(",") if not Path(j).is_file()]
    assert not absent, f"connector jars missing: {absent}"
    runs = LONG_RUNS if LONG else CI_RUNS
    rng = random.Random(20261201)
    topic = f"events-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, 3, 1)]).values():
        f.result(30)

    store_dir = tmp_path / "store"
    stream = "crash-test"
    sink = tmp_path / "sink.sqlite"
    common = [
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--store",
        str(store_dir),
        "--stream",
        stream,
        "--sink",
        str(sink),
        "--jars",
        jars,
    ]
    producer = BackgroundProducer(bootstrap, topic, 3)
    producer.produce(3000)

    ck = {name: tmp_path / name for _, name, _, _ in runs}
    kills = 0
    for run, (variant, ck_name, previous_name, partitions) in enumerate(runs):
        checkpoint = ck[ck_name]
        previous = ck[previous_name] if previous_name is not None else None
        if partitions != producer.partitions:
            add_partitions(admin, topic, partitions)
            time.sleep(2)  # let the producer's metadata see them
            producer.partitions = partitions
            producer.produce(500)  # into every partition, the new ones too
        if previous is not None:
            # What the upgraded query will start from, checked against the plan.
            offsets = json.loads(
                starting_offsets(
                    tidemark.Store(str(store_dir)), stream, [topic], bootstrap=bootstrap
                )
            )
            assert sorted(int(p) for p in offsets[topic]) == list(range(partitions))
            assert any(v == -2 for v in offsets[topic].values()), offsets  # new partitions
        # A backlog for the run's first batch; then messages keep arriving while it runs (not
        # while the driver starts: the final run would have minutes of backlog to catch up).
        producer.produce(300)
        job = Job(tmp_path, run, variant, checkpoint, previous, common)
        last = run == len(runs) - 1
        try:
            job.wait_batches(1)
            producer.start(per_second=150)
            job.wait_batches(1 + (3 + rng.randrange(4) if LONG else 2 + rng.randrange(2)))
            if not last:
                time.sleep(rng.uniform(0.0, 1.5))  # anywhere in a batch
                job.kill()
                kills += 1
                producer.stop()
                continue
            producer.stop()
            ends = log_ends(bootstrap, topic)
            deadline = time.monotonic() + RUN_TIMEOUT
            while True:
                latest = tidemark.Store(str(store_dir)).latest(stream)
                if latest is not None and latest.offsets.get(topic) == ends:
                    break
                assert job.proc.poll() is None, "final driver exited early"
                assert time.monotonic() < deadline, f"did not catch up: {latest.offsets} {ends}"
                time.sleep(0.5)
            job.stop()
        finally:
            if job.proc.poll() is None:
                os.killpg(job.proc.pid, signal.SIGKILL)
                job.proc.wait()

    # --- every message exactly once in the sink ---
    produced = producer.delivered
    db = sqlite3.connect(sink)
    rows = db.execute(
        "SELECT part, off, value, deliveries, variant FROM sink WHERE topic = ?", (topic,)
    ).fetchall()
    db.close()
    in_sink = {(p, o): v for p, o, v, _, _ in rows}
    missing = sorted(set(produced) - set(in_sink))
    unexpected = sorted(set(in_sink) - set(produced))
    wrong = [k for k, v in in_sink.items() if k in produced and produced[k] != v]
    duplicated = len(rows) - len(in_sink)
    redelivered = sum(1 for r in rows if r[3] > 1)
    by_variant = {v: sum(1 for r in rows if r[4] == v) for v in ("v1", "v2")}

    # --- tidemark's history shows every batch Spark completed ---
    store = tidemark.Store(str(store_dir))
    recorded: set[tuple[str, int]] = set()
    for entry in store.history(stream):
        meta = store.get(stream, entry.id).metadata
        if META_BATCH_ID in meta:
            recorded.add((meta[META_QUERY_ID].decode(), int(meta[META_BATCH_ID])))
    spark_done: set[tuple[str, int]] = set()
    for checkpoint in ck.values():
        query_id, batches = spark_batches(checkpoint)
        spark_done |= {(query_id, b) for b in batches}
    unrecorded = sorted(spark_done - recorded)
    [report] = store.verify(stream)

    upgrades = sum(1 for r in runs if r[2] is not None)
    growth = "->".join(str(n) for n in dict.fromkeys(r[3] for r in runs))
    print(
        f"\nspark crash/upgrade test ({'long' if LONG else 'CI'} variant): kills={kills} "
        f"runs={len(runs)} upgrades={upgrades} partitions={growth} "
        f"batches={len(spark_done)} messages={len(produced)} "
        f"missing={len(missing)} duplicated={duplicated} unexpected={len(unexpected)} "
        f"wrong_value={len(wrong)} redelivered={redelivered} by_variant={by_variant} "
        f"tidemark_checkpoints={report.valid} unrecorded_batches={len(unrecorded)} "
        f"producer_failures={producer.failed} wall_s={time.monotonic() - started:.0f}"
    )
    assert kills == len(runs) - 1 >= 3 and upgrades >= 1
    assert missing == [] and unexpected == [] and wrong == [] and duplicated == 0
    assert by_variant["v1"] > 0 and by_variant["v2"] > 0
    assert unrecorded == [], unrecorded
    assert not report.has_problems
