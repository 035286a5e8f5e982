"""The PDF edition: every chapter, resolved references, and the HTML's equation numbers."""

import os
import re
import shutil
import subprocess

import pytest
from book_sources import ROOT, book_toc, chapter_sources

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


def test_equation_numbers_agree_between_html_and_pdf(pdf, built_book_with_pdf):
    built, _ = pdf
    aux = built.aux.read_text(errors="replace")
    # \newlabel{equation:<document>:<label>}{{<number>}{<page>}...}
    pdf_numbers = dict(re.findall(r"\\newlabel\{equation:[^}]*:([^:}]+)\}\{\{([0-9.]+)\}", aux))
    html_numbers = {}
    for page in built_book_with_pdf.html.rglob("*.html"):
        for label, number in re.findall(r'id="equation-([^"]+)"[^>]*>\s*<span class="eqno">\(([0-9.]+)\)', page.read_text()):
            html_numbers[label] = number
    assert len(html_numbers) >= 50
    sample = sorted(html_numbers)
    mismatches = {k: (html_numbers[k], pdf_numbers.get(k)) for k in sample if pdf_numbers.get(k) != html_numbers[k]}
    assert not mismatches, f"HTML vs PDF equation numbers differ: {mismatches}"
    _, text = pdf
    for label in ("eq-mean-log-likelihood", "eq-cross-entropy-decomposition", "eq-ce-gradient"):
        assert f"({html_numbers[label]})" in text


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


def test_chapter_pdfs_number_equations_as_the_html(pdf, built_book_with_pdf):
    built, _ = pdf
    latex = built.pdf.parent
    compared = 0
    for path in _chapter_paths():
        rel = path.relative_to(ROOT).with_suffix(".html")
        html = (built_book_with_pdf.html / rel).read_text()
        html_numbers = dict(re.findall(r'id="equation-([^"]+)"[^>]*>\s*<span class="eqno">\(([0-9.]+)\)', html))
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


def test_each_chapter_page_links_its_own_pdf(pdf, built_book_with_pdf):
    for path in _chapter_paths():
        rel = path.relative_to(ROOT).with_suffix(".html")
        html = (built_book_with_pdf.html / rel).read_text()
        href = f"../../chapters/{path.stem}.pdf"
        assert f'href="{href}"' in html, f"{rel} does not link {href}"
        assert (built_book_with_pdf.html / "chapters" / f"{path.stem}.pdf").is_file()


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
