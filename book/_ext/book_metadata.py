"""The book's version and release date, from ce_lib/_version.py (the one source of truth).

- the HTML footer shows "Version X, released D";
- the directive ``{bibtex-entry}`` renders the BibTeX entry for the book with them;
- Sphinx's ``version`` and ``release`` (used by the PDF title page) are set to them;
- every numbered chapter ends with its own BibTeX entry (``@incollection``, with the
  chapter's number and title as the reader sees them, and its URL when ``html_baseurl``
  is configured).
"""

from __future__ import annotations

import runpy
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

_VERSION_FILE = Path(__file__).resolve().parents[2] / "ce_lib" / "_version.py"


def book_version() -> tuple[str, str]:
    meta = runpy.run_path(str(_VERSION_FILE))
    return meta["__version__"], meta["release_date"]


BOOK_TITLE = "Softmax, Cross-Entropy and {KL} Divergence: an executable textbook"


def bibtex_entry() -> str:
    version, date = book_version()
    return (
        "@book{softmax_ce_kl_book,\n"
        f"  title     = {{{BOOK_TITLE}}},\n"
        "  author    = {{The ce\\_lib authors}},\n"
        f"  year      = {{{date[:4]}}},\n"
        f"  edition   = {{Version {version}}},\n"
        f"  note      = {{Released {date}. Code: ce\\_lib {version}}}\n"
        "}"
    )


class BibtexEntry(SphinxDirective):
    has_content = False

    def run(self):
        node = nodes.literal_block(bibtex_entry(), bibtex_entry())
        node["language"] = "bibtex"
        return [node]


def chapter_bibtex(key: str, number: int, title: str, url: str | None) -> str:
    """The BibTeX entry for one chapter of the book."""
    version, date = book_version()
    lines = [
        f"@incollection{{{key},",
        f"  title     = {{{title}}},",
        f"  booktitle = {{{BOOK_TITLE}}},",
        "  author    = {{The ce\\_lib authors}},",
        f"  chapter   = {{{number}}},",
        f"  year      = {{{date[:4]}}},",
        f"  edition   = {{Version {version}}},",
    ]
    if url:
        lines.append(f"  url       = {{{url}}},")
    lines.append(f"  note      = {{Released {date}}}")
    return "\n".join(lines) + "\n}"


def _cite_this_chapter(app, doctree, docname):
    numbers = app.env.toc_secnumbers.get(docname, {}).get("")
    if app.builder.format != "html" or not numbers or len(numbers) != 1:
        return
    title = next(iter(doctree.findall(nodes.title))).astext()
    base = (app.config.html_baseurl or "").rstrip("/")
    url = f"{base}/{docname}.html" if base else None
    entry = chapter_bibtex(f"softmax_ce_kl_book_{docname.rsplit('/', 1)[-1]}", numbers[0], title, url)
    block = nodes.literal_block(entry, entry, classes=["chapter-bibtex"])
    block["language"] = "bibtex"
    doctree.append(nodes.rubric("", "Cite this chapter"))
    doctree.append(block)


def _set_version(app, config):
    version, date = book_version()
    config.version = version
    config.release = version
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = f"<p>Version {version}, released {date}. Code MIT, text CC BY 4.0.</p>"
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", _set_version)
    app.add_directive("bibtex-entry", BibtexEntry)
    app.connect("doctree-resolved", _cite_this_chapter)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
