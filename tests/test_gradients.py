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


# The gradients added for issue 25: each against central differences of the ce_lib function it differentiates
# (float64, h = eps^(1/3): truncation and rounding both ~1e-10 relative to O(1) values and slopes, so the
# tolerances of the tests above apply), then edge cases against closed forms and mpmath.

ND_SHAPES = [(5,), (7, 5), (3, 5, 2, 4)]


def _elementwise_difference(fn, x):
    """Central differences of an elementwise function, each entry on its own (so that rounding scales with that entry)."""
    h = np.finfo(np.float64).eps ** (1 / 3)
    return (fn(x + h) - fn(x - h)) / (2 * h)


def _scalarised(fn, g, **kw):
    """v -> sum(g * fn(v)): the scalar whose gradient is fn's vector-Jacobian product with g."""
    return lambda v: float(np.sum(g * fn(v, **kw)))


@pytest.mark.parametrize("shape", ND_SHAPES + [(4, 1), (2, 3, 4)])
@pytest.mark.parametrize("vjp, fn", [(ce_lib.softmax_vjp, ce_lib.softmax), (ce_lib.log_softmax_vjp, ce_lib.log_softmax)])
def test_softmax_and_log_softmax_vjp_match_finite_differences(shape, vjp, fn, rng):
    x = rng.normal(0, 3, shape)
    for axis in range(-len(shape), len(shape)):
        g = rng.normal(0, 2, shape)
        got = vjp(x, g, axis=axis)
        assert got.shape == shape and got.dtype == np.float64
        np.testing.assert_allclose(got, central_difference(_scalarised(fn, g, axis=axis), x), rtol=1e-6, atol=1e-8)


@given(logits(min_classes=1, max_classes=6, bound=30.0), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_vjps_match_finite_differences_over_random_rows(x, seed):
    g = np.random.default_rng(seed).normal(0, 2, x.shape)
    for vjp, fn in [(ce_lib.softmax_vjp, ce_lib.softmax), (ce_lib.log_softmax_vjp, ce_lib.log_softmax)]:
        np.testing.assert_allclose(vjp(x, g), central_difference(_scalarised(fn, g), x), rtol=1e-6, atol=1e-8)
    g_rows = g[:, 0]
    fd = central_difference(_scalarised(ce_lib.logsumexp, g_rows), x)
    np.testing.assert_allclose(ce_lib.logsumexp_vjp(x, g_rows), fd, rtol=1e-6, atol=1e-8)


def test_softmax_vjp_is_the_jacobian_transpose_times_g(rng):
    x, g = rng.normal(0, 3, (4, 6)), rng.normal(size=(4, 6))
    expected = np.einsum("nij,ni->nj", ce_lib.softmax_jacobian(x), g)
    np.testing.assert_allclose(ce_lib.softmax_vjp(x, g), expected, rtol=1e-13, atol=1e-15)
    # g = -e_y through log_softmax: q - e_y, the cross-entropy's gradient
    y = rng.integers(0, 6, 4)
    np.testing.assert_allclose(
        ce_lib.log_softmax_vjp(x, -np.eye(6)[y]), ce_lib.softmax_cross_entropy_grad(x, y, reduction="sum"), rtol=1e-13, atol=1e-15
    )


LSE_AXES = [-1, 0, 1, (0, 2), (2, 0), (1, 2), (0, 1, 2), (), None]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", LSE_AXES)
def test_logsumexp_vjp_matches_finite_differences(axis, keepdims, rng):
    x = rng.normal(0, 3, (3, 4, 2))
    out_shape = np.shape(ce_lib.logsumexp(x, axis=axis, keepdims=keepdims))
    g = rng.normal(0, 2, out_shape)
    got = ce_lib.logsumexp_vjp(x, g, axis=axis, keepdims=keepdims)
    assert got.shape == x.shape
    fd = central_difference(_scalarised(ce_lib.logsumexp, g, axis=axis, keepdims=keepdims), x)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,), None, ()])
def test_vjps_of_a_0d_input(axis):
    """A 0-d x: lse(x) = x has gradient g; softmax = 1 and log_softmax = 0 are constants, gradient 0."""
    x, g = np.array(1.7), np.array(-2.5)
    assert ce_lib.logsumexp_vjp(x, g, axis=axis) == -2.5
    assert ce_lib.logsumexp_vjp(x, g, axis=axis, keepdims=True) == -2.5
    if isinstance(axis, int):
        assert ce_lib.softmax_vjp(x, g, axis=axis) == 0 and ce_lib.log_softmax_vjp(x, g, axis=axis) == 0
    with pytest.raises(ValueError, match="axis=1"):
        ce_lib.logsumexp_vjp(x, g, axis=1)
    with pytest.raises(ValueError, match="axis=1"):
        ce_lib.softmax_vjp(x, g, axis=1)


