"""The student edition: the book without the solutions to its exercises.

``make book-student`` builds with ``CE_STUDENT_EDITION=1`` into its own folder. After
sphinx-exercise has gathered each gated solution (``solution-start`` ... ``solution-end``,
prose and code cells alike) into one solution node, this extension removes every
solution node, so neither its text nor its code reaches the page. The exercises stay.
The sources and executed notebooks, and the PDF editions (all of which hold the
solutions), are not offered for download in this edition.
"""

from __future__ import annotations

import os


def _remove_solutions(app, doctree, docname):
    if not app.config.ce_student_edition:
        return
    from sphinx_exercise.nodes import solution_node

    for node in list(doctree.findall(solution_node)):
        node.parent.remove(node)


def _no_sources(app, config):
    if config.ce_student_edition:
        config.html_copy_source = False
        config.html_extra_path = []  # the PDFs in _build/pdf hold the solutions
        config.html_show_sourcelink = False
        config.html_theme_options = {**config.html_theme_options, "use_download_button": False}


def setup(app):
    app.add_config_value("ce_student_edition", os.environ.get("CE_STUDENT_EDITION") == "1", "env")
    app.connect("doctree-resolved", _remove_solutions)
    app.connect("config-inited", _no_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
