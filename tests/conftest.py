"""Shared fixtures: the strictly built book, and the equation-coverage line in the test summary."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from book_sources import ROOT, coverage  # noqa: E402


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
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "--builder", "pdflatex"],
                          cwd=ROOT, capture_output=True, text=True)
    latex = out / "_build" / "latex"
    if proc.returncode == 0:
        shutil.copy(latex / "book.pdf", PDF_DIR / PDF_NAME)
    return PdfBuild(proc.returncode, proc.stdout + proc.stderr, latex / "book.pdf", latex / "book.aux")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, built_pdf) -> Build:
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


# ---- Hypothesis strategies shared by the ce_lib tests --------------------------------
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


def logits(min_classes: int = 1, max_classes: int = 8, bound: float = 50.0, max_rows: int = 5):
    """Finite float64 score matrices of shape (rows, C)."""
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, max_rows), st.integers(min_classes, max_classes)),
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
    )


@st.composite
def distributions(draw, min_size: int = 1, max_size: int = 8, zeros: bool = True):
    """A probability vector (float64), possibly with zero entries, summing to 1 within a few eps."""
    size = draw(st.integers(min_size, max_size))
    low = 0.0 if zeros else 1e-3
    raw = draw(hnp.arrays(np.float64, size, elements=st.floats(low, 1.0)))
    if raw.sum() == 0:
        raw[0] = 1.0
    return raw / raw.sum()


@st.composite
def distribution_pairs(draw, max_size: int = 8):
    """(p, q) of one size, q strictly positive so that every divergence is finite."""
    p = draw(distributions(max_size=max_size))
    raw = draw(hnp.arrays(np.float64, p.size, elements=st.floats(1e-3, 1.0)))
    return p, raw / raw.sum()
