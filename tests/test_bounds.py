"""Memory bombs through the Python API: fail fast with a TraceFormatError, and the
process's peak RSS grows by less than 10 MB (measured in a fresh interpreter). The
byte-exact allocation bounds are rust/gotrace-core/tests/bounds.rs."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, resource, time
import gotrace_fast

def uv(x):
    out = bytearray()
    while x >= 0x80:
        out.append(x & 0x7F | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)

def batch(data):
    return bytes([1, 1]) + uv(2**64 - 1) + uv(1) + uv(len(data)) + data

H26 = b"go 1.26 trace\x00\x00\x00"
V1 = b"go 1.21 trace\x00\x00\x00" + bytes([0x41, 0, 1, 2]) + uv(10**9)
bombs = {
    "4 GB batch": H26 + bytes([1, 1, 1, 1]) + uv(4 << 30) + bytes(80),
    "2^32 frames": H26 + batch(bytes([2, 3]) + uv(1) + uv(1 << 32) + bytes(40)),
    "4 GB string": H26 + batch(bytes([4, 5]) + uv(1) + uv(4 << 30) + b"abc"),
    "1 GB v1 string": V1 + bytes([37]) + uv(1) + uv(10**9) + b"abc",
    "4 GB v1 args": V1 + bytes([0xC3]) + uv(4 << 30) + bytes(30),
}
gotrace_fast.parse(gotrace_fast.example_path())  # warm up: imports, first allocations
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {}
for name, data in bombs.items():
    t0 = time.perf_counter()
    try:
        gotrace_fast.parse(data)
        out[name] = "parsed"
    except gotrace_fast.TraceFormatError as e:
        out[name] = [e.message, e.offset, time.perf_counter() - t0]
out["rss_growth_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps(out))
"""


def test_memory_bombs_fail_fast_in_little_memory() -> None:
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    out = json.loads(p.stdout)
    growth = out.pop("rss_growth_kb")
    expected = {
        "4 GB batch": "invalid batch size 4294967296",
        "2^32 frames": "invalid stack size 4294967296",
        "4 GB string": "invalid string size 4294967296",
        "1 GB v1 string": "failed to read trace: EOF",
        "4 GB v1 args": "length-prefixed argument too big: 4294967296 bytes",
    }
    for name, want in expected.items():
        assert out[name] != "parsed", f"{name} parses"
        message, offset, seconds = out[name]
        assert want in message, (name, message)
        assert offset is not None, name
        assert seconds < 1.0, (name, seconds)
    assert growth < 10 * 1024, f"peak RSS grew by {growth} kB"
