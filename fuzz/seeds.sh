#!/usr/bin/env bash
# Fills corpus/parse/ (or DIR) with the seed inputs: every trace under 200 KB from the
# shared corpus and every Go golden case (good and failing ones, v1 and v2, malformed).
# The shared data is ../shared beside the repository, or $GOTRACE_SHARED.
# Usage: fuzz/seeds.sh [DIR]   (from anywhere; files already in DIR are kept)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${GOTRACE_SHARED:-$here/../../shared}"
out="${1:-$here/corpus/parse}"
max_bytes=$((200 * 1024))
if [ ! -d "$shared/corpus/traces" ] || [ ! -d "$shared/oracle/golden" ]; then
    echo "seeds.sh: no shared data at $shared (set GOTRACE_SHARED)" >&2
    exit 1
fi
mkdir -p "$out"
n=0
copy() { # copy FILE PREFIX: small files only, named PREFIX-BASENAME
    local size
    size=$(stat -c %s "$1")
    if [ "$size" -lt "$max_bytes" ]; then
        cp "$1" "$out/$2-$(basename "$1")"
        n=$((n + 1))
    fi
}
for f in "$shared"/corpus/traces/*.trace; do copy "$f" corpus; done
for f in "$shared"/oracle/golden/*.trace; do copy "$f" golden; done
for d in "$shared"/oracle/golden/*/; do
    for f in "$d"*.trace; do copy "$f" "golden-$(basename "$d")"; done
done
# Inputs that once failed (kept for CI, see smoke.sh) are good seeds too.
for f in "$here"/regressions/parse/*; do cp "$f" "$out/regression-$(basename "$f")"; n=$((n + 1)); done
echo "seeds.sh: $n seed files in $out" >&2
