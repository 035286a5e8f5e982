"""The book's table of contents, read in one place, with the parser Jupyter Book itself uses.

Every test and tool that needs "the pages", "the chapters" or "the executed pages"
asks this module, so there is one definition of each:

- :func:`pages`: every page ``_toc.yml`` lists, in reading order, as the MyST source Sphinx builds;
- :func:`chapters`: the numbered chapters (the pages of the parts marked ``numbered``),
  with their number as the reader sees it and their title;
- :func:`executed_pages`: the pages that declare a Jupyter kernel, so have an executed notebook
  beside them (the numbered chapters and the numerics report card).

``_toc.yml`` is parsed by ``sphinx_external_toc`` (the parser behind Jupyter Book v1's
``jb-book`` format), never walked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str
    source: Path

    @property
    def stem(self) -> str:
        return self.source.stem


def _site_map(root: Path):
    return parse_toc_yaml(root / "_toc.yml")


def _source(root: Path, docname: str) -> Path:
    """The file Sphinx builds for ``docname``: its MyST source, or a notebook that has none."""
    for suffix in (".md", ".ipynb"):
        source = root / f"{docname}{suffix}"
        if source.exists():
            return source
    raise FileNotFoundError(f"_toc.yml entry {docname!r} has no source ({docname}.md)")


def pages(root: Path = ROOT) -> list[Path]:
    """Every page listed in ``_toc.yml``, in reading order, as its MyST source (a chapter's ``.md``)."""
    site = _site_map(root)
    names = [site.root.docname]
    for tree in site.root.subtrees:
        names += [str(item) for item in tree.items]
    return [_source(root, name) for name in names]


def title(source: Path) -> str:
    """The text of a page's first level-1 heading (outside code fences)."""
    fence = False
    for line in source.read_text().splitlines():
        fence ^= line.startswith("```")
        if not fence and line.startswith("# "):
            return line[2:].strip()
    raise ValueError(f"{source.name} has no level-1 heading")


def chapters(root: Path = ROOT) -> list[Chapter]:
    """The numbered chapters, numbered on through the book as the HTML and PDF number them."""
    site = _site_map(root)
    found: list[Chapter] = []
    for tree in site.root.subtrees:
        if tree.numbered:
            for item in tree.items:
                source = _source(root, str(item))
                found.append(Chapter(len(found) + 1, title(source), source))
    return found


def declares_kernel(source: Path) -> bool:
    """True for a MyST page whose front matter names a Jupyter kernel (an executable page)."""
    text = source.read_text()
    return text.startswith("---\n") and "kernelspec:" in text.split("\n---", 1)[0]


def executed_pages(root: Path = ROOT) -> list[Path]:
    """The pages that are executed (they declare a kernel): each has its notebook beside it."""
    return [p for p in pages(root) if p.suffix == ".md" and declares_kernel(p)]
