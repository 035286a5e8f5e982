"""One notation: every symbol of a labelled equation is in the notation table or declared in its chapter.

The book's labelled display equations (``$$ ... $$ (eq-name)`` and ``{math}`` blocks with a
``:label:``) in the chapters ``book_toc.chapters`` lists are read as LaTeX and split into
symbols: single Latin letters, Greek letters (``\\alpha``, ``\\ell``), calligraphic letters
(``\\mathcal{L}``) and accented letters (``\\hat{y}``). Words set in ``\\operatorname``,
``\\mathrm``, ``\\text`` or ``\\mathbb`` (``softmax``, ``KL``, ``MAP``, the expectation
``\\mathbb E``) are names, not symbols, and are dropped; so is the ``d`` of a derivative
``\\frac{d}{d\\beta}`` or of an integral's ``dx``. Letters in subscripts (indices such as the
``k`` of ``q_k`` or the ``T`` of ``p_T``) are symbols like any other and are checked too.
An unknown LaTeX command is an error, not a silent pass, so that a new command cannot hide
a symbol from the check.

A symbol passes when it is in the first column of ``book/notation.md``'s table, or when the
chapter's prose declares it: ``where $X$ is …``, ``$X$ denotes …``, ``$X$ is the …``,
``with $X$ the …``, ``In this chapter $X$ …``, or an inline definition ``$X = …$`` whose
right-hand side has a symbol. A hat or a bar on a letter of the table passes too (the table
states that convention); a tilde does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from book_sources import BOOK, ROOT, chapter_sources

NOTATION = BOOK / "notation.md"

GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho "
    "varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi "
    "Psi Omega ell".split()
)
# \mathcal{L} is a symbol of its own; \mathbf{x} and \boldsymbol{x} are the letter x
SCRIPTS = frozenset({"mathcal", "mathscr", "mathfrak"})
BOLD = frozenset({"mathbf", "boldsymbol", "bm", "mathit"})
# names and environment words: the command and its argument are dropped
NAMES = frozenset(
    {"operatorname", "mathrm", "text", "textrm", "textit", "textbf", "mathsf", "mathtt", "mathbb", "label", "tag",
     "begin", "end"}
)  # fmt: skip
ACCENTS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde", "widetilde": "tilde",
           "dot": "dot", "ddot": "ddot", "vec": "vec", "check": "check", "breve": "breve"}  # fmt: skip
# accents that the notation page lets a reader resolve from the letter underneath
READ_THROUGH = frozenset({"hat", "bar"})
# operators, relations, delimiters and spacing: not symbols
OPERATORS = frozenset(
    """frac dfrac tfrac sum prod int oint lim limsup liminf max min sup inf arg argmax argmin log ln lg exp sin cos
    tan tanh sinh cosh sqrt det left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr middle quad qquad le
    leq ge geq ne neq to infty dots ldots cdots vdots ddots cdot times div pm mp approx sim simeq cong equiv propto
    in notin ni subset subseteq supset cup cap setminus emptyset mid vert lvert rvert Vert lVert rVert top intercal
    partial nabla iff implies Rightarrow rightarrow Leftarrow leftarrow leftrightarrow mapsto gets succeq preceq
    succ prec ll gg otimes oplus odot circ underbrace overbrace underset overset stackrel substack mathop
    displaystyle textstyle scriptstyle forall exists neg land lor colon langle rangle lfloor rfloor lceil rceil
    hline prime star ast bullet coloneqq nolimits limits phantom quad enspace hfill""".split()
)
# the d of a derivative, d/d beta or d^2/d beta^2, and of an integral's "\, dx"
DERIVATIVE = re.compile(r"\\([dt]?frac)\{d(\^\{?\d+\}?)?\}\{d")
INTEGRAL_D = re.compile(r"(\\,\s*)d(?=[a-z]\b)")

# a labelled display equation: `$$ ... $$ (label)`; a {math} directive with `:label:`
DOLLAR_CLOSE = re.compile(r"\s*\(([A-Za-z0-9_\-:.]+)\)")
FENCE = re.compile(r"^(`{3,})(\{[^}]*\}|[\w-]*)\s*(.*)$")


class UnknownCommand(ValueError):
    pass


def _argument(latex: str, pos: int) -> tuple[str, int]:
    """The argument starting at ``pos`` (after spaces): a ``{...}`` group, a command, or one character."""
    while pos < len(latex) and latex[pos] == " ":
        pos += 1
    if pos >= len(latex):
        return "", pos
    if latex[pos] == "{":
        depth = 0
        for end in range(pos, len(latex)):
            depth += {"{": 1, "}": -1}.get(latex[end], 0)
            if depth == 0:
                return latex[pos + 1 : end], end + 1
        raise ValueError(f"unbalanced braces in {latex!r}")
    command = re.match(r"\\[A-Za-z]+", latex[pos:])
    if command:
        return command.group(0), pos + command.end()
    return latex[pos], pos + 1


def _scan(latex: str) -> list[tuple[str, int, int]]:
    """``(symbol, start, end)`` for each symbol of ``latex``, in order (``start`` is where its command begins)."""
    latex = INTEGRAL_D.sub(r"\1", DERIVATIVE.sub(r"\\\1{\2}{", latex))
    found: list[tuple[str, int, int]] = []
    pos = 0
    while pos < len(latex):
        begin, char = pos, latex[pos]
        if char == "\\":
            command = re.match(r"\\([A-Za-z]+)\*?", latex[pos:])
            if not command:  # \, \; \| \{ and the like
                pos += 2
                continue
            name, end = command.group(1), pos + command.end()
            if name in NAMES:
                _, pos = _argument(latex, end)
            elif name in SCRIPTS:
                argument, pos = _argument(latex, end)
                found += [(f"\\{name}{{{letter}}}", begin, pos) for letter in re.findall(r"[A-Za-z]", argument)]
            elif name in BOLD:
                argument, pos = _argument(latex, end)
                found += [(symbol, begin, pos) for symbol, _, _ in _scan(argument)]
            elif name in ACCENTS:
                argument, pos = _argument(latex, end)
                inner = [symbol for symbol, _, _ in _scan(argument)]
                accent = ACCENTS[name]
                found += [(f"\\{accent}{{{inner[0]}}}", begin, pos)] if len(inner) == 1 else [(s, begin, pos) for s in inner]
            elif name in GREEK:
                found.append((f"\\{name}", begin, end))
                pos = end
            elif name in OPERATORS:
                pos = end
            else:
                raise UnknownCommand(f"unknown LaTeX command \\{name} in {latex!r}: say in tests/test_notation.py what it is")
        elif char.isascii() and char.isalpha():
            found.append((char, begin, pos + 1))
            pos += 1
        else:
            pos += 1
    return found


def symbols(latex: str) -> set[str]:
    """The symbols of a LaTeX formula (see the module docstring)."""
    return {symbol for symbol, _, _ in _scan(latex)}


def _subject(latex: str, whole: bool = False) -> set[str]:
    """The symbol a formula starts with, with the letters of its sub- and superscripts: ``q_{T,i}`` gives q, T, i.

    Empty when the formula does not start with a symbol (``\\frac``, a number, an operator name), and,
    with ``whole``, when anything but the symbol and its scripts follows.
    """
    text = latex.strip()
    scanned = _scan(text)
    if not scanned or scanned[0][1] != 0:
        return set()  # something (an operator, a number) comes first
    first, _, pos = scanned[0]
    found = {first}
    while pos < len(text) and text[pos] in "_^'":
        if text[pos] == "'":
            pos += 1
            continue
        argument, pos = _argument(text, pos + 1)
        found |= symbols(argument)
    if whole and text[pos:].strip():
        return set()
    return found


def _top_level(latex: str, separator: str) -> list[str]:
    """``latex`` split at ``separator`` outside braces and parentheses."""
    pieces, depth, last = [], 0, 0
    for pos, char in enumerate(latex):
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(char, 0)
        if char == separator and depth == 0:
            pieces.append(latex[last:pos])
            last = pos + 1
    return [*pieces, latex[last:]]


def split_source(text: str) -> tuple[list[tuple[str, str]], str, list[str]]:
    """``([(label, latex), ...], prose, displays)`` of a MyST chapter.

    Code cells and code blocks are dropped; the labelled display equations are returned, the
    prose keeps everything else but display math (so inline ``$...$`` stays in it), and
    ``displays`` holds every display formula, labelled or not.
    """
    prose_lines, equations = [], []
    stack: list[tuple[str, str]] = []  # (backticks, kind) of the open fences
    math: list[str] = []
    math_label = None
    displays: list[str] = []
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fence and stack and not fence.group(2) and len(fence.group(1)) >= len(stack[-1][0]):
            _, kind = stack.pop()
            if kind == "math":
                displays.append("\n".join(math))
                if math_label:
                    equations.append((math_label, "\n".join(math)))
                math, math_label = [], None
            continue
        if stack and stack[-1][1] in ("code", "math"):
            if stack[-1][1] == "math":
                option = re.match(r"\s*:label:\s*(\S+)", line)
                if option:
                    math_label = option.group(1)
                elif not re.match(r"\s*:\w+:", line):
                    math.append(line)
            continue
        if fence:
            directive = fence.group(2)
            if directive == "{math}":
                stack.append((fence.group(1), "math"))
                if fence.group(3):
                    math.append(fence.group(3))
            elif directive in ("{code-cell}", "{raw}", "{code-block}", "{code}") or not directive.startswith("{"):
                stack.append((fence.group(1), "code"))
            else:
                stack.append((fence.group(1), "prose"))
            continue
        prose_lines.append(line)
    prose = "\n".join(prose_lines)
    # display math: pair the $$ in order; a closing one followed by (label) makes a labelled equation
    kept, pos = [], 0
    marks = [m.start() for m in re.finditer(r"\$\$", prose)]
    for opening, closing in zip(marks[::2], marks[1::2]):
        kept.append(prose[pos:opening])
        displays.append(prose[opening + 2 : closing])
        label = DOLLAR_CLOSE.match(prose, closing + 2)
        if label:
            equations.append((label.group(1), prose[opening + 2 : closing]))
            pos = label.end()
        else:
            pos = closing + 2
    kept.append(prose[pos:])
    return equations, " ".join(kept), displays


VERB_AFTER = re.compile(
    r"\s*,?\s*(?:(?:is|are|be|denotes?|stands?\s+for|means?|names?|for)\s+(?:the|a|an|its|their|one|each|how|what)\b"
    r"|(?:denotes?|stands?\s+for)\b)",
    re.I,
)
INTRO_BEFORE = re.compile(r"\b(?:where|with|let|writing|write|call|calling|here)\s*$", re.I)
AFTER_INTRO = re.compile(r"\s*,?\s*(?:is|are|be|denotes?|stands?\s+for|means?|for|the|a|an)\b", re.I)
THIS_BEFORE = re.compile(r"\bin\s+this\s+(?:chapter|section|exercise|proof|example|solution),?\s*$", re.I)
DEFINITION_CUE = re.compile(
    r"(?:\b(?:where|with|write|writing|let|set|setting|define|defining|denote|denoting|call|calling|here|namely|say"
    r"|i\.e\.|that\s+is)\s*|\(\s*)$",
    re.I,
)
INLINE_MATH = re.compile(r"(?<![\\$])\$([^$]+)\$")
DEFINES = re.compile(r"(?::=|\\coloneqq|\\equiv|=)")


def declared(prose: str) -> set[str]:
    """The symbols the prose declares (see the module docstring for the forms it accepts)."""
    found: set[str] = set()
    for match in INLINE_MATH.finditer(prose):
        try:
            found |= _declared_by(match, prose)
        except UnknownCommand:  # prose math the reader does not know declares nothing
            continue
    return found


def _defined(latex: str) -> set[str]:
    """The symbol a definition ``X = ...`` or ``X(args) = ...`` defines, if ``latex`` is one; else nothing."""
    definition = DEFINES.search(latex)
    if not definition:
        return set()
    left, right = latex[: definition.start()].strip(), latex[definition.end() :]
    if left.endswith(")") and "(" in left:  # f(x, y) = ...: the function is defined
        left = left[: left.index("(")]
    return _subject(left, whole=True) if symbols(right) else set()  # "$T = 1$" sets a value, it defines nothing


def _declared_by(match: re.Match[str], prose: str) -> set[str]:
    """The symbols one inline formula of the prose declares."""
    latex = match.group(1)
    before, after = prose[max(0, match.start() - 40) : match.start()], prose[match.end() : match.end() + 40]
    cue = VERB_AFTER.match(after) or (INTRO_BEFORE.search(before) and AFTER_INTRO.match(after)) or THIS_BEFORE.search(before)
    if cue:
        return {symbol for piece in _top_level(latex, ",") for symbol in _subject(piece)}
    return _defined(latex) if DEFINITION_CUE.search(before) else set()


def defined_in_display(latex: str) -> set[str]:
    """The symbols a display formula defines: a piece ``X = ...`` at its start or after a ``\\qquad``, ``\\quad`` or comma."""
    found: set[str] = set()
    for segment in re.split(r"\\qquad|\\quad", latex):
        for piece in _top_level(segment, ","):
            try:
                found |= _defined(piece)
            except UnknownCommand:
                continue
    return found


def table_symbols(page: Path = NOTATION) -> set[str]:
    """The symbols in the first column of the notation page's table(s)."""
    return {symbol for key in table_rows(page) for symbol in symbols(key)}


