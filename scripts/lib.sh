# Shell functions the server scripts share (sourced, not run):
#   . "$(dirname "$0")/../lib.sh"

CACHE="${TIDEMARK_CACHE:-$HOME/.cache/tidemark}"

# resolve_jars <pom-folder> <lib-folder> <what> [maven settings.xml]
# Copies the runtime jars of <pom-folder>/pom.xml from Maven Central into <lib-folder>, once:
# a marker holds the pom's checksum, so a changed pom resolves again into a clean folder.
# Maven's own repository is $CACHE/m2, so nothing lands in the clone or in ~/.m2.
resolve_jars() {
  local pom="$1/pom.xml" lib="$2" what="$3" settings=()
  [ -n "${4:-}" ] && settings=(-s "$4")
  local sum
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  if [ "$(cat "$lib/.resolved" 2>/dev/null)" != "$sum" ]; then
    echo "resolving $what jars into $lib" >&2
    rm -rf "$lib"
    mkdir -p "$lib"
    if ! mvn -B "${settings[@]}" -Dmaven.repo.local="$CACHE/m2" -f "$pom" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" \
      >"$lib.mvn.log" 2>&1; then
      tail -n 40 "$lib.mvn.log" >&2
      echo "resolving the jars failed (log: $lib.mvn.log)" >&2
      return 1
    fi
    echo "$sum" >"$lib/.resolved"
  fi
}

# start_failed <name> <log> <pid> <message>
# A server did not come up: prints its log's tail and the reason, stops it, exits non-zero.
start_failed() {
  tail -n 40 "$2" >&2
  echo "$1: $4 (log: $2)" >&2
  kill "$3" 2>/dev/null || true
  wait "$3" 2>/dev/null || true
  exit 1
}
