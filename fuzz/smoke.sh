#!/usr/bin/env bash
# CI smoke test of the fuzz targets with plain cargo (no cargo-fuzz, no nightly, no
# coverage instrumentation; debug assertions and overflow checks on): builds both
# targets, runs every seed input once through `parse` (seeds.sh: the small shared traces,
# Go's golden cases and regressions/parse/, the inputs that once failed), and 20000
# generated inputs through `binning`. About a minute. Needs a C++ compiler (libFuzzer is
# built from source) and the shared data (see seeds.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
cargo build --quiet --bins
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/seeds" "$tmp/binning"
./seeds.sh "$tmp/seeds"
failed() { # the failing input and the panic message
    grep -E '^Running: ' "$1" | tail -n 1
    grep -A 3 -E 'panicked at|ERROR: ' "$1" | head -n 12
    exit 1
}
target/debug/parse -rss_limit_mb=2048 "$tmp"/seeds/* 2>"$tmp/parse.log" || failed "$tmp/parse.log"
target/debug/binning -runs=20000 -seed=1 -max_len=8192 "$tmp/binning" 2>"$tmp/binning.log" ||
    failed "$tmp/binning.log"
echo "fuzz smoke: $(grep -c '^Executed' "$tmp/parse.log") seed and regression inputs parsed, 20000 binning inputs: ok"
