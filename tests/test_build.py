"""The HTML book builds strictly (warnings are errors, nitpicky references) and loads nothing from outside."""

import json
import re
import shutil

import build_book
import pytest
from book_sources import ROOT, chapter_sources, toc_files

pytestmark = pytest.mark.build

EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


def test_book_builds_strictly(built_book):
    assert built_book.returncode == 0, "strict build failed:\n" + built_book.log[-6000:]


def test_every_toc_page_is_built(built_book):
    for source in toc_files():
        page = built_book.html / source.relative_to(ROOT).with_suffix(".html")
        assert page.exists(), f"{page} was not built"


def test_no_page_loads_anything_from_outside(built_book):
    pages = [p for p in built_book.html.rglob("*.html") if "_static" not in p.parts]
    assert pages
    for page in pages:
        hits = EXTERNAL.findall(page.read_text(errors="replace"))
        assert not hits, f"{page.name} loads external resources: {hits[:3]}"


def test_mathjax_is_bundled(built_book):
    index = (built_book.html / "book" / "preface.html").read_text()
    src = re.search(r'<script[^>]+src="([^"]*mathjax[^"]*)"', index, re.I)
    assert src, "no MathJax script tag"
    assert not src.group(1).startswith(("http", "//")), src.group(1)
    assert (built_book.html / "book" / src.group(1).split("?")[0]).resolve().exists()


def small_book(folder, root: str, chapters: tuple[str, ...] = ()) -> None:
    """The book's configuration and extensions in ``folder``, with ``root`` as its first page and ``chapters``
    as a numbered part (all to be written)."""
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, folder / name)
    for sub in ("book/_ext", "book/images", "book/_static"):
        shutil.copytree(ROOT / sub, folder / sub)
    (folder / "ce_lib").mkdir()
    shutil.copy(ROOT / "ce_lib" / "_version.py", folder / "ce_lib" / "_version.py")
    (folder / "_build" / "pdf").mkdir(parents=True)
    toc = f"format: jb-book\nroot: {root}\n"
    if chapters:
        toc += "parts:\n  - caption: Part\n    numbered: true\n    chapters:\n" + "".join(
            f"      - file: {c}\n" for c in chapters
        )
    (folder / "_toc.yml").write_text(toc)


