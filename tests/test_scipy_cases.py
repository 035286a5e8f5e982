"""SciPy's own test cases for logsumexp and softmax, adapted to ce_lib's API.

Adapted from scipy/special/tests/test_logsumexp.py (SciPy, BSD-3-Clause): the cases
within ce_lib's API, that is real inputs, one integer axis (passed explicitly, since
SciPy's default is axis=None), no weights ``b`` and no ``return_sign``. The expected
values are SciPy's (several computed there with mpmath at 200 digits) and are also
checked against ``scipy.special`` itself, so a case transcribed wrongly fails too.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

import ce_lib


def both(function, x, **kw):
    """ce_lib's result and SciPy's, for the same input and axis."""
    return getattr(ce_lib, function)(x, **kw), getattr(special, function)(x, **kw)


def test_logsumexp_of_an_empty_axis_is_minus_infinity():
    with np.errstate(divide="ignore"):  # SciPy takes log(0)
        ours, theirs = both("logsumexp", np.array([]), axis=-1)
    assert ours == theirs == -np.inf
    assert_array_equal(ce_lib.logsumexp(np.zeros((3, 0)), axis=1), np.full(3, -np.inf))
    assert ce_lib.logsumexp(np.zeros((3, 0)), axis=1, keepdims=True).shape == (3, 1)
    assert ce_lib.softmax(np.zeros((2, 0))).shape == (2, 0) and ce_lib.log_softmax(np.zeros((2, 0))).shape == (2, 0)


def test_logsumexp_large_inputs():
    a = np.arange(200.0)
    assert_allclose(ce_lib.logsumexp(a), np.log(np.sum(np.exp(a))), rtol=1e-13)
    assert_allclose(ce_lib.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + math.log(2.0), rtol=1e-15)
    assert_allclose(ce_lib.logsumexp(np.full(1000, 10000.0)), 10000.0 + math.log(1000), rtol=1e-15)


def test_logsumexp_of_tiny_numbers_in_log_space():
    x = np.full(1_000_000, 1e-40)
    log_x = np.stack([np.log(x), np.log(x)])
    X = np.stack([x, x])
    assert_allclose(np.exp(ce_lib.logsumexp(log_x, axis=0)), X.sum(axis=0), rtol=1e-13)
    assert_allclose(np.exp(ce_lib.logsumexp(log_x, axis=1)), X.sum(axis=1), rtol=1e-13)


def test_logsumexp_special_values():
    assert ce_lib.logsumexp(np.array([np.inf])) == np.inf
    assert ce_lib.logsumexp(np.array([-np.inf])) == -np.inf
    assert np.isnan(ce_lib.logsumexp(np.array([np.nan])))
    assert ce_lib.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


def test_logsumexp_different_magnitudes_and_keepdims():
    a = np.array([[1e10, 1e-10], [-1e10, -np.inf]])
    ours, theirs = both("logsumexp", a, axis=-1)
    assert_allclose(ours, [1e10, -1e10], rtol=1e-15)
    assert_allclose(ours, theirs, rtol=1e-15)
    assert_allclose(ce_lib.logsumexp(a, axis=-1, keepdims=True), [[1e10], [-1e10]], rtol=1e-15)


def test_logsumexp_shape():
    assert ce_lib.logsumexp(np.ones((1, 2, 3, 4)), axis=2).shape == (1, 2, 4)


def test_logsumexp_list_and_integer_input():
    assert_allclose(ce_lib.logsumexp([1000, 1000]), 1000.0 + math.log(2.0), rtol=1e-15)
    assert ce_lib.logsumexp(np.array([1000, 1000], dtype=np.int64)).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_keeps_a_floating_dtype(dtype):
    result = ce_lib.logsumexp(np.array([1000.0, 1000.0], dtype=dtype))
    assert result.dtype == dtype
    assert_allclose(result, 1000.0 + math.log(2.0), rtol=4 * np.finfo(dtype).eps)


def test_logsumexp_gh18295_one_dominant_term():
    a = np.array([0.0, -40.0])
    assert_allclose(ce_lib.logsumexp(a), np.logaddexp(a[0], a[1]), rtol=1e-15)


def test_softmax_fixtures():
    assert_allclose(ce_lib.softmax([1000, 0, 0, 0]), [1, 0, 0, 0], rtol=1e-13)
    assert_allclose(ce_lib.softmax([1, 1]), [0.5, 0.5], rtol=1e-13)
    assert_allclose(ce_lib.softmax([0, 1]), np.array([1, np.e]) / (1 + np.e), rtol=1e-13)
    x = np.arange(4)
    expected = np.array([0.03205860328008499, 0.08714431874203256, 0.23688281808991013, 0.6439142598879722])  # mpmath, 200 digits
    assert_allclose(ce_lib.softmax(x), expected, rtol=1e-13)
    assert_allclose(ce_lib.softmax(x + 100), expected, rtol=1e-13)  # translation
    assert_allclose(special.softmax(x), expected, rtol=1e-13)


def test_softmax_along_each_axis():
    assert_allclose(ce_lib.softmax([[1000, 0], [1000, 0]], axis=0), [[0.5, 0.5], [0.5, 0.5]], rtol=1e-13)
    assert_allclose(ce_lib.softmax([[1000, 0], [1000, 0]], axis=1), [[1, 0], [1, 0]], rtol=1e-13)
    x = np.array([[-25, 0, 25, 50], [1, 325, 749, 750]])
    expected = np.array(
        [
            [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771144e-11, 0.999999999986112],
            [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048],
        ]
    )  # mpmath, 200 digits
    assert_allclose(ce_lib.softmax(x, axis=1), expected, rtol=1e-13)
    assert_allclose(ce_lib.softmax(x.T, axis=0), expected.T, rtol=1e-13)
    assert_allclose(special.softmax(x, axis=1), expected, rtol=1e-13)
