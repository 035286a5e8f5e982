"""Chapter notebooks are committed executed, listed in the table of contents, and self-contained."""

import json
import shutil

import chapters
import nbformat
import pytest
from book_sources import notebooks, toc_files


def test_every_notebook_has_a_source_in_the_toc():
    listed = {p.with_suffix(".ipynb") for p in toc_files()}
    assert set(notebooks()) <= listed, f"notebooks without a source in _toc.yml: {sorted(set(notebooks()) - listed)}"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_is_committed_executed_in_order(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, f"{path.name}: a code cell was never executed"
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not executed top to bottom in one fresh kernel"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name}: stores an error output"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_figures_have_caption_name_and_alt_text(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        has_image = any("image/png" in o.get("data", {}) for o in cell["outputs"])
        if has_image:
            meta = cell["metadata"].get("mystnb", {})
            assert meta.get("figure", {}).get("caption"), f"{path.name}: a figure without a caption"
            assert meta.get("figure", {}).get("name"), f"{path.name}: a figure without a name"
            assert meta.get("image", {}).get("alt"), f"{path.name}: a figure without alt text"


@pytest.mark.parametrize("source", chapters.sources(), ids=lambda p: p.name)
def test_notebook_cells_match_their_source(source):
    """The committed notebook was generated from the current source: same cells, same metadata."""
    problems = chapters.differences(source)
    assert not problems, "\n".join(problems) + "\nRegenerate with `make notebooks`."


def test_the_source_check_sees_an_edited_sentence_and_a_missing_notebook(tmp_path):
    source = chapters.sources()[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    shutil.copy(source.with_suffix(".ipynb"), copy.with_suffix(".ipynb"))
    assert chapters.differences(copy) == []
    text = copy.read_text()
    copy.write_text(text.replace("chapter", "chapter (edited)", 1))
    assert any("source differs" in p for p in chapters.differences(copy))
    copy.with_suffix(".ipynb").unlink()
    assert any("missing" in p for p in chapters.differences(copy))


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_carries_no_volatile_metadata(path):
    """Re-executing an unchanged chapter must change no byte: no timings, no Python version, derived ids."""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata == {"kernelspec": chapters.KERNELSPEC, "language_info": chapters.LANGUAGE_INFO}
    for cell in nb.cells:
        assert set(cell.metadata) <= set(chapters.KEPT_CELL_METADATA), f"{path.name}: cell metadata {set(cell.metadata)}"
    assert [c.id for c in nb.cells] == [c.id for c in chapters.read_source(path.with_suffix(".md")).cells]
    assert path.read_text() == nbformat.writes(nb) + "\n", f"{path.name} is not in the tool's canonical form"