def table_rows(page: Path = NOTATION) -> list[str]:
    """The first cell of each row of the page's tables (header and rule excluded)."""
    cells = []
    for line in page.read_text().splitlines():
        if line.startswith("|") and not re.match(r"\|\s*-{3}", line):
            cells.append(re.split(r"(?<!\\)\|", line)[1].strip())
    return [cell for cell in cells if cell != "Symbol"]


def row_clashes(page: Path = NOTATION) -> list[tuple[str, str, str]]:
    """``(symbol, first row, second row)`` for each symbol of the first column that has two rows.

    An index subscript does not make a new symbol: ``w_k`` and ``w_c`` are the same letter, indexed by class.
    """
    seen: dict[str, str] = {}
    clashes = []
    for row in table_rows(page):
        for math in INLINE_MATH.findall(row):
            for piece in _top_level(math, ","):
                key = re.sub(r"_\{?[ijkmcn]\}?$", "_•", re.sub(r"\s+", "", piece))
                if key in seen and seen[key] != row:
                    clashes.append((piece.strip(), seen[key], row))
                seen.setdefault(key, row)
    return clashes


def undeclared(source: Path | str, table: set[str]) -> list[tuple[str, str]]:
    """``(label, symbol)`` for each symbol of a labelled equation that is neither in ``table`` nor declared."""
    text = source.read_text() if isinstance(source, Path) else source
    equations, prose, displays = split_source(text)
    known = table | declared(prose) | {symbol for latex in displays for symbol in defined_in_display(latex)}
    missing = []
    for label, latex in equations:
        for symbol in sorted(symbols(latex)):
            accent = re.match(r"\\(\w+)\{(.+)\}$", symbol)
            if symbol in known or (accent and accent.group(1) in READ_THROUGH and accent.group(2) in known):
                continue
            missing.append((label, symbol))
    return missing


