"""(d) The command line (`python -m gotrace_fast`, in a subprocess), checked against the oracle."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

import gotrace_fast as gt
import oracle
from gotrace_fast import cli

SMALL = "go1.27.3-testprog-annotations"  # a small corpus trace
EXAMPLE_NAME = "go1.27.3-mixed-small"  # the packaged example


def run(*args: str, cwd: pathlib.Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gotrace_fast", *args],
        cwd=cwd,  # not the repo root: the installed package must be the one imported
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )


def _small_row() -> dict[str, str]:
    oracle.require_shared()
    return next(r for r in oracle.read_index(oracle.EXPECTED / "INDEX.tsv") if r["name"] == SMALL)


def test_events_equals_oracle(tmp_path: pathlib.Path) -> None:
    row = _small_row()
    p = run("events", str(oracle.CORPUS / row["file"]), cwd=tmp_path)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b""
    oracle.assert_same_lines([p.stdout], oracle.EXPECTED / f"{SMALL}.events.tsv.gz", SMALL)


def test_events_from_stdin(tmp_path: pathlib.Path) -> None:
    row = _small_row()
    data = (oracle.CORPUS / row["file"]).read_bytes()
    p = run("events", "-", cwd=tmp_path, stdin=data)
    assert p.returncode == 0, p.stderr.decode()
    oracle.assert_same_lines([p.stdout], oracle.EXPECTED / f"{SMALL}.events.tsv.gz", SMALL)


def test_events_in_process(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """The command streams (a chunk of lines per generation) to sys.stdout."""
    row = _small_row()
    assert cli.main(["events", str(oracle.CORPUS / row["file"])]) == 0
    out = capsysbinary.readouterr().out
    oracle.assert_same_lines([out], oracle.EXPECTED / f"{SMALL}.events.tsv.gz", SMALL)


def test_iter_events_tsv_in_tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trace.iter_events_tsv gives the same bytes whatever its chunk size."""
    row = _small_row()
    monkeypatch.setattr("gotrace_fast._trace.TSV_CHUNK_EVENTS", 3)
    chunks = list(gt.parse(oracle.CORPUS / row["file"]).iter_events_tsv())
    assert len(chunks) > 10
    oracle.assert_same_lines(chunks, oracle.EXPECTED / f"{SMALL}.events.tsv.gz", SMALL)


def test_broken_trace_prints_partial_events_and_fails(tmp_path: pathlib.Path) -> None:
    oracle.require_shared()

    def is_v2_failure_with_events(r: dict[str, str]) -> bool:
        minor = oracle.header_minor(oracle.MALFORMED / f"{r['name']}.trace")
        return r["outcome"] == "FAILURE" and int(r["events"]) > 0 and (minor or 0) >= 22

    rows = [
        r for r in oracle.read_index(oracle.MALFORMED / "INDEX.tsv") if is_v2_failure_with_events(r)
    ]
    assert rows
    name = rows[0]["name"]
    p = run("events", str(oracle.MALFORMED / f"{name}.trace"), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.strip(), "the error message must be on stderr"
    oracle.assert_same_lines([p.stdout], oracle.events_file(oracle.MALFORMED, name), name)
    # Go's first line of the message, where the oracle recorded it.
    go_first_line = (oracle.MALFORMED / f"{name}.error").read_bytes().splitlines()[0]
    assert p.stderr.splitlines()[0] == go_first_line


def test_summary_example_json(tmp_path: pathlib.Path) -> None:
    oracle.require_shared()
    p = run("summary", "--example", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr.decode()
    got = json.loads(p.stdout)
    want = oracle.load_summary(oracle.EXPECTED, EXAMPLE_NAME)
    for key in (
        "header_version",
        "header_version_minor",
        "events_total",
        "events_by_kind",
        "first_event_ns",
        "last_event_ns",
        "duration_ns",
        "distinct_ids",
    ):
        assert got[key] == want[key], key


def test_summary_example_text(tmp_path: pathlib.Path) -> None:
    p = run("summary", "--example", cwd=tmp_path)
    assert p.returncode == 0, p.stderr.decode()
    text = p.stdout.decode()
    trace = gt.parse(gt.example_path())
    assert f"go {trace.version} trace" in text
    for kind, n in trace.counts_by_kind().items():
        if n:
            assert f"{n:,}" in text, kind


def test_summary_broken_trace(tmp_path: pathlib.Path) -> None:
    oracle.require_shared()
    p = run("summary", str(oracle.MALFORMED / "not-a-trace.trace"), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout == b""
    assert p.stderr.strip()


def test_missing_file_is_exit_2(tmp_path: pathlib.Path) -> None:
    p = run("events", str(tmp_path / "missing.trace"), cwd=tmp_path)
    assert p.returncode == 2
    assert b"missing.trace" in p.stderr
    assert p.stdout == b""


def test_usage_error_is_exit_2(tmp_path: pathlib.Path) -> None:
    p = run("summary", cwd=tmp_path)
    assert p.returncode == 2
    assert b"usage" in p.stderr


def test_summary_example_json_analysis(tmp_path: pathlib.Path) -> None:
    """The sections computed from intervals and Go's Summarizer equal the oracle's."""
    oracle.require_shared()
    from summary_diff import SECTIONS, diff_values

    p = run("summary", "--example", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr.decode()
    got = json.loads(p.stdout)
    want = oracle.load_summary(oracle.EXPECTED, EXAMPLE_NAME)
    assert got["format"] == want["format"]
    for sec in SECTIONS:
        diffs = list(diff_values(sec, got[sec], want[sec]))
        assert not diffs, diffs[:5]


def test_summary_diff_script(tmp_path: pathlib.Path) -> None:
    oracle.require_shared()
    import summary_diff

    want = oracle.EXPECTED / f"{EXAMPLE_NAME}.summary.json"
    if not want.is_file():
        want = want.with_suffix(".json.gz")
    assert summary_diff.main([str(gt.example_path()), str(want), "--max", "5"]) == 0


# -- progress bar -----------------------------------------------------------------------------


@pytest.mark.parametrize("have_tqdm", [True, False])
def test_progress_bar_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], have_tqdm: bool
) -> None:
    if have_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import fails: plain percentage
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.main(["summary", "--example"]) == 0
    err = capsys.readouterr().err
    assert "example.trace" in err
    assert "100%" in err
    assert cli.main(["summary", "--example", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_no_progress_bar_off_a_terminal_or_for_small_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)
    assert cli.main(["summary", "--example"]) == 0  # captured stderr: not a terminal
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", gt.example_path().stat().st_size + 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.main(["summary", "--example"]) == 0
    assert capsys.readouterr().err == ""


def test_heatmap_command_streams_and_reports_broken_traces(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("matplotlib")
    data = gt.example_path().read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) // 2])
    p = run("heatmap", str(cut), "-o", str(tmp_path / "h.png"), cwd=tmp_path)
    assert p.returncode == 1
    with pytest.raises(gt.TraceError) as e:
        gt.parse(cut)
    assert e.value.message in p.stderr.decode()
    assert not (tmp_path / "h.png").exists()
    out = tmp_path / "ok.png"
    p = run("heatmap", "-", "--by", "proc", "-o", str(out), cwd=tmp_path, stdin=data)
    assert p.returncode == 0, p.stderr.decode()
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
