"""Shared fixtures. Tests import the installed `gotrace_fast` (never the python/ tree)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gotrace_fast
import oracle


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"gotrace_fast: {Path(gotrace_fast.__file__).parent}",
        f"shared: {oracle.SHARED}" + ("" if oracle.HAVE_SHARED else " (missing)"),
    ]


@pytest.fixture
def shared() -> Path:
    oracle.require_shared()
    return oracle.SHARED
