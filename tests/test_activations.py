"""ce_lib.activations against SciPy, plus properties, edge cases and errors."""

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given
from hypothesis import strategies as st
from strategies import logits

import ce_lib

EPS = np.finfo(np.float64).eps
rng = np.random.default_rng(0)
X = rng.normal(0, 5, (20, 7))


@pytest.mark.parametrize(
    "ours, scipys",
    [
        (ce_lib.logsumexp, sc.logsumexp),
        (ce_lib.softmax, sc.softmax),
        (ce_lib.log_softmax, sc.log_softmax),
    ],
)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_matches_scipy_on_ordinary_scores(ours, scipys, axis):
    # SciPy rounds 1 + s, so its absolute error is a few eps times the scores' magnitude
    # (its *relative* error near log q = 0 is larger; ce_lib's is checked against mpmath in test_accuracy)
    np.testing.assert_allclose(ours(X, axis=axis), scipys(X, axis=axis), rtol=8 * EPS, atol=8 * EPS * np.abs(X).max())


@pytest.mark.parametrize(
    "ours, scipys, points",
    [
        (ce_lib.sigmoid, sc.expit, np.linspace(-700, 700, 1401)),
        (ce_lib.log_sigmoid, sc.log_expit, np.linspace(-700, 700, 1401)),
        (ce_lib.logit, sc.logit, np.linspace(0.001, 0.999, 999)),
    ],
)
def test_elementwise_matches_scipy(ours, scipys, points):
    # near logit(1/2) = 0 the problem is ill-conditioned: both sides carry a few eps of absolute error
    np.testing.assert_allclose(ours(points), scipys(points), rtol=8 * EPS, atol=4 * EPS)


def test_softplus_closed_form():
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(ce_lib.softplus(x), np.log1p(np.exp(x)), rtol=8 * EPS)
    assert ce_lib.softplus(1000.0) == 1000.0


def test_keepdims():
    assert ce_lib.logsumexp(X, axis=1, keepdims=True).shape == (20, 1)
    assert ce_lib.logsumexp(X, axis=0).shape == (7,)


@given(logits())
def test_softmax_is_a_distribution(x):
    q = ce_lib.softmax(x)
    assert np.all(q >= 0) and np.all(q <= 1)
    # a sum of C values each within a few eps of exact
    np.testing.assert_allclose(q.sum(axis=-1), 1.0, rtol=0, atol=4 * x.shape[-1] * EPS)


@given(logits(), st.integers(-1000, 1000))
def test_shift_invariance_is_exact_for_representable_shifts(x, c):
    x = np.round(x * 8) / 8  # dyadic scores: x + c is exact, and so is every x_i - max
    for f in (ce_lib.softmax, ce_lib.log_softmax):
        np.testing.assert_array_equal(f(x + c), f(x))
    # lse(x) + c carries the rounding of lse(x), made at the larger of the two magnitudes
    lse, lse_shifted = ce_lib.logsumexp(x), ce_lib.logsumexp(x + c)
    scale = np.maximum(np.abs(lse), np.abs(lse_shifted))
    assert np.all(np.abs(lse_shifted - (lse + c)) <= 2 * EPS * scale)


