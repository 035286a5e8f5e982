"""ce_lib.information against SciPy and closed forms; the decomposition H(p,q) = H(p) + KL(p||q)."""

import mpmath
import numpy as np
import pytest
import scipy.special as sc
import scipy.stats
from hypothesis import given
from strategies import distribution_pairs, distributions

import ce_lib

EPS = np.finfo(np.float64).eps


@given(distributions())
def test_entropy_matches_scipy(p):
    assert ce_lib.entropy(p) == pytest.approx(scipy.stats.entropy(p), rel=16 * EPS, abs=16 * EPS)
    assert ce_lib.entropy(p, base=2) == pytest.approx(scipy.stats.entropy(p, base=2), rel=16 * EPS, abs=16 * EPS)


@given(distribution_pairs())
def test_kl_matches_scipy_rel_entr(pq):
    p, q = pq
    assert ce_lib.kl_divergence(p, q) == pytest.approx(np.sum(sc.rel_entr(p, q)), rel=64 * EPS, abs=64 * EPS)


@given(distribution_pairs())
def test_decomposition_and_gibbs(pq):
    p, q = pq
    h, hpq, kl = ce_lib.entropy(p), ce_lib.cross_entropy(p, q), ce_lib.kl_divergence(p, q)
    # each is a sum of at most 8 terms of size <= |log 1e-3 * 8|: a few dozen eps of absolute error
    tol = 64 * EPS * max(1.0, hpq)
    assert hpq == pytest.approx(h + kl, abs=tol)
    assert kl >= -tol and hpq >= h - tol


def test_closed_forms():
    assert ce_lib.entropy([0.25] * 4, base=2) == 2.0
    assert ce_lib.cross_entropy([0, 0, 1, 0], [0.1, 0.2, 0.6, 0.1]) == pytest.approx(-np.log(0.6), rel=EPS)
    assert ce_lib.kl_divergence([0.5, 0.5], [0.5, 0.5]) == 0.0


def test_kl_is_accurate_when_p_is_close_to_q():
    p = np.array([0.5 + 1e-9, 0.5 - 1e-9])
    q = np.array([0.5, 0.5])
    with mpmath.workdps(50):
        exact = sum(mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q))
    assert ce_lib.kl_divergence(p, q) == pytest.approx(float(exact), rel=1e-6)


def test_conventions_zero_log_zero_and_infinite_divergence():
    assert ce_lib.entropy([1.0, 0.0]) == 0.0
    assert ce_lib.cross_entropy([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert ce_lib.cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert ce_lib.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert ce_lib.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2), rel=EPS)


def test_extreme_ratio_does_not_overflow():
    p = np.array([1.0 - 1e-300, 1e-300])
    q = np.array([1e-310, 1.0 - 1e-310])
    with mpmath.workdps(60):
        exact = sum(mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q))
    assert ce_lib.kl_divergence(p, q) == pytest.approx(float(exact), rel=1e-12)


def test_axis_and_batches():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(ce_lib.entropy(p.T, axis=0), ce_lib.entropy(p), rtol=0, atol=0)
    assert ce_lib.entropy(p).shape == (2,)


def test_nan_propagates():
    assert np.isnan(ce_lib.entropy([np.nan, 0.5]))
    assert np.isnan(ce_lib.kl_divergence([0.0, 1.0], [np.nan, 1.0]))
    assert np.isnan(ce_lib.cross_entropy([0.0, 1.0], [np.nan, 1.0]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ce_lib.entropy([0.5, -0.1, 0.6]), "p has negative entries"),
        (lambda: ce_lib.entropy([0.5, 0.4]), "p must sum to 1"),
        (lambda: ce_lib.cross_entropy([0.5, 0.5], [0.2, 0.3, 0.5]), "same shape"),
        (lambda: ce_lib.kl_divergence([0.5, 0.5], [0.7, 0.7]), "q must sum to 1"),
        (lambda: ce_lib.entropy([0.5, 0.5], base=1), "base must be a positive finite number other than 1"),
        (lambda: ce_lib.entropy([0.5, 0.5], base=-2), "base must be"),
        (lambda: ce_lib.entropy([0.5, 0.5], base="two"), "base must be"),
        (lambda: ce_lib.entropy(["a"]), "p must be a real numeric array"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_tolerance_is_documented_and_applied():
    ce_lib.entropy([0.1] * 10)  # sums to 0.9999999999999999: accepted
    with pytest.raises(ValueError):
        ce_lib.entropy([0.1] * 9 + [0.1 + 1e-6])
