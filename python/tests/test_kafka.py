"""The Kafka glue through the Rust core, against the real broker: partitions and watermarks,
starting offsets for added partitions and topics, mirroring to a consumer group.

Needs TIDEMARK_TEST_KAFKA (set by scripts/python-test.sh)."""

from __future__ import annotations

import json
import uuid

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
