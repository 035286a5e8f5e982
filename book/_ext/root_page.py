"""A real page at the site's root, in place of a bare meta refresh.

The book's first page is ``book/preface``, so the root ``index.html`` only sends the
reader there. sphinx-external-toc writes it as a lone ``<meta http-equiv="Refresh">``
line, with no title and no icon: Chromium then asks for ``/favicon.ico`` (a 404 in
the console, logged or not depending on how fast the refresh navigates), and a
browser that ignores meta refresh shows an empty page. This extension writes the
page first, with a title, the book's icon, the refresh and a visible link;
sphinx-external-toc leaves an existing ``index.html`` alone.
"""

from __future__ import annotations

import html
from pathlib import Path

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{icon}">
<link rel="canonical" href="{target}">
<meta http-equiv="Refresh" content="0; url={target}">
</head>
<body>
<main>
<h1>{title}</h1>
<p>The book starts at <a href="{target}">its preface</a>.</p>
</main>
</body>
</html>
"""


def root_page(title: str, target: str, icon: str) -> str:
    """The HTML of the root page that sends the reader to ``target``."""
    return _PAGE.format(title=html.escape(title), target=html.escape(target, quote=True), icon=html.escape(icon, quote=True))


def _write_root_page(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    icon = "_static/" + Path(app.config.html_favicon).name if app.config.html_favicon else ""
    target = app.builder.get_target_uri(app.config.root_doc)
    Path(app.outdir, "index.html").write_text(
        root_page(app.config.html_title or app.config.project, target, icon), encoding="utf-8"
    )


def setup(app):
    # Before sphinx-external-toc's own handler (priority 500), which skips an existing index.html.
    app.connect("build-finished", _write_root_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