# ---------------------------------------------------------------------------------------------
# the book


def test_the_notation_table_is_read():
    table = table_symbols()
    assert {"C", "s", "q", "p", "T", "\\sigma", "\\mathcal{L}", "\\hat{y}", "\\tilde{X}"} <= table
    assert "\\mathbb{E}" not in table and "K" in table


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.stem)
def test_every_symbol_of_a_labelled_equation_is_in_the_table_or_declared(source):
    equations, _, _ = split_source(source.read_text())
    assert equations, f"{source.name}: no labelled equation found (is the reader out of date?)"
    missing = undeclared(source, table_symbols())
    assert not missing, (
        f"{source.relative_to(ROOT)}: symbols neither in book/notation.md nor declared in the chapter "
        f"('where $X$ is ...'): {missing}"
    )


def test_each_symbol_has_one_row_in_the_table():
    """The table is consistent with itself: a symbol (with an index subscript or none) has one row,
    so all its meanings, book-wide and local, are stated in one place. ``w_k`` and ``w_c`` are one symbol."""
    assert not row_clashes(), f"symbols with two rows in book/notation.md: {row_clashes()}"


def test_every_labelled_equation_is_found():
    """The reader finds the same labelled equations as the verification ledger does."""
    from book_sources import read_chapter

    for source in chapter_sources():
        equations, _, _ = split_source(source.read_text())
        assert sorted(label for label, _ in equations) == sorted(read_chapter(source).labels), source.name


