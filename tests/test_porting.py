"""What a user porting PyTorch or SciPy code meets: 0-d input, float16, logit's eps, several axes, ignore_index.

Each behaviour here was a difference from PyTorch that issue 25 removed; the references are closed
forms and SciPy, and PyTorch itself when it is installed (its half is skipped otherwise, saying so).
"""

import itertools

import numpy as np
import pytest
import scipy.special as sc

import ce_lib

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional: the PyTorch halves skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed: pip install -e '.[torch]'")
SPECIAL = [2.5, -700.0, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("value", SPECIAL)
@pytest.mark.parametrize("axis", [0, -1])
def test_zero_d_input_is_one_class(value, axis):
    """softmax is 1, log_softmax 0 and logsumexp x for a finite 0-d x; inf and NaN give NaN, except lse(+-inf) = +-inf."""
    x = np.array(value)
    finite = np.isfinite(value)
    np.testing.assert_array_equal(ce_lib.softmax(x, axis=axis), 1.0 if finite else np.nan)
    np.testing.assert_array_equal(ce_lib.log_softmax(x, axis=axis), 0.0 if finite else np.nan)
    np.testing.assert_array_equal(ce_lib.logsumexp(x, axis=axis), value)
    assert np.ndim(ce_lib.softmax(x, axis=axis)) == 0 and np.ndim(ce_lib.logsumexp(x, axis=axis)) == 0
    # SciPy agrees on every value
    with np.errstate(invalid="ignore"):  # SciPy's own inf - inf
        np.testing.assert_array_equal(ce_lib.softmax(x, axis=axis), sc.softmax(x, axis=axis))
        np.testing.assert_array_equal(ce_lib.log_softmax(x, axis=axis), sc.log_softmax(x, axis=axis))
        np.testing.assert_array_equal(ce_lib.logsumexp(x, axis=axis), sc.logsumexp(x, axis=axis))


@needs_torch
@pytest.mark.parametrize("value", SPECIAL)
def test_zero_d_input_matches_pytorch(value):
    x = torch.tensor(value, dtype=torch.float64)
    np.testing.assert_array_equal(ce_lib.softmax(np.array(value), axis=0), torch.softmax(x, 0).numpy())
    np.testing.assert_array_equal(ce_lib.log_softmax(np.array(value), axis=-1), torch.log_softmax(x, -1).numpy())
    np.testing.assert_array_equal(ce_lib.logsumexp(np.array(value), axis=0), torch.logsumexp(x, 0).numpy())


def test_zero_d_input_refuses_other_axes():
    for fn in (ce_lib.softmax, ce_lib.log_softmax, ce_lib.logsumexp):
        with pytest.raises(ValueError, match="axis=1 is out of range for 0-d x"):
            fn(np.array(1.0), axis=1)


AXES = [0, 1, 2, -1, (0, 2), (2, 0), (0, 1, 2), (-1, -2), (), None]


@pytest.mark.parametrize("axis, keepdims", list(itertools.product(AXES, [False, True])))
def test_logsumexp_over_several_axes_matches_scipy(axis, keepdims, rng):
    x = rng.normal(0, 30, (3, 4, 5))
    x[0, 0, :] = -np.inf  # a slice of -inf where one axis alone is reduced
    ours = ce_lib.logsumexp(x, axis=axis, keepdims=keepdims)
    theirs = sc.logsumexp(x, axis=axis, keepdims=keepdims)
    assert np.shape(ours) == np.shape(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)


def test_logsumexp_of_zeros_over_axes_is_log_of_their_size():
    """A closed form: lse of n zeros is log n, whichever axes hold the n."""
    x = np.zeros((2, 3, 5))
    assert ce_lib.logsumexp(x, axis=(0, 2)).tolist() == [np.log(10.0)] * 3
    assert float(ce_lib.logsumexp(x, axis=None)) == np.log(30.0)
    assert ce_lib.logsumexp(x, axis=(0, 1), keepdims=True).shape == (1, 1, 5)
    assert ce_lib.logsumexp(np.zeros((0, 3)), axis=(0, 1)) == -np.inf  # the log of an empty sum


@needs_torch
def test_logsumexp_over_several_axes_matches_pytorch(rng):
    x = rng.normal(0, 3, (3, 4, 5))
    for dim, keepdim in itertools.product([(0, 2), (1, 2), (0, 1, 2), (-1, 0)], [False, True]):
        theirs = torch.logsumexp(torch.from_numpy(x), dim=dim, keepdim=keepdim).numpy()
        np.testing.assert_allclose(ce_lib.logsumexp(x, axis=dim, keepdims=keepdim), theirs, rtol=1e-14, atol=0)


def test_logit_eps_clamps_to_the_closed_form():
    p = np.array([0.0, 0.05, 0.1, 0.5, 0.95, 1.0])
    expected = np.log([1 / 9, 1 / 9, 1 / 9, 1.0, 9.0, 9.0])  # clamped to [0.1, 0.9]
    np.testing.assert_allclose(ce_lib.logit(p, eps=0.1), expected, rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(ce_lib.logit(p, eps=0.0), ce_lib.logit(p))  # eps = 0 clamps nothing
    assert ce_lib.logit(0.3, eps=0.5) == 0.0  # every p becomes 1/2
    with pytest.raises(ValueError, match="p must lie in \\[0, 1\\]"):
        ce_lib.logit([1.5], eps=0.1)  # the policy: outside [0, 1] still raises, clamp or not


@needs_torch
@pytest.mark.parametrize("eps", [None, 0.0, 1e-6, 0.1, 0.5])
def test_logit_eps_matches_pytorch(eps):
    p = np.array([0.0, 1e-7, 0.05, 0.3, 0.5, 0.97, 1.0])
    theirs = torch.logit(torch.from_numpy(p), eps=eps).numpy()
    np.testing.assert_allclose(ce_lib.logit(p, eps=eps), theirs, rtol=1e-15, atol=0)


def test_probability_targets_refuse_a_non_negative_ignore_index(rng):
    x = rng.normal(size=(4, 3))
    p = ce_lib.softmax(rng.normal(size=(4, 3)))
    for fn in (ce_lib.softmax_cross_entropy, ce_lib.softmax_cross_entropy_grad):
        for ignore in (0, 2, 100):  # a class, and an index beyond the classes: both refused, as PyTorch
            with pytest.raises(ValueError, match=f"ignore_index must be negative with probability targets, got {ignore}"):
                fn(x, p, ignore_index=ignore)
        # a negative ignore_index is accepted, and it changes nothing
        np.testing.assert_array_equal(fn(x, p, ignore_index=-1), fn(x, p))


@needs_torch
def test_pytorch_has_the_same_ignore_index_rule(rng):
    x, p = rng.normal(size=(4, 3)), ce_lib.softmax(rng.normal(size=(4, 3)))
    for ignore in (0, 2, 100):
        with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
            F.cross_entropy(torch.from_numpy(x), torch.from_numpy(p), ignore_index=ignore)
    theirs = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(p), ignore_index=-1).numpy()
    np.testing.assert_allclose(ce_lib.softmax_cross_entropy(x, p, ignore_index=-1), theirs, rtol=1e-14)


def _half_cases(rng):
    """Every activation, loss and information measure, called with a float16 first argument: (name, call, argument)."""
    x = rng.normal(0, 2, (4, 3)).astype(np.float16)
    p = ce_lib.softmax(rng.normal(size=(4, 3)))
    probs = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float16)
    y, y01 = np.array([0, 2, 1, 2]), rng.integers(0, 2, (4, 3)).astype(np.float64)
    quarters = np.array([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25], [0.125, 0.375, 0.5], [0.75, 0.125, 0.125]], np.float16)
    return [
        ("sigmoid", ce_lib.sigmoid, x, {}),
        ("log_sigmoid", ce_lib.log_sigmoid, x, {}),
        ("softplus", ce_lib.softplus, x, {}),
        ("logit", ce_lib.logit, probs, {}),
        ("logsumexp", ce_lib.logsumexp, x, {}),
        ("softmax", ce_lib.softmax, x, {}),
        ("log_softmax", ce_lib.log_softmax, x, {}),
        ("softmax_cross_entropy", ce_lib.softmax_cross_entropy, x, {"target": y}),
        ("softmax_cross_entropy probabilities", ce_lib.softmax_cross_entropy, x, {"target": p}),
        ("nll_loss", ce_lib.nll_loss, x, {"target": y}),
        ("binary_cross_entropy", ce_lib.binary_cross_entropy, probs, {"target": y01}),
        ("binary_cross_entropy_with_logits", ce_lib.binary_cross_entropy_with_logits, x, {"target": y01}),
        ("kl_div", ce_lib.kl_div, x, {"target": p.astype(np.float16)}),
        ("distillation_loss", ce_lib.distillation_loss, x, {"teacher_logits": x[::-1].copy(), "temperature": 2.0}),
        ("brier_score", ce_lib.brier_score, quarters, {"target": y}),
        ("sigmoid_focal_loss", ce_lib.sigmoid_focal_loss, x, {"target": y01}),
        ("entropy", ce_lib.entropy, quarters, {}),
        ("cross_entropy", ce_lib.cross_entropy, quarters, {"q": quarters[::-1].copy()}),
        ("kl_divergence", ce_lib.kl_divergence, quarters, {"q": quarters[::-1].copy()}),
        ("js_divergence", ce_lib.js_divergence, quarters, {"q": quarters[::-1].copy()}),
        ("mutual_information", ce_lib.mutual_information, quarters / np.float16(4), {}),
        ("f_divergence", ce_lib.f_divergence, quarters, {"q": quarters[::-1].copy(), "kind": "hellinger"}),
        ("gaussian_kl", ce_lib.gaussian_kl, x, {"var_p": probs, "mean_q": x[::-1].copy(), "var_q": probs[::-1].copy()}),
        ("kl_estimate", ce_lib.kl_estimate, x, {"log_p": x[::-1].copy(), "reduction": "none"}),
        (
            "dpo_loss",
            ce_lib.dpo_loss,
            x,
            {"rejected_logps": x[::-1].copy(), "ref_chosen_logps": x * 0, "ref_rejected_logps": x * 0},
        ),
    ]


