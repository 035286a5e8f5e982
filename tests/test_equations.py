"""Every labelled display equation in the book has a check line in its own chapter: a derivation, a cited result checked numerically, or a declared definition."""

from collections import Counter

from book_sources import ROOT, SOUND_KINDS, coverage, ledger_rows, read_chapter, toc_files


def test_every_labelled_equation_is_verified():
    done, total, chapters = coverage()
    missing = [f"{ch.path.name}: {label}" for ch in chapters for label in ch.labels if label not in ch.verified]
    assert total > 0, "the book has no labelled equations at all"
    assert not missing, f"{done}/{total} labelled equations verified; not verified: {missing}"


def test_verifications_name_existing_labels():
    for chapter in map(read_chapter, toc_files()):
        unknown = chapter.verified - set(chapter.labels)
        assert not unknown, f"{chapter.path.name} verifies labels it does not define: {sorted(unknown)}"


def test_labels_are_unique_across_the_book():
    counts = Counter(label for p in toc_files() for label in read_chapter(p).labels)
    assert not [k for k, v in counts.items() if v > 1], f"labels defined twice: {[k for k, v in counts.items() if v > 1]}"


def test_the_counter_sees_a_missing_verification(tmp_path):
    """The check above can fail: a chapter with an unverified label is reported as such."""
    nb = tmp_path / "chapter.ipynb"
    nb.write_text(
        '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["$$ a = b $$ (eq-a)\\n", "$$ c = d $$ (eq-c)"]},'
        ' {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["x"],'
        '  "outputs": [{"output_type": "stream", "name": "stdout", "text": ["✔ (eq-a) holds symbolically\\n"]}]}],'
        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    chapter = read_chapter(nb)
    assert chapter.labels == ["eq-a", "eq-c"]
    assert chapter.verified == {"eq-a"}


def test_every_labelled_equation_is_derived_or_declared_a_definition():
    """A numerical check alone does not make an equation derived: it needs a symbolic one, or to be declared a definition."""
    weak = [
        f"{path.name}: {label} ({strongest[0]})"
        for path, label, strongest, _ in ledger_rows(ROOT)
        if strongest is not None and strongest[0] not in SOUND_KINDS
    ]
    assert not weak, f"equations checked only numerically (derive them, or declare a definition): {weak}"
    unchecked_citations = [
        f"{path.name}: {label}"
        for path, label, strongest, counts in ledger_rows(ROOT)
        if strongest is not None
        and strongest[0] == "cited result, checked numerically"
        and counts["checked numerically"] + counts["checked against mpmath"] == 0
    ]
    assert not unchecked_citations, f"cited results must also be checked numerically: {unchecked_citations}"


def test_the_soundness_rule_rejects_a_numeric_only_equation(tmp_path):
    """The rule above can fail: an equation with only a grid check is not derived."""
    nb = tmp_path / "chapter.ipynb"
    nb.write_text(
        '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["$$ a = b $$ (eq-a)\\n", "$$ c = d $$ (eq-c)"]},'
        ' {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["x"],'
        '  "outputs": [{"output_type": "stream", "name": "stdout", "text": ["✔ (eq-a) a claim: holds at all 9 grid points\\n",'
        '  "✔ (eq-c) definition: c\\n"]}]}],'
        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    chapter = read_chapter(nb)
    assert chapter.strongest("eq-a")[0] not in SOUND_KINDS
    assert chapter.strongest("eq-c")[0] in SOUND_KINDS
    assert chapter.strongest("eq-a")[0] == "checked numerically"
