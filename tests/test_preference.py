"""ce_lib.preference (dpo_loss, dpo_loss_grad) against mpmath at 50 digits, closed forms and central differences.

Measured when these tests were written: over 2 000 random pairs (beta from 0.01 to 10, log-probabilities
around -50, a third of them with the policy within 1e-6 of the reference) and label_smoothing 0 and 0.1,
dpo_loss is within 1.7 ULP of the exact loss of the computed logit beta * Delta (the tests assert 2);
for |beta * Delta| up to 1e308 it stays finite and within 0.5 ULP. PyTorch's autograd is in
tests/test_torch_parity.py.
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import ulps

import ce_lib

DPS = 50
EPS = np.finfo(np.float64).eps


@mpmath.workdps(DPS)
def exact_loss(x: float, eps: float) -> mpmath.mpf:
    """-(1 - eps) log sigmoid(x) - eps log sigmoid(-x) at 50 digits: -log sigmoid(x) = log(1 + e^-x), as mpmath's log1p
    (the plain log would need more than 50 digits to see e^-745 beside 1)."""
    x = mpmath.mpf(x)
    return (1 - mpmath.mpf(eps)) * mpmath.log1p(mpmath.exp(-x)) + mpmath.mpf(eps) * mpmath.log1p(mpmath.exp(x))


@mpmath.workdps(DPS)
def test_dpo_loss_against_mpmath(rng):
    worst = 0.0
    for _ in range(300):
        v = rng.normal(-50, 20, 4)
        if rng.uniform() < 0.3:  # the policy still close to the reference
            v[2:] = v[:2] + rng.normal(size=2) * 1e-6
        beta = 10.0 ** rng.uniform(-2, 1)
        x = beta * ((v[0] - v[2]) - (v[1] - v[3]))  # the logit as dpo_loss forms it
        for eps in (0.0, 0.1, 0.5):
            loss = ce_lib.dpo_loss([v[0]], [v[1]], [v[2]], [v[3]], beta=beta, label_smoothing=eps)
            worst = max(worst, ulps(float(loss), exact_loss(x, eps)))
    assert worst <= 2, worst


def test_dpo_loss_of_exactly_representable_inputs():
    """Integer log-probabilities and beta a power of 2: Delta and beta * Delta are exact, so is the reference."""
    chosen, rejected = np.array([-3.0, -10.0, -7.0]), np.array([-5.0, -2.0, -7.0])
    ref_chosen, ref_rejected = np.array([-4.0, -6.0, -7.0]), np.array([-4.0, -6.0, -7.0])  # Delta = 2, -8, 0
    for eps in (0.0, 0.25):
        per = ce_lib.dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta=0.5, label_smoothing=eps, reduction="none")
        for value, x in zip(per, [1.0, -4.0, 0.0], strict=True):
            assert ulps(float(value), exact_loss(x, eps)) <= 1


@pytest.mark.parametrize("x", [1e308, -1e308, 1e300, 745.0, 40.0, -40.0, 1e-300, 0.0])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_dpo_loss_does_not_overflow_and_keeps_tiny_losses(x, eps):
    loss = float(ce_lib.dpo_loss([x], [0.0], [0.0], [0.0], beta=1.0, label_smoothing=eps))
    exact = exact_loss(x, eps)
    assert np.isfinite(loss)
    if exact == 0 or float(exact) == 0:
        assert loss == float(exact)
    else:
        assert ulps(loss, exact) <= 1


def test_dpo_loss_reductions_and_label_smoothing_half():
    args = ([-3.0, -1.0], [-4.0, -5.0], [-3.5, -1.0], [-3.5, -6.0])  # Delta = 1, -1
    per = ce_lib.dpo_loss(*args, beta=1.0, reduction="none")
    np.testing.assert_allclose(per, [np.log1p(np.exp(-1)), np.log1p(np.e)], rtol=EPS)
    assert ce_lib.dpo_loss(*args, beta=1.0, reduction="sum") == per.sum()
    assert ce_lib.dpo_loss(*args, beta=1.0) == per.sum() / 2
    half = ce_lib.dpo_loss(*args, beta=1.0, label_smoothing=0.5, reduction="none")  # symmetric: no preference left
    assert half[0] == half[1]


@given(st.floats(-1e6, 1e6), st.floats(0.01, 10), st.floats(0, 0.5))
def test_dpo_loss_is_positive_and_the_gradient_has_the_sign_of_the_margin(margin, beta, eps):
    loss = ce_lib.dpo_loss([margin], [0.0], [0.0], [0.0], beta=beta, label_smoothing=eps)
    g_chosen, g_rejected = ce_lib.dpo_loss_grad([margin], [0.0], [0.0], [0.0], beta=beta, label_smoothing=eps)
    assert loss >= 0 and g_chosen[0] == -g_rejected[0]
    if eps == 0:
        assert g_chosen[0] <= 0  # DPO always pushes the chosen response up
    # the loss's minimum is at sigma(-beta Delta) = eps: the gradient changes sign there
    assert np.sign(g_chosen[0]) == np.sign(eps - ce_lib.sigmoid(-beta * margin)) or g_chosen[0] == 0


GRAD_CASES = list(itertools.product(["none", "sum", "mean"], [0.0, 0.1], [0.1, 2.0]))


@pytest.mark.parametrize("reduction, eps, beta", GRAD_CASES)
def test_dpo_loss_grad_matches_central_differences(reduction, eps, beta, rng):
    v = [rng.normal(-20, 3, 5) for _ in range(4)]
    g_chosen, g_rejected = ce_lib.dpo_loss_grad(*v, beta=beta, label_smoothing=eps, reduction=reduction)
    h = 1e-6

    def total(chosen, rejected):
        return float(np.sum(ce_lib.dpo_loss(chosen, rejected, v[2], v[3], beta=beta, label_smoothing=eps, reduction=reduction)))

    for i in range(5):
        e = np.zeros(5)
        e[i] = h
        d_chosen = (total(v[0] + e, v[1]) - total(v[0] - e, v[1])) / (2 * h)
        d_rejected = (total(v[0], v[1] + e) - total(v[0], v[1] - e)) / (2 * h)
        assert g_chosen[i] == pytest.approx(d_chosen, rel=1e-6, abs=1e-9)
        assert g_rejected[i] == pytest.approx(d_rejected, rel=1e-6, abs=1e-9)


def test_dpo_loss_grad_closed_form_and_float16():
    g_chosen, g_rejected = ce_lib.dpo_loss_grad([0.0], [0.0], [0.0], [0.0], beta=2.0, label_smoothing=0.1, reduction="sum")
    assert g_chosen[0] == 2.0 * (0.1 - 0.5) and g_rejected[0] == -g_chosen[0]
    half = ce_lib.dpo_loss_grad(np.array([-1.0, -2.0], np.float16), [-1.5, -2.5], [-1.2, -2.0], [-1.0, -2.0])
    single = ce_lib.dpo_loss_grad(np.array([-1.0, -2.0], np.float32), [-1.5, -2.5], [-1.2, -2.0], [-1.0, -2.0])
    for h, s in zip(half, single, strict=True):
        assert h.dtype == np.float16 and np.array_equal(h, s.astype(np.float16))
    loss = ce_lib.dpo_loss(np.array([-1.0], np.float16), [-1.5], [-1.2], [-1.0])
    assert loss.dtype == np.float16


def test_dpo_nan_propagates_and_infinite_log_probabilities_give_the_limits():
    assert np.isnan(ce_lib.dpo_loss([np.nan, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]))
    per = ce_lib.dpo_loss([0.0, -np.inf], [-np.inf, 0.0], [0.0, 0.0], [0.0, 0.0], reduction="none")
    np.testing.assert_array_equal(per, [0.0, np.inf])  # the rejected response impossible: no loss; the chosen: infinite
    per = ce_lib.dpo_loss([0.0], [-np.inf], [0.0], [0.0], label_smoothing=0.1, reduction="none")
    assert per[0] == np.inf  # with smoothing, a flipped label at an infinite margin costs infinitely much
    assert np.isnan(ce_lib.dpo_loss([-np.inf], [0.0], [-np.inf], [0.0]))  # Delta = -inf - -inf


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta": 0.0}, "^beta must be a positive finite number"),
        ({"beta": -0.1}, "^beta must be"),
        ({"beta": np.inf}, "^beta must be"),
        ({"beta": np.nan}, "^beta must be"),
        ({"beta": "big"}, "^beta must be a number"),
        ({"label_smoothing": -0.1}, r"^label_smoothing must lie in \[0, 0.5\]"),
        ({"label_smoothing": 0.7}, "^label_smoothing must lie in"),
        ({"label_smoothing": np.nan}, "^label_smoothing must lie in"),
        ({"reduction": "batchmean"}, "^reduction must be one of"),
    ],
)
@pytest.mark.parametrize("function", [ce_lib.dpo_loss, ce_lib.dpo_loss_grad])
def test_dpo_bad_keywords_raise(function, kwargs, message):
    with pytest.raises(ValueError, match=message):
        function([0.0], [0.0], [0.0], [0.0], **kwargs)


@pytest.mark.parametrize("position, name", list(enumerate(["rejected_logps", "ref_chosen_logps", "ref_rejected_logps"], start=1)))
def test_dpo_shapes_must_match(position, name):
    args = [[0.0, 0.0]] * 4
    args[position] = [0.0]
    with pytest.raises(ValueError, match=f"^chosen_logps and {name} must have the same shape"):
        ce_lib.dpo_loss(*args)
