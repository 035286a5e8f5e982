"""Shared fixtures: the strictly built book, and the equation-coverage line in the test summary."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import build_book
import numpy as np
import pytest
from book_sources import ROOT, coverage


@dataclass
class Build:
    returncode: int
    log: str
    html: Path


PDF_NAME = "softmax-cross-entropy-kl.pdf"
PDF_DIR = ROOT / "_build" / "pdf"


def latex_available() -> bool:
    if not all(shutil.which(tool) for tool in ("pdflatex", "latexmk", "kpsewhich")):
        return False
    return subprocess.run(["kpsewhich", "tgtermes.sty"], capture_output=True, text=True).stdout.strip() != ""


@dataclass
class PdfBuild:
    returncode: int
    log: str
    pdf: Path
    aux: Path


@pytest.fixture(scope="session")
def built_pdf(tmp_path_factory) -> PdfBuild | None:
    """The PDF edition (Jupyter Book's pdflatex builder), copied to _build/pdf for the HTML to link to."""
    PDF_DIR.mkdir(parents=True, exist_ok=True)
    if not latex_available():
        return None
    out = tmp_path_factory.mktemp("pdf")
    proc = build_book.run("pdflatex", path_output=out)
    latex = out / "_build" / "latex"
    if proc.returncode == 0:  # as `make pdf` does: the book, and one PDF per chapter
        shutil.copy(latex / "book.pdf", PDF_DIR / PDF_NAME)
        shutil.rmtree(PDF_DIR / "chapters", ignore_errors=True)
        (PDF_DIR / "chapters").mkdir()
        for chapter in latex.glob("chapter-*.pdf"):
            shutil.copy(chapter, PDF_DIR / "chapters" / chapter.name.removeprefix("chapter-"))
    return PdfBuild(proc.returncode, proc.stdout + proc.stderr, latex / "book.pdf", latex / "book.aux")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, built_pdf) -> Build:
    """The book built strictly (warnings are errors, nitpicky) into a temporary folder, once per session."""
    out = tmp_path_factory.mktemp("book")
    proc = build_book.run("html", path_output=out)
    return Build(proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html")


def pytest_terminal_summary(terminalreporter):
    try:
        done, total, _ = coverage()
    except Exception as exc:  # the coverage test itself reports the problem
        terminalreporter.write_line(f"equation coverage: not computed ({exc})")
        return
    share = 100.0 * done / total if total else 0.0
    terminalreporter.write_line(f"equation coverage: {done}/{total} labelled equations machine-verified ({share:.0f}%)")


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's own id: its draws do not depend on which other tests ran."""
    import zlib

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


# Markers by what a test needs, so that `-m "not build and not browser and not pdf and not notebooks"` is fast.
# (built_book depends on built_pdf, so a test of the HTML also carries "pdf": the HTML links the PDF.)
_NEEDS = {"built_book": ("build",), "built_pdf": ("build", "pdf"), "browser": ("browser",)}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, markers in _NEEDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                for marker in markers:
                    item.add_marker(marker)
        if item.nodeid.split("::")[0].endswith(".ipynb"):  # nbval's cells
            item.add_marker("notebooks")
