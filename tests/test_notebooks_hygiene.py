"""Chapter notebooks are committed executed, listed in the table of contents, and self-contained."""

import json

import pytest

from book_sources import notebooks, toc_files


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    assert set(notebooks()) <= listed, f"not in _toc.yml: {sorted(set(notebooks()) - listed)}"


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
