"""The book's version and release date, from ce_lib/_version.py (the one source of truth).

- the HTML footer shows "Version X, released D";
- the directive ``{bibtex-entry}`` renders the BibTeX entry for the book with them;
- Sphinx's ``version`` and ``release`` (used by the PDF title page) are set to them.
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


def bibtex_entry() -> str:
    version, date = book_version()
    return (
        "@book{softmax_ce_kl_book,\n"
        "  title     = {Softmax, Cross-Entropy and {KL} Divergence: an executable textbook},\n"
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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
