"""Link the PDF edition only where it was built; build and link one PDF per chapter.

The preface links ``softmax-cross-entropy-kl.pdf``, which ``make pdf`` puts in
``_build/pdf`` (an ``html_extra_path``, copied to the site's root). On a machine
without LaTeX there is no PDF, and the link would be broken: there the paragraph
says how to build the PDF instead. When the PDF appears or disappears between two
builds, the pages holding the paragraph are rebuilt.
"""

from __future__ import annotations

import os
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


# ---- one PDF per chapter -----------------------------------------------------------------
#
# ``make pdf`` builds, beside the book, one LaTeX document per numbered chapter (Sphinx
# compiles every document listed in ``latex_documents``). In a chapter's PDF:
#   - the chapter keeps its number, so its equations and figures are numbered as in the
#     HTML (5.3 stays 5.3);
#   - a reference to another chapter, or to the bibliography, becomes a link to that page
#     of the HTML edition, with the text the HTML shows ("(2.4)", "Fig. 3.1"), instead of
#     an unresolvable LaTeX reference ("??").
# ``make pdf`` copies the chapter PDFs to _build/pdf/chapters/, and each chapter page of
# the HTML links its own PDF when it was built.

CHAPTER_DIR = "chapters"


def chapter_numbers(env) -> dict[str, int]:
    """The numbered chapters: docname -> chapter number, as the HTML numbers them."""
    return {doc: numbers[""][0] for doc, numbers in env.toc_secnumbers.items() if len(numbers.get("", ())) == 1}


def chapter_stem(docname: str) -> str:
    return docname.rsplit("/", 1)[-1]


def _add_chapter_documents(app, env):
    if app.builder.name != "latex":
        return
    book = list(app.config.latex_documents[0])
    known = {entry[0] for entry in app.config.latex_documents}
    documents = list(app.config.latex_documents)
    for docname, _number in sorted(chapter_numbers(env).items(), key=lambda item: item[1]):
        if docname not in known:
            title = env.titles[docname].astext()
            documents.append((docname, f"chapter-{chapter_stem(docname)}.tex", title, book[3], "manual", False))
    app.config.latex_documents = documents


def html_url(app, docname: str) -> str:
    """Where the HTML edition has ``docname``: absolute with ``html_baseurl``, else relative to _build/pdf/chapters/."""
    base = (app.config.html_baseurl or "").rstrip("/")
    return f"{base}/{docname}.html" if base else f"../{docname}.html"


def _link_other_documents_to_html(app):
    """In a chapter's LaTeX document, a reference to a page it does not contain points to the HTML edition."""
    builder = app.builder
    if builder.name != "latex":
        return
    in_this_document = builder.get_target_uri

    def get_target_uri(docname, typ=None):
        if docname in builder.docnames:
            return in_this_document(docname, typ)
        return html_url(app, docname)

    builder.get_target_uri = get_target_uri


def _number_chapter_as_in_html(app, doctree, docname):
    if app.builder.name != "latex":
        return
    from docutils import nodes
    from sphinx import addnodes

    number = chapter_numbers(app.env).get(docname)
    if number is not None:
        # A chapter's own document. LaTeX takes a document's first heading as its title and
        # its second level as chapters; so the chapter goes one level down, under a heading
        # carrying the book's title, and keeps its own heading as a \chapter, stepped by
        # \setcounter to its number in the book.
        book = nodes.section("", nodes.title("", app.config.project), ids=["ce-book"])
        book += nodes.raw("", rf"\setcounter{{chapter}}{{{number - 1}}}", format="latex")
        book.extend(doctree.children)
        doctree.children = []
        doctree += book
    # a numbered reference ({numref}) to another page: LaTeX would \ref a label it does not have
    for ref in list(doctree.findall(addnodes.number_reference)):
        if not ref.get("refuri", "%").startswith("%"):
            ref.replace_self(nodes.reference("", "", *ref.children, refuri=ref["refuri"]))
    # an equation of another page ({eq}): its number as the HTML shows it, linked to the HTML
    from sphinx.builders.latex.nodes import math_reference

    for ref in list(doctree.findall(math_reference)):
        if ref["docname"] not in app.builder.docnames:
            anchor = f"equation-{ref['target']}"
            numbers = app.env.toc_fignumbers.get(ref["docname"], {}).get("displaymath", {}).get(anchor, ())
            text = (app.config.math_eqref_format or "({number})").format(number=".".join(map(str, numbers)))
            ref.replace_self(nodes.reference("", text, refuri=f"{html_url(app, ref['docname'])}#{anchor}"))


