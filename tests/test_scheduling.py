"""The xdist work units (tests/conftest.py): what must share a worker does, the rest spreads."""

from types import SimpleNamespace

import conftest
import pytest
from conftest import _scope, pytest_collection_modifyitems


def test_a_notebooks_cells_share_one_unit_and_notebooks_do_not():
    assert _scope("../tmp/x/softmax/softmax.ipynb::Cell 3") == _scope("../tmp/x/softmax/softmax.ipynb::Cell 9")
    assert _scope("../tmp/x/softmax/softmax.ipynb::Cell 3") != _scope("../tmp/x/gradients/gradients.ipynb::Cell 3")


def test_the_books_tests_share_one_unit_and_the_pdfs_another():
    assert {_scope("tests/test_build.py::test_a"), _scope("tests/test_reader.py::test_b[x]")} == {"book"}
    assert _scope("tests/test_citation.py::test_c") == "book"
    assert _scope("tests/test_pdf.py::test_d") == "pdf"


def test_other_tests_are_units_of_their_own():
    assert _scope("tests/test_losses.py::test_e") == "tests/test_losses.py::test_e"
    assert _scope("tests/test_losses.py::test_e") != _scope("tests/test_losses.py::test_f")


def test_the_opinfo_tests_share_one_unit_for_their_costly_import():
    first = _scope("tests/test_pytorch_opinfo.py::test_values_and_gradients_match[softmax]")
    assert first == _scope("tests/test_pytorch_opinfo.py::test_census_is_the_documented_one") == "tests/test_pytorch_opinfo.py"


def test_the_tests_of_one_small_book_share_a_unit():
    """A module-scoped small book is built once per worker: its tests share one unit, other small books spread."""
    url = [_scope(f"tests/test_small_books.py::test_{t}[url]") for t in ("links", "preface")]
    assert url[0] == url[1] != _scope("tests/test_small_books.py::test_links[no-url]")
    downloads = [_scope(f"tests/test_small_books.py::{name}") for name in conftest.SHARED_SMALL_BOOK]
    assert len(downloads) == 3 and len(set(downloads)) == 1
    import test_small_books  # the names are the module's tests (a renamed test would lose its shared build)

    assert all(callable(getattr(test_small_books, name, None)) for name in conftest.SHARED_SMALL_BOOK)
    alone = _scope("tests/test_small_books.py::test_a_failing_cell_fails_the_build_naming_notebook_and_cell")
    assert alone not in (url[0], downloads[0]) and alone.endswith("test_a_failing_cell_fails_the_build_naming_notebook_and_cell")


def _item(nodeid: str, *fixtures: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, fixturenames=fixtures, add_marker=lambda marker: None)


def test_a_test_that_reads_the_book_outside_the_book_modules_is_refused():
    """Such a test would build the book again on another worker (minutes of CI), so collection stops."""
    items = [_item("tests/test_losses.py::test_e"), _item("tests/test_losses.py::test_reads", "built_book")]
    with pytest.raises(pytest.UsageError, match=r"test_losses\.py::test_reads"):
        pytest_collection_modifyitems(None, items)


def test_the_book_modules_may_read_the_book_and_come_first():
    items = [_item("tests/test_losses.py::test_e"), _item("nb.ipynb::Cell 0"), _item("tests/test_pdf.py::t", "built_pdf")]
    pytest_collection_modifyitems(None, items)
    assert [item.nodeid for item in items] == ["tests/test_pdf.py::t", "nb.ipynb::Cell 0", "tests/test_losses.py::test_e"]
