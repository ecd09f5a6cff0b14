#!/usr/bin/env bash
# Runs one fuzz target for a given time on its corpus, seeded from the shared traces.
# Usage: fuzz/run.sh parse|binning|atheris SECONDS [extra libFuzzer flags...]
#   e.g. fuzz/run.sh parse 1800        (the 30-minute campaign)
# Needs: cargo-fuzz (`cargo install cargo-fuzz`) for parse/binning; for atheris, a Python
# with atheris, maturin and numpy installed ($PYTHON, default python3) and g++: the
# package is built with coverage instrumentation into target/atheris (not installed).
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
flags=(-timeout=10 -rss_limit_mb=2048
    -artifact_prefix="artifacts/$target/" -print_final_stats=1)
case $target in
parse)
    # A quarter of the time on inputs up to 4 KiB (about 10x the execs/s: most format and
    # ordering paths need only a few batches), then up to 256 KiB (whole seed traces).
    small=$((secs / 4))
    for phase in "4096 $small" "262144 $((secs - small))"; do
        read -r len t <<<"$phase"
        [ "$t" -gt 0 ] || continue
        echo "== parse: -max_len=$len for $t s" | tee -a "$log"
        RUSTC_BOOTSTRAP=1 cargo fuzz run parse corpus/parse -- "${flags[@]}" \
            -max_total_time="$t" -max_len="$len" "$@" 2>&1 | tee -a "$log"
    done
    ;;
binning)
    RUSTC_BOOTSTRAP=1 cargo fuzz run binning corpus/binning -- \
        "${flags[@]}" -max_total_time="$secs" -max_len=8192 "$@" 2>&1 | tee "$log"
    ;;
atheris)
    py="${PYTHON:-python3}"
    out="$here/target/atheris"
    mkdir -p "$out"
    # The extension built with SanitizerCoverage counters (the flags cargo-fuzz uses),
    # so that libFuzzer sees the Rust code's coverage, not only the Python code's. With an
    # explicit --target the flags skip build scripts. Installed into target/atheris/site,
    # put first on PYTHONPATH: the Python environment itself is left alone.
    rm -rf "$out/wheels"
    (cd "$here/.." && RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares" CARGO_TARGET_DIR="$out" \
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        "$py" -m maturin build --release --quiet -o "$out/wheels" \
        --target "$(rustc -vV | sed -n 's/^host: //p')")
    "$py" -m pip install --quiet --no-deps --upgrade --target "$out/site" "$out"/wheels/*.whl
    # The instrumented extension needs libFuzzer's symbols when it loads: a shared
    # libFuzzer (libfuzzer-sys' copy of the sources, without main), preloaded; atheris
    # then uses it instead of its own copy.
    if [ ! -f "$out/libfuzzer.so" ]; then
        src="$(cargo metadata --format-version 1 --locked | "$py" -c \
            'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "libfuzzer-sys"))')"
        g++ -O2 -w -fPIC -std=c++17 -shared -o "$out/libfuzzer.so" \
            $(ls "$(dirname "$src")"/libfuzzer/*.cpp | grep -v -e FuzzerMain -e FuzzerInterceptors) -lpthread
    fi
    # New inputs go to corpus/atheris; corpus/parse (seeds plus what the Rust target
    # found) is read as well.
    LD_PRELOAD="$out/libfuzzer.so" PYTHONPATH="$out/site" "$py" atheris_parse.py \
        corpus/atheris corpus/parse "${flags[@]}" -max_total_time="$secs" -max_len=262144 "$@" \
        2>&1 | tee "$log"
    ;;
*)
    echo "unknown target $target (parse, binning, atheris)" >&2
    exit 2
    ;;
esac
echo "log: fuzz/$log"
