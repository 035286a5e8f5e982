"""Keep the built book fully offline.

Jupyter Book v1 always loads sphinx-thebe, which adds an inline script naming a CDN
(and, in this toolchain, adds it twice, a JavaScript error). The book has no live
code widgets, so the script is dropped from every page.
"""


def _drop_thebe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [
            js
            for js in scripts
            if "THEBE_JS_URL" not in str(getattr(js, "attributes", {}).get("body", ""))
            and not str(js).endswith("sphinx-thebe.js")
            and "sphinx-thebe.js" not in str(js)
        ]


def setup(app):
    app.connect("html-page-context", _drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
