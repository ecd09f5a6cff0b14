"""Access to the reference data in shared/ (oracle output of Go's own parser) for the tests.

shared/ is ``<repo>/../shared`` unless the environment variable ``GOTRACE_SHARED`` names
another directory. Formats: shared/oracle/README.md.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

import gotrace_fast
from gotrace_fast import Trace, TraceError

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GOTRACE_SHARED") or REPO.parent / "shared")
ORACLE = SHARED / "oracle"
EXPECTED = ORACLE / "expected"
GOLDEN = ORACLE / "golden"
MALFORMED = GOLDEN / "malformed"
CORPUS = SHARED / "corpus" / "traces"

#: Traces larger than this get the `slow` marker.
SLOW_BYTES = 2_000_000

HAVE_SHARED = (ORACLE / "README.md").is_file()
# Without shared/ the oracle tests are skipped, except in CI, where they must run.
MISSING_SHARED_OK = not os.environ.get("CI")


def require_shared() -> None:
    if not HAVE_SHARED:
        msg = f"reference data not found at {SHARED} (set GOTRACE_SHARED)"
        if MISSING_SHARED_OK:
            pytest.skip(msg)
        pytest.fail(msg)


def read_index(path: Path) -> list[dict[str, str]]:
    """Rows of a TAB-separated INDEX.tsv with a header line ([] if shared/ is missing)."""
    if not path.is_file():
        if HAVE_SHARED or not MISSING_SHARED_OK:
            raise FileNotFoundError(path)
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def header_minor(data_or_path: bytes | Path) -> int | None:
    """N of a ``go 1.N trace`` header, or None if the input has no such header."""
    if isinstance(data_or_path, Path):
        with data_or_path.open("rb") as f:
            data = f.read(16)
    else:
        data = data_or_path[:16]
    m = re.match(rb"go 1\.(\d+) trace\x00\x00\x00", data)
    return int(m.group(1)) if m else None


def version_minor(version: str) -> int:
    """``"1.22"`` -> 22."""
    major, minor = version.split(".")
    assert major == "1", version
    return int(minor)


def open_maybe_gz(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def existing(*candidates: Path) -> Path:
    for p in candidates:
        if p.is_file():
            return p
    raise FileNotFoundError(" or ".join(str(p) for p in candidates))


def events_file(directory: Path, name: str) -> Path:
    """``<name>.events.tsv`` or ``<name>.events.tsv.gz``."""
    return existing(directory / f"{name}.events.tsv", directory / f"{name}.events.tsv.gz")


def load_summary(directory: Path, name: str) -> dict[str, Any]:
    """``<name>.summary.json`` or ``<name>.summary.json.gz``."""
    with open_maybe_gz(
        existing(directory / f"{name}.summary.json", directory / f"{name}.summary.json.gz")
    ) as f:
        return json.load(f)


def read_expect(directory: Path, name: str) -> tuple[str, str | None]:
    """First line of ``<name>.expect``: ("SUCCESS", None) or ("FAILURE", python regexp)."""
    line = (directory / f"{name}.expect").read_text(encoding="utf-8").splitlines()[0].strip()
    if line == "SUCCESS":
        return "SUCCESS", None
    m = re.fullmatch(r'FAILURE\s+(".*")', line)
    assert m, f"unexpected expectation line {line!r}"
    return "FAILURE", go_unquote(m.group(1))


_GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}


def go_unquote(s: str) -> str:
    """Inverse of Go's ``strconv.Quote`` for a double-quoted literal."""
    if len(s) < 2 or not s[0] == s[-1] == '"':
        raise ValueError(f"not a Go string literal: {s!r}")
    body, out, i = s[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e in _GO_ESCAPES:
            out += _GO_ESCAPES[e].encode()
            i += 2
        elif e == "x":
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2 : i + 2 + n], 16)).encode()
            i += 2 + n
        elif e in "01234567":
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            raise ValueError(f"bad escape \\{e} in {s!r}")
    return out.decode("utf-8", errors="surrogateescape")


def go_regexp_search(pattern: str, text: str) -> bool:
    """Go's unanchored ``regexp.MatchString`` for the simple patterns of the golden files."""
    return re.search(pattern, text) is not None


# -- parsing, cached so that several tests of one trace parse it once -------------------------


@functools.lru_cache(maxsize=2)
def load(path: Path) -> tuple[Trace, TraceError | None]:
    """(trace, None) or (partial trace, error)."""
    try:
        return gotrace_fast.parse(path), None
    except TraceError as e:
        if e.partial is None:
            pytest.fail(f"TraceError without .partial: {e}")
        return e.partial, e


