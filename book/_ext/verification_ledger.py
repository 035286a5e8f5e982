"""The verification ledger: how every labelled equation of the book is checked.

The ``{verification-ledger}`` directive writes, at build time, a table of every
labelled equation in the order of ``_toc.yml``: its number as the reader sees it
(an ``{eq}`` link), its chapter, and the strongest check its chapter's executed
notebook printed, with counts per kind at the top. The rows come from the ``✔``
lines of the committed, nbval-tested notebooks, read with
:func:`ce_lib.verify.classify`, so the page cannot drift from what was checked.

The same reader serves the coverage tests (``tests/book_sources.py``).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import book_toc

from ce_lib.verify import LEDGER_KINDS, classify

# `$$ ... $$ (label)` and a {math} directive's `:label: name`
DOLLAR_LABEL = re.compile(r"\$\$\s*\(([A-Za-z0-9_\-:.]+)\)")
MATH_LABEL = re.compile(r"```\{math\}[^`]*?:label:\s*([A-Za-z0-9_\-:.]+)", re.S)
# the kinds a labelled equation may rest on: a derivation of some kind, a declared definition, or a
# declared citation (which the coverage test accepts only beside a numerical check)
SOUND_KINDS = (*LEDGER_KINDS[:3], LEDGER_KINDS[5], LEDGER_KINDS[6])


@dataclass
class Chapter:
    path: Path
    labels: list[str] = field(default_factory=list)
    checks: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # label -> [(kind, detail)]

    @property
    def verified(self) -> set[str]:
        return set(self.checks)

    def strongest(self, label: str) -> tuple[str, str] | None:
        """The strongest ``(kind, detail)`` recorded for ``label``, or ``None``.

        A declared definition or convention is what the equation *is*, so it is
        reported as such whatever else checks it (the other checks are counted too).
        """
        found = self.checks.get(label, [])
        declared = [kd for kd in found if kd[0] in (LEDGER_KINDS[5], LEDGER_KINDS[6])]
        return declared[0] if declared else min(found, key=lambda kd: LEDGER_KINDS.index(kd[0])) if found else None


def toc_files(root: Path) -> list[Path]:
    """Every page listed in _toc.yml, as the source Sphinx builds (a chapter's ``.md``)."""
    return book_toc.pages(root)


def _checks(cells: list[dict]) -> dict[str, list[tuple[str, str]]]:
    """``label -> [(kind, detail)]`` from the ``✔`` lines in the stored stdout of code cells."""
    found: dict[str, list[tuple[str, str]]] = {}
    for cell in cells:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in "".join(output["text"]).splitlines():
                    parsed = classify(line)
                    if parsed:
                        found.setdefault(parsed[0], []).append(parsed[1:])
    return found


def read_chapter(path: Path) -> Chapter:
    """Labels defined in a page's Markdown and the checks its executed notebook printed.

    ``path`` is a MyST source (its notebook, if any, sits beside it) or a notebook.
    """
    chapter = Chapter(path)
    if path.suffix == ".md":
        text = path.read_text()
        chapter.labels = DOLLAR_LABEL.findall(text) + MATH_LABEL.findall(text)
        notebook = path.with_suffix(".ipynb")
        if notebook.exists():
            chapter.checks = _checks(json.loads(notebook.read_text())["cells"])
        return chapter
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            chapter.labels += DOLLAR_LABEL.findall(source) + MATH_LABEL.findall(source)
    chapter.checks = _checks(cells)
    return chapter


def ledger_rows(root: Path) -> list[tuple[Path, str, tuple[str, str] | None, Counter]]:
    """``(source, label, strongest (kind, detail) or None, count of checks per kind)`` per labelled equation."""
    rows = []
    for path in toc_files(root):
        chapter = read_chapter(path)
        for label in chapter.labels:
            rows.append((path, label, chapter.strongest(label), Counter(kind for kind, _ in chapter.checks.get(label, []))))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ledger_markdown(root: Path, page: Path) -> str:
    """The ledger as MyST Markdown, with links relative to ``page``."""
    rows = ledger_rows(root)
    per_kind = Counter(strongest[0] if strongest else "not checked" for _, _, strongest, _ in rows)
    lines = [f"The book has **{len(rows)} labelled equations**. By the strongest check each one has:", ""]
    lines += [f"- *{kind}*: {per_kind[kind]}" for kind in (*LEDGER_KINDS, "not checked") if per_kind[kind]]
    lines += ["", "| Equation | Chapter | Strongest check | All checks |", "|---|---|---|---|"]
    for path, label, strongest, counts in rows:
        doc = Path(os.path.relpath(path.with_suffix(""), page.parent)).as_posix()
        kind, detail = strongest if strongest else ("not checked", "")
        detail = "" if detail == "holds symbolically" else detail.removeprefix("holds symbolically ")
        every = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kn: LEDGER_KINDS.index(kn[0])))
        lines.append(f"| {{eq}}`{label}` | {{doc}}`{doc}` | *{kind}*{': ' + _cell(detail) if detail else ''} | {every} |")
    return "\n".join(lines) + "\n"


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from docutils.statemachine import StringList

    class VerificationLedger(Directive):
        has_content = False

        def run(self):
            env = self.state.document.settings.env
            root = Path(app.confdir)
            page = Path(env.doc2path(env.docname))
            for path in toc_files(root):
                if path.with_suffix(".ipynb").exists():
                    env.note_dependency(str(path.with_suffix(".ipynb")))
                env.note_dependency(str(path))
            container = nodes.container(classes=["verification-ledger"])
            self.state.nested_parse(
                StringList(ledger_markdown(root, page).splitlines(), source=str(page)), self.content_offset, container
            )
            return [container]

    app.add_directive("verification-ledger", VerificationLedger)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
