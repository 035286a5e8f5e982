"""Every difference from PyTorch and SciPy that book/differences.md lists: one test per row of its table.

Each test asserts both sides of its row: what ``ce_lib`` does, always, and what the other library
does. SciPy is always installed; the PyTorch half of a test imports torch where it starts (after the
``ce_lib`` half has run) and skips, saying so, when torch is not installed. The last tests read the
page's table and check that every row names a test of this file and every test here is named by a
row, so the page and the tests cannot drift apart, and that no cell is too long to read on a phone.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

import ce_lib

PAGE = Path(__file__).resolve().parent.parent / "book" / "differences.md"
TINY = float(mpmath.log1p(mpmath.exp(-40)))  # 4.2e-18: the loss of a correct class ahead by a logit margin of 40


def torch_or_skip():
    """PyTorch for the other half of a test; without it that half skips (the ce_lib half has already run)."""
    return pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]' to check its half")


def tensor(torch, values):
    """A float64 tensor holding ``values``."""
    return torch.tensor(np.asarray(values, dtype=np.float64))


def half_ulps(value: np.ndarray, exact: np.ndarray) -> float:
    """The largest error of float16 ``value`` from float64 ``exact``, in float16 units in the last place."""
    return float(np.max(np.abs(value.astype(np.float64) - exact) / np.spacing(np.abs(value)).astype(np.float64)))


# ----- activations -----------------------------------------------------------------------------------------------


def test_default_axis_is_the_last():
    x = np.arange(6.0).reshape(2, 3)
    assert_allclose(ce_lib.softmax(x).sum(axis=-1), [1, 1], rtol=1e-15)  # one distribution per row
    assert_allclose(ce_lib.softmax(x), special.softmax(x, axis=-1), rtol=1e-15)
    assert_allclose(ce_lib.log_softmax(x), special.log_softmax(x, axis=-1), rtol=1e-15)
    assert ce_lib.logsumexp(x).shape == (2,)
    assert_allclose(ce_lib.logsumexp(x, axis=None), special.logsumexp(x), rtol=1e-15)  # SciPy's default, asked for
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    assert_allclose(ce_lib.entropy(p), [np.log(2), stats.entropy([0.9, 0.1])], rtol=1e-15)
    assert_allclose(ce_lib.js_divergence(p, p[::-1]), [jensenshannon(*p) ** 2] * 2, rtol=1e-13)
    # SciPy: the whole array for the activations, axis 0 for entropy and the Jensen-Shannon distance
    assert_allclose(special.softmax(x).sum(), 1, rtol=1e-15)
    assert np.ndim(special.logsumexp(x)) == 0
    assert_allclose(special.log_softmax(x), special.log_softmax(x.ravel()).reshape(2, 3), rtol=1e-15)
    assert_allclose(stats.entropy(p), [stats.entropy(p[:, 0]), stats.entropy(p[:, 1])], rtol=1e-15)
    assert_allclose(jensenshannon(p, p[::-1]), [jensenshannon(p[:, 0], p[::-1, 0]), jensenshannon(p[:, 1], p[::-1, 1])])


def test_no_implicit_dim():
    shapes = {0: (), 1: (3,), 2: (2, 3), 3: (2, 3, 4), 4: (2, 3, 4, 5), 5: (2, 3, 2, 2, 2)}
    xs = {ndim: np.arange(float(np.prod(shape))).reshape(shape) / 7 for ndim, shape in shapes.items()}
    for x in xs.values():
        assert_allclose(ce_lib.softmax(x).sum(axis=-1), np.ones(x.shape[:-1]), rtol=1e-15)  # always the last axis
    torch = torch_or_skip()
    F = torch.nn.functional
    for ndim, x in xs.items():
        dim = 0 if ndim in (0, 1, 3) else 1  # PyTorch's guess without dim
        for function in (F.softmax, F.log_softmax):
            with pytest.warns(UserWarning, match="Implicit dimension choice"):
                guessed = function(tensor(torch, x))
            assert_allclose(guessed.numpy(), function(tensor(torch, x), dim=dim).numpy(), rtol=1e-15)
        if ndim >= 3:  # there the guess is not the last axis: the results differ from ce_lib's
            assert not np.allclose(F.softmax(tensor(torch, x), dim=dim).numpy(), ce_lib.softmax(x))
        else:
            assert_allclose(F.softmax(tensor(torch, x), dim=dim).numpy(), ce_lib.softmax(x), rtol=1e-15)


def test_activations_take_axis_not_dim():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert_allclose(ce_lib.softmax(x, axis=1).sum(axis=1), np.ones((2, 4)), rtol=1e-15)
    assert ce_lib.logsumexp(x, axis=1, keepdims=True).shape == (2, 1, 4)
    for function in (ce_lib.softmax, ce_lib.log_softmax, ce_lib.logsumexp):
        with pytest.raises(TypeError, match="dim"):
            function(x, dim=1)
    with pytest.raises(TypeError, match="keepdim"):
        ce_lib.logsumexp(x, axis=1, keepdim=True)
    torch = torch_or_skip()
    F = torch.nn.functional
    t = tensor(torch, x)
    assert torch.logsumexp(t, dim=1, keepdim=True).shape == (2, 1, 4)
    assert torch.logsumexp(t, axis=1, keepdims=True).shape == (2, 1, 4)  # NumPy's names too
    assert_array_equal(torch.softmax(t, axis=1).numpy(), torch.softmax(t, dim=1).numpy())
    assert_array_equal(torch.log_softmax(t, axis=1).numpy(), torch.log_softmax(t, dim=1).numpy())
    for function in (F.softmax, F.log_softmax):  # but not in torch.nn.functional
        with pytest.raises(TypeError, match="axis"):
            function(t, axis=1)


def test_softmax_takes_one_axis():
    x = np.arange(24.0).reshape(2, 3, 4) / 5
    for function, scipys in ((ce_lib.softmax, special.softmax), (ce_lib.log_softmax, special.log_softmax)):
        for axis in (None, (0, 1)):
            with pytest.raises(ValueError, match="axis must be an int"):
                function(x, axis=axis)
        # the whole array, SciPy's default
        assert_allclose(function(x.ravel()).reshape(x.shape), scipys(x), rtol=1e-14)
        # a tuple of axes: move them last and merge them
        merged = np.moveaxis(x, (0, 1), (1, 2)).reshape(4, 6)
        assert_allclose(np.moveaxis(function(merged).reshape(4, 2, 3), (1, 2), (0, 1)), scipys(x, axis=(0, 1)), rtol=1e-14)
    assert_allclose(ce_lib.logsumexp(x, axis=(0, 1)), special.logsumexp(x, axis=(0, 1)), rtol=1e-15)  # logsumexp takes both
    assert_allclose(ce_lib.logsumexp(x, axis=None), special.logsumexp(x), rtol=1e-15)


def test_log_softmax_of_plus_infinity():
    x = [np.inf, 0.0, -np.inf]
    assert_array_equal(ce_lib.log_softmax(x), [np.nan, -np.inf, -np.inf])
    with np.errstate(invalid="ignore"):  # SciPy forms inf - inf and says so
        assert_array_equal(special.log_softmax(x), [np.nan, -np.inf, -np.inf])
    torch = torch_or_skip()
    assert np.isnan(torch.log_softmax(tensor(torch, x), -1).numpy()).all()


def test_logsumexp_has_no_b_or_return_sign():
    for option in ({"b": [1.0, -1.0]}, {"return_sign": True}):
        with pytest.raises(TypeError, match=next(iter(option))):
            ce_lib.logsumexp([0.0, 0.0], **option)
    assert special.logsumexp([0.0, 0.0], b=[1.0, -1.0], return_sign=True) == (-np.inf, 0.0)  # log|1 - 1|, sign 0
    assert_allclose(special.logsumexp([0.0, 0.0], b=[2.0, 3.0]), np.log(5), rtol=1e-15)


def test_complex_input_raises():
    z = np.array([[1 + 1j, 0]])
    real = np.array([[1.0, 0.0]])
    index, binary, probability = np.array([0]), np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])
    calls = {
        "sigmoid": lambda: ce_lib.sigmoid(z),
        "log_sigmoid": lambda: ce_lib.log_sigmoid(z),
        "logit": lambda: ce_lib.logit(z),
        "softplus": lambda: ce_lib.softplus(z),
        "logsumexp": lambda: ce_lib.logsumexp(z),
        "softmax": lambda: ce_lib.softmax(z),
        "log_softmax": lambda: ce_lib.log_softmax(z),
        "softmax_cross_entropy": lambda: ce_lib.softmax_cross_entropy(z, index),
        "nll_loss": lambda: ce_lib.nll_loss(z, index),
        "binary_cross_entropy": lambda: ce_lib.binary_cross_entropy(z, binary),
        "binary_cross_entropy_with_logits": lambda: ce_lib.binary_cross_entropy_with_logits(z, binary),
        "kl_div": lambda: ce_lib.kl_div(z, probability),
        "sigmoid_grad": lambda: ce_lib.sigmoid_grad(z),
        "log_sigmoid_grad": lambda: ce_lib.log_sigmoid_grad(z),
        "logit_grad": lambda: ce_lib.logit_grad(z),
        "softmax_vjp": lambda: ce_lib.softmax_vjp(z, real),
        "log_softmax_vjp": lambda: ce_lib.log_softmax_vjp(z, real),
        "logsumexp_vjp": lambda: ce_lib.logsumexp_vjp(z, [1.0]),
        "softmax_cross_entropy_grad": lambda: ce_lib.softmax_cross_entropy_grad(z, index),
        "nll_loss_grad": lambda: ce_lib.nll_loss_grad(z, index),
        "binary_cross_entropy_grad": lambda: ce_lib.binary_cross_entropy_grad(z, binary),
        "binary_cross_entropy_with_logits_grad": lambda: ce_lib.binary_cross_entropy_with_logits_grad(z, binary),
        "kl_div_grad": lambda: ce_lib.kl_div_grad(z, probability),
        "entropy": lambda: ce_lib.entropy(z),
        "cross_entropy": lambda: ce_lib.cross_entropy(z, probability),
        "kl_divergence": lambda: ce_lib.kl_divergence(z, probability),
        "js_divergence": lambda: ce_lib.js_divergence(z, probability),
    }
    for call in calls.values():
        with pytest.raises(ValueError, match="real numeric array"):
            call()
    for function in (ce_lib.cross_entropy, ce_lib.kl_divergence, ce_lib.js_divergence):  # in either argument
        with pytest.raises(ValueError, match="real numeric array"):
            function(probability, z)
    assert_allclose(special.softmax(z).sum(), 1, rtol=1e-15)
    assert np.iscomplexobj(special.log_softmax(z)) and np.iscomplexobj(special.logsumexp(z))
    torch = torch_or_skip()
    assert torch.logsumexp(torch.tensor(z), 1).is_complex() and torch.sigmoid(torch.tensor(z)).is_complex()


def test_float16_is_computed_in_float32():
    zeros = np.zeros((1, 70_000), dtype=np.float16)  # the sum of the exponentials, 70000, is above float16's 65504
    lse, log_q, q = ce_lib.logsumexp(zeros), ce_lib.log_softmax(zeros), ce_lib.softmax(zeros)
    loss = ce_lib.softmax_cross_entropy(zeros, [0])
    assert lse.dtype == log_q.dtype == q.dtype == loss.dtype == np.float16
    log_c = np.float16(np.log(70_000))  # 11.16
    assert lse == log_c and log_q[0, 0] == -log_c and loss == log_c and q[0, 0] == np.float16(1 / 70_000)
    with np.errstate(over="ignore", invalid="ignore"):  # SciPy's float16 sum overflows and says so
        assert special.logsumexp(zeros) == np.inf and special.softmax(zeros)[0, 0] == 0
    # float16 in, float16 out for every activation, loss and gradient
    h, y = np.array([[0.5, 0.25]], dtype=np.float16), np.array([[1.0, 0.0]], dtype=np.float16)
    results = [f(h) for f in (ce_lib.sigmoid, ce_lib.log_sigmoid, ce_lib.logit, ce_lib.softplus, ce_lib.softmax)]
    results += [f(h) for f in (ce_lib.log_softmax, ce_lib.logsumexp, ce_lib.sigmoid_grad, ce_lib.log_sigmoid_grad)]
    results += [ce_lib.logit_grad(h), ce_lib.softmax_vjp(h, h), ce_lib.log_softmax_vjp(h, h), ce_lib.logsumexp_vjp(h, h[:, 0])]
    for loss_function in (ce_lib.softmax_cross_entropy, ce_lib.nll_loss, ce_lib.softmax_cross_entropy_grad, ce_lib.nll_loss_grad):
        results.append(loss_function(h, [0]))
    for loss_function in (ce_lib.binary_cross_entropy, ce_lib.binary_cross_entropy_with_logits, ce_lib.kl_div):
        results.append(loss_function(h, y))
    for loss_function in (ce_lib.binary_cross_entropy_grad, ce_lib.binary_cross_entropy_with_logits_grad, ce_lib.kl_div_grad):
        results.append(loss_function(h, y))
    assert len(results) == 23 and all(r.dtype == np.float16 for r in results)
    torch = torch_or_skip()
    F = torch.nn.functional
    half = torch.tensor(zeros)
    assert torch.logsumexp(half, 1).item() == np.inf
    assert torch.log_softmax(half, 1)[0, 0].item() == -np.inf
    assert F.cross_entropy(half, torch.tensor([0])).item() == np.inf
    assert torch.softmax(half, 1).dtype == torch.float16 and torch.softmax(half, 1)[0, 0].item() == q[0, 0]  # as ce_lib
    # on ordinary input, PyTorch's float16 log_softmax is off by more than 1 ULP; ce_lib's is rounded once
    x = np.random.default_rng(0).normal(0, 2, (64, 10)).astype(np.float16)
    exact = ce_lib.log_softmax(x.astype(np.float64))
    assert half_ulps(torch.log_softmax(torch.from_numpy(x), 1).numpy(), exact) > 1
    assert half_ulps(ce_lib.log_softmax(x), exact) <= 0.501


def test_integer_input_becomes_float64():
    ints = np.array([0, 1])
    activations = (ce_lib.sigmoid, ce_lib.log_sigmoid, ce_lib.logit, ce_lib.softplus)
    for function in (*activations, ce_lib.logsumexp, ce_lib.softmax, ce_lib.log_softmax):
        assert function(ints).dtype == np.float64
    for function in (special.expit, special.log_expit, special.logit, special.softmax, special.log_softmax, special.logsumexp):
        assert function(ints).dtype == np.float64
    torch = torch_or_skip()
    F = torch.nn.functional
    t = torch.tensor(ints)
    assert torch.sigmoid(t).dtype == torch.logit(t).dtype == torch.logsumexp(t, 0).dtype == torch.float32
    for function in (lambda v: torch.softmax(v, 0), lambda v: torch.log_softmax(v, 0), F.softplus, F.logsigmoid):
        with pytest.raises(NotImplementedError, match="Long"):
            function(t)


def test_sigmoid_keeps_subnormal_results():
    exact = mpmath.exp(-710) / (1 + mpmath.exp(-710))  # 4.5e-309, a subnormal number in float64
    subnormal_ulp = np.finfo(np.float64).smallest_subnormal  # the spacing there: about 1e-15 relative
    assert_allclose(ce_lib.sigmoid(-710.0), float(exact), rtol=0, atol=subnormal_ulp)
    assert ce_lib.sigmoid(-745.13) > 0 and ce_lib.sigmoid(-745.14) == 0 and ce_lib.sigmoid(-746.0) == 0
    assert special.expit(-709.78) > 0 and special.expit(-709.79) == 0 and special.expit(-710.0) == 0
    torch = torch_or_skip()
    theirs = torch.sigmoid(tensor(torch, [-709.78, -709.79, -710.0])).numpy()
    assert theirs[0] > 0 and theirs[1] == theirs[2] == 0


def test_softplus_has_no_threshold():
    assert_allclose(ce_lib.softplus(25.0), float(mpmath.log1p(mpmath.exp(25))), rtol=1e-15)  # 25 + 1.4e-11
    assert ce_lib.softplus(25.0) > 25
    for option in ("beta", "threshold"):
        with pytest.raises(TypeError, match=option):
            ce_lib.softplus(25.0, **{option: 1.0})
    torch = torch_or_skip()
    F = torch.nn.functional
    assert F.softplus(tensor(torch, 25.0)).item() == 25.0  # above threshold=20 PyTorch returns x itself
    assert_allclose(F.softplus(tensor(torch, 25.0), threshold=30).item(), ce_lib.softplus(25.0), rtol=1e-15)
    x = np.array([-3.0, 0.5, 4.0])  # beta: softplus(beta * x) / beta
    assert_allclose(F.softplus(tensor(torch, x), beta=2.0, threshold=100).numpy(), ce_lib.softplus(2 * x) / 2, rtol=1e-15)


def test_logit_outside_unit_interval():
    for eps in (None, 0.1):
        with pytest.raises(ValueError, match="p must lie in"):
            ce_lib.logit([0.5, 1.5], eps=eps)
    assert_array_equal(special.logit([0.5, 1.5]), [0.0, np.nan])
    torch = torch_or_skip()
    assert_array_equal(torch.logit(tensor(torch, [0.5, 1.5])).numpy(), [0.0, np.nan])
    # with eps, PyTorch clamps entries outside [0, 1] as well
    assert_allclose(torch.logit(tensor(torch, [1.5, -0.2]), eps=0.1).numpy(), [np.log(9), np.log(1 / 9)], rtol=1e-15)


def test_logit_eps_is_checked():
    assert_allclose(ce_lib.logit([0.0, 0.95], eps=0.1), [np.log(1 / 9), np.log(9)], rtol=1e-15)  # clamped to [0.1, 0.9]
    assert_array_equal(ce_lib.logit([0.0, 0.3, 1.0], eps=0.5), [0.0, 0.0, 0.0])  # the largest eps: everything to 1/2
    for eps in (-0.1, 0.7):
        with pytest.raises(ValueError, match="eps"):
            ce_lib.logit([0.5], eps=eps)
    torch = torch_or_skip()
    p = [0.0, 0.5, 1.0]
    assert_array_equal(torch.logit(tensor(torch, p), eps=-0.1).numpy(), torch.logit(tensor(torch, p)).numpy())  # no clamp
    assert np.isnan(torch.logit(tensor(torch, [1.5]), eps=-0.1).item())
    # eps = 0.7: entries below 0.7 go to logit(0.7) > 0, the rest to logit(0.3) = -logit(0.7)
    p = [0.1, 0.4, 0.5, 0.6, 0.7, 0.9]
    assert_allclose(torch.logit(tensor(torch, p), eps=0.7).numpy(), np.log(7 / 3) * np.array([1, 1, 1, 1, -1, -1]), rtol=1e-15)


# ----- losses ----------------------------------------------------------------------------------------------------


def test_tiny_losses_are_kept():
    x = np.array([[40.0, 0.0]])
    assert_allclose(ce_lib.softmax_cross_entropy(x, [0]), TINY, rtol=1e-15)
    assert_allclose(ce_lib.softmax_cross_entropy_grad(x, [0]), [[-TINY, TINY]], rtol=1e-15)
    assert_allclose(ce_lib.log_softmax(x[0])[0], -TINY, rtol=1e-15)
    assert special.log_softmax(x[0])[0] == 0
    torch = torch_or_skip()
    F = torch.nn.functional
    logits = tensor(torch, x).requires_grad_()
    loss = F.cross_entropy(logits, torch.tensor([0]))
    loss.backward()
    assert loss.item() == 0
    assert logits.grad[0, 0].item() == 0  # only the class-0 entry: the other is right
    assert_allclose(logits.grad[0, 1].item(), TINY, rtol=1e-15)
    assert torch.log_softmax(tensor(torch, x[0]), -1)[0].item() == 0


def test_zero_target_at_minus_infinite_logit():
    x, p = [[-np.inf, 0.0]], [[0.0, 1.0]]
    assert ce_lib.softmax_cross_entropy(x, p) == 0
    torch = torch_or_skip()
    assert np.isnan(torch.nn.functional.cross_entropy(tensor(torch, x), tensor(torch, p)).item())


def test_targets_outside_the_unit_interval_raise():
    with pytest.raises(ValueError, match="target must lie in"):
        ce_lib.softmax_cross_entropy([[1.0, 0.0]], [[-0.5, 1.5]])
    with pytest.raises(ValueError, match="target must lie in"):
        ce_lib.binary_cross_entropy_with_logits([0.5], [1.5])
    torch = torch_or_skip()
    F = torch.nn.functional
    soft = F.cross_entropy(tensor(torch, [[1.0, 0.0]]), tensor(torch, [[-0.5, 1.5]])).item()
    assert_allclose(soft, -0.5 * np.log1p(np.exp(-1)) + 1.5 * np.log1p(np.e), rtol=1e-15)  # -sum t log q
    z = 0.5
    assert_allclose(
        F.binary_cross_entropy_with_logits(tensor(torch, [z]), tensor(torch, [1.5])).item(),
        np.log1p(np.exp(z)) - 1.5 * z,
        rtol=1e-15,
    )


def test_any_integer_dtype_for_class_indices():
    x = np.array([[1.0, 0.0]])
    expected = np.log1p(np.e)  # -log softmax(x)_1
    for dtype in (np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64):
        assert_allclose(ce_lib.softmax_cross_entropy(x, np.array([1], dtype=dtype)), expected, rtol=1e-15)
        assert_allclose(ce_lib.nll_loss(ce_lib.log_softmax(x), np.array([1], dtype=dtype)), expected, rtol=1e-15)
    torch = torch_or_skip()
    F = torch.nn.functional
    for loss in (F.cross_entropy, F.nll_loss):
        for dtype in (torch.int8, torch.int16, torch.int32):
            with pytest.raises(RuntimeError, match="Long or Byte"):
                loss(tensor(torch, x), torch.tensor([1], dtype=dtype))
    for dtype in (torch.uint8, torch.int64):
        assert_allclose(F.cross_entropy(tensor(torch, x), torch.tensor([1], dtype=dtype)).item(), expected, rtol=1e-15)


def test_zero_classes_raise():
    empty, ignored = np.zeros((2, 0)), np.array([-100, -100])  # with no class, every index target must be ignore_index
    for loss, name in ((ce_lib.softmax_cross_entropy, "logits"), (ce_lib.nll_loss, "log_probs")):
        for reduction in ("mean", "none"):
            with pytest.raises(ValueError, match=f"{name} has no classes"):
                loss(empty, ignored, reduction=reduction)
    with pytest.raises(ValueError, match="logits has no classes"):  # a probability target of no classes too
        ce_lib.softmax_cross_entropy(empty, empty)
    torch = torch_or_skip()
    F = torch.nn.functional
    t_empty, t_ignored = tensor(torch, empty), torch.tensor(ignored)
    for loss in (F.cross_entropy, F.nll_loss):
        assert np.isnan(loss(t_empty, t_ignored).item())
        assert_array_equal(loss(t_empty, t_ignored, reduction="none").numpy(), [0.0, 0.0])
    assert np.isnan(F.cross_entropy(t_empty, t_empty).item())  # a probability target of no classes too
    assert_array_equal(F.cross_entropy(t_empty, t_empty, reduction="none").numpy(), [0.0, 0.0])


def test_negative_label_smoothing_raises():
    with pytest.raises(ValueError, match="label_smoothing"):
        ce_lib.softmax_cross_entropy([[1.0, 0.0]], [1], label_smoothing=-0.1)
    torch = torch_or_skip()
    F = torch.nn.functional
    x, y = tensor(torch, [[1.0, 0.0]]), torch.tensor([1])
    assert F.cross_entropy(x, y, label_smoothing=-0.1).item() == F.cross_entropy(x, y).item()  # treated as 0


def test_bad_arguments_raise_value_error():
    """Examples, not every case: each raises ValueError naming the argument here, and another exception in PyTorch."""
    x, two = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    ours = {  # what is wrong: (the argument named in the message, the call)
        "a class index out of range": ("target", lambda: ce_lib.softmax_cross_entropy(x, [2])),
        "floating-point class indices": ("target", lambda: ce_lib.softmax_cross_entropy(two, np.array([1.0, 0.0]))),
        "a class weight of the wrong length": ("weight", lambda: ce_lib.softmax_cross_entropy(x, [1], weight=[1.0, 2.0, 3.0])),
        "a wrong-length weight, probability targets": ("weight", lambda: ce_lib.softmax_cross_entropy(two, two, weight=[1.0])),
        "label_smoothing above 1": ("label_smoothing", lambda: ce_lib.softmax_cross_entropy(x, [1], label_smoothing=1.5)),
        "ignore_index 0, probability targets": ("ignore_index", lambda: ce_lib.softmax_cross_entropy(two, two, ignore_index=0)),
        "ignore_index >= C, probability targets": (
            "ignore_index",
            lambda: ce_lib.softmax_cross_entropy(two, two, ignore_index=5),
        ),
        "probs outside [0, 1]": ("probs", lambda: ce_lib.binary_cross_entropy([1.5], [1.0])),
        "a BCE target outside [0, 1]": ("target", lambda: ce_lib.binary_cross_entropy([0.5], [1.5])),
        "a BCE weight that does not broadcast": (
            "weight",
            lambda: ce_lib.binary_cross_entropy([0.5, 0.5], [1.0, 0.0], weight=[1.0, 2.0, 3.0]),
        ),
        "a pos_weight of the wrong length": (
            "pos_weight",
            lambda: ce_lib.binary_cross_entropy_with_logits([[0.5, 0.5]], [[1.0, 0.0]], pos_weight=[1.0, 2.0, 3.0]),
        ),
        "kl_div shapes that do not broadcast": ("input", lambda: ce_lib.kl_div([0.0, 0.0], [1.0, 0.0, 0.0], reduction="sum")),
    }
    for argument, call in ours.values():
        with pytest.raises(ValueError, match=f"^{argument}"):
            call()
    # a negative ignore_index with probability targets is accepted and changes nothing
    assert ce_lib.softmax_cross_entropy(two, two, ignore_index=-1) == ce_lib.softmax_cross_entropy(two, two)
    torch = torch_or_skip()
    F = torch.nn.functional
    tx, t_two, index = tensor(torch, x), tensor(torch, two), torch.tensor([1])
    theirs = {
        "a class index out of range": (IndexError, lambda: F.cross_entropy(tx, torch.tensor([2]))),
        "floating-point class indices": (RuntimeError, lambda: F.cross_entropy(t_two, tensor(torch, [1.0, 0.0]))),
        "a class weight of the wrong length": (
            RuntimeError,
            lambda: F.cross_entropy(tx, index, weight=tensor(torch, [1.0, 2.0, 3.0])),
        ),
        "a wrong-length weight, probability targets": (
            RuntimeError,
            lambda: F.cross_entropy(t_two, t_two, weight=tensor(torch, [1.0])),
        ),
        "label_smoothing above 1": (RuntimeError, lambda: F.cross_entropy(tx, index, label_smoothing=1.5)),
        "ignore_index 0, probability targets": (RuntimeError, lambda: F.cross_entropy(t_two, t_two, ignore_index=0)),
        "ignore_index >= C, probability targets": (RuntimeError, lambda: F.cross_entropy(t_two, t_two, ignore_index=5)),
        "probs outside [0, 1]": (RuntimeError, lambda: F.binary_cross_entropy(tensor(torch, [1.5]), tensor(torch, [1.0]))),
        "a BCE target outside [0, 1]": (
            RuntimeError,
            lambda: F.binary_cross_entropy(tensor(torch, [0.5]), tensor(torch, [1.5])),
        ),
        "a BCE weight that does not broadcast": (
            RuntimeError,
            lambda: F.binary_cross_entropy(tensor(torch, [0.5, 0.5]), tensor(torch, [1.0, 0.0]), weight=tensor(torch, [1, 2, 3])),
        ),
        "a pos_weight of the wrong length": (
            RuntimeError,
            lambda: F.binary_cross_entropy_with_logits(
                tensor(torch, [[0.5, 0.5]]), tensor(torch, [[1.0, 0.0]]), pos_weight=tensor(torch, [1.0, 2.0, 3.0])
            ),
        ),
        "kl_div shapes that do not broadcast": (
            RuntimeError,
            lambda: F.kl_div(tensor(torch, [0.0, 0.0]), tensor(torch, [1.0, 0.0, 0.0]), reduction="sum"),
        ),
    }
    assert theirs.keys() == ours.keys()
    for kind, call in theirs.values():
        with pytest.raises(kind) as raised:
            call()
        assert not isinstance(raised.value, ValueError)
    assert F.cross_entropy(t_two, t_two, ignore_index=-1).item() == F.cross_entropy(t_two, t_two).item()
    # "some others": PyTorch raises ValueError itself for a few, such as an unknown reduction (no difference there)
    for call in (
        lambda: F.cross_entropy(tx, index, reduction="avg"),
        lambda: ce_lib.softmax_cross_entropy(x, [1], reduction="avg"),
    ):
        with pytest.raises(ValueError, match="reduction"):
            call()


def test_binary_cross_entropy_propagates_nan():
    for probs, target in (([np.nan, 0.5], [1.0, 1.0]), ([0.5, 0.5], [np.nan, 1.0])):
        assert np.isnan(ce_lib.binary_cross_entropy(probs, target))
        assert_array_equal(np.isnan(ce_lib.binary_cross_entropy(probs, target, reduction="none")), [True, False])
    torch = torch_or_skip()
    F = torch.nn.functional
    with pytest.raises(RuntimeError, match="input should be between 0 and 1"):
        F.binary_cross_entropy(tensor(torch, [np.nan, 0.5]), tensor(torch, [1.0, 1.0]))
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(tensor(torch, [0.5, 0.5]), tensor(torch, [np.nan, 1.0]))


def test_bce_with_logits_at_infinite_logits():
    z = np.array([np.inf, -np.inf, np.inf, -np.inf])
    y = np.array([1.0, 0.0, 0.0, 1.0])  # right, right, wrong, wrong
    assert_array_equal(ce_lib.binary_cross_entropy_with_logits(z, y, reduction="none"), [0, 0, np.inf, np.inf])
    torch = torch_or_skip()
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(tensor(torch, z), tensor(torch, y), reduction="none")
    assert_array_equal(theirs.numpy(), [np.nan, np.nan, np.inf, np.nan])
    # where the NaNs come from: (1 - y) z - log sigmoid(z) meets 0 * inf (target 1) or inf - inf (logit -inf, target 0)
    with np.errstate(invalid="ignore"):
        assert_array_equal((1 - y) * z - ce_lib.log_sigmoid(z), [np.nan, np.nan, np.inf, np.nan])


def test_pos_weight_has_one_entry_per_label():
    z, y = np.array([[0.5, 1.0]]), np.array([[1.0, 0.0]])
    expected = ce_lib.binary_cross_entropy_with_logits(z, y, pos_weight=[2.0, 2.0])
    for pos_weight in (2.0, [2.0], [[2.0, 2.0]]):
        with pytest.raises(ValueError, match="pos_weight must have one entry per label"):
            ce_lib.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight)
    z1, y1 = z[0], y[0]  # logits of shape (N,): one label per example
    with pytest.raises(ValueError, match=r"reshape them to \(N, 1\)"):
        ce_lib.binary_cross_entropy_with_logits(z1, y1, pos_weight=[3.0])
    reshaped = ce_lib.binary_cross_entropy_with_logits(z1[:, None], y1[:, None], pos_weight=[3.0])
    torch = torch_or_skip()
    F = torch.nn.functional
    for pos_weight in (2.0, [2.0], [[2.0, 2.0]]):
        theirs = F.binary_cross_entropy_with_logits(tensor(torch, z), tensor(torch, y), pos_weight=tensor(torch, pos_weight))
        assert_allclose(theirs.item(), expected, rtol=1e-15)
    theirs = F.binary_cross_entropy_with_logits(tensor(torch, z1), tensor(torch, y1), pos_weight=tensor(torch, [3.0]))
    assert_allclose(theirs.item(), reshaped, rtol=1e-15)


def test_kl_div_negative_target_raises():
    log_q = np.log([0.5, 0.5])
    with pytest.raises(ValueError, match="target holds negative values"):
        ce_lib.kl_div(log_q, [-0.1, 1.1], reduction="none")
    torch = torch_or_skip()
    theirs = torch.nn.functional.kl_div(tensor(torch, log_q), tensor(torch, [-0.1, 1.1]), reduction="none").numpy()
    assert np.isnan(theirs[0]) and np.isfinite(theirs[1])


def test_kl_div_log_target_minus_infinity():
    x, t = np.array([np.log(0.5), -np.inf, np.log(0.5)]), np.array([-np.inf, -np.inf, 0.0])
    ours = ce_lib.kl_div(x, t, reduction="none", log_target=True)
    assert_allclose(ours, [0.0, 0.0, np.log(2)], rtol=1e-15)
    torch = torch_or_skip()
    F = torch.nn.functional
    theirs = F.kl_div(tensor(torch, x), tensor(torch, t), reduction="none", log_target=True).numpy()
    assert np.isnan(theirs[:2]).all() and theirs[2] == ours[2]
    # not so for a probability target of 0 at an input of -inf: NaN in both, no difference there
    assert np.isnan(ce_lib.kl_div([-np.inf], [0.0], reduction="none")[0])
    assert np.isnan(F.kl_div(tensor(torch, [-np.inf]), tensor(torch, [0.0]), reduction="none")[0].item())


def test_shapes_must_match():
    p, q = np.array([0.5, 0.5]), np.full((2, 2), 0.5)  # q's rows and columns sum to 1 too: only the shapes are wrong
    for function in (ce_lib.kl_divergence, ce_lib.cross_entropy, ce_lib.js_divergence):
        with pytest.raises(ValueError, match="same shape"):
            function(p, q)
    with pytest.raises(ValueError, match="same shape"):
        ce_lib.kl_div(np.log(p), q, reduction="none")
    assert stats.entropy(p, q).shape == (2,)  # SciPy broadcasts p against each column of q
    assert_array_equal(jensenshannon(p, q), [0.0, 0.0])  # and so does jensenshannon
    torch = torch_or_skip()
    assert torch.nn.functional.kl_div(tensor(torch, np.log(p)), tensor(torch, q), reduction="none").shape == (2, 2)


def test_kl_div_mean_does_not_warn():
    import warnings

    log_q, p = np.log([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = ce_lib.kl_div(log_q, p, reduction="mean")
    torch = torch_or_skip()
    with pytest.warns(UserWarning, match="batchmean"):
        theirs = torch.nn.functional.kl_div(tensor(torch, log_q), tensor(torch, p), reduction="mean").item()
    assert_allclose(ours, theirs, rtol=1e-15)


# ----- information (SciPy) ---------------------------------------------------------------------------------------


def test_distributions_are_not_normalised():
    for call in (
        lambda: ce_lib.entropy([1.0, 1.0]),
        lambda: ce_lib.kl_divergence([1.0, 1.0], [9.0, 1.0]),
        lambda: ce_lib.cross_entropy([1.0, 1.0], [9.0, 1.0]),
        lambda: ce_lib.js_divergence([1.0, 1.0], [9.0, 1.0]),
    ):
        with pytest.raises(ValueError, match="must sum to 1"):
            call()
    with pytest.raises(ValueError, match="negative"):
        ce_lib.entropy([-0.5, 1.5])
    assert_allclose(ce_lib.entropy([0.5, 0.5 + 1e-9]), np.log(2), rtol=1e-8)  # within sqrt(eps) of 1: accepted
    assert_allclose(stats.entropy([1.0, 1.0]), np.log(2), rtol=1e-15)
    assert_allclose(stats.entropy([1.0, 1.0], [9.0, 1.0]), ce_lib.kl_divergence([0.5, 0.5], [0.9, 0.1]), rtol=1e-15)
    assert_allclose(jensenshannon([1.0, 1.0], [9.0, 1.0]), jensenshannon([0.5, 0.5], [0.9, 0.1]), rtol=1e-15)
    assert stats.entropy([-0.5, 1.5]) == -np.inf


def test_entropy_takes_one_distribution():
    p, q = [0.5, 0.5], [0.9, 0.1]
    with pytest.raises((TypeError, ValueError)):  # the second argument is the axis
        ce_lib.entropy(p, q)
    assert_allclose(stats.entropy(p, q), ce_lib.kl_divergence(p, q), rtol=1e-15)  # SciPy: the KL divergence


def test_js_divergence_is_not_the_distance():
    p, q = [0.5, 0.5], [0.9, 0.1]
    m = np.array([0.7, 0.3])
    expected = (ce_lib.kl_divergence(p, m) + ce_lib.kl_divergence(q, m)) / 2
    assert_allclose(ce_lib.js_divergence(p, q), expected, rtol=1e-15)
    assert_allclose(jensenshannon(p, q), np.sqrt(expected), rtol=1e-14)


def test_kl_div_is_pytorchs_not_scipys():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    assert_allclose(ce_lib.kl_div(np.log(q), p, reduction="sum"), ce_lib.kl_divergence(p, q), rtol=1e-15)
    assert_allclose(special.kl_div(p, q), p * np.log(p / q) - p + q, rtol=1e-15)  # elementwise, the target first
    assert_allclose(special.kl_div(p, q).sum(), ce_lib.kl_divergence(p, q), rtol=1e-15)  # equal only for equal totals
    assert_allclose(special.rel_entr(p, q).sum(), ce_lib.kl_divergence(p, q), rtol=1e-15)
    assert not np.allclose(special.kl_div(p, q), ce_lib.kl_div(p, q, reduction="none"))  # SciPy's order gives other numbers


# ----- Gaussians (torch.distributions) --------------------------------------------------------------------------


def _torch_normals(torch, mean, std):
    """``Independent(Normal(mean, std), 1)``: a Gaussian with diagonal covariance, as torch.distributions spells it."""
    from torch.distributions import Independent, Normal

    return Independent(Normal(tensor(torch, mean), tensor(torch, std)), 1)


def test_gaussian_kl_near_equal_variances():
    zeros, var_q = np.zeros(2), np.array([0.3, 7.0])
    var_p = var_q * (1 + 1e-12)
    with mpmath.workdps(50):
        exact = float(sum((mpmath.mpf(a) / b - 1 - mpmath.log(mpmath.mpf(a) / b)) / 2 for a, b in zip(var_p, var_q, strict=True)))
    ours = ce_lib.gaussian_kl(zeros, var_p, zeros, var_q)
    assert abs(ours - exact) <= 4 * np.spacing(exact)  # 5.0e-25, every digit
    torch = torch_or_skip()
    from torch.distributions import kl_divergence

    theirs = kl_divergence(_torch_normals(torch, zeros, np.sqrt(var_p)), _torch_normals(torch, zeros, np.sqrt(var_q))).item()
    assert abs(theirs / exact - 1) > 1e-5  # 1.7e-4 with PyTorch 2.13: about 12 of the 16 digits lost


def test_gaussian_kl_takes_variances():
    mean_p, mean_q, var_p, var_q = np.array([0.0]), np.array([1.0]), np.array([4.0]), np.array([1.0])
    assert_allclose(ce_lib.gaussian_kl(mean_p, var_p, mean_q, var_q), (4 - 1 - np.log(4) + 1) / 2, rtol=1e-15)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="var_p must hold positive finite variances"):
            ce_lib.gaussian_kl(mean_p, [bad], mean_q, var_q)
    torch = torch_or_skip()
    from torch.distributions import kl_divergence

    # Normal's second argument is the standard deviation: the variances' square roots give ce_lib's value
    same = kl_divergence(_torch_normals(torch, mean_p, np.sqrt(var_p)), _torch_normals(torch, mean_q, np.sqrt(var_q)))
    assert_allclose(same.item(), ce_lib.gaussian_kl(mean_p, var_p, mean_q, var_q), rtol=1e-15)
    # the variances passed as they are describe another Gaussian, N(0, 16): another divergence
    other = kl_divergence(_torch_normals(torch, mean_p, var_p), _torch_normals(torch, mean_q, var_q)).item()
    assert_allclose(other, (16 - 1 - np.log(16) + 1) / 2, rtol=1e-15)


def test_mvn_kl_near_equal_covariances():
    cov_p = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 3.0]])
    cov_q = cov_p.copy()
    cov_q[0, 0] *= 1 + 1e-8
    zeros = np.zeros(3)
    with mpmath.workdps(50):
        sp, sq = mpmath.matrix(cov_p.tolist()), mpmath.matrix(cov_q.tolist())
        product = sq**-1 * sp
        exact = float((sum(product[i, i] for i in range(3)) - 3 + mpmath.log(mpmath.det(sq) / mpmath.det(sp))) / 2)
    ours = ce_lib.mvn_kl(zeros, cov_p, zeros, cov_q)
    assert abs(ours / exact - 1) < 1e-7  # 2.1e-9: limited by the rounding of the Cholesky factors, not by cancellation
    torch = torch_or_skip()
    from torch.distributions import MultivariateNormal, kl_divergence

    theirs = kl_divergence(
        MultivariateNormal(tensor(torch, zeros), tensor(torch, cov_p)),
        MultivariateNormal(tensor(torch, zeros), tensor(torch, cov_q)),
    ).item()
    assert abs(theirs / exact - 1) > 1  # 4.4 (440%) with PyTorch 2.13: tr - n + log det cancels every digit


# ----- the page and the tests ------------------------------------------------------------------------------------

COLUMNS = 3  # Function | Difference | Why: few enough columns to read on a phone
LAST_LINE = re.compile(r"<br>\s*`(test_\w+)`$")  # the Why cell ends with a line naming a test of this file
TEST_ID = re.compile(r"`(test_\w+)`")
CELL = re.compile(r"(?<!\\)\|")  # a cell boundary: a pipe that is not escaped
LONGEST_CELL = 150  # characters a reader sees in one cell (the test's line left out); most stay within 120
CHECKS = {
    "test_the_page_and_the_tests_name_each_other",
    "test_the_page_check_finds_a_fake_row_and_an_unlisted_test",
}


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of each row of the page's one table, header and separator line left out."""
    lines = markdown.splitlines()
    table = [i for i, line in enumerate(lines) if line.startswith("|")]
    if not table:
        return []
    if table != list(range(table[0], table[-1] + 1)):
        raise ValueError("the page has more than one table, or a table broken by other lines")
    return [[cell.strip() for cell in CELL.split(lines[i].strip())[1:-1]] for i in table[2:]]