@given(logits(min_classes=1))
def test_lse_is_a_smooth_maximum(x):
    lse, m = ce_lib.logsumexp(x), x.max(axis=-1)
    assert np.all(lse >= m)
    assert np.all(lse <= m + np.log(x.shape[-1]) + 4 * EPS * np.maximum(1, np.abs(m)))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_axis_equals_moving_that_axis_last(axis):
    x = np.random.default_rng(1).normal(size=(3, 4, 5))
    for f in (ce_lib.softmax, ce_lib.log_softmax):
        np.testing.assert_array_equal(f(x, axis=axis), np.moveaxis(f(np.moveaxis(x, axis, -1)), -1, axis))
    np.testing.assert_array_equal(ce_lib.logsumexp(x, axis=axis), ce_lib.logsumexp(np.moveaxis(x, axis, -1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 1e4, 1e30])
def test_no_overflow_or_nan_at_any_magnitude(dtype, scale):
    big = np.finfo(dtype).max / 4
    x = np.array([[scale, -scale, 0.0], [big, big, -big], [-big, -big, -big]], dtype=dtype)
    for f in (ce_lib.softmax, ce_lib.log_softmax, ce_lib.logsumexp, ce_lib.sigmoid, ce_lib.log_sigmoid, ce_lib.softplus):
        out = f(x)
        assert out.dtype == dtype, f.__name__
        assert not np.any(np.isnan(out)), f.__name__
    assert np.all(np.isfinite(ce_lib.softmax(x)))
    assert np.all(np.isfinite(ce_lib.logsumexp(x)))


def test_float32_gives_float32_and_integers_give_float64():
    assert ce_lib.softmax(np.ones(3, np.float32)).dtype == np.float32
    assert ce_lib.softmax([1, 2, 3]).dtype == np.float64
    assert ce_lib.sigmoid(np.float32(1.0)).dtype == np.float32


def test_inputs_are_never_modified():
    x = X.copy()
    for f in (ce_lib.softmax, ce_lib.log_softmax, ce_lib.logsumexp, ce_lib.sigmoid, ce_lib.softplus):
        f(x)
        np.testing.assert_array_equal(x, X)


@pytest.mark.parametrize(
    "row",
    [
        [-np.inf, 0.0, 1.0],
        [-np.inf, -np.inf, -np.inf],
        [np.inf, 0.0, 1.0],
        [np.inf, np.inf, 0.0],
        [-np.inf, np.inf, 2.0],
    ],
)
def test_infinite_entries_behave_as_scipy(row):
    x = np.array(row)
    with np.errstate(all="ignore"):
        expected = (sc.logsumexp(x), sc.softmax(x), sc.log_softmax(x))
    np.testing.assert_array_equal(ce_lib.logsumexp(x), expected[0])
    np.testing.assert_array_equal(ce_lib.softmax(x), expected[1])
    np.testing.assert_array_equal(ce_lib.log_softmax(x), expected[2])


def test_nan_propagates():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    assert np.isnan(ce_lib.logsumexp(x)[0]) and np.isfinite(ce_lib.logsumexp(x)[1])
    assert np.all(np.isnan(ce_lib.softmax(x)[0])) and np.all(np.isfinite(ce_lib.softmax(x)[1]))
    assert np.isnan(ce_lib.sigmoid(np.nan)) and np.isnan(ce_lib.logit(np.nan))


def test_log_softmax_beats_the_naive_route():
    x = np.array([1000.0, 1.0])
    with np.errstate(all="ignore"):
        naive = np.log(np.exp(x) / np.exp(x).sum())
    assert np.isnan(naive[0])
    np.testing.assert_array_equal(ce_lib.log_softmax(x), [0.0, -999.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ce_lib.softmax(np.float64(1.0), axis=1), "out of range for 0-d x"),
        (lambda: ce_lib.logsumexp(np.zeros((2, 3)), axis=(1, -1)), "names an axis of x twice"),
        (lambda: ce_lib.logsumexp(np.zeros((2, 3)), axis=1.5), "axis must be an int, a tuple of ints or None"),
        (lambda: ce_lib.logsumexp(np.zeros((2, 3)), axis=True), "axis must be an int, a tuple of ints or None"),
        (lambda: ce_lib.softmax(np.zeros((2, 3)), axis=None), "axis must be an int, got None"),
        (lambda: ce_lib.logsumexp(np.zeros((2, 3)), axis=(0, 2)), "axis=2 is out of range"),
        (lambda: ce_lib.logit([0.5], eps=0.6), "eps must lie in \\[0, 0.5\\]"),
        (lambda: ce_lib.softmax(np.ones(3), axis=2), "axis=2 is out of range"),
        (lambda: ce_lib.softmax(["a", "b"]), "x must be a real numeric array"),
        (lambda: ce_lib.sigmoid(np.array([1 + 1j])), "x must be a real numeric array"),
        (lambda: ce_lib.logit([0.5, 1.5]), "p must lie in \\[0, 1\\]"),
        (lambda: ce_lib.logsumexp([[1.0], [1.0, 2.0]]), "x must be a numeric array"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_extremes_of_sigmoid_family():
    assert ce_lib.sigmoid(np.inf) == 1.0 and ce_lib.sigmoid(-np.inf) == 0.0
    assert ce_lib.logit(0.0) == -np.inf and ce_lib.logit(1.0) == np.inf
    assert ce_lib.log_sigmoid(-1000.0) == -1000.0
