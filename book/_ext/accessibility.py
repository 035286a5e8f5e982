"""Accessibility fixes for markup the toolchain emits.

sphinxcontrib-bibtex wraps the bibliography in ``<div role="list">`` whose children
have role ``doc-biblioentry``, not ``listitem``: an ARIA error (axe-core rule
aria-required-children, "critical"). The entries are fine without the list role.
"""

_BAD_LIST = '<div role="list" class="citation-list">'


def _fix_citation_list(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and _BAD_LIST in body:
        context["body"] = body.replace(_BAD_LIST, '<div class="citation-list">')


def setup(app):
    app.connect("html-page-context", _fix_citation_list)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
