#!/usr/bin/env bash
# Installs what the tests need (idempotently, cached outside the clone), starts the servers
# they use on 127.0.0.1, runs every check and test, and stops the servers again.
#
# The downloads (moto, the Kafka and HDFS jars, the Python test venv) run in the background
# while the Rust side is checked and compiled; the Python package's tests (their wheel's build,
# then a PySpark query on the broker) run in the background while the cargo tests run, which
# mostly wait on the servers. Each background job writes a log under the cache folder, printed
# when it is waited for; a failed one fails the run with its log's tail.
#
#   scripts/test.sh
#
# Cache folder: $TIDEMARK_CACHE (default ~/.cache/tidemark). Needs: cargo, a C compiler, make,
# python3, Java 17 with Maven (Kafka, HDFS, ZooKeeper), and apt-get when Debian's zookeeper
# package or the C libraries librdkafka links (OpenSSL, Cyrus SASL for --all-features) are missing. How each server is obtained and started by hand: scripts/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${TIDEMARK_CACHE:-$HOME/.cache/tidemark}"
VENV="$CACHE/venv"
mkdir -p "$CACHE"
START=$SECONDS
log() { printf '\n== [%ds] %s\n' "$((SECONDS - START))" "$*"; }

# --- C libraries librdkafka links: OpenSSL (TLS, SASL/SCRAM), Cyrus SASL (feature gssapi) --
missing=""
for pkg in libssl-dev pkg-config libsasl2-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  log "installing Debian's$missing"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
fi

# --- background jobs ---------------------------------------------------------------------
PIDS=()
PIDS_DIRS=()
# Starts `$2...` in the background, its output in $CACHE/$1.log; sets JOB to its pid.
background() {
  local name=$1
  shift
  "$@" >"$CACHE/$name.log" 2>&1 &
  JOB=$!
  PIDS+=("$JOB")
}
# Waits for the background job $2 named $1: prints its log (the tail when it failed) and fails
# the run when it failed.
wait_job() {
  if wait "$2"; then
    sed "s/^/[$1] /" "$CACHE/$1.log"
  else
    tail -n 60 "$CACHE/$1.log" >&2
    echo "$1 failed (log: $CACHE/$1.log)" >&2
    exit 1
  fi
}
# The S3 server (moto, from PyPI) and the Kafka and HDFS jars (Maven Central), one after the
# other (two Maven processes must not fill one local repository at the same time).
prepare_servers() {
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3, moto' 2>/dev/null; then
    echo "installing moto into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.1.*'
  fi
  scripts/kafka/fetch.sh
  scripts/hdfs/fetch.sh
}
log "in the background: moto, the Kafka and HDFS jars, the Python test venv (pyspark ~450 MB)"
background servers-prepare prepare_servers
SERVERS_PREP=$JOB
background python-venv scripts/python-test.sh venv
PY_VENV=$JOB

cleanup() {
  # A background job's children first (pip, mvn, cargo, pytest), then the job itself.
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # The JVMs were started by the start scripts, so they are not this shell's children: poll
  # until each is gone (a graceful Kafka shutdown takes a few seconds), then force it.
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for dir in "${PIDS_DIRS[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

# --- checks, and everything compiled, while the downloads run ------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (the workspace with every feature; the library with none)"
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo clippy -p tidemark --lib --no-default-features -- -D warnings
log "the library's default build pulls no C Kafka client and no command-line dependencies"
heavy=$(cargo tree -p tidemark -e normal --prefix none \
  | grep -E '^(rdkafka|rdkafka-sys|clap|clap_complete|indicatif|tracing-subscriber) ' || true)
if [ -n "$heavy" ]; then
  echo "the default library build depends on: $heavy" >&2
  exit 1
fi
log "docs: no broken intra-doc links"
RUSTDOCFLAGS="-D warnings" cargo doc -p tidemark --all-features --no-deps --quiet

log "reference reader over the golden files"
python3 format-spec/reference/check_vectors.py

log "the fuzz targets still build (the corpus replay is tests/fuzz_corpus.rs)"
( cd fuzz && cargo check --quiet --bins )

log "compiling the tests"
# One feature set for everything (hdfs on: the store tests run on HDFS too), so each crate is
# built once. The crash tests run the example binaries as separate processes: build them first.
cargo build --all-features --examples
cargo test --workspace --all-features --lib --bins --tests --examples --no-run

log "waiting for the downloads"
wait_job servers-prepare "$SERVERS_PREP"

# --- start moto -------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

S3_PORT=$(free_port)
log "starting moto on 127.0.0.1:$S3_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$CACHE/moto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$S3_PORT/')" 2>/dev/null; then break; fi
  sleep 0.1
done
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$VENV/bin/python" - "$S3_PORT" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1")
s3.create_bucket(Bucket="tidemark-test")
PY
export TIDEMARK_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export TIDEMARK_TEST_S3_BUCKET=tidemark-test

