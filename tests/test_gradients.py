"""ce_lib.gradients against mpmath derivatives, finite differences, and closed forms."""

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import logits

import ce_lib
from ce_lib.verify import central_difference

EPS = np.finfo(np.float64).eps


@given(
    logits(min_classes=2, max_classes=6, bound=10.0),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["mean", "sum"]),
    st.sampled_from([0.0, 0.2]),
    st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_softmax_cross_entropy_grad_matches_finite_differences(x, seed, reduction, eps, weighted):
    r = np.random.default_rng(seed)
    y = r.integers(0, x.shape[1], x.shape[0])
    w = r.uniform(0.5, 2.0, x.shape[1]) if weighted else None
    f = lambda v: ce_lib.softmax_cross_entropy(v, y, weight=w, reduction=reduction, label_smoothing=eps)
    # h = eps^(1/3) balances truncation and rounding: both ~1e-10 relative to O(1) losses and slopes
    np.testing.assert_allclose(
        ce_lib.softmax_cross_entropy_grad(x, y, weight=w, reduction=reduction, label_smoothing=eps),
        central_difference(f, x),
        rtol=1e-6,
        atol=1e-8,
    )


@given(logits(min_classes=1, max_classes=5, bound=15.0), st.integers(0, 2**32 - 1), st.booleans())
@settings(max_examples=40, deadline=None)
def test_bce_with_logits_grad_matches_finite_differences(z, seed, pos):
    r = np.random.default_rng(seed)
    y = r.uniform(0, 1, z.shape)
    pw = r.uniform(0.5, 3.0, z.shape[-1]) if pos else None
    f = lambda v: ce_lib.binary_cross_entropy_with_logits(v, y, pos_weight=pw)
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_with_logits_grad(z, y, pos_weight=pw), central_difference(f, z), rtol=1e-6, atol=1e-8
    )


def test_gradient_entries_against_mpmath_derivatives():
    """d/dx_k of -log softmax_y(x), differentiated by mpmath at 50 digits."""
    for x, y in [([2.3, -1.2, 0.7], 0), ([40.0, 0.0], 0), ([0.0, 40.0, -3.0], 2), ([1e-8, 0.0, 5.0], 1)]:
        x = np.array(x)
        got = ce_lib.softmax_cross_entropy_grad(x[None], np.array([y]))[0]
        with mpmath.workdps(50):

            def loss(*v):
                return mpmath.log(mpmath.fsum(mpmath.exp(t) for t in v)) - v[y]

            for k in range(x.size):
                h = [0] * x.size
                h[k] = 1
                exact = mpmath.diff(loss, [mpmath.mpf(float(v)) for v in x], tuple(h))
                # each entry is a product/sum of a few correctly rounded terms: 8 eps relative
                assert got[k] == pytest.approx(float(exact), rel=8 * EPS, abs=1e-300), (x, y, k)


def test_no_cancellation_at_the_true_class():
    g = ce_lib.softmax_cross_entropy_grad(np.array([[40.0, 0.0]]), np.array([0]))
    q1 = 1 / (1 + np.exp(40.0))
    np.testing.assert_allclose(g, [[-q1, q1]], rtol=4 * EPS)  # q_0 - 1 would round to 0


def test_binary_gradient_closed_form():
    z = np.linspace(-30, 30, 61)
    y = (z > 0).astype(float)
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_with_logits_grad(z, y, reduction="none"), sig - y, rtol=1e-12, atol=1e-15
    )


def test_softmax_jacobian_against_finite_differences_and_structure():
    x = np.random.default_rng(5).normal(size=(3, 4))
    jac = ce_lib.softmax_jacobian(x)
    assert jac.shape == (3, 4, 4)
    for n in range(3):
        fd = np.stack([central_difference(lambda v: ce_lib.softmax(v)[i], x[n]) for i in range(4)])
        np.testing.assert_allclose(jac[n], fd, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(jac[n], jac[n].T, rtol=0, atol=0)
        assert np.all(np.linalg.eigvalsh(jac[n]) >= -4 * EPS)
        np.testing.assert_allclose(jac[n].sum(axis=1), 0.0, atol=4 * 4 * EPS)


def test_sigmoid_grad_tail():
    assert ce_lib.sigmoid_grad(40.0) == pytest.approx(float(mpmath.exp(-40) / (1 + mpmath.exp(-40)) ** 2), rel=4 * EPS)
    assert ce_lib.sigmoid_grad(-800.0) == 0.0 and ce_lib.sigmoid_grad(0.0) == 0.25


def test_grad_rows_of_ignored_targets_are_zero_and_mean_divides_by_kept_weight():
    x = np.random.default_rng(2).normal(size=(4, 3))
    y = np.array([0, -100, 2, 1])
    w = np.array([1.0, 2.0, 3.0])
    g_sum = ce_lib.softmax_cross_entropy_grad(x, y, weight=w, reduction="sum")
    g_mean = ce_lib.softmax_cross_entropy_grad(x, y, weight=w, reduction="mean")
    assert np.all(g_sum[1] == 0)
    np.testing.assert_allclose(g_mean, g_sum / (1.0 + 3.0 + 2.0), rtol=2 * EPS)
