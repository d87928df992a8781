#!/usr/bin/env bash
# Resolves the jars of Hadoop's test HDFS, MiniDFSCluster (scripts/hdfs/pom.xml), from Maven
# Central into $TIDEMARK_CACHE/hdfs-<version>/lib, once. Prints that lib folder.
#
#   scripts/hdfs/fetch.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
VERSION=$(sed -n 's#.*<hadoop.version>\(.*\)</hadoop.version>.*#\1#p' "$HERE/pom.xml")
LIB="$CACHE/hdfs-$VERSION/lib"
resolve_jars "$HERE" "$LIB" "Hadoop $VERSION"
echo "$LIB"