@pytest.mark.parametrize("case", range(25))
def test_float16_in_float16_out_rounded_once_from_float32(case, rng):
    name, fn, arg, kwargs = _half_cases(rng)[case]
    assert arg.dtype == np.float16
    ours = fn(arg, **kwargs)
    in_float32 = fn(arg.astype(np.float32), **kwargs)
    assert np.asarray(ours).dtype == np.float16, name
    assert np.asarray(in_float32).dtype == np.float32, name
    np.testing.assert_array_equal(ours, np.asarray(in_float32).astype(np.float16), err_msg=name)


def test_every_half_case_is_a_public_activation_or_loss(rng):
    """The float16 cases above cover each name once (so that parametrize's range(16) cannot go stale)."""
    names = [case[0] for case in _half_cases(rng)]
    assert len(names) == 25 == len(set(names))


def _half_ulps(value: np.ndarray, exact: np.ndarray) -> float:
    """The largest error of float16 ``value`` from float64 ``exact``, in float16 units in the last place."""
    return float(np.max(np.abs(value.astype(np.float64) - exact) / np.spacing(np.abs(value)).astype(np.float64)))


def test_float16_results_are_correctly_rounded(rng):
    """Computed in float32 and rounded once, each result is within half a float16 ULP of the exact value (float64 here).

    The float32 intermediate's own error (about 1e-7 relative) could tip a value lying within
    it of a rounding boundary, hence the 0.501 rather than 0.5.
    """
    x = rng.normal(0, 2, (64, 10)).astype(np.float16)
    x64 = x.astype(np.float64)
    for fn in (ce_lib.softmax, ce_lib.log_softmax, ce_lib.sigmoid, ce_lib.log_sigmoid, ce_lib.softplus):
        assert _half_ulps(fn(x), fn(x64)) <= 0.501, fn.__name__


