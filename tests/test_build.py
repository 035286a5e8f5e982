"""The HTML book builds strictly (warnings are errors, nitpicky references) and loads nothing from outside."""

import re

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


def test_the_test_build_does_not_read_the_repositorys_wheel(built_book):
    """Test builds look for the wheel in a folder of their own (CE_WHEEL_DIR), empty: what they build does not
    depend on whether `make wheel` ran in this clone."""
    assert not list(built_book.html.glob("ce_lib-*.whl"))
    assert "make dist" in (built_book.html / "book" / "notebooks.html").read_text()


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


def test_the_first_build_executes_no_notebook_and_a_second_build_neither(built_book):
    """The build reuses the committed, executed notebooks (their fingerprint is current), and then its own cache."""
    import chapters

    assert built_book.returncode == 0
    executed = len(chapters.sources())
    assert f"execution cache: {executed} committed notebooks seeded, 0 already cached, 0 to execute" in built_book.log
    assert "Executing notebook" not in built_book.log, "the first build executed a notebook"
    assert built_book.log.count("Using cached notebook") == executed
    out = built_book.html.parent.parent  # the --path-output folder of the first build
    proc = build_book.run("html", path_output=out, env=built_book.env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f"0 committed notebooks seeded, {executed} already cached, 0 to execute" in log
    assert "Executing notebook" not in log, "a notebook was re-executed although nothing changed"


def test_the_verification_ledger_lists_every_labelled_equation_with_a_working_link(built_book):
    """The ledger is generated from the executed chapters: one row per labelled equation, counts that add up."""
    from book_sources import ledger_rows

    rows = ledger_rows(ROOT)
    page = (built_book.html / "book" / "verification_ledger.html").read_text()
    # one collapsible block per chapter, each with its table, in the order of the rows
    blocks = re.findall(r"<details\b.*?</details>", page, re.S)
    assert len(blocks) == len({path for path, *_ in rows}), len(blocks)
    tables = "".join(block[block.index("<table") : block.index("</table>")] for block in blocks)
    assert tables.count("<table") == len(blocks) and page.count("<table") == len(blocks)
    links = re.findall(r'<a class="reference internal" href="([^"]+)">', tables)
    equation_links = [href for href in links if "#equation-" in href]
    assert len(equation_links) == len(rows), (len(equation_links), len(rows))
    for href, (_path, label, _, _) in zip(equation_links, rows):
        target, anchor = href.split("#")
        assert anchor == f"equation-{label}", (href, label)
        built = (built_book.html / "book" / target).resolve()
        assert built.exists() and f'id="equation-{label}"' in built.read_text(), href
    for block in blocks:  # a block's equations are those of the chapter it links
        chapter = {href.split("#")[0] for href in re.findall(r'<a class="reference internal" href="([^"]+)">', block)}
        assert len(chapter) == 1, chapter
    counts = [int(n) for n in re.findall(r"<em>[^<]+</em>: (\d+)</p>", page[: page.index("<details")])]
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


def page_text(path) -> str:
    """A built page's visible text, tags stripped and whitespace collapsed."""
    import html as html_lib

    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", path.read_text())))


def solution_code_lines(source) -> list[str]:
    """The first line of code of each solution of a chapter source (each solution has a code cell)."""
    lines = []
    for block in re.findall(r"```\{solution-start\}.*?```\{solution-end\}", source.read_text(), re.S):
        code = re.search(r"```\{code-cell\}\n(?::.*\n|(?s:---\n.*?\n---\n))*\n?(.+)", block)
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


def test_the_subject_index_lists_the_key_terms_of_every_chapter(built_book):
    """A subject index, as printed textbooks have: at least 150 entries, at least 8 from every numbered chapter,
    and a back-matter page that leads to it."""
    from book_sources import chapter_sources

    html = (built_book.html / "genindex.html").read_text()
    # an index entry links to the place it marks; the API reference's entries (ce_lib's functions) do not count
    links = re.findall(r'<a href="(book/[^"#]+)\.html#index-\d+"', html)
    pages = [source.relative_to(ROOT).with_suffix("").as_posix() for source in chapter_sources()]
    in_chapters = sum(links.count(page) for page in pages)
    assert in_chapters >= 150, f"the subject index links the chapters {in_chapters} times"
    for page in pages:
        assert links.count(page) >= 8, f"{page} has {links.count(page)} index entries"
    items = html.split('class="indextable genindextable"', 1)[1].count("<li>")
    lead = (built_book.html / "book" / "subject_index.html").read_text()
    assert 'href="../genindex.html"' in lead
    print(f"subject index: {items} entries, {len(links)} links")
