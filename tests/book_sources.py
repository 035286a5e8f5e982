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
    """Every page listed in _toc.yml, as a path with its suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names += [ch["file"] for ch in part.get("chapters", [])]
    paths = []
    for name in names:
        matches = [ROOT / f"{name}{ext}" for ext in (".ipynb", ".md") if (ROOT / f"{name}{ext}").exists()]
        assert len(matches) == 1, f"_toc.yml entry {name!r} matches {matches}"
        paths.append(matches[0])
    return paths


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def read_chapter(path: Path) -> Chapter:
    chapter = Chapter(path)
    if path.suffix == ".md":
        text = path.read_text()
        chapter.labels = DOLLAR_LABEL.findall(text) + MATH_LABEL.findall(text)
        return chapter
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            chapter.labels += DOLLAR_LABEL.findall(source) + MATH_LABEL.findall(source)
        elif cell["cell_type"] == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stdout":
                    chapter.verified.update(VERIFIED.findall("".join(output["text"])))
    return chapter


def coverage() -> tuple[int, int, list[Chapter]]:
    """(verified labelled equations, labelled equations, chapters) over every page of the book."""
    chapters = [read_chapter(p) for p in toc_files()]
    total = sum(len(ch.labels) for ch in chapters)
    done = sum(1 for ch in chapters for label in ch.labels if label in ch.verified)
    return done, total, chapters
