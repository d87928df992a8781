#!/usr/bin/env bash
# Resolves the jars of an Apache Kafka broker (scripts/kafka/pom.xml) from Maven Central into
# $TIDEMARK_CACHE/kafka-<version>/lib, once. Prints that lib folder.
#
#   scripts/kafka/fetch.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
VERSION=$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$HERE/pom.xml")
LIB="$CACHE/kafka-$VERSION/lib"
resolve_jars "$HERE" "$LIB" "Apache Kafka $VERSION"
echo "$LIB"
