"""What the preface promises about the chapters: each solution checks its answer in code, and most equations are derived in general."""

from __future__ import annotations

import re

import pytest
from book_sources import chapter_sources

SOLUTION = re.compile(r"^```\{solution-start\}.*?^```\{solution-end\}", re.S | re.M)
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)
# an assertion, or a ce_lib.verify call that asserts (verify.definition and verify.cited declare, they do not check)
CHECK = re.compile(r"^\s*assert\b|\bverify\.(?:stated|identity|identities|hand_proof|numerically|on_grid|close|limit)\(", re.M)


def solutions_without_a_check(text: str) -> list[int]:
    """The numbers (from 1) of the solutions whose code cells assert nothing."""
    return [
        number
        for number, block in enumerate(SOLUTION.findall(text), start=1)
        if not any(CHECK.search(code) for code in CODE_CELL.findall(block))
    ]


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.stem)
def test_every_solution_checks_its_answer_in_code(source):
    text = source.read_text()
    assert SOLUTION.findall(text), f"{source.name} has no solution"
    assert not solutions_without_a_check(text), f"{source.name}: solutions that assert nothing"


def test_a_solution_that_only_prints_is_seen():
    text = (
        "```{solution-start} ex-a\n:class: dropdown\n```\n\nThe answer is 2.\n\n"
        "```{code-cell}\nprint(1 + 1)\n```\n\n```{solution-end}\n```\n\n"
        "```{solution-start} ex-b\n:class: dropdown\n```\n\n"
        "```{code-cell}\nassert 1 + 1 == 2\n```\n\n```{solution-end}\n```\n"
    )
    assert solutions_without_a_check(text) == [1]


def test_most_labelled_equations_are_derived_in_general():
    """The preface: "most equations are derived symbolically for a general number of classes"."""
    from book_sources import ROOT, ledger_rows

    kinds = [strongest[0] if strongest else None for _, _, strongest, _ in ledger_rows(ROOT)]
    assert kinds.count("derived in general") > len(kinds) / 2, kinds