def test_logsumexp_vjp_keeps_tiny_weights_and_sums_to_g(rng):
    """The gradient is softmax(x) g: entries e^-800 relative survive (no exp(x - lse) cancellation), slices sum to g."""
    x = np.array([[800.0, 0.0, -5.0], [1e-3, 2e-3, 3e-3]])
    got = ce_lib.logsumexp_vjp(x, np.array([1.0, 3.0]))
    with mpmath.workdps(50):
        for n in range(2):
            z = mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in x[n])
            scale = [1.0, 3.0][n]
            for k in range(3):
                exact = scale * mpmath.exp(mpmath.mpf(x[n, k])) / z
                assert got[n, k] == pytest.approx(float(exact), rel=8 * EPS, abs=1e-300), (n, k)
    big = rng.normal(0, 5, (3, 4, 5))
    np.testing.assert_allclose(np.sum(ce_lib.logsumexp_vjp(big, np.ones((3,)), axis=(1, 2)), axis=(1, 2)), 1.0, rtol=8 * EPS)


def test_vjps_check_grad_output_and_axis():
    x = np.zeros((2, 3))
    for vjp in (ce_lib.softmax_vjp, ce_lib.log_softmax_vjp):
        with pytest.raises(ValueError, match=r"grad_output must have the shape of x, \(2, 3\), got \(3,\)"):
            vjp(x, np.zeros(3))
        with pytest.raises(ValueError, match="axis=2"):
            vjp(x, x, axis=2)
        with pytest.raises(ValueError, match="grad_output"):
            vjp(x, np.array([["a", "b", "c"]] * 2))
    with pytest.raises(ValueError, match=r"grad_output must have the shape of logsumexp\(x, axis=-1, keepdims=True\), \(2, 1\)"):
        ce_lib.logsumexp_vjp(x, np.zeros(2), keepdims=True)
    with pytest.raises(ValueError, match=r"grad_output .* \(\), got \(2,\)"):
        ce_lib.logsumexp_vjp(x, np.zeros(2), axis=None)
    with pytest.raises(ValueError, match="twice"):
        ce_lib.logsumexp_vjp(x, np.zeros(()), axis=(0, -2))


def test_log_sigmoid_grad_matches_finite_differences_and_mpmath():
    x = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(ce_lib.log_sigmoid_grad(x), _elementwise_difference(ce_lib.log_sigmoid, x), rtol=1e-6, atol=1e-8)
    for v in [-800.0, -40.0, -1.0, 0.0, 1e-9, 2.5, 40.0, 700.0]:
        exact = 1 / (1 + mpmath.exp(mpmath.mpf(v)))  # d/dx log sigma(x) = sigma(-x)
        assert ce_lib.log_sigmoid_grad(v) == pytest.approx(float(exact), rel=4 * EPS, abs=1e-320), v
    assert ce_lib.log_sigmoid_grad(np.inf) == 0 and ce_lib.log_sigmoid_grad(-np.inf) == 1


@pytest.mark.parametrize("eps", [None, 0.0, 0.05, 0.3, 0.5])
def test_logit_grad_matches_finite_differences(eps):
    """Inside the clamp, 1/(p(1-p)); outside it, 0 (logit is constant there). Points stay 2h away from the kinks."""
    p = np.linspace(0.01, 0.99, 99)
    if eps is not None:
        h = np.finfo(float).eps ** (1 / 3)
        p = p[(np.abs(p - eps) > 2 * h) & (np.abs(p - (1 - eps)) > 2 * h)]
    fd = _elementwise_difference(lambda v: ce_lib.logit(v, eps=eps), p)
    got = ce_lib.logit_grad(p, eps=eps)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)
    if eps is not None:
        inside = (p >= eps) & (p <= 1 - eps)
        assert np.all(got[~inside] == 0) and np.all(got[inside] >= 4)


