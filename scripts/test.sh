#!/usr/bin/env bash
# Installs what the tests need (idempotently, cached outside the clone), starts the servers
# they use on 127.0.0.1, runs every check and test, and stops the servers again.
#
#   scripts/test.sh
#
# Cache folder: $TIDEMARK_CACHE (default ~/.cache/tidemark). Needs: cargo, a C compiler, make,
# python3, java (ZooKeeper), and apt-get when Debian's zookeeper package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${TIDEMARK_CACHE:-$HOME/.cache/tidemark}"
VENV="$CACHE/venv"
mkdir -p "$CACHE"
log() { printf '\n== %s\n' "$*"; }

# --- Python venv with moto (an S3-compatible server) -------------------------------------
if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3, moto' 2>/dev/null; then
  log "installing moto into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.1.*'
fi

# --- tansu (an Apache-Kafka-compatible broker in Rust, sqlite storage) -------------------
TANSU="$CACHE/tansu/bin/tansu"
if [ ! -x "$TANSU" ]; then
  log "installing tansu into $CACHE/tansu (about 10 minutes, once)"
  cargo install tansu --version 0.6.0 --locked --features libsql --root "$CACHE/tansu"
fi

# --- start moto -------------------------------------------------------------------------
PIDS=()
PIDS_DIRS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for dir in "${PIDS_DIRS[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

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

# --- start tansu ------------------------------------------------------------------------
RUN_DIR=$(mktemp -d)
PIDS_DIRS+=("$RUN_DIR")
KAFKA_PORT=$(free_port)
log "starting tansu on 127.0.0.1:$KAFKA_PORT"
# (tansu reads the sqlite path relative to its working folder)
(cd "$RUN_DIR" && exec "$TANSU" broker \
  --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  --storage-engine "sqlite://tansu.db") >"$CACHE/tansu.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $KAFKA_PORT), 0.2)" 2>/dev/null; then break; fi
  sleep 0.1
done
export TIDEMARK_TEST_KAFKA="127.0.0.1:$KAFKA_PORT"

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

# --- checks -----------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (the workspace with every feature; the library with none and with defaults)"
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo clippy -p tidemark --lib --no-default-features -- -D warnings
cargo clippy -p tidemark --lib -- -D warnings
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

log "cargo test"
# The crash tests run the example binaries as separate processes, so build them first.
cargo build --all-features --examples
cargo test --workspace --all-features --lib --bins --tests --examples
cargo test --workspace --all-features --doc

log "fuzz corpus replay, and the fuzz targets still build"
# (the replay itself is tests/fuzz_corpus.rs, run above)
( cd fuzz && cargo check --quiet --bins )
