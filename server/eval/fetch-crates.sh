#!/usr/bin/env bash
# Fetches the documentation corpora of the crate question sets (crates-tune.jsonl,
# crates-heldout.jsonl): the Markdown each crate listed in crates.txt ships in its published
# package on crates.io, laid out as <out>/<set>/<crate>-<version>/<path>. The documents are not
# committed; the question sets name their paths.
#
#   server/eval/fetch-crates.sh [out]        # default: target/eval-corpus
#
# Then, for each set:
#   outpost ingest target/eval-corpus/tune --project crates-tune
#   outpost eval --project crates-tune --qa server/eval/crates-tune.jsonl
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../target/eval-corpus}"
mkdir -p "$out"
while read -r set name version; do
  case "$set" in ''|'#'*) continue ;; esac
  dest="$out/$set"
  if [ -d "$dest/$name-$version" ]; then continue; fi
  mkdir -p "$dest"
  crate="$(mktemp)"
  curl --fail --silent --show-error --location --retry 3 \
    -o "$crate" "https://static.crates.io/crates/$name/$name-$version.crate"
  # Only the Markdown; a package's other files are not documentation.
  tar -xzf "$crate" -C "$dest" --wildcards '*.md'
  rm -f "$crate"
  echo "$set: $name-$version ($(find "$dest/$name-$version" -name '*.md' | wc -l) Markdown files)"
done < "$here/crates.txt"