def shown(cell: str) -> str:
    """About the text a reader sees in a cell: roles by their link text, no markup, in TeX a command as one character."""
    text = re.sub(r"\{py:\w+\}`~?(?:[\w.]+\.)?(\w+)`", r"\1()", LAST_LINE.sub("", cell))  # {py:func}`~ce_lib.f`: f()
    text = re.sub(r"\{\w+\}`([^`<]*?)\s*(?:<[^`]*>)?`", r"\1", text)  # {index}`text <entry>`, {ref}`text <label>`
    tex = lambda m: re.sub(r"[{}^_]", "", re.sub(r"\\[A-Za-z]+", "#", m.group(1)))
    return re.sub(r"\$([^$]*)\$", tex, text).replace("`", "").strip()


def page_problems(markdown: str, tests: set[str]) -> list[str]:
    """What keeps the page's table and this file's tests from naming each other one to one, or its cells short."""
    rows = table_rows(markdown)
    problems = [] if rows else ["the page has no table"]
    named: list[str] = []
    for cells in rows:
        if len(cells) != COLUMNS:
            problems.append(f"a row has {len(cells)} cells, not {COLUMNS}: {cells[0]!r}")
            continue
        ids = TEST_ID.findall(" ".join(cells))
        last = LAST_LINE.search(cells[-1])
        if len(ids) != 1 or not last:
            problems.append(f"a row names {len(ids)} tests; it must name 1, on its Why cell's last line: {cells[0]!r}")
        problems += [f"a row names {name}, which tests/test_differences.py does not define" for name in ids if name not in tests]
        problems += [
            f"a cell shows {len(shown(c))} characters, over {LONGEST_CELL}: {c!r}" for c in cells if len(shown(c)) > LONGEST_CELL
        ]
        named += ids
    problems += [f"{name} is named by {count} rows" for name, count in Counter(named).items() if count > 1]
    problems += [f"{name} is named by no row of the page" for name in sorted(tests - set(named))]
    return problems


