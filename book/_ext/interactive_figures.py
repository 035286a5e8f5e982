"""Interactive figures: load ``_static/ce_interactive.js`` on the pages that hold one.

A chapter places ``<figure class="ce-interactive" data-figure="...">`` in an
``{only} html`` block (its static counterpart, for the PDF, sits in an ``{only} latex``
block). The script is plain JavaScript and SVG shipped with the book; only the pages
that use it load it, so the others stay as light as before.
"""

from __future__ import annotations

MARKER = 'class="ce-interactive"'
SCRIPT = "ce_interactive.js"


def _add_script(app, pagename, templatename, context, doctree):
    if MARKER in (context.get("body") or ""):
        app.add_js_file(SCRIPT, loading_method="defer")


def setup(app):
    app.connect("html-page-context", _add_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
