#!/usr/bin/env bash
# Runs one fuzz target for a given time on its corpus, seeded from the shared traces.
# Usage: fuzz/run.sh parse|binning|atheris SECONDS [extra libFuzzer flags...]
#   e.g. fuzz/run.sh parse 1800        (the 30-minute campaign)
# Needs: cargo-fuzz (`cargo install cargo-fuzz`) for parse/binning; for atheris, a Python
# with gotrace_fast and atheris installed ($PYTHON, default python3).
# Output: corpus/TARGET/ (inputs that add coverage), artifacts/TARGET/ (crash-*, timeout-*,
# oom-* inputs), logs/TARGET-DATE.log (libFuzzer's output, exec counts included).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [ $# -lt 2 ]; then
    echo "usage: $0 parse|binning|atheris SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1 secs=$2
shift 2
[ -n "$(ls -A corpus/parse 2>/dev/null)" ] || ./seeds.sh
mkdir -p logs "corpus/$target" "artifacts/$target"
log="logs/$target-$(date +%Y%m%d-%H%M%S).log"
# Slow (> 10 s) or huge (> 2 GB) inputs are reported as timeouts / OOMs, not waited out.
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="artifacts/$target/" -print_final_stats=1)
case $target in
parse)
    RUSTC_BOOTSTRAP=1 cargo fuzz run parse corpus/parse -- \
        "${flags[@]}" -max_len=262144 "$@" 2>&1 | tee "$log"
    ;;
binning)
    RUSTC_BOOTSTRAP=1 cargo fuzz run binning corpus/binning -- \
        "${flags[@]}" -max_len=8192 "$@" 2>&1 | tee "$log"
    ;;
atheris)
    # New inputs go to corpus/atheris; corpus/parse (seeds plus what the Rust target
    # found) is read as well.
    "${PYTHON:-python3}" atheris_parse.py corpus/atheris corpus/parse \
        "${flags[@]}" -max_len=262144 "$@" 2>&1 | tee "$log"
    ;;
*)
    echo "unknown target $target (parse, binning, atheris)" >&2
    exit 2
    ;;
esac
echo "log: fuzz/$log"
