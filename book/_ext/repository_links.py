"""Link the book's public repository from every page, when ``_config.yml`` names one.

The repository's address is set in one place, ``repository: url:`` in ``_config.yml``
(with ``branch`` and ``path_to_book``); Jupyter Book passes it to the theme as
``repository_url``. When it is set, this extension turns on the theme's three source
buttons: the repository, its issue tracker ("Open issue") and "Suggest edit", which
opens the page's own source file in the repository's editor. When it is empty there is
nothing to link, and the buttons stay off.

The preface's sentence on reporting errors is the substitution ``{{ report_errors }}``,
set here from the same address: the issue tracker when there is one, otherwise how an
error reaches the authors without it. A change of address changes the substitution, and
Sphinx then reads the pages again.

The student edition (``CE_STUDENT_EDITION=1``) links only the issue tracker: the
repository and the pages' sources hold the solutions it leaves out.
"""

from __future__ import annotations

# the preface's sentence ends with one of these ("... a reader who finds an error should report it: ...")
WITH_TRACKER = (
    "open an issue on the book's [issue tracker]({issues}), naming the page and the version "
    "(in the footer of each HTML page, the header of each PDF page)"
)
EDIT_TOO = (
    ", or propose the correction: the *Suggest edit* button at the top of each page of the HTML edition "
    "opens its source in the [repository]({url})"
)
WITHOUT_TRACKER = (
    "this copy was built without the address of a public repository, so it links no issue tracker; send the "
    "page, the version (in the footer of each HTML page, the header of each PDF page) and what is wrong to "
    "whoever gave you the book (a teacher, a colleague, the site that hosts it), who can pass it on to the authors"
)


def repository_url(config) -> str:
    return str((config.html_theme_options or {}).get("repository_url") or "").strip().rstrip("/")


def issues_url(url: str) -> str:
    """The issue tracker of a GitHub or GitLab repository (the providers whose issue button the theme draws)."""
    return f"{url}/-/issues" if "gitlab" in url.lower() else f"{url}/issues"


def report_errors(url: str, student: bool) -> str:
    if not url:
        return WITHOUT_TRACKER
    text = WITH_TRACKER.format(issues=issues_url(url))
    return text if student else text + EDIT_TOO.format(url=url)


def _set_buttons(app, config):
    url = repository_url(config)
    student = bool(getattr(config, "ce_student_edition", False))
    options = dict(config.html_theme_options or {})
    options["use_issues_button"] = bool(url)
    options["use_repository_button"] = options["use_edit_page_button"] = bool(url) and not student
    config.html_theme_options = options
    config.myst_substitutions = {**(config.myst_substitutions or {}), "report_errors": report_errors(url, student)}


def setup(app):
    app.connect("config-inited", _set_buttons)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
