"""Citation metadata: CITATION.cff is valid and agrees with ce_lib's version, shown in every page's footer;
CHANGELOG.md's newest release is that version, and the book's "Changes and errata" page is CHANGELOG.md."""

import re
import subprocess

import pytest
import yaml
from book_sources import ROOT, chapter_sources, equation_numbers, toc_files

import ce_lib

CFF = ROOT / "CITATION.cff"
CFFCONVERT = ROOT / ".venv-cff" / "bin" / "cffconvert"
CHANGELOG = ROOT / "CHANGELOG.md"
# a version's heading in CHANGELOG.md: "## 0.2.0 - 2026-12-04", or "## 0.3.0 - Unreleased" for the one being prepared
VERSION_HEADING = re.compile(r"^## (\d+\.\d+\.\d+) - (\d{4}-\d{2}-\d{2}|Unreleased)$", re.M)


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
    """Every numbered equation of chapter n is n.1, n.2, ... in order, and each label has the number that
    book_sources.equation_numbers reads from the sources (tests/test_pdf.py holds the PDF to the same)."""
    chapters = chapter_sources()
    expected, shown = equation_numbers(), {}
    for number, source in enumerate(chapters, start=1):
        page = (built_book.html / source.relative_to(ROOT).with_suffix(".html")).read_text()
        eqnos = re.findall(r'<span class="eqno">\(([0-9.]+)\)', page)
        assert eqnos, f"{source.name} has no numbered equation"
        assert all(e.startswith(f"{number}.") for e in eqnos), f"{source.name}: {eqnos}"
        assert eqnos == [f"{number}.{k}" for k in range(1, len(eqnos) + 1)]
        shown.update(re.findall(r'id="equation-([^"]+)"[^>]*>\s*<span class="eqno">\(([0-9.]+)\)', page))
    assert len(shown) >= 80 and shown == expected


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


def changelog_versions(text: str) -> list[tuple[str, str]]:
    """CHANGELOG.md's versions, newest first: ``[(version, date or "Unreleased"), ...]``."""
    return VERSION_HEADING.findall(text)


def test_the_changelogs_newest_release_is_ce_libs_version():
    """The newest dated version of CHANGELOG.md is ce_lib's, with its date; only versions above it may be undated."""
    text = CHANGELOG.read_text()
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings and all(VERSION_HEADING.fullmatch(h) for h in headings), f"not a version heading: {headings}"
    versions = changelog_versions(text)
    numbers = [tuple(map(int, version.split("."))) for version, _ in versions]
    assert numbers == sorted(set(numbers), reverse=True), f"versions not newest first, or repeated: {versions}"
    released = [i for i, (_, date) in enumerate(versions) if date != "Unreleased"]
    assert released, "CHANGELOG.md has no released version"
    assert versions[released[0]] == (ce_lib.__version__, ce_lib.release_date), (
        f"CHANGELOG.md's newest release {versions[released[0]]} is not ce_lib's "
        f"({ce_lib.__version__}, {ce_lib.release_date}): date its section when the version is bumped"
    )
    assert released == list(range(released[0], len(versions))), f"an undated version below a released one: {versions}"


def test_the_errata_of_0_2_0_name_every_defect_of_the_december_review():
    """The December review listed A1-A40 and B1-B35; the errata of 0.2.0 name each (ranges like A5-A9 allowed)."""
    text = CHANGELOG.read_text()
    errata = re.search(r"^## 0\.2\.0 .*?^### Errata$(.*?)(?=^## )", text, re.M | re.S)
    assert errata, "CHANGELOG.md has no Errata section under 0.2.0"
    items = "".join(re.findall(r"^- .*?(?=^- |^$)", errata.group(1), re.M | re.S))  # the list items only
    named = set()
    for letter, first, last in re.findall(r"\b([AB])(\d+)(?:-\1?(\d+))?\b", items):
        named |= {f"{letter}{n}" for n in range(int(first), int(last or first) + 1)}
    expected = {f"A{n}" for n in range(1, 41)} | {f"B{n}" for n in range(1, 36)}
    assert named == expected, f"missing {sorted(expected - named)}, unknown {sorted(named - expected)}"


def _page_text(page) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page.read_text())).split())


def test_the_changes_page_is_the_changelog_and_the_citation_page_links_it(built_book):
    page = built_book.html / "book" / "changes.html"
    text = _page_text(page)
    for version, date in changelog_versions(CHANGELOG.read_text()):
        assert f"{version} - {date}" in text, f"changes.html lacks CHANGELOG.md's version {version}"
    assert "Errata" in text and "Chapter 6, KL divergence (A1)" in text
    for name in ("how_to_cite", "preface"):  # in the page's text, not only in the navigation
        article = re.search(
            r'<article class="bd-article".*?</article>', (built_book.html / "book" / f"{name}.html").read_text(), re.S
        )
        assert article and 'href="changes.html"' in article.group(0), f"{name}.html does not link the errata page"


def test_the_preface_says_how_errors_reach_the_authors(built_book):
    """Without a repository URL in _config.yml (as committed) the preface says what to do with an error;
    with one, it links the issue tracker (both built in tests/test_small_books.py)."""
    url = (yaml.safe_load((ROOT / "_config.yml").read_text()).get("repository") or {}).get("url")
    page = built_book.html / "book" / "preface.html"
    text = _page_text(page)
    if not url:
        assert "should report it: this copy was built without the address of a public repository" in text, text
        assert "pass it on to the authors" in text and "/issues" not in page.read_text()
    else:
        assert f'href="{url.rstrip("/")}/issues"' in page.read_text()
