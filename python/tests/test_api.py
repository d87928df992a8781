"""The Python API against local disk and S3 (moto): reads, commits, fencing, damage,
compaction, verification, planning."""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import tomllib

import tidemark

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_crate_version():
    with open(ROOT / "Cargo.toml", "rb") as f:
        manifest = tomllib.load(f)
    version = manifest["package"]["version"]
    if version == {"workspace": True}:
        version = manifest["workspace"]["package"]["version"]
    assert tidemark.__version__ == version


def test_commit_and_read_back(store):
    assert store.latest("billing") is None
    assert store.streams() == []
    writer = store.writer("billing", "billing-app", "2.3.0", host="test-host")
    committed = writer.commit(
        {"orders": {0: 1042, 1: 977}, "refunds": {0: 5}},
        batch_time_ms=1_700_000_000_000,
        metadata={"spark.batch_id": b"7", "raw": b"\x00\xff"},
    )
    assert committed.id == writer.last_id
    assert committed.id > writer.epoch  # the claim checkpoint came first
    latest = store.latest("billing")
    assert latest.id == committed.id
    assert latest.stream == "billing"
    assert latest.offsets == {"orders": {0: 1042, 1: 977}, "refunds": {0: 5}}
    assert latest.offset("orders", 1) == 977
    assert latest.offset("orders", 9) is None
    assert latest.batch_time_ms == 1_700_000_000_000
    assert latest.metadata == {"spark.batch_id": b"7", "raw": b"\x00\xff"}
    assert latest.writer.app_name == "billing-app"
    assert latest.writer.app_version == "2.3.0"
    assert latest.writer.host == "test-host"
    assert latest.writer.epoch == writer.epoch
    assert latest.writer.tidemark_version == tidemark.__version__
    assert store.get("billing", committed.id) == latest
    assert store.streams() == ["billing"]


def test_history_newest_first_with_limit(store):
    writer = store.writer("s", "app", "1")
    ids = [writer.commit({"t": {0: i}}).id for i in range(5)]
    history = store.history("s")
    assert [e.id for e in history] == sorted([*ids, writer.epoch], reverse=True)
    assert all(e.size > 0 for e in history)
    now_ms = time.time() * 1000
    assert all(abs(e.committed_at_ms - now_ms) < 600_000 for e in history)
    assert [e.id for e in store.history("s", limit=2)] == ids[-1:-3:-1]
    assert store.history("s", since_ms=int(now_ms) + 3_600_000) == []


def test_get_missing_raises_not_found(store):
    store.writer("s", "app", "1").commit({"t": {0: 1}})
    with pytest.raises(tidemark.NotFoundError) as e:
        store.get("s", 999)
    assert e.value.stream == "s"
    assert e.value.id == 999
    assert isinstance(e.value, tidemark.StoreError)
    assert isinstance(e.value, tidemark.TidemarkError)


def test_a_newer_writer_fences_the_older_one(store):
    old = store.writer("s", "app", "1.0", host="old-host")
    old.commit({"t": {0: 10}})
    new = store.writer("s", "app", "2.0", host="new-host")
    with pytest.raises(tidemark.FencedError) as e:
        old.commit({"t": {0: 11}})
    err = e.value
    assert err.stream == "s"
    assert err.by_epoch == new.epoch
    assert err.by_app_version == "2.0"
    assert err.by_host == "new-host"
    assert "new-host" in str(err) and "fenced" in str(err)
    # The new writer carried the old one's offsets over in its claim, and commits on.
    assert store.latest("s").offsets == {"t": {0: 10}}
    new.commit({"t": {0: 12}})
    assert store.latest("s").offsets == {"t": {0: 12}}
    # Fenced once, fenced for good.
    with pytest.raises(tidemark.FencedError):
        old.commit({"t": {0: 13}})


