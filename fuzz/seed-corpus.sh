#!/usr/bin/env bash
# Seeds fuzz/corpus/decode/ with every golden file of format-spec/vectors/, under its own name.
# Idempotent; run it again after `cargo fuzz cmin decode` (which renames every file to its
# SHA-1): it puts the seeds back under their names and removes their SHA-1-named copies.
#
#   fuzz/seed-corpus.sh
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p corpus/decode corpus/roundtrip
for vector in ../format-spec/vectors/*.tdm; do
  name=$(basename "$vector")
  cp "$vector" "corpus/decode/$name"
  sha=$(sha1sum "$vector" | cut -d' ' -f1)
  rm -f "corpus/decode/$sha"
done
echo "corpus/decode: $(find corpus/decode -type f | wc -l) files"
