"""The verification ledger: how every labelled equation of the book is checked.

The ``{verification-ledger}`` directive writes, at build time, every labelled
equation in the order of ``_toc.yml``, with counts per kind at the top, then one
collapsible block per chapter (a sphinx-design dropdown: ``<details>`` and
``<summary>`` in HTML, a heading and its table in the PDF). A block's summary names the
chapter and counts its equations by strongest check; its table, three columns narrow
enough for a phone, gives each equation's number as the reader sees it (an ``{eq}``
link), the strongest check its chapter's executed notebook printed, and all its
checks. The rows come from the ``✔`` lines of the committed, nbval-tested notebooks,
read with :func:`ce_lib.verify.classify`, so the page cannot drift from what was checked.

The same reader serves the coverage tests (``tests/book_sources.py``).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import book_toc

from ce_lib.verify import LEDGER_KINDS, classify

# where a long identifier in a row may wrap in HTML (binary_cross_entropy, reduction='mean'), so a table fits a phone
BREAK_AFTER = re.compile(r"(?<=[_=/])(?=\S)")
# `$$ ... $$ (label)` and a {math} directive's `:label: name`
DOLLAR_LABEL = re.compile(r"\$\$\s*\(([A-Za-z0-9_\-:.]+)\)")
MATH_LABEL = re.compile(r"```\{math\}[^`]*?:label:\s*([A-Za-z0-9_\-:.]+)", re.S)


def labels_in_order(text: str) -> list[str]:
    """The equation labels of a page's Markdown, ``$$ ... $$ (label)`` and ``{math}`` blocks alike, in the
    order they appear: the order in which the book numbers its equations."""
    found = sorted([*DOLLAR_LABEL.finditer(text), *MATH_LABEL.finditer(text)], key=lambda m: m.start())
    return [m.group(1) for m in found]


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
        chapter.labels = labels_in_order(text)
        notebook = path.with_suffix(".ipynb")
        if notebook.exists():
            chapter.checks = _checks(json.loads(notebook.read_text())["cells"])
        return chapter
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            chapter.labels += labels_in_order(source)
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


def _kinds(counts: Counter) -> list[tuple[str, int]]:
    """``(kind, count)`` for the kinds in ``counts``, strongest first, "not checked" last."""
    return [(kind, counts[kind]) for kind in (*LEDGER_KINDS, "not checked") if counts[kind]]


def _short(kind: str, n: int) -> str:
    """A kind's name for a summary line, after a count ``n``: "hand proof, each step checked" -> "hand proofs"."""
    name = kind.split(",")[0].removesuffix(" / convention")
    return name + "s" if n > 1 and name in ("hand proof", "cited result", "definition") else name


def ledger_markdown(root: Path, page: Path) -> str:
    """The ledger as MyST Markdown, with links relative to ``page``: the totals, then a block per chapter."""
    rows = ledger_rows(root)
    strongest_kind = {(path, label): strongest[0] if strongest else "not checked" for path, label, strongest, _ in rows}
    per_kind = Counter(strongest_kind.values())
    lines = [f"The book has **{len(rows)} labelled equations**. By the strongest check each one has:", ""]
    lines += [f"- *{kind}*: {n}" for kind, n in _kinds(per_kind)]
    numbered = {chapter.source: chapter for chapter in book_toc.chapters(root)}
    for path, group in groupby(rows, key=lambda row: row[0]):
        group = list(group)
        chapter = numbered.get(path)
        name = f"Chapter {chapter.number} {chapter.title}" if chapter else book_toc.title(path)
        kinds = Counter(strongest_kind[path, label] for _, label, _, _ in group)
        equations = f"{len(group)} equation{'s' if len(group) > 1 else ''}"
        summary = f"**{name}** — {equations}: " + ", ".join(f"{n} {_short(kind, n)}" for kind, n in _kinds(kinds))
        doc = Path(os.path.relpath(path.with_suffix(""), page.parent)).as_posix()
        lines += ["", f":::{{dropdown}} {summary}", ":class-container: ce-ledger-chapter", ":margin: 0 2 0 0"]
        lines += [":class-title: sd-font-weight-normal sd-py-1", ""]
        lines += [f"The equations of {{doc}}`{doc}`, in the order they appear:", ""]
        lines += ["| Eq. | Strongest check | All checks |", "|---|---|---|"]
        for _, label, strongest, counts in group:
            kind, detail = strongest if strongest else ("not checked", "")
            detail = "" if detail == "holds symbolically" else detail.removeprefix("holds symbolically ")
            every = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kn: LEDGER_KINDS.index(kn[0])))
            lines.append(f"| {{eq}}`{label}` | *{kind}*{': ' + _cell(detail) if detail else ''} | {every} |")
        lines += [":::"]
    return "\n".join(lines) + "\n"


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from docutils.statemachine import StringList
    from sphinx.transforms.post_transforms import SphinxPostTransform

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

    class BreakLongWords(SphinxPostTransform):
        """In HTML, a ``<wbr>`` after each ``_``, ``=`` and ``/`` inside a word of the ledger's tables, so that
        identifiers such as ``binary_cross_entropy`` may wrap and every table fits a phone's column."""

        default_priority = 400
        formats = ("html",)

        def run(self, **kwargs):
            for ledger in self.document.findall(nodes.container):
                if "verification-ledger" not in ledger["classes"]:
                    continue
                for text in [t for table in ledger.findall(nodes.table) for t in table.findall(nodes.Text)]:
                    parts = BREAK_AFTER.split(str(text))
                    if len(parts) > 1:
                        pieces = [nodes.Text(parts[0])]
                        for part in parts[1:]:
                            pieces += [nodes.raw("", "<wbr>", format="html"), nodes.Text(part)]
                        text.parent.replace(text, pieces)

    app.add_directive("verification-ledger", VerificationLedger)
    app.add_post_transform(BreakLongWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
