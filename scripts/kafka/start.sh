#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, broker and controller in one process) on
# 127.0.0.1, in a run folder of its own, and waits until it serves requests.
#
#   scripts/kafka/start.sh <run-folder>
#
# Fetches the jars first (scripts/kafka/fetch.sh, cached). On success the broker keeps running
# in the background and the run folder holds:
#   kafka.pid   the broker's PID (stop it with `kill "$(cat <run-folder>/kafka.pid)"`)
#   kafka.log   its log
#   env         shell `export` lines for the tests (also printed on stdout):
#                 TIDEMARK_TEST_KAFKA            PLAINTEXT bootstrap, 127.0.0.1:<port>
#                 TIDEMARK_TEST_KAFKA_SASL       SASL_PLAINTEXT (SCRAM-SHA-256) bootstrap
#                 TIDEMARK_TEST_KAFKA_SASL_USER / _PASSWORD   its one user
#                 TIDEMARK_TEST_KAFKA_SSL        SSL bootstrap (a self-signed certificate)
#                 TIDEMARK_TEST_KAFKA_SSL_CA     that certificate, PEM
# On failure it prints the log's tail, stops what it started and exits non-zero.
# The ports are free ones picked at start; KAFKA_HEAP (default 1G, smaller heaps are known to
# stall KRaft's startup) sets -Xmx.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
RUN="${1:?usage: start.sh <run-folder>}"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
LIB="$("$HERE/fetch.sh")"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PLAIN=$(free_port)
SASL=$(free_port)
SSL=$(free_port)
CONTROLLER=$(free_port)
SASL_USER=tidemark
SASL_PASSWORD="tidemark-secret"
STORE_PASSWORD="tidemark-store"

# A self-signed certificate for the SSL listener (keytool ships with the JDK).
rm -f "$RUN/broker.p12" "$RUN/ca.pem"
keytool -genkeypair -noprompt -alias broker -keyalg RSA -keysize 2048 -validity 30 \
  -dname "CN=127.0.0.1" -ext "SAN=IP:127.0.0.1,DNS:localhost" \
  -storetype PKCS12 -keystore "$RUN/broker.p12" -storepass "$STORE_PASSWORD" 2>/dev/null
keytool -exportcert -rfc -alias broker -keystore "$RUN/broker.p12" \
  -storepass "$STORE_PASSWORD" -file "$RUN/ca.pem" 2>/dev/null

cat >"$RUN/server.properties" <<CFG
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$PLAIN,SASL_PLAINTEXT://127.0.0.1:$SASL,SSL://127.0.0.1:$SSL,CONTROLLER://127.0.0.1:$CONTROLLER
advertised.listeners=PLAINTEXT://127.0.0.1:$PLAIN,SASL_PLAINTEXT://127.0.0.1:$SASL,SSL://127.0.0.1:$SSL
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$RUN/data

# SCRAM users are written into the metadata log when the storage is formatted (below).
sasl.enabled.mechanisms=SCRAM-SHA-256
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$RUN/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.client.auth=none

# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.partitions=1

# Fast tests: no initial rebalance delay, short sessions for both group protocols, and
# retention enforced within seconds (tests set a short retention.ms/segment.ms per topic).
group.initial.rebalance.delay.ms=0
group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=6000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.heartbeat.interval.ms=500
log.retention.check.interval.ms=1000
log.initial.task.delay.ms=1000
CFG

# (an id starting with "-" would be read as an option by StorageTool: draw again)
CLUSTER_ID=$(python3 -c 'import base64, uuid
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)')
JAVA=(java "-Xmx${KAFKA_HEAP:-1G}" -Xms256m -Djava.awt.headless=true
  -Dorg.slf4j.simpleLogger.showDateTime=true -cp "$LIB/*")
rm -rf "$RUN/data"
if ! "${JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$CLUSTER_ID" \
  -c "$RUN/server.properties" \
  --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" >"$RUN/format.log" 2>&1; then
  tail -n 40 "$RUN/format.log" >&2
  echo "kafka: formatting the storage failed (log: $RUN/format.log)" >&2
  exit 1
fi

"${JAVA[@]}" kafka.Kafka "$RUN/server.properties" >"$RUN/kafka.log" 2>&1 &
PID=$!
echo "$PID" >"$RUN/kafka.pid"

fail() { start_failed kafka "$RUN/kafka.log" "$PID" "$1"; }
# Ready when the broker logged its start and the PLAINTEXT port accepts connections.
for _ in $(seq 1 1200); do
  if ! kill -0 "$PID" 2>/dev/null; then fail "the broker exited during startup"; fi
  if grep -q 'Kafka Server started' "$RUN/kafka.log" &&
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PLAIN), 0.2)" 2>/dev/null; then
    cat >"$RUN/env" <<ENV
export TIDEMARK_TEST_KAFKA=127.0.0.1:$PLAIN
export TIDEMARK_TEST_KAFKA_SASL=127.0.0.1:$SASL
export TIDEMARK_TEST_KAFKA_SASL_USER=$SASL_USER
export TIDEMARK_TEST_KAFKA_SASL_PASSWORD=$SASL_PASSWORD
export TIDEMARK_TEST_KAFKA_SSL=127.0.0.1:$SSL
export TIDEMARK_TEST_KAFKA_SSL_CA=$RUN/ca.pem
ENV
    cat "$RUN/env"
    exit 0
  fi
  sleep 0.1
done
fail "not ready after 120 s"
