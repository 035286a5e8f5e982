"""Every labelled display equation in the book is machine-verified in its own chapter."""

from collections import Counter

from book_sources import coverage, read_chapter, toc_files


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
