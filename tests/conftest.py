"""Shared fixtures: the strictly built book, and the equation-coverage line in the test summary.

Nothing here writes into the repository's own ``_build``: every build goes to a temporary
folder, with its own execution cache (seeded from the committed notebooks by
``tools/build_book.py``) and, when the PDF tests run, its own PDF edition.

Under pytest-xdist (``make test``), ``_BookScheduling`` keeps together what must share a
worker: the HTML book's tests (the book is built once there), the PDF edition's tests (with
their own HTML build that links the PDFs), and each notebook's cells (nbval runs them in one
kernel, in order).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import build_book
import numpy as np
import pytest
from book_sources import coverage
from hypothesis import settings

# No per-example time limit: the suite runs on several xdist workers that share the cores with builds and
# browsers, where Hypothesis's 200 ms deadline fails by chance; speed is measured by `make bench`, not by tests.
settings.register_profile("ce_lib", deadline=None)
settings.load_profile("ce_lib")


@dataclass
class Build:
    returncode: int
    log: str
    html: Path
    env: dict[str, str]  # what the build ran with (a rebuild into the same folder must use it too)


PDF_NAME = "softmax-cross-entropy-kl.pdf"


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
    folder: Path  # the PDF edition as `make pdf` lays it out: the book, and chapters/<chapter>.pdf


@pytest.fixture(scope="session")
def built_pdf(tmp_path_factory) -> PdfBuild | None:
    """The PDF edition (Jupyter Book's pdflatex builder), laid out as ``make pdf`` does, in a temporary folder."""
    if not latex_available():
        return None
    out = tmp_path_factory.mktemp("pdf")
    proc = build_book.run("pdflatex", path_output=out)
    latex = out / "_build" / "latex"
    folder = tmp_path_factory.mktemp("pdf-edition")
    if proc.returncode == 0:  # as `make pdf` does: the book, and one PDF per chapter
        shutil.copy(latex / "book.pdf", folder / PDF_NAME)
        (folder / "chapters").mkdir()
        for chapter in latex.glob("chapter-*.pdf"):
            shutil.copy(chapter, folder / "chapters" / chapter.name.removeprefix("chapter-"))
    return PdfBuild(proc.returncode, proc.stdout + proc.stderr, latex / "book.pdf", latex / "book.aux", folder)


def _build_html(tmp_path_factory, pdf_folder: Path) -> Build:
    out = tmp_path_factory.mktemp("book")
    # the PDFs it links, and no wheel: the repository's _build/dist is not read
    env = {**os.environ, "CE_PDF_DIR": str(pdf_folder), "CE_WHEEL_DIR": str(tmp_path_factory.mktemp("no-wheel"))}
    proc = build_book.run("html", path_output=out, env=env)
    return Build(proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html", env)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Build:
    """The book built strictly (warnings are errors, nitpicky) into a temporary folder, once per session,
    without the PDF edition (as ``make book`` without LaTeX): what the HTML and browser tests read."""
    return _build_html(tmp_path_factory, tmp_path_factory.mktemp("no-pdf"))


def pytest_configure(config):
    """With ``--nbval-kernel-name`` (``make test``: the reader's kernel), that kernel runs the notebooks,
    not the project's own environment (pyproject.toml's default, ``--nbval-current-env``, for a plain ``pytest``)."""
    if getattr(config.option, "nbval_kernel_name", None):
        config.option.nbval_current_env = False
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_BookScheduling(), "ce_book_scheduling")


def pytest_terminal_summary(terminalreporter):
    if hasattr(terminalreporter.config, "workerinput"):
        return
    try:
        done, total, _ = coverage()
    except Exception as exc:  # the coverage test itself reports the problem
        terminalreporter.write_line(f"equation coverage: not computed ({exc})")
        return
    share = 100.0 * done / total if total else 0.0
    terminalreporter.write_line(
        f"equation coverage: {done}/{total} labelled equations have a check line in their chapter ({share:.0f}%; definitions count)"
    )


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's own id: its draws do not depend on which other tests ran."""
    import zlib

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


# Markers by what a test needs, so that `-m "not build and not browser and not pdf and not notebooks"` is fast.
_NEEDS = {"built_book": ("build",), "built_pdf": ("build", "pdf"), "browser": ("browser",)}
# Fixtures that build or read the book: their tests must live in BOOK_MODULES.
_BOOK_FIXTURES = ("built_book", "built_pdf", "site", "browser")


# The test modules whose tests may read the built book, by the xdist work unit that runs them: the HTML
# book and its readers in one, the PDF edition in another.
BOOK_MODULES = {
    "test_build.py": "book",
    "test_citation.py": "book",
    "test_reader.py": "book",
    "test_print.py": "book",
    "test_pdf.py": "pdf",
}


# Tests of tests/test_small_books.py that read one module-scoped small book: in one unit, the book is built
# once (on two cores each build is about 40 s of CPU). Parametrised tests share the book of their parameter.
SMALL_BOOKS = "test_small_books.py"
SHARED_SMALL_BOOK = {
    "test_the_pdf_edition_is_linked_only_where_it_was_built": "downloads",
    "test_the_wheel_is_offered_only_where_it_was_built": "downloads",
    "test_a_chapter_page_links_its_own_pdf_only_where_it_was_built": "downloads",
}


def _scope(nodeid: str) -> str:
    """The xdist work unit of a test: its notebook, "book", "pdf", a small book's, or the test alone."""
    path = nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        return path
    module = path.rsplit("/", 1)[-1]
    if module == SMALL_BOOKS:
        name = nodeid.split("::")[-1]
        if "[" in name:
            return f"{path}[{name.split('[', 1)[1]}"
        return f"{path}:{SHARED_SMALL_BOOK[name]}" if name in SHARED_SMALL_BOOK else nodeid
    if module in ONE_PROCESS_MODULES:
        return path
    return BOOK_MODULES.get(module, nodeid)


#: Modules whose tests share one xdist unit because they share a costly import: PyTorch's OpInfo and
#: ModuleInfo databases take about 10 s to import, paid once instead of once per worker.
ONE_PROCESS_MODULES = ("test_pytorch_opinfo.py",)


class _BookScheduling:
    """Schedule by :func:`_scope`: the HTML book is built once for its tests, the PDF edition once for
    its own (on another worker), and a notebook's cells run in order in one kernel.

    (``--dist loadgroup`` would do this from ``xdist_group`` markers, but pytest-xdist 3.8 adds the
    group to the node id by assigning ``item._nodeid``, which pytest 9 no longer reads.) Registered
    only when xdist is active, so that ``-p no:xdist`` still runs.
    """

    @staticmethod
    def pytest_xdist_make_scheduler(config, log):
        from xdist.scheduler import LoadScopeScheduling

        class BookScheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _scope(nodeid)

        return BookScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    misplaced = []
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, markers in _NEEDS.items():
            if fixture in fixtures:
                for marker in markers:
                    item.add_marker(marker)
        if item.nodeid.split("::")[0].endswith(".ipynb"):  # nbval's cells
            item.add_marker("notebooks")
        elif any(f in fixtures for f in _BOOK_FIXTURES) and _scope(item.nodeid) not in ("book", "pdf"):
            misplaced.append(item.nodeid)
    if misplaced:
        raise pytest.UsageError(f"tests that read the built book must live in {BOOK_MODULES}: {misplaced}")
    # the longest work units first: the book's and the PDF's tests, then the notebooks, then the rest
    rank = {"book": 0, "pdf": 0}
    items.sort(key=lambda item: rank.get(_scope(item.nodeid), 1 if item.nodeid.split("::")[0].endswith(".ipynb") else 2))


# ---- the built book served on 127.0.0.1, and headless Chromium: shared by the reader and print tests ----
# (one instance per session: a second sync_playwright in the same process fails inside the first one's loop)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_strictly")
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", built_book.html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed; install it to run the reader tests (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()