# ---------------------------------------------------------------------------------------------
# the check can fail


CHAPTER = """
# A chapter

The gap is large.

$$
q_1 = \\sigma(\\varpi) , \\qquad q_k = \\operatorname{softmax}(s)_k .
$$ (eq-gap)

```{code-cell}
# where $g$ is the code's own variable: not prose
x = 1
```
"""


def test_a_symbol_absent_from_the_table_and_undeclared_is_rejected():
    table = table_symbols()
    assert "\\varpi" not in table
    assert undeclared(CHAPTER, table) == [("eq-gap", "\\varpi")]
    # a mention, or an equation in passing, does not declare it
    for sentence in ("The gap $\\varpi$ is large.", "It vanishes when $\\varpi = s_1$ does.", "At $\\varpi = 2$ it is large."):
        assert undeclared(CHAPTER.replace("The gap is large.", sentence), table) == [("eq-gap", "\\varpi")], sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "Here the gap is $\\varpi$, where $\\varpi$ is the difference of the scores.",
        "The difference $\\varpi$ denotes the gap.",
        "In this chapter $\\varpi$ is a gap.",
        "Write $\\varpi = s_1 - s_2$ for the gap.",
        "The gap is large.\n\n$$\n\\varpi(s) = s_1 - s_2\n$$\n",
    ],
)
def test_a_declaration_in_the_prose_is_accepted(sentence):
    assert undeclared(CHAPTER.replace("The gap is large.", sentence), table_symbols()) == []


