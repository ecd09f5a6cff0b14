#!/usr/bin/env bash
# CI smoke test of the fuzz targets with plain cargo (no cargo-fuzz, no nightly, no
# coverage instrumentation; debug assertions on): builds both targets, runs every seed
# input once through `parse` (in-memory and streamed parses agree, analysis, binning)
# and 20000 generated inputs through `binning`. About a minute. Needs a C++ compiler
# (libFuzzer is built from source) and the shared data (see seeds.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
cargo build --quiet --bins
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/seeds" "$tmp/binning"
./seeds.sh "$tmp/seeds"
target/debug/parse -rss_limit_mb=2048 "$tmp"/seeds/* 2>"$tmp/parse.log" ||
    { tail -n 40 "$tmp/parse.log"; exit 1; }
target/debug/binning -runs=20000 -seed=1 -max_len=8192 "$tmp/binning" 2>"$tmp/binning.log" ||
    { tail -n 40 "$tmp/binning.log"; exit 1; }
echo "fuzz smoke: $(grep -c '^Executed' "$tmp/parse.log") seed inputs parsed, 20000 binning inputs: ok"
