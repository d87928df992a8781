#!/usr/bin/env bash
# Resolves the jars of Hadoop's test HDFS, MiniDFSCluster (scripts/hdfs/pom.xml), from Maven
# Central into $TIDEMARK_CACHE/hdfs-<version>/lib, once. Prints that lib folder.
#
#   scripts/hdfs/fetch.sh
#
# Maven's own repository goes to $TIDEMARK_CACHE/m2, so nothing lands in the clone or in ~/.m2.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${TIDEMARK_CACHE:-$HOME/.cache/tidemark}"
VERSION=$(sed -n 's#.*<hadoop.version>\(.*\)</hadoop.version>.*#\1#p' "$HERE/pom.xml")
LIB="$CACHE/hdfs-$VERSION/lib"
# The marker holds the pom's checksum: a changed pom resolves again into a clean folder.
SUM=$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)
if [ "$(cat "$LIB/.resolved" 2>/dev/null)" != "$SUM" ]; then
  echo "resolving Hadoop $VERSION jars into $LIB" >&2
  rm -rf "$LIB"
  mkdir -p "$LIB"
  if ! mvn -B -Dmaven.repo.local="$CACHE/m2" -f "$HERE/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB" \
    >"$LIB.mvn.log" 2>&1; then
    tail -n 40 "$LIB.mvn.log" >&2
    echo "resolving the jars failed (log: $LIB.mvn.log)" >&2
    exit 1
  fi
  echo "$SUM" >"$LIB/.resolved"
fi
echo "$LIB"
