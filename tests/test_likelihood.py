"""The counts argument: log L(x; q) = -N H(p_hat, q)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import distributions

import ce_lib

EPS = np.finfo(np.float64).eps


def test_worked_example_221():
    q = np.array([0.2, 0.3, 0.5])
    x = np.array([2, 2, 1])
    np.testing.assert_array_equal(ce_lib.empirical_distribution(x, 3), [0, 1 / 3, 2 / 3])
    assert ce_lib.log_likelihood(x, q) == pytest.approx(2 * np.log(0.5) + np.log(0.3), rel=2 * EPS)


@given(distributions(min_size=2, zeros=False), st.integers(0, 2**32 - 1), st.integers(1, 200))
def test_log_likelihood_is_minus_n_times_cross_entropy(q, seed, n):
    x = np.random.default_rng(seed).integers(0, q.size, n)
    p_hat = ce_lib.empirical_distribution(x, q.size)
    lhs = ce_lib.log_likelihood(x, q)
    # two summation orders of n terms of size <= |log 1e-3 / 8|: within n * 16 eps relative
    assert lhs == pytest.approx(-n * ce_lib.cross_entropy(p_hat, q), rel=16 * n * EPS)


def test_conditional_version():
    q = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
    x = np.array([0, 1, 1])
    assert ce_lib.log_likelihood(x, q) == pytest.approx(np.log(0.7) + np.log(0.8) + np.log(0.5), rel=2 * EPS)


def test_zero_probability_of_an_observed_class():
    assert ce_lib.log_likelihood([0, 1], [1.0, 0.0]) == -np.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ce_lib.empirical_distribution([0, 3], 3), "samples must lie in \\[0, 3\\)"),
        (lambda: ce_lib.empirical_distribution([0.0, 1.0], 3), "samples holds floating-point"),
        (lambda: ce_lib.empirical_distribution([], 3), "samples is empty|samples must hold"),
        (lambda: ce_lib.empirical_distribution([0, 1], 0), "num_classes must be a positive integer"),
        (lambda: ce_lib.empirical_distribution([[0, 1]], 2), "one-dimensional"),
        (lambda: ce_lib.log_likelihood([0, 5], [0.5, 0.5]), "samples must lie"),
        (lambda: ce_lib.log_likelihood([0, 1], [0.5, 0.6]), "q must sum to 1"),
        (lambda: ce_lib.log_likelihood([0, 1], [[0.5, 0.5]]), "q has 1 rows but samples has 2"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
