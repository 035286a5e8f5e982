"""Read the book's sources: chapters, labelled equations and the labels their notebooks verified."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# `$$ ... $$ (label)` and a {math} directive's `:label: name`
DOLLAR_LABEL = re.compile(r"\$\$\s*\(([A-Za-z0-9_\-:.]+)\)")
MATH_LABEL = re.compile(r"```\{math\}[^`]*?:label:\s*([A-Za-z0-9_\-:.]+)", re.S)
# the line ce_lib.verify prints for every passed check
VERIFIED = re.compile(r"^✔ \(([A-Za-z0-9_\-:.]+)\)", re.M)


@dataclass
class Chapter:
    path: Path
    labels: list[str] = field(default_factory=list)
    verified: set[str] = field(default_factory=set)


def toc_files() -> list[Path]:
    """Every page listed in _toc.yml, as the source Sphinx builds (a chapter's ``.md``, not its notebook)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names += [ch["file"] for ch in part.get("chapters", [])]
    paths = []
    for name in names:
        source = ROOT / f"{name}.md"
        assert source.exists(), f"_toc.yml entry {name!r} has no Markdown source {source.name}"
        paths.append(source)
    return paths


def notebooks() -> list[Path]:
    """The executed chapter notebooks (generated from the sources, compared by nbval)."""
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def chapter_title(path: Path) -> str:
    """The text of a page's first level-1 heading."""
    fence = False
    for line in path.read_text().splitlines():
        fence ^= line.startswith("```")
        if not fence and line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{path.name} has no level-1 heading")


def _verified_lines(cells: list[dict]) -> set[str]:
    """Labels named by the ``✔ (label)`` lines in the stored stdout of code cells."""
    found: set[str] = set()
    for cell in cells:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                found.update(VERIFIED.findall("".join(output["text"])))
    return found


def read_chapter(path: Path) -> Chapter:
    """Labels defined in a page's Markdown and the labels its executed notebook verified.

    ``path`` is a MyST source (its notebook, if any, sits beside it) or a notebook.
    """
    chapter = Chapter(path)
    if path.suffix == ".md":
        chapter.labels = DOLLAR_LABEL.findall(path.read_text()) + MATH_LABEL.findall(path.read_text())
        notebook = path.with_suffix(".ipynb")
        if notebook.exists():
            chapter.verified = _verified_lines(json.loads(notebook.read_text())["cells"])
        return chapter
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            chapter.labels += DOLLAR_LABEL.findall(source) + MATH_LABEL.findall(source)
    chapter.verified = _verified_lines(cells)
    return chapter


def coverage() -> tuple[int, int, list[Chapter]]:
    """(verified labelled equations, labelled equations, chapters) over every page of the book."""
    chapters = [read_chapter(p) for p in toc_files()]
    total = sum(len(ch.labels) for ch in chapters)
    done = sum(1 for ch in chapters for label in ch.labels if label in ch.verified)
    return done, total, chapters
