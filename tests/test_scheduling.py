"""The xdist work units (tests/conftest.py): what must share a worker does, the rest spreads."""

from conftest import _scope


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
