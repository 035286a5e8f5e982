"""Link the PDF edition only where it was built.

The preface links ``softmax-cross-entropy-kl.pdf``, which ``make pdf`` puts in
``_build/pdf`` (an ``html_extra_path``, copied to the site's root). On a machine
without LaTeX there is no PDF, and the link would be broken: there the paragraph
says how to build the PDF instead. When the PDF appears or disappears between two
builds, the pages holding the paragraph are rebuilt.
"""

from __future__ import annotations

from pathlib import Path

PDF_NAME = "softmax-cross-entropy-kl.pdf"
_LINKED = f'<a href="../{PDF_NAME}">PDF edition</a>'
_UNBUILT = "PDF edition (not built here: run <code>make pdf</code> in a clone of the repository; it needs LaTeX, see the README)"


def pdf_built(app) -> bool:
    return any(Path(app.confdir, folder, PDF_NAME).is_file() for folder in app.config.html_extra_path)


def _mark_pages(app, env, added, changed, removed):
    built = pdf_built(app)
    if getattr(env, "ce_pdf_built", None) == built:
        return []
    env.ce_pdf_built = built
    return [app.config.root_doc]


def _adjust_link(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and _LINKED in body and not pdf_built(app):
        context["body"] = body.replace(_LINKED, _UNBUILT)


def setup(app):
    app.connect("env-get-outdated", _mark_pages)
    app.connect("html-page-context", _adjust_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
