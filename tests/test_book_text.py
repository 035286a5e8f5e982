"""The chapters' Markdown says what its author meant: no sentence turned into a list by a line break."""

from __future__ import annotations

import re
import subprocess

import pytest
from book_sources import ROOT, toc_files

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{([^}]+)\})?")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")
# directives whose body is Markdown (a proof, an exercise, a note); other fences hold code, math or raw text
_NOT_MARKDOWN = {"code-cell", "math", "raw", "index", "bibliography"}


def lines_that_start_a_list_mid_paragraph(text: str) -> list[tuple[int, str]]:
    """Lines "1. ..." directly under a paragraph's line, outside code and display math.

    In CommonMark an ordered list that starts at 1 may interrupt a paragraph, so a sentence
    wrapped just before "1." becomes "sentence" followed by a numbered list (the proof of
    (3.7) read "... is exactly" then "1. Hence ..."). Directives such as a proof or an
    exercise hold Markdown and are read; code cells, math and raw blocks are skipped.
    """
    found: list[tuple[int, str]] = []
    fences: list[tuple[str, bool]] = []  # the open fences: (marker, holds Markdown)
    in_math, previous = False, ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        fence = _FENCE.match(stripped)
        if fence and not in_math:
            marker, name = fence.group(1), fence.group(3)
            if fences and stripped == fences[-1][0][0] * len(stripped) and len(stripped) >= len(fences[-1][0]):
                fences.pop()
            else:
                markdown = name is not None and name.split()[0] not in _NOT_MARKDOWN
                fences.append((marker, markdown))
            previous = ""
            continue
        if fences and not fences[-1][1]:
            continue
        if stripped.startswith("$$"):
            if not (stripped.endswith("$$") and len(stripped) > 2 and stripped.count("$$") == 2):
                in_math = not in_math
            previous = ""
            continue
        if in_math:
            continue
        quiet = ("#", ">", "|", ":", "```")
        if re.match(r"^1[.)]\s", line) and previous.strip() and not _LIST_ITEM.match(previous):
            if not previous.lstrip().startswith(quiet):
                found.append((number, line))
        previous = line
    return found


@pytest.mark.parametrize("source", toc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_sentence_becomes_a_numbered_list(source):
    assert not lines_that_start_a_list_mid_paragraph(source.read_text()), source.name


def test_the_check_finds_the_proof_line_that_became_a_list():
    """At 35e80b8 the proof of (3.7) had a line "1. Hence the sum lies ..." under a paragraph line."""
    old = subprocess.run(["git", "show", "35e80b8:book/part1/softmax.md"], cwd=ROOT, capture_output=True, text=True)
    if old.returncode != 0:
        pytest.skip("the repository's history is not available (a shallow clone)")
    found = lines_that_start_a_list_mid_paragraph(old.stdout)
    assert [line for _, line in found] == [next(line for line in old.stdout.splitlines() if line.startswith("1. Hence"))]
    assert not lines_that_start_a_list_mid_paragraph("A paragraph.\n\n1. A real list\n2. of two items\n")