def chapter_pdf(app, docname: str):
    """The built PDF of a chapter, if ``make pdf`` made it."""
    for folder in app.config.html_extra_path:
        path = Path(app.confdir, folder, CHAPTER_DIR, f"{chapter_stem(docname)}.pdf")
        if path.is_file():
            return path
    return None


def _mark_chapters(app, env, added, changed, removed):
    built = {doc: chapter_pdf(app, doc) is not None for doc in chapter_numbers(env)}
    if getattr(env, "ce_chapter_pdfs", None) == built:
        return []
    env.ce_chapter_pdfs = built
    return list(built)


def _link_chapter_pdf(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if app.builder.format != "html" or not body or pagename not in chapter_numbers(app.env):
        return
    if chapter_pdf(app, pagename) is None:
        return
    depth = pagename.count("/")
    href = "../" * depth + f"{CHAPTER_DIR}/{chapter_stem(pagename)}.pdf"
    link = f'<p class="chapter-pdf"><a href="{href}">This chapter as a PDF</a></p>'
    context["body"] = body.replace("</h1>", "</h1>\n" + link, 1)


def _figures_in_solutions_stay_in_place(app):
    """A figure inside an exercise's solution is set in place (``[H]``), not as a float.

    LaTeX cannot float a figure out of the framed box sphinx-exercise draws around a solution
    ("Not in outer par mode"); Sphinx already sets figures in place inside its own boxes (its
    ``no_latex_floats`` counter), and this extends that to sphinx-exercise's solutions.
    """
    if app.builder.name != "latex":
        return
    from sphinx_exercise.nodes import depart_solution_node, solution_node, visit_solution_node

    def visit(self, node):
        self.no_latex_floats += 1
        visit_solution_node(self, node)

    def depart(self, node):
        depart_solution_node(self, node)
        self.no_latex_floats -= 1

    app.add_node(solution_node, override=True, latex=(visit, depart))


def _pdf_folders(app, config):
    """Where the built PDFs are looked for: ``CE_PDF_DIR`` if set (the tests build them in a temporary
    folder), else ``html_extra_path`` (``_build/pdf``); a folder that does not exist is dropped, so a
    book without a PDF builds without a warning."""
    folders = [os.environ["CE_PDF_DIR"]] if os.environ.get("CE_PDF_DIR") else list(config.html_extra_path)
    config.html_extra_path = [f for f in folders if Path(app.confdir, f).is_dir()]


def _chapters_keep_no_index(app, exception):
    """The subject index belongs to the whole book: a chapter's PDF would list only its own pages,
    under the book's heading. Sphinx's template prints the index in every document, so the chapter
    documents lose their ``\\printindex`` line before LaTeX runs (Jupyter Book runs it after the build)."""
    if exception is not None or app.builder.name != "latex":
        return
    for tex in Path(app.outdir).glob("chapter-*.tex"):
        text = tex.read_text(encoding="utf-8")
        kept = "\n".join(line for line in text.split("\n") if line.strip() != r"\printindex")
        if kept != text:
            tex.write_text(kept, encoding="utf-8")


def setup(app):
    app.connect("config-inited", _pdf_folders, priority=400)  # before the student edition empties the list
    app.connect("env-get-outdated", _mark_pages)
    app.connect("html-page-context", _adjust_link)
    # chapter numbers exist once the toctrees are numbered: after reading in an incremental
    # build (env-updated), only at the consistency check in a fresh one
    app.connect("env-updated", _add_chapter_documents)
    app.connect("env-check-consistency", _add_chapter_documents)
    app.connect("builder-inited", _link_other_documents_to_html)
    app.connect("builder-inited", _figures_in_solutions_stay_in_place)
    app.connect("doctree-resolved", _number_chapter_as_in_html)
    app.connect("env-get-outdated", _mark_chapters)
    app.connect("html-page-context", _link_chapter_pdf)
    app.connect("build-finished", _chapters_keep_no_index)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