def test_logit_grad_edges_against_mpmath():
    for v in [1e-300, 1e-9, 0.25, 0.5, 1 - 1e-9, 1 - 2**-53]:
        pm = mpmath.mpf(v)
        assert ce_lib.logit_grad(v) == pytest.approx(float(1 / (pm * (1 - pm))), rel=4 * EPS), v
    assert np.all(ce_lib.logit_grad([0.0, 1.0]) == np.inf) and np.isnan(ce_lib.logit_grad(np.nan))
    # the clamp's edges get the inside derivative, as PyTorch's autograd (its test is in test_torch_parity)
    np.testing.assert_array_equal(
        ce_lib.logit_grad([0.1, 0.9, 0.0999, 0.9001], eps=0.1), [1 / (0.1 * (1 - 0.1)), 1 / (0.9 * (1 - 0.9)), 0, 0]
    )
    assert ce_lib.logit_grad(0.5, eps=0.5) == 4 and ce_lib.logit_grad(0.0, eps=0.0) == np.inf


def test_logit_grad_refuses_what_logit_refuses():
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        ce_lib.logit_grad([0.5, 1.5])
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        ce_lib.logit_grad(-0.1, eps=0.1)
    for eps in (-0.1, 0.6, np.nan):
        with pytest.raises(ValueError, match=r"eps must lie in \[0, 0.5\]"):
            ce_lib.logit_grad(0.5, eps=eps)


LOSS_SHAPES = {"(C)": ((5,), ()), "(N,C)": ((4, 5), (4,)), "(N,C,d1,d2)": ((2, 5, 2, 3), (2, 2, 3))}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_nll_loss_grad_matches_finite_differences(shape, weighted, ignore, reduction, rng):
    xs, ys = LOSS_SHAPES[shape]
    x = ce_lib.log_softmax(rng.normal(0, 2, xs), axis=0 if len(xs) == 1 else 1)
    y = rng.integers(0, 5, ys)
    if ignore and y.ndim:
        y.flat[::3] = 7
    w = rng.uniform(0.2, 3.0, 5) if weighted else None
    kw = dict(weight=w, ignore_index=7, reduction=reduction)
    fd = central_difference(lambda v: float(np.sum(ce_lib.nll_loss(v, y, **kw))), x)
    got = ce_lib.nll_loss_grad(x, y, **kw)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_nll_and_cross_entropy_grads_of_ignored_targets_are_zero_even_when_all_are():
    """The mean loss is then 0/0 = NaN (as PyTorch); the gradient stays 0, as PyTorch's autograd (tested there too)."""
    x, y = np.random.default_rng(3).normal(size=(3, 4)), np.full(3, -100)
    assert np.isnan(ce_lib.nll_loss(x, y)) and np.isnan(ce_lib.softmax_cross_entropy(x, y))
    for smoothing in (0.0, 0.2):
        assert np.all(ce_lib.softmax_cross_entropy_grad(x, y, label_smoothing=smoothing) == 0)
    assert np.all(ce_lib.nll_loss_grad(x, y) == 0)
    with pytest.raises(ValueError, match="target holds class index 4"):
        ce_lib.nll_loss_grad(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="weight must have shape"):
        ce_lib.nll_loss_grad(x, np.array([0, 1, 2]), weight=np.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        ce_lib.nll_loss_grad(x, np.array([0, 1, 2]), reduction="batchmean")


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 5)])
def test_binary_cross_entropy_grad_matches_finite_differences(shape, weighted, reduction, rng):
    """Where p(1-p) >= 1e-12 PyTorch's formula is the loss's derivative; the clamp region is tested below."""
    p = rng.uniform(0.02, 0.98, shape)
    y = rng.uniform(0, 1, shape)
    y.flat[::2] = np.round(y.flat[::2])  # hard and soft labels
    w = rng.uniform(0.2, 3.0, shape[-1:]) if weighted else None
    fd = central_difference(lambda v: float(np.sum(ce_lib.binary_cross_entropy(v, y, weight=w, reduction=reduction))), p)
    np.testing.assert_allclose(ce_lib.binary_cross_entropy_grad(p, y, weight=w, reduction=reduction), fd, rtol=1e-6, atol=1e-8)


