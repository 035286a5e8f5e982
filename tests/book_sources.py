"""Read the book's sources: chapters, labelled equations and the checks their notebooks printed.

The reading itself lives in the book's ``verification_ledger`` extension, so the
ledger page and these tests cannot disagree about what was checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
sys.path.insert(0, str(BOOK / "_ext"))

import book_toc  # noqa: E402
from verification_ledger import SOUND_KINDS, Chapter, ledger_rows, read_chapter  # noqa: E402,F401


def toc_files() -> list[Path]:
    """Every page listed in _toc.yml, as the source Sphinx builds (a chapter's ``.md``, not its notebook)."""
    return book_toc.pages(ROOT)


def chapter_sources() -> list[Path]:
    """The numbered chapters' sources, in order (``book_toc.chapters``)."""
    return [chapter.source for chapter in book_toc.chapters(ROOT)]


def notebooks() -> list[Path]:
    """The executed chapter notebooks (generated from the sources, compared by nbval)."""
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def chapter_title(path: Path) -> str:
    """The text of a page's first level-1 heading."""
    return book_toc.title(path)


def equation_numbers() -> dict[str, str]:
    """``label -> "n.k"``: the number of each labelled equation, read from the sources, the k-th labelled
    equation of the n-th numbered chapter. The HTML (tests/test_citation.py) and the PDF editions
    (tests/test_pdf.py) are each compared with it, so they agree with each other without one build
    having to wait for the other."""
    return {
        label: f"{n}.{k}"
        for n, source in enumerate(chapter_sources(), start=1)
        for k, label in enumerate(read_chapter(source).labels, start=1)
    }


def coverage() -> tuple[int, int, list[Chapter]]:
    """(verified labelled equations, labelled equations, chapters) over every page of the book."""
    chapters = [read_chapter(p) for p in toc_files()]
    total = sum(len(ch.labels) for ch in chapters)
    done = sum(1 for ch in chapters for label in ch.labels if label in ch.verified)
    return done, total, chapters
