"""The Kafka glue through the Rust core, against the real broker: partitions and watermarks,
starting offsets for added partitions and topics, mirroring to a consumer group.

Needs TIDEMARK_TEST_KAFKA (set by scripts/python-test.sh)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

import tidemark
from conftest import require_env
from tidemark.spark import resume_plan, starting_offsets


def make_topic(admin: AdminClient, partitions: int) -> str:
    topic = f"py-{uuid.uuid4().hex[:8]}"
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(30)
    return topic


def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, count in per_partition.items():
        for i in range(count):
            producer.produce(topic, value=f"m-{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def wait_for_metadata(bootstrap: str, partitions: dict[str, int]) -> None:
    """Waits until the broker's metadata shows the topics with these partition counts (a new
    topic or partition takes a moment to appear)."""
    deadline = time.monotonic() + 30
    while True:
        cluster = tidemark.kafka_partitions(bootstrap, list(partitions))
        if {t: len(ps) for t, ps in cluster.items()} == partitions:
            return
        assert time.monotonic() < deadline, f"metadata still says {cluster}"
        time.sleep(0.2)


def test_partitions_starting_offsets_and_mirroring(tmp_path):
    bootstrap = require_env("TIDEMARK_TEST_KAFKA")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = make_topic(admin, 2)
    produce(bootstrap, topic, {0: 5, 1: 3})

    cluster = tidemark.kafka_partitions(bootstrap, [topic, "no-such-topic"])
    assert cluster == {topic: {0: (0, 5), 1: (0, 3)}}

    store = tidemark.Store(str(tmp_path))
    store.writer("s", "app", "1").commit({topic: {0: 4, 1: 3}})
    for f in admin.create_partitions([NewPartitions(topic, 3)]).values():
        f.result(30)
    added = make_topic(admin, 1)
    wait_for_metadata(bootstrap, {topic: 3, added: 1})
    got = json.loads(starting_offsets(store, "s", [topic, added], bootstrap=bootstrap))
    assert got == {topic: {"0": 4, "1": 3, "2": -2}, added: {"0": -2}}
    plan = resume_plan(store, "s", [topic, added], bootstrap=bootstrap)
    reasons = {(p.topic, p.partition): p.reason for p in plan.starts}
    assert reasons == {
        (topic, 0): "resumed",
        (topic, 1): "resumed",
        (topic, 2): "new_partition",
        (added, 0): "new_topic",
    }

    # A checkpointed offset beyond the log end (topic recreated?) is refused by the plan.
    store.writer("s", "app", "1").commit({topic: {0: 99, 1: 3}})
    with pytest.raises(tidemark.PlanError) as e:
        starting_offsets(store, "s", [topic], bootstrap=bootstrap)
    assert e.value.problems[0]["kind"] == "ahead_of_log"

    group = f"group-{uuid.uuid4().hex[:8]}"
    mirror = tidemark.GroupMirror(bootstrap, group)
    mirror.mirror({topic: {0: 4, 1: 2}})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], 30)
    finally:
        consumer.close()
    assert sorted((c.partition, c.offset) for c in committed) == [(0, 4), (1, 2)]
    assert mirror.group == group


def test_unreachable_cluster_raises_kafka_error():
    with pytest.raises(tidemark.KafkaError) as e:
        tidemark.kafka_partitions("127.0.0.1:1", ["t"], timeout=2.0)
    assert e.value.operation == "metadata"


def test_reset_modes_and_lag_asking_the_broker(tmp_path):
    bootstrap = require_env("TIDEMARK_TEST_KAFKA")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = make_topic(admin, 2)
    now_ms = int(time.time() * 1000)
    two_hours_ago, one_hour_ago = now_ms - 2 * 3_600_000, now_ms - 3_600_000
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in (0, 1):
        for i in range(8):  # offsets 0-4 two hours old, 5-7 one hour old
            ts = two_hours_ago if i < 5 else one_hour_ago
            producer.produce(topic, value=f"m-{i}".encode(), partition=partition, timestamp=ts)
    assert producer.flush(30) == 0

    store = tidemark.Store(str(tmp_path))
    store.writer("s", "app", "1").commit({topic: {0: 6, 1: 2}})

    report = tidemark.kafka_lag(store, "s", bootstrap)
    assert [(p.partition, p.checkpointed, p.log_end, p.lag) for p in report.partitions] == [
        (0, 6, 8, 2),
        (1, 2, 8, 6),
    ]
    assert report.total_lag == 8

    def planned(**mode):
        return tidemark.plan_reset(store, "s", bootstrap=bootstrap, **mode).offsets[topic]

    assert planned(to_earliest=True) == {0: 0, 1: 0}
    assert planned(to_latest=True, topics={topic: [1]}) == {0: 6, 1: 8}
    ninety_minutes_ago = datetime.fromtimestamp((now_ms - 5_400_000) / 1000, timezone.utc)
    assert planned(to_datetime=ninety_minutes_ago) == {0: 5, 1: 5}
    assert planned(to_datetime=now_ms - 5_400_000) == {0: 5, 1: 5}
    assert planned(by_duration=timedelta(minutes=90)) == {0: 5, 1: 5}
    assert planned(by_duration=3 * 3600) == {0: 0, 1: 0}
    # After the log end: the log end.
    assert planned(by_duration=0) == {0: 8, 1: 8}

    plan = tidemark.plan_reset(store, "s", to_datetime=ninety_minutes_ago, bootstrap=bootstrap)
    written = plan.execute(force=True)  # the writer above committed just now
    assert store.latest("s").id == written.checkpoint_id
    assert store.latest("s").offsets == {topic: {0: 5, 1: 5}}

    # A partition the cluster does not have is refused before anything is written.
    store.writer("s", "app", "1").commit({topic: {0: 6, 1: 2, 7: 1}})
    with pytest.raises(tidemark.NotInClusterError) as e:
        tidemark.plan_reset(store, "s", to_earliest=True, bootstrap=bootstrap)
    assert (e.value.topic, e.value.partition) == (topic, 7)
    with pytest.raises(tidemark.KafkaError):
        tidemark.plan_reset(store, "s", to_latest=True, bootstrap="127.0.0.1:1", timeout=2.0)