@needs_torch
def test_float16_results_against_pytorch(rng):
    """PyTorch's CPU kernels also give float16 out for float16 in: softmax and sigmoid agree bit for bit with
    ce_lib here, while PyTorch's float16 log_softmax is off by more than 1 ULP (ce_lib's stays within 0.501)."""
    x = rng.normal(0, 2, (64, 10)).astype(np.float16)
    x64, xt = x.astype(np.float64), torch.from_numpy(x)
    for ours, theirs in [(ce_lib.softmax(x, axis=1), torch.softmax(xt, 1)), (ce_lib.sigmoid(x), torch.sigmoid(xt))]:
        assert theirs.dtype == torch.float16
        np.testing.assert_array_equal(ours, theirs.numpy())
    theirs = torch.log_softmax(xt, 1)
    assert theirs.dtype == torch.float16
    assert _half_ulps(theirs.numpy(), ce_lib.log_softmax(x64, axis=1)) > 1
    assert _half_ulps(ce_lib.log_softmax(x, axis=1), ce_lib.log_softmax(x64, axis=1)) <= 0.501


def test_unsigned_class_indices_beyond_int64_are_refused_not_wrapped(rng):
    """2**64 - 100 as uint64 would wrap to -100, the default ignore_index, and silently drop its row."""
    x = rng.normal(size=(2, 3))
    with pytest.raises(ValueError, match="beyond the int64 range"):
        ce_lib.softmax_cross_entropy(x, np.array([2**64 - 100, 1], dtype=np.uint64))
    np.testing.assert_array_equal(
        ce_lib.softmax_cross_entropy(x, np.array([0, 1], dtype=np.uint64)), ce_lib.softmax_cross_entropy(x, [0, 1])
    )