def behaviour_tests() -> set[str]:
    """This file's tests, the page checks left out."""
    return {name for name, value in globals().items() if name.startswith("test_") and callable(value)} - CHECKS


def _linear_problem():
    rng = np.random.default_rng(5)
    return rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), np.array([0, 1, 2, 4])


def test_linear_cross_entropy_takes_a_2d_weight():
    x, w, y = _linear_problem()
    with pytest.raises(ValueError, match="linear_weight must have shape"):
        ce_lib.linear_cross_entropy(x, np.stack([w, w], axis=1), y)
    torch = torch_or_skip()
    F = torch.nn.functional
    targets = torch.zeros((4, 2), dtype=torch.long)
    loss = F.linear_cross_entropy(tensor(torch, x), tensor(torch, np.stack([w, w], axis=1)), targets)
    assert np.isfinite(loss.item())  # PyTorch: logits (4, 5, 2), one class index per position


def test_linear_cross_entropy_promotes_mixed_dtypes():
    x, w, y = _linear_problem()
    mixed = ce_lib.linear_cross_entropy(x.astype(np.float32), w, y)
    assert mixed.dtype == np.float64
    assert_allclose(mixed, ce_lib.softmax_cross_entropy(x.astype(np.float32).astype(np.float64) @ w.T, y), rtol=1e-14)
    torch = torch_or_skip()
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.functional.linear_cross_entropy(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(w), torch.from_numpy(y))


