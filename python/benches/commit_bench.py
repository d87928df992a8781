"""Commit through Python vs through Rust, same machine, same run: alternating rounds of the
Rust example (`cargo build --release --example commit_bench` in python/) and the same loop
through the Python bindings, on local disk (fsynced) and in memory (the bindings' own cost).

    python python/benches/commit_bench.py [rounds] [commits] [partitions]

Prints the median time per commit of each and the ratio Python / Rust."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tidemark

HERE = Path(__file__).resolve().parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", HERE.parent / "target"))
RUST = TARGET / "release" / "examples" / "commit_bench"


def python_round(url: str, commits: int, partitions: int) -> float:
    store = tidemark.Store(url)
    writer = store.writer("bench", "bench", "1")
    started = time.perf_counter()
    for i in range(commits):
        offsets = {"events": {p: i * 100 + p for p in range(partitions)}}
        writer.commit(offsets, metadata={"batch": str(i).encode()})
    return (time.perf_counter() - started) * 1e6 / commits


def rust_round(url: str, commits: int, partitions: int) -> float:
    out = subprocess.run(
        [str(RUST), url, str(commits), str(partitions)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)["us_per_commit"]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    commits = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    partitions = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    if not RUST.exists():
        raise SystemExit(f"{RUST} is missing: cargo build --release --example commit_bench")
    print(
        f"commit bench: {rounds} rounds x {commits} commits, {partitions} partitions, "
        f"tidemark {tidemark.__version__}"
    )
    for backend in ("local", "memory"):
        py, rs = [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                url_a = a if backend == "local" else "memory://"
                url_b = b if backend == "local" else "memory://"
                rs.append(rust_round(url_a, commits, partitions))
                py.append(python_round(url_b, commits, partitions))
        p, r = statistics.median(py), statistics.median(rs)
        print(
            f"  {backend:6}: python {p:8.1f} us/commit  rust {r:8.1f} us/commit  "
            f"ratio {p / r:.2f}  (python rounds {[round(x, 1) for x in py]}, "
            f"rust rounds {[round(x, 1) for x in rs]})"
        )


if __name__ == "__main__":
    main()