def test_a_latin_letter_and_a_math_directive_are_checked_too():
    chapter = (
        "# A chapter\n\n```{math}\n:label: eq-g\nq_1 = M(s) + \\varsigma\\, s\n```\n\nThe value $\\varsigma = 2$ is fixed.\n"
    )
    assert "M" not in table_symbols()
    assert undeclared(chapter, table_symbols()) == [("eq-g", "M"), ("eq-g", "\\varsigma")]  # a number does not define


def test_the_reader_of_latex():
    assert symbols(r"\operatorname{softmax}(s + a\,\mathbf{1})_k") == {"s", "a", "k"}
    assert symbols(r"D_{\mathrm{KL}}(p \,\|\, q) = \mathbb E_q[\log q]") == {"D", "p", "q"}
    assert symbols(r"\hat\theta_{\text{MAP}} + \bar S_{\log}(q, p) + \tilde X") == {
        "\\hat{\\theta}", "\\bar{S}", "q", "p", "\\tilde{X}"
    }  # fmt: skip
    assert symbols(r"\frac{d}{d\beta} f + \int p(x)\, dx + \mathcal L") == {"\\beta", "f", "p", "x", "\\mathcal{L}"}
    with pytest.raises(UnknownCommand):
        symbols(r"\varkappa + 1")
    assert _subject(r"q_{T,i} = 1") == {"q", "T", "i"}
    assert _subject(r"\frac{1}{2}") == set()


def test_a_hat_reads_through_but_a_tilde_does_not():
    table = {"q", "s"}
    chapter = "$$\n\\hat q + \\tilde s\n$$ (eq-a)\n"
    assert undeclared(chapter, table) == [("eq-a", "\\tilde{s}")]


def test_the_one_row_rule_sees_a_second_row(tmp_path):
    page = tmp_path / "notation.md"
    page.write_text("| Symbol | Meaning |\n| --- | --- |\n| $w_k, b_k$ | weights of class $k$ |\n| $w_c$ | a class weight |\n")
    assert [clash[0] for clash in row_clashes(page)] == ["w_c"]
    page.write_text(
        "| Symbol | Meaning |\n| --- | --- |\n| $w_k, b_k$ | weights of class $k$ |\n| $\\omega_c$ | a class weight |\n"
    )
    assert row_clashes(page) == []