def test_a_failing_cell_fails_the_build_naming_notebook_and_cell(tmp_path):
    small_book(tmp_path, "broken")
    cell = lambda src, n: {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Broken\n"},
            cell("x = 1", 1),
            cell("raise RuntimeError('deliberately broken cell')", 2),
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "broken.ipynb").write_text(json.dumps(nb))
    proc = build_book.run("html", source=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    assert "broken" in log and "deliberately broken cell" in log, log[-3000:]


def test_the_first_build_executes_no_notebook_and_a_second_build_neither(built_book):
    """The build reuses the committed, executed notebooks (their fingerprint is current), and then its own cache."""
    import chapters

    assert built_book.returncode == 0
    executed = len(chapters.sources())
    assert f"execution cache: {executed} committed notebooks seeded, 0 already cached, 0 to execute" in built_book.log
    assert "Executing notebook" not in built_book.log, "the first build executed a notebook"
    assert built_book.log.count("Using cached notebook") == executed
    out = built_book.html.parent.parent  # the --path-output folder of the first build
    proc = build_book.run("html", path_output=out)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f"0 committed notebooks seeded, {executed} already cached, 0 to execute" in log
    assert "Executing notebook" not in log, "a notebook was re-executed although nothing changed"


CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# A chapter

```{code-cell}
print("ce_lib says", open("../ce_lib/marker.py").read().strip())
```
"""


@pytest.fixture
def executed_chapter(tmp_path):
    """A one-chapter book whose chapter prints a file of its (stand-in) ce_lib, executed and committed."""
    import chapters

    small_book(tmp_path, "book/intro", chapters=("book/chapter",))
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "book" / "chapter.md").write_text(CHAPTER)
    (tmp_path / "ce_lib" / "marker.py").write_text("first\n")
    chapters.execute(tmp_path / "book" / "chapter.md", root=tmp_path)
    return tmp_path


def _built_chapter(folder) -> str:
    return (folder / "_build" / "html" / "book" / "chapter.html").read_text()


def test_a_changed_ce_lib_makes_the_build_execute_again_instead_of_showing_old_outputs(executed_chapter):
    folder = executed_chapter
    proc = build_book.run("html", source=folder)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "1 committed notebooks seeded" in proc.stdout and "Executing notebook" not in proc.stdout + proc.stderr
    assert "ce_lib says first" in _built_chapter(folder)
    (folder / "ce_lib" / "marker.py").write_text("second\n")  # a local edit to ce_lib
    proc = build_book.run("html", source=folder)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "0 committed notebooks seeded, 0 already cached, 1 to execute: book/chapter.md" in log
    assert "Executing notebook" in log
    assert "ce_lib says second" in _built_chapter(folder) and "ce_lib says first" not in _built_chapter(folder)


def test_a_notebook_that_drifted_from_its_source_fails_the_build(executed_chapter):
    folder = executed_chapter
    source = folder / "book" / "chapter.md"
    source.write_text(source.read_text().replace('"ce_lib says"', '"ce_lib now says"'))
    proc = build_book.run("html", source=folder)
    assert proc.returncode != 0
    assert "differ from their sources" in proc.stdout and "chapter.ipynb: cell 1: source differs" in proc.stdout, proc.stdout


def test_make_book_fails_on_drift_naming_the_command(executed_chapter):
    """The command line (what `make book` runs) stops before Sphinx, saying how to fix it."""
    import subprocess
    import sys

    folder = executed_chapter
    source = folder / "book" / "chapter.md"
    source.write_text(source.read_text().replace('"ce_lib says"', '"ce_lib now says"'))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_book.py"), "html", "--source", str(folder)], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "run `make notebooks`" in proc.stderr, proc.stderr
    assert not (folder / "_build" / "html").exists()


@pytest.fixture(scope="module")
def downloads_book(tmp_path_factory):
    """A two-page book (the preface's PDF paragraph, the notebooks page's wheel paragraph), built without the
    PDF and the wheel, then again, incrementally, after both appear: ``(first pages, second pages, site)``."""
    folder = tmp_path_factory.mktemp("downloads")
    small_book(folder, "book/preface", chapters=("book/notebooks",))
    pdf = re.search(r"```\{raw\} html\n<p class=\"pdf-edition\">.*?```\n", (ROOT / "book" / "preface.md").read_text(), re.S)
    wheel = re.search(r"```\{raw\} html\n<p class=\"ce-lib-wheel\">.*?```\n", (ROOT / "book" / "notebooks.md").read_text(), re.S)
    assert pdf, "the preface no longer has its PDF paragraph"
    assert wheel, "the notebooks page no longer has its wheel paragraph"
    (folder / "book" / "preface.md").write_text("# Preface\n\n" + pdf.group(0))
    (folder / "book" / "notebooks.md").write_text("# Running the chapters\n\n" + wheel.group(0))
    shutil.copy(ROOT / "requirements-reader.txt", folder / "requirements-reader.txt")
    site = folder / "_build" / "html"
    read = lambda: {name: (site / "book" / f"{name}.html").read_text() for name in ("preface", "notebooks")}
    proc = build_book.run("html", source=folder)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    first = read()
    (folder / "_build" / "pdf" / "softmax-cross-entropy-kl.pdf").write_bytes(b"%PDF-1.5 stand-in")
    (folder / "_build" / "dist").mkdir()
    (folder / "_build" / "dist" / "ce_lib-9.9.9-py3-none-any.whl").write_bytes(b"PK stand-in")
    proc = build_book.run("html", source=folder)  # incremental: both pages must be rebuilt
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return first, read(), site


def test_the_pdf_edition_is_linked_only_where_it_was_built(downloads_book):
    """Without LaTeX there is no PDF: the preface then says how to build it instead of linking nothing."""
    first, second, site = downloads_book
    assert "softmax-cross-entropy-kl.pdf" not in first["preface"] and "make pdf" in first["preface"]
    assert '<a href="../softmax-cross-entropy-kl.pdf">PDF edition</a>' in second["preface"]
    assert (site / "softmax-cross-entropy-kl.pdf").is_file()


def test_the_verification_ledger_lists_every_labelled_equation_with_a_working_link(built_book):
    """The ledger is generated from the executed chapters: one row per labelled equation, counts that add up."""
    from book_sources import ledger_rows

    rows = ledger_rows(ROOT)
    page = (built_book.html / "book" / "verification_ledger.html").read_text()
    table = page[page.index("<table") : page.index("</table>")]
    links = re.findall(r'<a class="reference internal" href="([^"]+)">', table)
    equation_links = [href for href in links if "#equation-" in href]
    assert len(equation_links) == len(rows), (len(equation_links), len(rows))
    for href, (_path, label, _, _) in zip(equation_links, rows):
        target, anchor = href.split("#")
        assert anchor == f"equation-{label}", (href, label)
        built = (built_book.html / "book" / target).resolve()
        assert built.exists() and f'id="equation-{label}"' in built.read_text(), href
    counts = [int(n) for n in re.findall(r"<em>[^<]+</em>: (\d+)</p>", page[: page.index("<table")])]
    assert sum(counts) == len(rows)


def api_reference_names() -> set[str]:
    """Names documented in book/api.md, qualified by the module each block sets."""
    names, module = set(), "ce_lib"
    for line in (ROOT / "book" / "api.md").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif re.match(r"\.\. auto(function|class|data)::", line):
            names.add(f"{module}.{line.split('::')[1].strip()}")
    return names


def public_names() -> set[str]:
    import ce_lib
    from ce_lib import accuracy, verify

    return (
        {f"ce_lib.{n}" for n in ce_lib.__all__ if n not in ("__version__", "release_date")}
        | {f"ce_lib.verify.{n}" for n in verify.__all__}
        | {f"ce_lib.accuracy.{n}" for n in accuracy.__all__}
    )


def test_the_api_reference_documents_every_public_name():
    assert api_reference_names() == public_names(), (
        public_names() - api_reference_names(),
        api_reference_names() - public_names(),
    )


def test_the_api_reference_check_can_fail(monkeypatch):
    import ce_lib

    monkeypatch.setattr(ce_lib, "__all__", [*ce_lib.__all__, "a_new_function"])
    assert "ce_lib.a_new_function" in public_names() - api_reference_names()


def test_every_chapter_links_a_function_of_the_api():
    chapters = chapter_sources()
    assert chapters and all("{py:func}`" in p.read_text() for p in chapters), [
        p.name for p in chapters if "{py:func}`" not in p.read_text()
    ]


def test_every_public_name_has_an_entry_in_the_built_reference(built_book):
    page = (built_book.html / "book" / "api.html").read_text()
    missing = [name for name in public_names() if f'id="{name}"' not in page]
    assert not missing, missing


def test_the_wheel_is_offered_only_where_it_was_built(downloads_book):
    """make wheel puts ce_lib's wheel in _build/dist; the 'Running the chapters' page links it, or says how to build it."""
    first, second, site = downloads_book
    assert ".whl" not in first["notebooks"] and "make dist" in first["notebooks"]
    page = second["notebooks"]
    assert '<a href="../ce_lib-9.9.9-py3-none-any.whl">' in page and '<a href="../requirements-reader.txt">' in page
    assert (site / "ce_lib-9.9.9-py3-none-any.whl").is_file()
    assert (site / "requirements-reader.txt").is_file()


def page_text(path) -> str:
    """A built page's visible text, tags stripped and whitespace collapsed."""
    import html as html_lib

    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", path.read_text())))


def solution_code_lines(source) -> list[str]:
    """The first line of code of each solution of a chapter source (each solution has a code cell)."""
    lines = []
    for block in re.findall(r"```\{solution-start\}.*?```\{solution-end\}", source.read_text(), re.S):
        code = re.search(r"```\{code-cell\}\n(?::.*\n|---\n.*?---\n)*\n?(.+)", block)
        if code:
            lines.append(re.sub(r"\s+", " ", code.group(1).strip()))
    return lines


def test_the_student_edition_keeps_every_exercise_and_drops_every_solution(tmp_path_factory, built_book):
    import os

    out = tmp_path_factory.mktemp("student")
    proc = build_book.run("html", path_output=out, env={**os.environ, "CE_STUDENT_EDITION": "1"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    student_html = out / "_build" / "html"
    chapters = chapter_sources()
    for source in chapters:
        page = source.relative_to(ROOT).with_suffix(".html")
        student, full = (student_html / page).read_text(), (built_book.html / page).read_text()
        exercises = full.count('class="exercise admonition"')
        assert exercises >= 3 and student.count('class="exercise admonition"') == exercises, page
        assert "solution" in full and 'class="solution' not in student, page
        code = solution_code_lines(source)
        assert code and all(line in page_text(built_book.html / page) for line in code), page  # the check can see them
        assert not any(line in page_text(student_html / page) for line in code), page
    assert not (student_html / "_sources").exists() and not list(student_html.rglob("*.ipynb"))
    assert not list(student_html.rglob("*.pdf")), "the PDF editions hold the solutions"
    assert "chapter-pdf" not in (student_html / "book/part1/softmax.html").read_text()
