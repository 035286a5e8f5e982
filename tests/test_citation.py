"""Citation metadata: CITATION.cff is valid and agrees with ce_lib's version, shown in every page's footer."""

import re
import subprocess

import pytest
import yaml
from book_sources import ROOT, chapter_sources, toc_files

import ce_lib

CFF = ROOT / "CITATION.cff"
CFFCONVERT = ROOT / ".venv-cff" / "bin" / "cffconvert"


def test_citation_cff_is_valid():
    if not CFFCONVERT.exists():
        pytest.skip("cffconvert's environment is missing; `make test` creates it (.venv-cff)")
    proc = subprocess.run([str(CFFCONVERT), "--validate", "-i", str(CFF)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_citation_matches_the_single_source_of_truth():
    meta = yaml.safe_load(CFF.read_text())
    assert meta["version"] == ce_lib.__version__
    assert str(meta["date-released"]) == ce_lib.release_date
    assert meta["title"] and meta["authors"]


def test_footer_and_bibtex_carry_version_and_date(built_book):
    footer = f"Version {ce_lib.__version__}, released {ce_lib.release_date}"
    for source in toc_files():
        page = built_book.html / source.relative_to(ROOT).with_suffix(".html")
        assert footer in page.read_text(), f"{page.name} lacks the footer '{footer}'"
    import html

    cite = html.unescape(re.sub(r"<[^>]+>", "", (built_book.html / "book" / "how_to_cite.html").read_text()))
    assert "@book{softmax_ce_kl_book" in cite and f"Version {ce_lib.__version__}" in cite


def test_equations_are_numbered_per_chapter(built_book):
    chapters = chapter_sources()
    for number, source in enumerate(chapters, start=1):
        page = (built_book.html / source.relative_to(ROOT).with_suffix(".html")).read_text()
        eqnos = re.findall(r'<span class="eqno">\(([0-9.]+)\)', page)
        assert eqnos, f"{source.name} has no numbered equation"
        assert all(e.startswith(f"{number}.") for e in eqnos), f"{source.name}: {eqnos}"
        assert eqnos == [f"{number}.{k}" for k in range(1, len(eqnos) + 1)]


def test_zenodo_metadata_agrees_with_citation_cff():
    import json

    zenodo = json.loads((ROOT / ".zenodo.json").read_text())
    cff = yaml.safe_load(CFF.read_text())
    assert zenodo["title"] == cff["title"]
    assert zenodo["version"] == cff["version"] == ce_lib.__version__
    assert zenodo["publication_date"] == str(cff["date-released"]) == ce_lib.release_date
    assert zenodo["license"]["id"] == cff["license"]
    assert zenodo["keywords"] == cff["keywords"]
    assert [c["name"] for c in zenodo["creators"]] == [a["name"] for a in cff["authors"]]
    assert " ".join(zenodo["description"].split()) == " ".join(cff["abstract"].split())


def test_zenodo_metadata_agrees_with_cffconverts_own_conversion():
    """cffconvert, an independent converter, turns CITATION.cff into Zenodo metadata: ours must agree with it."""
    import json

    if not CFFCONVERT.exists():
        pytest.skip("cffconvert's environment is missing; `make test` creates it (.venv-cff)")
    proc = subprocess.run([str(CFFCONVERT), "-f", "zenodo", "-i", str(CFF)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    converted, ours = json.loads(proc.stdout), json.loads((ROOT / ".zenodo.json").read_text())
    assert {key: ours[key] for key in converted} == converted  # ours adds only upload_type and access_right


def test_each_chapter_page_offers_its_own_bibtex_entry(built_book):
    import html

    for source in chapter_sources():
        page = built_book.html / source.relative_to(ROOT).with_suffix(".html")
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        entry = re.search(r"@incollection\{softmax_ce_kl_book_(\w+),.*?chapter\s*=\s*\{(\d+)\}", text, re.S)
        assert entry and entry.group(1) == source.stem, page.name
        number = entry.group(2)
        assert re.search(rf"\({number}\.1\)", text), f"{page.name}: its equations are not numbered ({number}.k)"
        title = re.search(r"<h1>(.*?)<", page.read_text()).group(1)
        assert f"title     = {{{html.unescape(title)}}}" in text, page.name
