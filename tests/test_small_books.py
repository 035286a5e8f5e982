"""Small books built from the book's configuration and extensions: what the build does with a failing cell,
a stale or drifted notebook, the PDF and the wheel appearing, and the repository's address set or not. Each
builds in seconds, so these tests spread over the xdist workers instead of waiting for the whole book's build."""

import json
import re
import shutil

import build_book
import pytest
from book_sources import ROOT

pytestmark = pytest.mark.build


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
    """A two-page book (the preface's PDF paragraph, the notebooks page's wheel paragraph, the notebooks page
    being its numbered chapter), built without the PDFs and the wheel, then again, incrementally, after the
    book's PDF, the chapter's PDF and the wheel appear: ``(first pages, second pages, site)``."""
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
    (folder / "_build" / "pdf" / "chapters").mkdir()
    (folder / "_build" / "pdf" / "chapters" / "notebooks.pdf").write_bytes(b"%PDF-1.5 stand-in")  # the chapter's own
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


def test_a_chapter_page_links_its_own_pdf_only_where_it_was_built(downloads_book):
    """make pdf puts each chapter's PDF in _build/pdf/chapters/; the chapter's page links it under its title
    (book/_ext/pdf_edition.py), and links nothing before it exists."""
    first, second, site = downloads_book
    link = '<p class="chapter-pdf"><a href="../chapters/notebooks.pdf">This chapter as a PDF</a></p>'
    assert "chapter-pdf" not in first["notebooks"] and link in second["notebooks"]
    assert second["notebooks"].index("</h1>") < second["notebooks"].index(link)
    assert (site / "chapters" / "notebooks.pdf").is_file()


def test_the_wheel_is_offered_only_where_it_was_built(downloads_book):
    """make wheel puts ce_lib's wheel in _build/dist; the 'Running the chapters' page links it, or says how to build it."""
    first, second, site = downloads_book
    assert ".whl" not in first["notebooks"] and "make dist" in first["notebooks"]
    page = second["notebooks"]
    assert '<a href="../ce_lib-9.9.9-py3-none-any.whl">' in page and '<a href="../requirements-reader.txt">' in page
    assert (site / "ce_lib-9.9.9-py3-none-any.whl").is_file()
    assert (site / "requirements-reader.txt").is_file()


EXAMPLE_REPOSITORY = "https://github.com/example/ce-book"


@pytest.fixture(scope="module", params=["no-url", "url", "url-student"])
def repository_book(request, tmp_path_factory):
    """A preface (with the real preface's sentence on reporting errors) and one chapter, built with
    ``repository: url:`` left empty as committed, set to an example, or set in the student edition:
    ``(kind, {page: html})``."""
    import os

    kind = request.param
    folder = tmp_path_factory.mktemp(f"repository-{kind}")
    small_book(folder, "book/preface", chapters=("book/chapter",))
    sentence = re.search(r"[^.]*\{\{ report_errors \}\}\.", (ROOT / "book" / "preface.md").read_text())
    assert sentence, "the preface no longer has its sentence on reporting errors ({{ report_errors }})"
    (folder / "book" / "preface.md").write_text("# Preface\n\n" + sentence.group(0).strip() + "\n")
    (folder / "book" / "chapter.md").write_text("# A chapter\n\nSome text.\n")
    if kind != "no-url":
        config = (folder / "_config.yml").read_text()
        assert config.count('\n  url: ""\n') == 1, "the committed _config.yml should leave repository.url empty"
        (folder / "_config.yml").write_text(config.replace('\n  url: ""\n', f"\n  url: {EXAMPLE_REPOSITORY}\n"))
    env = {**os.environ, "CE_STUDENT_EDITION": "1" if kind == "url-student" else "0"}
    proc = build_book.run("html", source=folder, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    site = folder / "_build" / "html" / "book"
    return kind, {name: (site / f"{name}.html").read_text() for name in ("preface", "chapter")}


def _links(page: str) -> set[str]:
    import html

    return {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)}


def test_every_page_links_the_repository_its_issues_and_its_source_only_when_the_url_is_set(repository_book):
    """_config.yml's repository.url turns on the repository, issue and edit links (book/_ext/repository_links.py)."""
    kind, pages = repository_book
    for name, page in pages.items():
        links = _links(page)
        repository = {link for link in links if link.startswith(EXAMPLE_REPOSITORY)}
        if kind == "no-url":
            assert not repository and not any("github.com" in link or "/edit/" in link for link in links), name
            continue
        assert any(link.startswith(f"{EXAMPLE_REPOSITORY}/issues") for link in repository), (name, repository)
        edit = f"{EXAMPLE_REPOSITORY}/edit/main/book/{name}.md"
        if kind == "url":
            assert EXAMPLE_REPOSITORY in repository and edit in repository, (name, repository)
        else:  # the student edition: the repository and the sources hold the solutions
            assert EXAMPLE_REPOSITORY not in repository and edit not in repository, (name, repository)


def test_the_preface_says_how_errors_reach_the_authors(repository_book):
    """With a repository, the preface sends readers to its issue tracker; without, it says what to do instead."""
    import html

    kind, pages = repository_book
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", pages["preface"])).split())
    if kind == "no-url":
        assert "built without the address of a public repository" in text and "pass it on to the authors" in text, text
        assert "issue tracker" in text and "open an issue" not in text
    else:
        assert "should report it: open an issue on the book" in text and "issue tracker, naming the page" in text, text
        assert f'href="{EXAMPLE_REPOSITORY}/issues"' in pages["preface"]
        assert ("Suggest edit" in text) == (kind == "url"), text