def test_zero_classes_are_refused(rng):
    for fn, arg in [(ce_lib.softmax_cross_entropy, np.zeros((2, 0))), (ce_lib.nll_loss, np.zeros((2, 0)))]:
        with pytest.raises(ValueError, match="has no classes"):
            fn(arg, np.array([0, 0]))
    for fn in (ce_lib.softmax_cross_entropy, ce_lib.softmax_cross_entropy_grad):  # probability targets too
        with pytest.raises(ValueError, match="has no classes"):
            fn(np.zeros((3, 0)), np.zeros((3, 0)))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("num_classes", [2, 40])  # the transposed (narrow) and the row layout
def test_a_zero_weight_at_an_impossible_class_is_nan_without_a_warning(smoothing, num_classes, rng):
    """0 * inf is NaN, as PyTorch, and an ignored row holding -inf is 0: neither warns (warnings are errors here)."""
    x = rng.normal(size=(3, num_classes))
    x[0, 0] = x[1, 0] = -np.inf
    w = np.ones(num_classes)
    w[0] = 0.0
    y = np.array([0, -100, 1])
    ours = ce_lib.softmax_cross_entropy(x, y, weight=w, reduction="none", label_smoothing=smoothing)
    assert np.isnan(ours[0]) and ours[1] == 0 and np.isfinite(ours[2])
    log_q = ce_lib.log_softmax(x, axis=1)
    nll = ce_lib.nll_loss(log_q, y, weight=w, reduction="none")
    assert np.isnan(nll[0]) and nll[1] == 0 and np.isfinite(nll[2])
    if torch is not None:
        theirs = F.cross_entropy(
            torch.from_numpy(x), torch.from_numpy(y), weight=torch.from_numpy(w), reduction="none", label_smoothing=smoothing
        ).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)
        theirs_nll = F.nll_loss(torch.from_numpy(log_q), torch.from_numpy(y), weight=torch.from_numpy(w), reduction="none")
        np.testing.assert_allclose(nll, theirs_nll.numpy(), rtol=1e-13)


@pytest.mark.parametrize("eps", [0.1, 1e-6, 0.3])
def test_float16_logit_clamps_at_float16_bounds(eps):
    """Bounds rounded in float16, as torch.logit: float16(1) - float16(1e-6) is 1, so p = 1 is not clamped.

    The values are correctly rounded from the exact log-odds of the clamped float16 input.
    """
    p = np.array([0.0, 0.1, 0.3, 0.7, 0.9, 1.0], dtype=np.float16)
    low = np.float16(eps)
    high = np.float16(1) - low
    clamped = np.clip(p.astype(np.float64), float(low), float(high))
    with np.errstate(divide="ignore"):
        expected = np.log(clamped / (1 - clamped)).astype(np.float16)
    np.testing.assert_array_equal(ce_lib.logit(p, eps=eps), expected)
    if torch is not None:  # PyTorch clamps the same entries (its float16 values are rounded less carefully)
        pt = torch.from_numpy(p).requires_grad_()
        torch.logit(pt, eps=eps).sum().backward()
        np.testing.assert_array_equal(ce_lib.logit_grad(p, eps=eps) == 0, pt.grad.numpy() == 0)
