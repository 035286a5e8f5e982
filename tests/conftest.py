"""Shared fixtures: the strictly built book, and the equation-coverage line in the test summary."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from book_sources import ROOT, coverage  # noqa: E402


@dataclass
class Build:
    returncode: int
    log: str
    html: Path


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Build:
    """The book built strictly (warnings are errors, nitpicky) into a temporary folder, once per session."""
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb), "build", str(ROOT), "--path-output", str(out), "--builder", "html", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return Build(proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html")


def pytest_terminal_summary(terminalreporter):
    try:
        done, total, _ = coverage()
    except Exception as exc:  # the coverage test itself reports the problem
        terminalreporter.write_line(f"equation coverage: not computed ({exc})")
        return
    share = 100.0 * done / total if total else 0.0
    terminalreporter.write_line(f"equation coverage: {done}/{total} labelled equations machine-verified ({share:.0f}%)")
