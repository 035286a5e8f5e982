"""The PDF edition: every chapter, resolved references, and the HTML's equation numbers."""

import os
import re
import shutil
import subprocess

import pytest
from book_sources import ROOT, chapter_title, toc_files

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
    return list(enumerate((chapter_title(p) for p in toc_files() if "/part" in p.as_posix()), start=1))


def test_every_chapter_title_is_in_the_pdf_with_its_number(pdf):
    _, text = pdf
    flat = re.sub(r"\s+", " ", text)
    for number, title in numbered_chapters():
        assert re.search(rf"\b{number} {re.escape(title)}", flat, re.I), f"chapter {number} '{title}' missing from the PDF"


def test_no_unresolved_reference(pdf):
    _, text = pdf
    assert "??" not in text


def test_equation_numbers_agree_between_html_and_pdf(pdf, built_book):
    built, _ = pdf
    aux = built.aux.read_text(errors="replace")
    # \newlabel{equation:<document>:<label>}{{<number>}{<page>}...}
    pdf_numbers = dict(re.findall(r"\\newlabel\{equation:[^}]*:([^:}]+)\}\{\{([0-9.]+)\}", aux))
    html_numbers = {}
    for page in built_book.html.rglob("*.html"):
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
