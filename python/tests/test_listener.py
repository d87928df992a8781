"""The Spark listener's logic and starting_offsets without a JVM: progress events as Spark's
Python listener hands them over (attribute objects), Spark checkpoint folders written by hand
in Spark's layout."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import tidemark
from tidemark.spark import (
    META_BATCH_ID,
    META_IMPORTED,
    META_QUERY_ID,
    META_RUN_ID,
    TidemarkListener,
    kafka_end_offsets,
    starting_offsets,
)


def progress(batch_id, sources, name="q", query_id="qid", run_id="rid"):
    return SimpleNamespace(
        progress=SimpleNamespace(
            batchId=batch_id,
            id=query_id,
            runId=run_id,
            name=name,
            timestamp="2026-12-01T10:00:00.000Z",
            sources=[
                SimpleNamespace(description=d, endOffset=json.dumps(o) if o is not None else None)
                for d, o in sources
            ],
        )
    )


def test_end_offsets_parsing():
    assert kafka_end_offsets('{"t":{"0":5,"1":7}}') == {"t": {0: 5, 1: 7}}
    assert kafka_end_offsets({"t": {"0": 5}}) == {"t": {0: 5}}
    assert kafka_end_offsets(None) is None
    assert kafka_end_offsets('{"logOffset": 3}') is None  # a file source
    assert kafka_end_offsets("12") is None  # a rate source
    assert kafka_end_offsets("not json") is None


def test_listener_commits_each_batch_with_metadata(tmp_path):
    store = tidemark.Store(str(tmp_path))
    listener = TidemarkListener(store, "s", app_name="app", app_version="2", query_name="q")
    listener.onQueryProgress(progress(0, [("KafkaV2[Subscribe[t]]", {"t": {"0": 5, "1": 7}})]))
    listener.onQueryProgress(progress(1, [("KafkaV2[Subscribe[t]]", {"t": {"0": 9, "1": 7}})]))
    # An idle trigger repeats the offsets: not committed again.
    listener.onQueryProgress(progress(2, [("KafkaV2[Subscribe[t]]", {"t": {"0": 9, "1": 7}})]))
    # Another query's events are ignored.
    listener.onQueryProgress(progress(0, [("k", {"t": {"0": 100}})], name="other"))
    latest = store.latest("s")
    assert latest.offsets == {"t": {0: 9, 1: 7}}
    assert latest.metadata[META_BATCH_ID] == b"1"
    assert latest.metadata[META_QUERY_ID] == b"qid"
    assert latest.metadata[META_RUN_ID] == b"rid"
    assert latest.batch_time_ms == 1796119200000
    assert latest.writer.app_name == "app"
    assert [c[1] for c in listener.committed] == [0, 1]
    assert len(listener.handler_seconds) == 4 and len(listener.commit_seconds) == 2
    assert listener.errors == []


def test_several_kafka_sources_go_to_their_own_streams(tmp_path):
    store = tidemark.Store(str(tmp_path))
    listener = TidemarkListener(store, streams={"orders": "s-orders", "refunds": "s-refunds"})
    listener.onQueryProgress(
        progress(
            0,
            [
                ("KafkaV2[Subscribe[orders]]", {"orders": {"0": 3}}),
                ("FileStreamSource[x]", {"logOffset": 2}),
                ("KafkaV2[Subscribe[refunds]]", {"refunds": {"0": 4}}),
            ],
        )
    )
    assert store.latest("s-orders").offsets == {"orders": {0: 3}}
    assert store.latest("s-refunds").offsets == {"refunds": {0: 4}}
    # One stream for two Kafka sources is refused, loudly, without failing the query.
    single = TidemarkListener(store, "one")
    single.onQueryProgress(progress(0, [("a", {"a": {"0": 1}}), ("b", {"b": {"0": 1}})]))
    assert store.latest("one") is None
    assert "2 Kafka sources" in str(single.errors[0])


def test_a_fenced_listener_stops_committing(tmp_path):
    store = tidemark.Store(str(tmp_path))
    old = TidemarkListener(store, "s")
    old.onQueryProgress(progress(0, [("k", {"t": {"0": 1}})]))
    newer = store.writer("s", "other-app", "9")
    old.onQueryProgress(progress(1, [("k", {"t": {"0": 2}})]))
    assert isinstance(old.errors[0], tidemark.FencedError)
    assert old.errors[0].by_epoch == newer.epoch
    assert store.latest("s").offsets == {"t": {0: 1}}


def spark_folder(path: Path, query_id: str, batches: dict[int, dict], completed: int) -> Path:
    """A Spark checkpoint folder: offsets for every batch, commits up to `completed`."""
    (path / "offsets").mkdir(parents=True)
    (path / "commits").mkdir()
    (path / "metadata").write_text(json.dumps({"id": query_id}) + "\n")
    for b, offsets in batches.items():
        (path / "offsets" / str(b)).write_text(
            'v1\n{"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{}}\n'
            + json.dumps(offsets)
            + "\n"
        )
        if b <= completed:
            (path / "commits" / str(b)).write_text('v1\n{"nextBatchWatermarkMs":0}\n')
    return path


def test_catch_up_commits_every_batch_the_listener_missed(tmp_path):
    store = tidemark.Store(str(tmp_path / "store"))
    batches = {b: {"t": {"0": 10 * (b + 1)}} for b in range(6)}
    folder = spark_folder(tmp_path / "ck", "query-a", batches, completed=4)
    listener = TidemarkListener(store, "s")
    listener.onQueryProgress(progress(1, [("k", batches[1])], query_id="query-a"))
    # Killed: Spark completed batches 2, 3, 4 (and planned 5) that the listener never saw.
    again = TidemarkListener(store, "s", checkpoint_location=folder)
    assert [c[1] for c in again.committed] == [2, 3, 4]
    latest = store.latest("s")
    assert latest.offsets == {"t": {0: 50}}
    assert latest.metadata[META_BATCH_ID] == b"4"
    assert latest.metadata[META_IMPORTED] == str(folder).encode()
    assert again.catch_up(folder) == []  # nothing left
    # The folder of another query is not where the stream stands: left alone.
    other = spark_folder(tmp_path / "ck-old", "query-b", batches, completed=5)
    assert again.catch_up(other) == []
    assert store.latest("s").offsets == {"t": {0: 50}}
    # A stream with no checkpoint starts from the folder's newest completed batch.
    fresh = TidemarkListener(store, "fresh", checkpoint_location=other)
    assert [c[1] for c in fresh.committed] == [5]


def test_starting_offsets_lists_every_partition(tmp_path):
    store = tidemark.Store(str(tmp_path))
    store.writer("s", "app", "1").commit({"t": {0: 40, 1: 41}})
    got = json.loads(starting_offsets(store, "s", ["t", "u"], partitions={"t": 3, "u": [0, 1]}))
    assert got == {"t": {"0": 40, "1": 41, "2": -2}, "u": {"0": -2, "1": -2}}
    got = json.loads(
        starting_offsets(store, "s", ["t"], partitions={"t": 3}, new_partitions="latest")
    )
    assert got == {"t": {"0": 40, "1": 41, "2": -1}}
    # No checkpoint: every partition at first_start.
    assert json.loads(starting_offsets(store, "none", ["t"], partitions={"t": 2})) == {
        "t": {"0": -2, "1": -2}
    }
    with pytest.raises(ValueError, match="bootstrap"):
        starting_offsets(store, "s", ["t"])