# --- Apache Kafka 4 (KRaft, one node; jars from Maven Central) and HDFS (MiniDFSCluster) ---
# (their jars were fetched in the background, above)
RUN_DIR=$(mktemp -d)
PIDS_DIRS+=("$RUN_DIR")
# Both JVMs start at the same time; each start script waits for its server and, when it fails,
# prints the log's tail and exits non-zero, which fails the run here.
log "starting Apache Kafka and HDFS on 127.0.0.1"
scripts/kafka/start.sh "$RUN_DIR/kafka" >/dev/null &
KAFKA_STARTER=$!
scripts/hdfs/start.sh "$RUN_DIR/hdfs" >/dev/null &
HDFS_STARTER=$!
KAFKA_OK=0
HDFS_OK=0
wait "$KAFKA_STARTER" || KAFKA_OK=$?
wait "$HDFS_STARTER" || HDFS_OK=$?
# Register whatever did start, so the cleanup stops it even when the other one failed.
for server in kafka hdfs; do
  if [ -f "$RUN_DIR/$server/env" ]; then PIDS+=("$(cat "$RUN_DIR/$server/$server.pid")"); fi
done
if [ "$KAFKA_OK" -ne 0 ] || [ "$HDFS_OK" -ne 0 ]; then
  echo "a server failed to start (kafka: exit $KAFKA_OK, hdfs: exit $HDFS_OK)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$RUN_DIR/kafka/env"
# shellcheck disable=SC1091
. "$RUN_DIR/hdfs/env"
echo "kafka: $TIDEMARK_TEST_KAFKA, hdfs: $TIDEMARK_TEST_HDFS"

# --- ZooKeeper (Debian's package, standalone; tests/import_zookeeper.rs) -----------------
if [ ! -f /usr/share/java/zookeeper.jar ]; then
  log "installing Debian's zookeeper package"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y zookeeper
fi
ZK_DIR="$RUN_DIR/zookeeper"
mkdir -p "$ZK_DIR/data"
ZK_PORT=$(free_port)
cat >"$ZK_DIR/zoo.cfg" <<CFG
tickTime=2000
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
log "starting zookeeper on 127.0.0.1:$ZK_PORT"
java -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
  org.apache.zookeeper.server.ZooKeeperServerMain "$ZK_DIR/zoo.cfg" >"$CACHE/zookeeper.log" 2>&1 &
PIDS+=($!)
ZK_UP=""
for _ in $(seq 1 300); do
  if python3 - "$ZK_PORT" 2>/dev/null <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)
s.settimeout(0.5)
s.sendall(b"ruok")
sys.exit(0 if s.recv(4) == b"imok" else 1)
PY
  then ZK_UP=1; break; fi
  sleep 0.1
done
if [ -z "$ZK_UP" ]; then
  tail -n 30 "$CACHE/zookeeper.log" >&2
  echo "zookeeper did not answer on 127.0.0.1:$ZK_PORT (log: $CACHE/zookeeper.log)" >&2
  exit 1
fi
export TIDEMARK_TEST_ZOOKEEPER="127.0.0.1:$ZK_PORT"

# --- tests ------------------------------------------------------------------------------
# The Python package's tests run in the background meanwhile (their own moto; the broker
# started above; the CI-sized PySpark crash/upgrade test: the long one runs with
# `scripts/python-test.sh all`).
wait_job python-venv "$PY_VENV"
log "in the background: the Python package (wheel, ruff, API tests on local disk, S3 and the broker, PySpark)"
background python-tests scripts/python-test.sh ci
PY_TESTS=$JOB

log "cargo test"
cargo test --workspace --all-features --lib --bins --tests --examples
cargo test --workspace --all-features --doc

log "waiting for the Python package's tests"
wait_job python-tests "$PY_TESTS"

log "all checks and tests passed"