def test_linear_cross_entropy_chunks_with_chunk_size():
    x, w, y = _linear_problem()
    assert_allclose(ce_lib.linear_cross_entropy(x, w, y, chunk_size=3), ce_lib.softmax_cross_entropy(x @ w.T, y), rtol=1e-14)
    with pytest.raises(TypeError, match="options"):
        ce_lib.linear_cross_entropy(x, w, y, options=None)
    torch = torch_or_skip()
    with pytest.raises(TypeError, match="chunk_size"):
        torch.nn.functional.linear_cross_entropy(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(y), chunk_size=3)


def test_the_page_and_the_tests_name_each_other():
    page = PAGE.read_text()
    problems = page_problems(page, behaviour_tests())
    assert not problems, "\n".join(problems)
    assert len(table_rows(page)) == len(behaviour_tests())
    assert table_rows(page)[0][0].startswith("{py:func}`~ce_lib.softmax`")  # the header row is left out


def test_the_page_check_finds_a_fake_row_and_an_unlisted_test():
    page = PAGE.read_text()
    lines = page.splitlines()
    last = lines[max(i for i, line in enumerate(lines) if line.startswith("|"))]
    test_of_last = LAST_LINE.search(CELL.split(last.strip())[-2].strip()).group(1)

    def with_row(row: str) -> str:
        return page.replace(last, f"{last}\n{row}")

    tests = behaviour_tests()
    assert page_problems(with_row("| `ce_lib.nothing` | a | b <br>`test_nothing` |"), tests) == [
        "a row names test_nothing, which tests/test_differences.py does not define"
    ]
    assert page_problems(page, tests | {"test_new_behaviour"}) == ["test_new_behaviour is named by no row of the page"]
    assert page_problems(with_row(last), tests) == [f"{test_of_last} is named by 2 rows"]
    assert page_problems(with_row(f"| `ce_lib.nothing` | a | b | <br>`{test_of_last}` |"), tests)[0].startswith(
        "a row has 4 cells, not 3"
    )
    assert page_problems(with_row(f"| `ce_lib.nothing` | a | b `{test_of_last}` |"), tests)[0].startswith(
        "a row names 1 tests; it must name 1, on its Why cell's last line"
    )
    long_cell = " ".join(["word"] * 40)  # 199 characters
    assert page_problems(with_row(f"| `ce_lib.nothing` | {long_cell} | b <br>`test_nothing` |"), tests)[:2] == [
        "a row names test_nothing, which tests/test_differences.py does not define",
        f"a cell shows 199 characters, over {LONGEST_CELL}: {long_cell!r}",
    ]
    assert shown("{py:func}`~ce_lib.kl_div`, {index}`float16 <single: float16>` $\\sigma(-710)$ <br>`test_x`") == (
        "kl_div(), float16 #(-710)"
    )
