#!/usr/bin/env bash
# The Python package's checks and tests: builds the wheel with maturin, installs it into a venv,
# runs ruff and pytest (the API against local disk and S3/moto, the Kafka glue, the Spark
# listener, and the PySpark crash/upgrade test against a real Kafka 4 broker). Installs
# everything idempotently under $TIDEMARK_CACHE (default ~/.cache/tidemark), starts moto and
# Kafka on 127.0.0.1 (or uses the broker TIDEMARK_TEST_KAFKA names, as under scripts/test.sh),
# and stops what it started.
#
#   scripts/python-test.sh            # everything, with the long crash/upgrade test
#   scripts/python-test.sh ci         # everything, with the CI-sized crash/upgrade test
#                                     # (3 kills, 1 upgrade; a few minutes): what scripts/test.sh runs
#   scripts/python-test.sh api        # ruff + the API tests (moto only, no Kafka, no Spark)
#   scripts/python-test.sh bench      # the benchmarks in python/benches (Kafka + Spark)
#   scripts/python-test.sh venv       # only install the venv (scripts/test.sh runs this in the
#                                     # background while the Rust side builds)
#   scripts/python-test.sh wheel      # only the venv and the test wheel (dev profile), installed
#
# Needs: cargo, a C compiler, cmake (librdkafka is built from source once), python3 (>= 3.9),
# java 17 and mvn.
set -euo pipefail
cd "$(dirname "$0")/.."

WHAT="${1:-all}"
case "$WHAT" in
  all | ci | api | bench | venv | wheel) ;;
  *)
    echo "usage: $0 [all|ci|api|bench|venv|wheel]" >&2
    exit 2
    ;;
esac
CACHE="${TIDEMARK_CACHE:-$HOME/.cache/tidemark}"
PYCACHE="$CACHE/python"
VENV="$CACHE/python-venv"
PYSPARK_VERSION=4.2.0 # also in python/maven/spark-kafka/pom.xml
mkdir -p "$PYCACHE"
log() { printf '\n== %s\n' "$*"; }

# --- the venv ---------------------------------------------------------------------------------
REQS="pyspark==$PYSPARK_VERSION maturin==1.16.0 pytest==9.2.0 ruff==0.17.6 moto[server]==5.2.5 boto3==1.44.8 confluent-kafka==2.16.1"
if [ ! -f "$VENV/.tidemark-reqs" ] || [ "$(cat "$VENV/.tidemark-reqs")" != "$REQS" ]; then
  log "installing the test venv into $VENV (pyspark is ~450 MB, once)"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQS
  echo "$REQS" >"$VENV/.tidemark-reqs"
fi
PY="$VENV/bin/python"
if [ "$WHAT" = venv ]; then exit 0; fi

# --- jars from Maven Central (resolve_jars: scripts/lib.sh) ----------------------------------
# settings.xml blocks the extra repository Spark's poms name, so that only Maven Central is used.
. scripts/lib.sh

# --- build and install the wheel ------------------------------------------------------------
# The tests build it without optimisations (a few minutes less to compile); what is measured
# (bench) and the long run (all) build it as users get it, optimised.
case "$WHAT" in
  ci | api | wheel) PROFILE=dev ;;
  *) PROFILE=release ;;
esac
log "building the wheel (maturin, $PROFILE profile, abi3)"
rm -rf "$PYCACHE/wheels"
# The extension links the system's OpenSSL (librdkafka's TLS); the wheel is for this machine's
# venv, so it is not repaired into a manylinux wheel (that would bundle libssl with patchelf).
(cd python && "$VENV/bin/maturin" build --profile "$PROFILE" --auditwheel skip --quiet --interpreter "$PY" --out "$PYCACHE/wheels")
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$PYCACHE"/wheels/tidemark-*.whl
(cd /tmp && "$PY" -c 'import tidemark; print("installed tidemark", tidemark.__version__)')
if [ "$WHAT" = wheel ]; then exit 0; fi

log "ruff"
"$VENV/bin/ruff" check python
"$VENV/bin/ruff" format --check python

# --- servers ----------------------------------------------------------------------------------
PIDS=()
RUN_DIR=$(mktemp -d)
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
# Stopped by scripts/test.sh (its background job): still stop what this started.
trap 'exit 143' TERM INT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port, what, log
  for _ in $(seq 1 600); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 40 "$3" >&2
  echo "$2 did not open 127.0.0.1:$1 (log: $3)" >&2
  exit 1
}

S3_PORT=$(free_port)
log "starting moto on 127.0.0.1:$S3_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$PYCACHE/moto.log" 2>&1 &
PIDS+=($!)
wait_port "$S3_PORT" moto "$PYCACHE/moto.log"
AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$PY" - "$S3_PORT" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1")
s3.create_bucket(Bucket="tidemark-test")
PY
export TIDEMARK_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export TIDEMARK_TEST_S3_BUCKET=tidemark-test

if [ "$WHAT" != api ]; then
  SPARK_JARS="$PYCACHE/spark-kafka-$PYSPARK_VERSION"
  resolve_jars python/maven/spark-kafka "$SPARK_JARS" "Spark's Kafka connector" "$PWD/python/maven/settings.xml"
  # Spark's own jars come with the pyspark wheel: pass only the connector and what it adds.
  TIDEMARK_TEST_SPARK_JARS=""
  for jar in spark-sql-kafka spark-token-provider-kafka kafka-clients commons-pool2; do
    found=$(ls "$SPARK_JARS/$jar"-[0-9]*.jar 2>/dev/null | head -n 1 || true)
    if [ -z "$found" ]; then
      echo "the Spark Kafka connector's $jar jar is missing from $SPARK_JARS" >&2
      exit 1
    fi
    TIDEMARK_TEST_SPARK_JARS="$TIDEMARK_TEST_SPARK_JARS${TIDEMARK_TEST_SPARK_JARS:+,}$found"
  done
  export TIDEMARK_TEST_SPARK_JARS

  if [ -n "${TIDEMARK_TEST_KAFKA:-}" ]; then
    # scripts/test.sh started the test bed's broker already: use it (it must answer).
    log "using the Kafka broker at $TIDEMARK_TEST_KAFKA"
    wait_port "${TIDEMARK_TEST_KAFKA##*:}" "the Kafka broker of TIDEMARK_TEST_KAFKA" /dev/null
  else
    # The test bed's single-node KRaft broker (Apache Kafka from Maven Central).
    log "starting Kafka (scripts/kafka/start.sh)"
    scripts/kafka/start.sh "$RUN_DIR/kafka" >/dev/null
    PIDS+=("$(cat "$RUN_DIR/kafka/kafka.pid")")
    # shellcheck disable=SC1091
    . "$RUN_DIR/kafka/env"
    echo "kafka at $TIDEMARK_TEST_KAFKA"
  fi
fi

# --- tests ------------------------------------------------------------------------------------
case "$WHAT" in
  api)
    log "pytest (API)"
    "$PY" -m pytest -q python/tests/test_api.py
    ;;
  bench)
    log "benchmarks"
    (cd python && cargo build --release --quiet --example commit_bench)
    "$PY" python/benches/commit_bench.py
    "$PY" python/benches/listener_bench.py
    ;;
  ci)
    log "pytest (API, Kafka glue, Spark listener, crash/upgrade test: CI variant)"
    TIDEMARK_SPARK_LONG=0 "$PY" -m pytest -q -s python/tests
    ;;
  all)
    log "pytest (API, Kafka glue, Spark listener, crash/upgrade test: long variant)"
    TIDEMARK_SPARK_LONG=1 "$PY" -m pytest -q -s python/tests
    ;;
esac