# -- byte-exact comparison of TSV dumps ------------------------------------------------------


def _show(line: bytes | None) -> str:
    return "<end of output>" if line is None else repr(line)


def assert_same_lines(
    actual_chunks: Iterable[bytes], expected: IO[bytes] | Path, label: str = ""
) -> None:
    """Asserts that the concatenated chunks equal the expected stream byte for byte.

    Chunks must end at line boundaries. On a difference, reports the first differing
    line number (1-based) and both lines, never the whole dump.
    """
    if isinstance(expected, Path):
        with open_maybe_gz(expected) as f:
            assert_same_lines(actual_chunks, f, label or expected.name)
        return
    lines_done = 0
    for chunk in actual_chunks:
        exp = expected.read(len(chunk))
        if exp != chunk:
            if exp and not exp.endswith(b"\n"):
                exp += expected.readline()
            _fail_at_first_difference(chunk, exp, lines_done, label)
        lines_done += chunk.count(b"\n")
    rest = expected.readline()
    if rest:
        _fail_at_first_difference(b"", rest, lines_done, label)


def _fail_at_first_difference(actual: bytes, expected: bytes, base: int, label: str) -> None:
    a, e = _lines(actual), _lines(expected)
    for i in range(max(len(a), len(e))):
        la = a[i] if i < len(a) else None
        le = e[i] if i < len(e) else None
        if la != le:
            pytest.fail(
                f"{label}: output differs from the oracle at line {base + i + 1}:\n"
                f"  ours:   {_show(la)}\n  oracle: {_show(le)}",
                pytrace=False,
            )
    pytest.fail(f"{label}: output differs from the oracle after line {base}", pytrace=False)


def _lines(data: bytes) -> list[bytes]:
    out = data.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return out


def tsv_chunks(trace: Trace, chunk_events: int = 1 << 18) -> Iterator[bytes]:
    return trace.iter_events_tsv(chunk_events)


# -- tracecheck-events/1 string escaping (for decoding checks) ------------------------------


def tsv_escape(b: bytes) -> bytes:
    out = bytearray()
    for c in b:
        if c == 0x5C:
            out += b"\\\\"
        elif c == 0x09:
            out += b"\\t"
        elif c == 0x0A:
            out += b"\\n"
        elif c == 0x0D:
            out += b"\\r"
        elif c < 0x20 or c == 0x7F:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    return bytes(out)


# -- v1 traces whose oracle order is run-dependent ---------------------------------------------

#: Go's v1 parser merges Ps in Go map order, so among events of different Ps with equal raw
#: timestamps its output order (and, through the +1 ns bump, those events' times) changes
#: from run to run for these files (oracle README, "v1 event order is not deterministic").
NONDETERMINISTIC_V1 = frozenset(
    {
        "http_1_19_good",
        "stress_1_11_good",
        "stress_1_19_good",
        "stress_1_21_good",
        "stress_start_stop_1_11_good",
        "stress_start_stop_1_19_good",
        "stress_start_stop_1_21_good",
    }
)


def is_nondeterministic_v1(name: str) -> bool:
    return name.removeprefix("gosrc-") in NONDETERMINISTIC_V1


def _time_and_rest(line: bytes) -> tuple[bytes, int]:
    t, rest = line.split(b"\t", 1)
    return rest, int(t)


def assert_same_multiset(
    actual_chunks: Iterable[bytes], expected: Path, label: str = "", max_ns: int = 5
) -> None:
    """The dumps hold the same lines apart from the time column, and after pairing the
    lines (sorted by content, then time) every time differs by at most ``max_ns``."""
    ours = sorted(_time_and_rest(ln) for ln in _lines(b"".join(actual_chunks)))
    with open_maybe_gz(expected) as f:
        theirs = sorted(_time_and_rest(ln) for ln in _lines(f.read()))
    assert len(ours) == len(theirs), f"{label}: {len(ours)} events, oracle {len(theirs)}"
    for (ra, ta), (rb, tb) in zip(ours, theirs, strict=True):
        if ra != rb:
            pytest.fail(f"{label}: event multisets differ:\n  ours:   {ra!r}\n  oracle: {rb!r}")
        assert abs(ta - tb) <= max_ns, f"{label}: {ra!r} at {ta} ns, oracle {tb} ns"


def assert_same_events(trace: Trace, expected: Path, name: str) -> None:
    """Byte-identical dump, or for the run-dependent v1 files the multiset rule above."""
    if is_nondeterministic_v1(name):
        assert_same_multiset(tsv_chunks(trace), expected, name)
    else:
        assert_same_lines(tsv_chunks(trace), expected, name)
