"""Lighter pages: no 1.5 MB icon script, and only the MathJax components the book uses.

pydata-sphinx-theme draws its Font Awesome icons twice over: with the web fonts and
classes of its stylesheet, and again with ``fontawesome.js`` (1.49 MB), which it
loads "so that users can add custom icons". The book adds none, so after the build
the script tag is removed from every page and the script from ``_static``; the
stylesheet's icons remain (the reader tests check one renders).

The theme also loads the search index (about 0.1 MB, growing with the book) and
Sphinx's search code on every page, for its search-as-you-type option; that option is
off (the theme's default), and the search box sends the reader to ``search.html``,
which loads them itself. So every other page drops the three script tags.

Jupyter Book also loads sphinx-design's stylesheet and tab script (62 kB) on every page; a
page that uses none of its components (no ``sd-`` class) drops both.
"""

from __future__ import annotations

import re
from pathlib import Path

_SCRIPT_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
_FILES = ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt")
_DESIGN_TAGS = re.compile(
    r'\s*<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-design\.min\.css[^"]*" />'
    r'|\s*<script [^>]*src="[^"]*_static/design-tabs\.js[^"]*"></script>'
)
_DESIGN_USED = re.compile(r'class="[^"]*\bsd-')
_SEARCH_TAGS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)


def _drop_icon_script(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = _SCRIPT_TAG.sub("", text)
        if page.name != "search.html" and not app.config.html_theme_options.get("search_as_you_type"):
            lighter = _SEARCH_TAGS.sub("", lighter)
        if not _DESIGN_USED.search(lighter):
            lighter = _DESIGN_TAGS.sub("", lighter)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
    for name in _FILES:
        (out / "_static" / "scripts" / name).unlink(missing_ok=True)


def _load_only_needed_mathjax(app, config):
    config.mathjax_path = "mathjax/startup.js"  # sphinx-mathjax-offline sets tex-chtml.js in its setup()


def setup(app):
    app.connect("build-finished", _drop_icon_script)
    app.connect("config-inited", _load_only_needed_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
