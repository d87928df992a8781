#!/usr/bin/env bash
# Starts Hadoop's single-process test HDFS (MiniDFSCluster: one NameNode, one DataNode) on
# 127.0.0.1 in a run folder of its own, through the launcher MiniHdfs.java, and waits until it
# serves requests.
#
#   scripts/hdfs/start.sh <run-folder>
#
# Fetches the jars first (scripts/hdfs/fetch.sh, cached). On success the cluster keeps running
# in the background and the run folder holds:
#   hdfs.pid   its PID (stop it with `kill "$(cat <run-folder>/hdfs.pid)"`)
#   hdfs.log   its log
#   env        `export TIDEMARK_TEST_HDFS=hdfs://127.0.0.1:<port>` (also printed on stdout)
# On failure it prints the log's tail, stops what it started and exits non-zero.
# HDFS_PORT (default 0: a free one) fixes the NameNode's port; HDFS_HEAP (default 512m) sets -Xmx.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
RUN="${1:?usage: start.sh <run-folder>}"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
LIB="$("$HERE/fetch.sh")"

rm -rf "$RUN/base"
java "-Xmx${HDFS_HEAP:-512m}" -Djava.awt.headless=true -cp "$LIB/*" \
  "$HERE/MiniHdfs.java" "$RUN/base" "${HDFS_PORT:-0}" --until-killed >"$RUN/hdfs.log" 2>&1 &
PID=$!
echo "$PID" >"$RUN/hdfs.pid"

fail() { start_failed hdfs "$RUN/hdfs.log" "$PID" "$1"; }
for _ in $(seq 1 1800); do
  if ! kill -0 "$PID" 2>/dev/null; then fail "the cluster exited during startup"; fi
  URL=$(sed -n 's/^READY \(hdfs:.*\)$/\1/p' "$RUN/hdfs.log")
  if [ -n "$URL" ]; then
    echo "export TIDEMARK_TEST_HDFS=$URL" >"$RUN/env"
    cat "$RUN/env"
    exit 0
  fi
  sleep 0.1
done
fail "not ready after 180 s"
