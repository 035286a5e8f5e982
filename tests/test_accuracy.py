"""Accuracy against mpmath at 60 digits: within 4 ULP once divided by the condition number.

See ce_lib.accuracy for the criterion. A backward-stable algorithm passes for any
input; returning 0 for a loss of 4e-18 fails by about 1.4e14.
"""

import numpy as np
import pytest
from reference import (
    LOGIT_POINTS,
    SCALAR_POINTS,
    cases_log_softmax,
    cases_logsumexp,
    cases_softmax,
    hard_vectors,
    scalar_cases,
    scaled_error,
)

import ce_lib

BOUND = 4.0  # ULP, after division by max(1, condition number)
VECTORS = hard_vectors()


@pytest.mark.parametrize("x", VECTORS, ids=lambda v: np.array2string(v[:3], precision=3))
def test_logsumexp(x):
    exact, kappa = cases_logsumexp(x)
    assert scaled_error(ce_lib.logsumexp(x), exact, kappa) <= BOUND


@pytest.mark.parametrize("x", VECTORS, ids=lambda v: np.array2string(v[:3], precision=3))
def test_log_softmax_softmax_and_loss(x):
    logq, q = ce_lib.log_softmax(x), ce_lib.softmax(x)
    for k in range(x.size):
        exact, kappa = cases_log_softmax(x, k)
        if not np.isfinite(float(exact)):
            continue  # the exact value is beyond the float64 range
        assert scaled_error(logq[k], exact, kappa) <= BOUND, f"log_softmax[{k}]"
        loss = ce_lib.softmax_cross_entropy(x, np.array(k))
        assert scaled_error(loss, -exact, kappa) <= BOUND, f"loss of class {k}"
        exact_q, kappa_q = cases_softmax(x, k)
        assert scaled_error(q[k], exact_q, kappa_q) <= BOUND, f"softmax[{k}]"


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "softplus", "sigmoid_grad"])
def test_elementwise(name):
    got = getattr(ce_lib, name)(SCALAR_POINTS)
    for x, value in zip(SCALAR_POINTS, got):
        exact, kappa = scalar_cases(name, x)
        assert scaled_error(value, exact, kappa) <= BOUND, f"{name}({x})"


def test_logit():
    got = ce_lib.logit(LOGIT_POINTS)
    for p, value in zip(LOGIT_POINTS, got):
        exact, kappa = scalar_cases("logit", p)
        assert scaled_error(value, exact, kappa) <= BOUND, f"logit({p})"


def test_confident_loss_is_not_rounded_to_zero():
    # log(1 + e^-40), a closed form: e^-40 - e^-80/2 + ... = 4.248354255291589e-18 to double precision
    expected = float(np.exp(-40.0))
    assert ce_lib.softmax_cross_entropy(np.array([[40.0, 0.0]]), np.array([0])) == pytest.approx(expected, rel=4e-16)
    assert ce_lib.binary_cross_entropy_with_logits(np.array([40.0]), np.array([1.0])) == pytest.approx(expected, rel=4e-16)


def test_the_criterion_can_fail():
    """A result rounded to 0 is judged a failure by about 1.4e14."""
    exact, kappa = cases_log_softmax(np.array([40.0, 0.0]), 0)
    assert scaled_error(0.0, exact, kappa) > 1e13