def test_binary_cross_entropy_grad_follows_pytorchs_clamp_near_0_and_1():
    p = np.array([0.0, 1e-50, 1e-13, 1e-6, 0.5, 1 - 1e-9, 1.0])
    for label in (0.0, 1.0):
        y = np.full_like(p, label)
        expected = (p - y) / np.maximum(p * (1 - p), float(np.float32(1e-12)))  # PyTorch's float32 EPSILON
        np.testing.assert_allclose(ce_lib.binary_cross_entropy_grad(p, y, reduction="none"), expected, rtol=2 * EPS, atol=0)
    assert ce_lib.binary_cross_entropy_grad(0.0, 1.0, reduction="sum") == -1 / float(np.float32(1e-12))  # about -1e12
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        ce_lib.binary_cross_entropy_grad([1.5], [1.0])
    with pytest.raises(ValueError, match="weight of shape"):
        ce_lib.binary_cross_entropy_grad(np.full((2, 3), 0.5), np.ones((2, 3)), weight=np.ones(2))


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("shape", [(), (5,), (4, 6), (2, 3, 4)])
def test_kl_div_grad_matches_finite_differences(shape, reduction, log_target, rng):
    x = np.log(rng.uniform(0.05, 1.0, shape))
    y = rng.uniform(0.0, 1.0, shape)
    target = np.log(y) if log_target else y
    kw = dict(reduction=reduction, log_target=log_target)
    fd = central_difference(lambda v: float(np.sum(ce_lib.kl_div(v, target, **kw))), x)
    got = ce_lib.kl_div_grad(x, target, **kw)
    assert np.shape(got) == shape
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_kl_div_grad_checks_its_arguments():
    with pytest.raises(ValueError, match="target holds negative values"):
        ce_lib.kl_div_grad([0.0, 0.0], [-0.1, 1.1])
    with pytest.raises(ValueError, match="input and target must have the same shape"):
        ce_lib.kl_div_grad([0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="reduction"):
        ce_lib.kl_div_grad([0.0], [1.0], reduction="avg")
    # a log target of -inf (probability 0) has gradient -0, where the loss term is 0 by 0 log 0 = 0
    assert ce_lib.kl_div_grad([0.0, -1.0], [-np.inf, 0.0], reduction="sum", log_target=True).tolist() == [0.0, -1.0]


G23 = np.linspace(-1, 1, 6).reshape(2, 3)
X23 = np.array([[0.3, -1.2, 2.5], [0.0, 0.7, -0.4]])
P23 = np.array([[0.3, 0.02, 0.9], [0.5, 0.7, 0.004]])
ALL_GRADIENTS = [  # (name, function of the main input, a float64 main input)
    ("softmax_vjp", lambda x: ce_lib.softmax_vjp(x, G23), X23),
    ("log_softmax_vjp", lambda x: ce_lib.log_softmax_vjp(x, G23), X23),
    ("logsumexp_vjp", lambda x: ce_lib.logsumexp_vjp(x, np.array([1.0, -2.0])), X23),
    ("log_sigmoid_grad", ce_lib.log_sigmoid_grad, X23),
    ("logit_grad", lambda p: ce_lib.logit_grad(p, eps=0.01), P23),
    ("nll_loss_grad", lambda x: ce_lib.nll_loss_grad(x, np.array([0, 2]), weight=np.array([1.0, 2.0, 3.0])), X23),
    ("binary_cross_entropy_grad", lambda p: ce_lib.binary_cross_entropy_grad(p, np.array([[1.0, 0.0, 0.5]] * 2)), P23),
    ("kl_div_grad", lambda x: ce_lib.kl_div_grad(x, np.full((2, 3), 0.25), reduction="batchmean"), X23),
    ("softmax_cross_entropy_grad", lambda x: ce_lib.softmax_cross_entropy_grad(x, np.array([0, 2])), X23),
    ("sigmoid_grad", ce_lib.sigmoid_grad, X23),
    ("softmax_jacobian", ce_lib.softmax_jacobian, X23),
    ("binary_cross_entropy_with_logits_grad", lambda x: ce_lib.binary_cross_entropy_with_logits_grad(x, np.ones((2, 3))), X23),
    ("distillation_loss_grad", lambda x: ce_lib.distillation_loss_grad(x, np.zeros((2, 3)), 2.0), X23),
]


@pytest.mark.parametrize("name, fn, x", ALL_GRADIENTS, ids=[n for n, _, _ in ALL_GRADIENTS])
def test_gradients_take_float16_and_return_float16_computed_in_float32(name, fn, x):
    """float16 in, float16 out: the float32 result rounded once (the plan of issue 25, as PyTorch)."""
    x16 = x.astype(np.float16)
    got = fn(x16)
    assert got.dtype == np.float16, name
    np.testing.assert_array_equal(got, fn(x16.astype(np.float32)).astype(np.float16))