def _damage_newest(store, url: str, stream: str, options: dict[str, str]) -> int:
    """Overwrites the newest checkpoint object of `stream` with garbage; returns its id."""
    newest = store.history(stream, limit=1)[0]
    if not url.startswith("s3://"):
        files = [p for p in Path(url).rglob("*") if p.is_file()]
        target = [p for p in files if p.name.startswith(f"{newest.id:020}")] or [
            p for p in files if str(newest.id) in p.name and not p.name.startswith("_")
        ]
        assert target, f"no file for checkpoint {newest.id} in {[p.name for p in files]}"
        target[0].write_bytes(b"not a checkpoint")
        return newest.id
    import boto3

    bucket, _, prefix = url[len("s3://") :].partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=options["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    target = [k for k in keys if k.rsplit("/", 1)[-1].startswith(f"{newest.id:020}")]
    assert target, f"no object for checkpoint {newest.id} in {keys}"
    s3.put_object(Bucket=bucket, Key=target[0], Body=b"not a checkpoint")
    return newest.id


def test_damaged_latest_falls_back_or_raises_when_strict(store, store_url):
    url, options = store_url
    writer = store.writer("s", "app", "1")
    writer.commit({"t": {0: 1}})
    good = writer.commit({"t": {0: 2}})
    bad = writer.commit({"t": {0: 3}})
    assert _damage_newest(store, url, "s", options) == bad.id

    latest = store.latest("s")
    assert latest.id == good.id and latest.offsets == {"t": {0: 2}}
    checkpoint, skipped, max_id = store.latest_report("s")
    assert checkpoint.id == good.id
    assert [s[0] for s in skipped] == [bad.id]
    assert max_id == bad.id

    with pytest.raises(tidemark.DamagedError) as e:
        store.get("s", bad.id)
    assert e.value.id == bad.id
    assert e.value.format_kind is not None

    strict = tidemark.Store(url, strict=True, **options)
    with pytest.raises(tidemark.DamagedLatestError) as e:
        strict.latest("s")
    assert e.value.stream == "s"
    assert e.value.count == 1
    assert e.value.newest_damaged == bad.id

    [report] = store.verify("s")
    assert report.has_problems
    assert [d[0] for d in report.damaged] == [bad.id]

    # A writer opened now claims past the damaged id; nothing is overwritten.
    again = store.writer("s", "app", "2")
    assert again.epoch > bad.id
    assert store.latest("s").offsets == {"t": {0: 2}}


def test_compaction_dry_run_first(store):
    writer = store.writer("s", "app", "1")
    for i in range(6):
        writer.commit({"t": {0: i}})
    before = [e.id for e in store.history("s")]
    dry = store.compact("s", ttl=0, keep=2)  # dry run is the default
    assert dry.dry_run
    assert len(dry.deleted) == len(before) - 2
    assert [e.id for e in store.history("s")] == before
    done = store.compact("s", ttl=timedelta(0), keep=2, dry_run=False)
    assert not done.dry_run
    assert done.deleted == dry.deleted
    assert [e.id for e in store.history("s")] == before[:2]
    assert store.latest("s").offsets == {"t": {0: 5}}
    # Young checkpoints are kept whatever `keep` says.
    assert store.compact("s", ttl=3600, keep=1, dry_run=False).deleted == []


def test_verify_every_stream(store):
    store.writer("a", "app", "1").commit({"t": {0: 1}})
    store.writer("b", "app", "1").commit({"t": {0: 2}})
    reports = store.verify()
    assert [r.stream for r in reports] == ["a", "b"]
    assert all(not r.has_problems and r.valid == r.checked == 2 for r in reports)


def test_a_checkpoint_of_a_newer_format_raises_upgrade_never_falls_back(tmp_path):
    # The golden store of format-spec/: checkpoint 3 of this stream is format 2.0.
    golden = Path(__file__).resolve().parents[2] / "format-spec" / "stores" / "v1-damage"
    shutil.copytree(golden, tmp_path / "store")
    store = tidemark.Store(str(tmp_path / "store"))
    with pytest.raises(tidemark.NewerFormatError) as e:
        store.latest("newer-major")
    assert (e.value.stream, e.value.id) == ("newer-major", 3)
    assert e.value.format_version == "2.0"
    assert e.value.required_features == 0
    assert "upgrade tidemark" in str(e.value)
    assert isinstance(e.value, tidemark.StoreError)
    with pytest.raises(tidemark.NewerFormatError) as e:
        store.writer("newer-required-feature", "app", "1")
    assert (e.value.format_version, e.value.required_features) == ("1.0", 1)


def test_invalid_inputs_raise_typed_errors(tmp_path):
    with pytest.raises(tidemark.InvalidUrlError):
        tidemark.Store("nosuchscheme://x")
    store = tidemark.Store(str(tmp_path))
    with pytest.raises(tidemark.InvalidStreamNameError):
        store.writer("", "app", "1")
    writer = store.writer("s", "app", "1")
    with pytest.raises(tidemark.InvalidCheckpointError) as e:
        writer.commit({"t": {0: -5}})
    assert e.value.format_kind == "invalid_checkpoint"
    with pytest.raises(TypeError):
        writer.commit({"t": {"zero": 1}})


def test_blocking_calls_release_the_gil(tmp_path):
    """While one thread commits in a loop, another keeps running Python code."""
    store = tidemark.Store(str(tmp_path))
    writer = store.writer("s", "app", "1")
    stop = threading.Event()
    ticks = 0

    def spin():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = ticks
        for i in range(50):
            writer.commit({"t": {0: i}})
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert during > 0


def test_plan_resume_and_lag():
    store = tidemark.Store("memory://")
    writer = store.writer("s", "app", "1")
    writer.commit({"orders": {0: 1500}})
    checkpoint = store.latest("s")
    cluster = {"orders": {0: (1000, 2000), 1: (300, 900)}, "refunds": {0: (0, 10)}}
    plan = tidemark.plan_resume(checkpoint, ["orders", "refunds", "gone"], cluster)
    starts = {(s.topic, s.partition): s for s in plan.starts}
    assert starts["orders", 0].offset == 1500 and starts["orders", 0].reason == "resumed"
    assert starts["orders", 1].offset == 300 and starts["orders", 1].reason == "new_partition"
    assert starts["refunds", 0].reason == "new_topic"
    assert plan.missing_topics == ["gone"]
    assert plan.checkpoint_id == checkpoint.id
    assert "resumed" in str(plan)

    with pytest.raises(tidemark.PlanError) as e:
        tidemark.plan_resume(checkpoint, ["orders"], {"orders": {0: (1600, 2000)}})
    [problem] = e.value.problems
    assert problem["kind"] == "data_loss" and problem["log_start"] == 1600
    accepted = tidemark.plan_resume(
        checkpoint, ["orders"], {"orders": {0: (1600, 2000)}}, on_data_loss="earliest"
    )
    assert accepted.starts[0].offset == 1600 and accepted.starts[0].is_warning


def test_lag_progress_and_diff_are_the_librarys():
    store = tidemark.Store("memory://")
    writer = store.writer("s", "app", "1")
    older = store.get("s", writer.commit({"orders": {0: 1000, 1: 400}}).id)
    time.sleep(0.01)
    newer = store.get("s", writer.commit({"orders": {0: 1500, 1: 300}, "new": {0: 9}}).id)

    report = tidemark.lag(newer, {"orders": {0: (1000, 2000), 1: (0, 300), 2: (5, 8)}})
    assert (report.stream, report.checkpoint, report.created_at_ms) == (
        "s",
        newer.id,
        newer.created_at_ms,
    )
    rows = [(p.topic, p.partition, p.checkpointed, p.log_end, p.lag) for p in report.partitions]
    # Every partition of the checkpoint; one the cluster lacks has no log end and no lag.
    assert rows == [
        ("new", 0, 9, None, None),
        ("orders", 0, 1500, 2000, 500),
        ("orders", 1, 300, 300, 0),
    ]
    assert report.total_lag == 500
    assert [p.state for p in report.partitions] == ["not_in_cluster", "ok", "ok"]
    # A partition added since: a resume reads it from its log start.
    [added] = report.new_partitions
    assert (added.topic, added.partition, added.log_start, added.log_end, added.lag) == (
        "orders",
        2,
        5,
        8,
        3,
    )
    assert (report.new_partitions_lag, report.total_lost) == (3, 0)
    # Records deleted below the checkpoint are reported as lost, and not counted as lag.
    behind = tidemark.lag(older, {"orders": {0: (1200, 2000), 1: (0, 400)}})
    p0 = behind.partitions[0]
    assert (p0.state, p0.lost, p0.lag, p0.log_start) == ("behind_log_start", 200, 800, 1200)
    assert behind.total_lost == 200
    ahead = tidemark.lag(older, {"orders": {0: (0, 10), 1: (0, 400)}})
    assert (ahead.partitions[0].state, ahead.partitions[0].lag) == ("ahead_of_log_end", 0)

    p = tidemark.progress(older, newer)
    assert p.messages == 500  # moved back and new partitions count 0
    assert p.seconds > 0 and p.messages_per_second == pytest.approx(500 / p.seconds)

    d = tidemark.diff(older, newer)
    assert (d.a, d.b, d.total_delta) == (older.id, newer.id, 400)
    assert [(x.topic, x.partition, x.a, x.b, x.delta) for x in d.partitions] == [
        ("new", 0, None, 9, None),
        ("orders", 0, 1000, 1500, 500),
        ("orders", 1, 400, 300, -100),
    ]


def test_reset_is_planned_then_executed(store):
    app = store.writer("s", "billing-app", "2.3.0")
    first = app.commit({"orders": {0: 100, 1: 50}, "refunds": {0: 7}}).id
    app.commit(
        {"orders": {0: 300, 1: 90}, "refunds": {0: 12}},
        batch_time_ms=1_700_000_000_000,
        metadata={"spark.batch_id": b"41"},
    )
    base = store.latest("s")

    plan = tidemark.plan_reset(store, "s", shift_by=-30, topics={"orders": [0]})
    assert (plan.operation, plan.stream, plan.base_id) == ("reset", "s", base.id)
    assert rows(plan.changes) == [("orders", 0, 300, 270, -30)]
    assert plan.offsets == {"orders": {0: 270, 1: 90}, "refunds": {0: 12}}
    assert "orders" in str(plan) and "-30" in str(plan)
    dry = plan.dry_run()
    assert dry.dry_run and dry.checkpoint_id is None and dry.changes == plan.changes
    assert store.latest("s") == base  # planning writes nothing

    # The application committed just now: its writer looks alive, and a reset would fence it.
    with pytest.raises(tidemark.WriterAliveError) as alive:
        plan.execute()
    assert (alive.value.stream, alive.value.checkpoint, alive.value.window_ms) == (
        "s",
        base.id,
        300_000,
    )
    assert store.latest("s") == base  # refused: nothing written
    report = plan.execute(force=True)
    assert not report.dry_run and report.base_id == base.id
    reset = store.latest("s")
    assert report.checkpoint_id == reset.id
    assert reset.offsets == plan.offsets
    assert reset.batch_time_ms == base.batch_time_ms
    # One checkpoint, the base's metadata kept, marked as an operator's action.
    assert reset.id == base.id + 1
    assert reset.metadata["spark.batch_id"] == b"41"
    assert b"--shift-by" in reset.metadata["tidemark.operator"]
    assert reset.writer.app_name == "tidemark reset"
    # The reset's writer fenced the application's.
    with pytest.raises(tidemark.FencedError):
        app.commit({"orders": {0: 301, 1: 90}, "refunds": {0: 12}})

    # Shifting never goes below 0; whole topics; every partition by default.
    plan = tidemark.plan_reset(store, "s", shift_by=-1000, topics=["refunds"])
    assert rows(plan.changes) == [("refunds", 0, 12, 0, -12)]
    plan = tidemark.plan_reset(store, "s", to_offset=5)
    assert [(c.topic, c.partition, c.after) for c in plan.changes] == [
        ("orders", 0, 5),
        ("orders", 1, 5),
        ("refunds", 0, 5),
    ]
    # Given offsets, a partition new to the stream included.
    with pytest.raises(tidemark.OperationError):  # partition 2 is new: refused by default
        tidemark.plan_reset(store, "s", to_offsets={"orders": {1: 40, 2: 3}})
    plan = tidemark.plan_reset(
        store, "s", to_offsets={"orders": {1: 40, 2: 3}}, allow_new_partitions=True
    )
    assert rows(plan.changes) == [("orders", 1, 90, 40, -50), ("orders", 2, None, 3, None)]

    # Back to an earlier checkpoint: some partitions, or all of them (rewind).
    plan = tidemark.plan_reset(store, "s", to_checkpoint=first, topics={"orders": None})
    assert plan.offsets == {"orders": {0: 100, 1: 50}, "refunds": {0: 12}}
    rewound = tidemark.rewind(store, "s", first).execute()
    assert store.get("s", rewound.checkpoint_id).offsets == store.get("s", first).offsets

    # The cluster's log bounds, given as kafka_partitions returns them.
    cluster = {"orders": {0: (20, 500), 1: (10, 95)}, "refunds": {0: (0, 12)}}
    plan = tidemark.plan_reset(store, "s", to_earliest=True, cluster=cluster)
    assert plan.offsets == {"orders": {0: 20, 1: 10}, "refunds": {0: 0}}
    plan = tidemark.plan_reset(store, "s", to_latest=True, topics=["orders"], cluster=cluster)
    assert plan.offsets == {"orders": {0: 500, 1: 95}, "refunds": {0: 7}}


def rows(changes):
    return [(c.topic, c.partition, c.before, c.after, c.change) for c in changes]


def test_reset_refusals_write_nothing(store):
    with pytest.raises(tidemark.NoCheckpointError) as e:
        tidemark.plan_reset(store, "s", to_offset=0)
    assert e.value.stream == "s"
    store.writer("s", "app", "1").commit({"orders": {0: 10}})
    before = store.latest("s")

    with pytest.raises(tidemark.InvalidOffsetError) as e:
        tidemark.plan_reset(store, "s", to_offset=-1)
    assert (e.value.topic, e.value.partition, e.value.offset) == ("orders", 0, -1)
    with pytest.raises(tidemark.NothingSelectedError):
        tidemark.plan_reset(store, "s", to_offset=0, topics=["not-in-the-stream"])
    with pytest.raises(tidemark.NotInClusterError) as e:
        tidemark.plan_reset(store, "s", to_latest=True, cluster={"orders": {1: (0, 5)}})
    assert (e.value.topic, e.value.partition) == ("orders", 0)
    with pytest.raises(tidemark.NotFoundError):
        tidemark.plan_reset(store, "s", to_checkpoint=999)
    with pytest.raises(tidemark.NotFoundError):
        tidemark.rewind(store, "s", 999)
    assert issubclass(tidemark.NoCheckpointError, tidemark.OperationError)
    assert issubclass(tidemark.OperationError, tidemark.TidemarkError)

    with pytest.raises(ValueError, match="exactly one"):
        tidemark.plan_reset(store, "s")
    with pytest.raises(ValueError, match="exactly one"):
        tidemark.plan_reset(store, "s", to_offset=1, shift_by=1)
    with pytest.raises(ValueError, match="bootstrap"):
        tidemark.plan_reset(store, "s", to_earliest=True)
    with pytest.raises(ValueError, match="bootstrap"):
        tidemark.plan_reset(store, "s", by_duration=60)
    with pytest.raises(ValueError, match="timezone"):
        tidemark.plan_reset(store, "s", to_datetime=datetime(2026, 1, 1), bootstrap="x:1")
    with pytest.raises(TypeError):
        tidemark.plan_reset(store, "s", to_offset=0, topics="orders")
    with pytest.raises(ValueError):
        tidemark.plan_reset(store, "s", to_offset=0, topics={"orders": []})
    assert store.latest("s") == before


def test_help_is_useful():
    doc = tidemark.Store.__doc__
    assert "s3://" in doc and "strict" in doc
    assert "FencedError" in tidemark.Store.writer.__doc__
    assert tidemark.Store.compact.__doc__ and tidemark.StreamWriter.commit.__doc__
    for mode in ("to_offset", "shift_by", "to_earliest", "to_datetime", "by_duration"):
        assert mode in tidemark.plan_reset.__doc__
    assert "NoCheckpointError" in tidemark.plan_reset.__doc__
    assert "fences" in tidemark.ResetPlan.execute.__doc__


def test_spark_checkpoint_import(tmp_path):
    folder = tmp_path / "ck"
    (folder / "offsets").mkdir(parents=True)
    (folder / "commits").mkdir()
    (folder / "offsets" / "4").write_text(
        'v1\n{"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{}}\n'
        '{"events":{"0":10,"1":20}}\n'
    )
    (folder / "commits" / "4").write_text('v1\n{"nextBatchWatermarkMs":0}\n')
    batch, ts, offsets, index = tidemark.read_spark_checkpoint(folder)
    assert (batch, ts, offsets, index) == (4, 1700000000000, {"events": {0: 10, 1: 20}}, 0)
    with pytest.raises(tidemark.SparkImportError):
        tidemark.read_spark_checkpoint(tmp_path / "nothing")


def test_local_store_files_are_where_the_url_says(tmp_path):
    store = tidemark.Store(str(tmp_path / "x"))
    store.writer("s", "app", "1").commit({"t": {0: 1}})
    assert any(os.scandir(tmp_path / "x"))
