"""The PDF edition: every chapter, resolved references, and the HTML's equation numbers."""

import os
import re
import shutil
import subprocess

import pytest
from book_sources import ROOT, book_toc, chapter_sources, equation_numbers, read_chapter

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def pdf(built_pdf):
    if built_pdf is None:
        pytest.skip(
            "LaTeX is not installed; install it to test the PDF edition (Debian: apt-get install $(make -s tex-packages))"
        )
    assert built_pdf.returncode == 0, "PDF build failed:\n" + built_pdf.log[-6000:]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: apt-get install $(make -s tex-packages))")
    text = subprocess.run(["pdftotext", "-layout", str(built_pdf.pdf), "-"], capture_output=True, text=True, check=True).stdout
    return built_pdf, text


def numbered_chapters():
    """(number, title) of every chapter in the numbered parts, in order."""
    return [(chapter.number, chapter.title) for chapter in book_toc.chapters()]


def test_every_chapter_title_is_in_the_pdf_with_its_number(pdf):
    _, text = pdf
    flat = re.sub(r"\s+", " ", text)
    for number, title in numbered_chapters():
        assert re.search(rf"\b{number} {re.escape(title)}", flat, re.I), f"chapter {number} '{title}' missing from the PDF"


def test_no_unresolved_reference(pdf):
    _, text = pdf
    assert "??" not in text


def test_equation_numbers_agree_between_html_and_pdf(pdf):
    """The PDF numbers every labelled equation as the sources do (book_sources.equation_numbers), which is
    what tests/test_citation.py::test_equations_are_numbered_per_chapter holds the HTML to: the two
    editions agree without an HTML build that waits for the PDF."""
    built, _ = pdf
    aux = built.aux.read_text(errors="replace")
    # \newlabel{equation:<document>:<label>}{{<number>}{<page>}...}
    pdf_numbers = dict(re.findall(r"\\newlabel\{equation:[^}]*:([^:}]+)\}\{\{([0-9.]+)\}", aux))
    expected = equation_numbers()
    assert len(expected) >= 80
    mismatches = {k: (expected[k], pdf_numbers.get(k)) for k in sorted(expected) if pdf_numbers.get(k) != expected[k]}
    assert not mismatches, f"equation numbers of the sources (as the HTML shows them) vs the PDF's: {mismatches}"
    _, text = pdf
    for label in ("eq-mean-log-likelihood", "eq-cross-entropy-decomposition", "eq-ce-gradient"):
        assert f"({expected[label]})" in text


def test_make_pdf_without_latex_stops_naming_the_packages(tmp_path):
    proc = subprocess.run(
        ["/usr/bin/make", "-C", str(ROOT), "--no-print-directory", "check-latex"],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "apt-get install texlive-latex-extra" in proc.stderr, proc.stderr


def _text(pdf_path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout


def _chapter_paths():
    return chapter_sources()


def test_every_chapter_has_its_own_pdf_with_its_title_and_no_unresolved_reference(pdf):
    built, _ = pdf
    latex = built.pdf.parent
    made = sorted(p.name for p in latex.glob("chapter-*.pdf"))
    assert made == sorted(f"chapter-{p.stem}.pdf" for p in _chapter_paths())
    for (number, title), path in zip(numbered_chapters(), _chapter_paths()):
        text = _text(latex / f"chapter-{path.stem}.pdf")
        flat = re.sub(r"\s+", " ", text)
        assert re.search(rf"\b{number} {re.escape(title)}", flat, re.I), f"{path.stem}.pdf lacks '{number} {title}'"
        assert "??" not in text, f"{path.stem}.pdf has an unresolved reference"
        assert "(PDF_DIR)" not in text


def test_chapter_pdfs_number_equations_as_the_html(pdf):
    """Each chapter's own PDF numbers its equations as the sources do, and so as the HTML does."""
    built, _ = pdf
    latex = built.pdf.parent
    compared = 0
    expected = equation_numbers()
    for path in _chapter_paths():
        html_numbers = {label: expected[label] for label in read_chapter(path).labels}
        aux = (latex / f"chapter-{path.stem}.aux").read_text(errors="replace")
        pdf_numbers = dict(re.findall(r"\\newlabel\{equation:[^}]*:([^:}]+)\}\{\{([0-9.]+)\}", aux))
        assert html_numbers == pdf_numbers, (path.stem, html_numbers, pdf_numbers)
        compared += len(html_numbers)
    assert compared >= 80, compared


def test_references_to_other_chapters_link_to_the_html_edition(pdf):
    built, _ = pdf
    latex = built.pdf.parent
    linked = 0
    for path in _chapter_paths():
        tex = (latex / f"chapter-{path.stem}.tex").read_text()
        own = path.relative_to(ROOT).with_suffix("").as_posix()
        # every internal LaTeX reference stays inside the chapter's own document
        others = [label for label in re.findall(r"\\(?:hyperref\[|ref\{|eqref\{)\\detokenize\{([^}:]+):", tex) if label != own]
        assert not others, (path.stem, sorted(set(others))[:5])
        linked += len(re.findall(r"\\sphinxhref\{\.\./book/[^}]+\.html", tex))
    assert linked >= 15, f"only {linked} references to other pages became links to the HTML edition"


def test_the_pdf_edition_has_each_chapters_pdf_where_its_page_links_it(pdf):
    """``make pdf`` lays out chapters/<chapter>.pdf for every chapter, where each chapter page links its own
    PDF (the link itself is tested on a small book: tests/test_small_books.py)."""
    built, _ = pdf
    assert sorted(p.name for p in (built.folder / "chapters").glob("*.pdf")) == sorted(f"{p.stem}.pdf" for p in _chapter_paths())


def test_the_whole_book_has_the_subject_index_and_a_chapter_none(pdf):
    """The book's PDF ends with the subject index (makeindex's entries, each with its page); a chapter's PDF keeps
    none (book/_ext/pdf_edition.py drops its \\printindex), since it would list only its own pages."""
    built, text = pdf
    latex = built.aux.parent
    entries = re.findall(r"^\s*\\item ", (latex / "book.ind").read_text(), re.M)
    assert len(entries) >= 100, f"{len(entries)} top-level index entries in the book"
    # an index line is "term, page, page" (two columns side by side in the layout text)
    assert re.search(r"log-sum-exp, \d+", text), "the book's index does not list log-sum-exp with a page"
    chapters = sorted(latex.glob("chapter-*.tex"))
    assert chapters
    for tex in chapters:
        assert "\\printindex" not in tex.read_text(), f"{tex.name} prints an index"
        chapter_pdf = tex.with_suffix(".pdf")
        chapter_text = subprocess.run(["pdftotext", str(chapter_pdf), "-"], capture_output=True, text=True).stdout
        assert not re.search(r"^Index$", chapter_text, re.M), f"{chapter_pdf.name} has an index"
