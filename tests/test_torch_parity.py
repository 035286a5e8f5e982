"""Parity with PyTorch (CPU, float64) over every keyword combination, and gradients against autograd.

torch is an optional extra (`pip install -e ".[torch]"`); without it these tests skip, saying so.
Tolerance: both sides sum at most a few dozen terms in different orders, so they agree to
a few hundred eps relative (1e-13); inputs avoid dominant logits, where PyTorch rounds tiny
losses to 0 and ce_lib does not (see test_accuracy).
"""

import itertools

import numpy as np
import pytest

import ce_lib

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]' to run the parity tests")
F = torch.nn.functional
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-13, 1e-14
SHAPES = {"(C)": ((5,), ()), "(N,C)": ((7, 5), (7,)), "(N,C,d1,d2)": ((3, 5, 2, 4), (3, 2, 4))}


def t(a):
    return torch.from_numpy(np.array(a, copy=True))  # keeps 0-d arrays 0-d


def index_target(shape, ignore, rng):
    y = rng.integers(0, 5, shape)
    if ignore and y.ndim:
        y.flat[::3] = -100
    return y


def check_cross_entropy(x, target, w, **kw):
    """Values and gradients of ce_lib against torch for one call of cross_entropy."""
    tw = None if w is None else t(w)
    ours = ce_lib.softmax_cross_entropy(x, target, weight=w, **kw)
    np.testing.assert_allclose(ours, F.cross_entropy(t(x), t(target), weight=tw, **kw).numpy(), rtol=RTOL, atol=ATOL)
    x_t = t(x).requires_grad_()
    F.cross_entropy(x_t, t(target), weight=tw, **kw).sum().backward()
    grad = ce_lib.softmax_cross_entropy_grad(x, target, weight=w, **kw)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=RTOL, atol=ATOL)


CE_CASES = list(itertools.product(SHAPES, [None, "w"], [False, True], ["none", "sum", "mean"], [0.0, 0.25, 1.0]))


@pytest.mark.parametrize("shape, weight, ignore, reduction, smoothing", CE_CASES)
def test_cross_entropy_index_targets(shape, weight, ignore, reduction, smoothing, rng):
    xs, ys = SHAPES[shape]
    x = rng.normal(0, 3, xs)
    y = index_target(ys, ignore, rng)
    w = rng.uniform(0.2, 3.0, 5) if weight else None
    check_cross_entropy(x, y, w, reduction=reduction, label_smoothing=smoothing)


@pytest.mark.parametrize(
    "shape, weight, reduction, smoothing", list(itertools.product(SHAPES, [None, "w"], ["none", "sum", "mean"], [0.0, 0.3]))
)
def test_cross_entropy_probability_targets(shape, weight, reduction, smoothing, rng):
    xs, _ = SHAPES[shape]
    x = rng.normal(0, 3, xs)
    class_axis = 0 if len(xs) == 1 else 1
    p = ce_lib.softmax(rng.normal(0, 2, xs), axis=class_axis)
    w = rng.uniform(0.2, 3.0, 5) if weight else None
    check_cross_entropy(x, p, w, reduction=reduction, label_smoothing=smoothing)


@pytest.mark.parametrize(
    "shape, weight, ignore, reduction", list(itertools.product(SHAPES, [None, "w"], [False, True], ["none", "sum", "mean"]))
)
def test_nll_loss(shape, weight, ignore, reduction, rng):
    xs, ys = SHAPES[shape]
    logq = ce_lib.log_softmax(rng.normal(0, 3, xs), axis=0 if len(xs) == 1 else 1)
    y = index_target(ys, ignore, rng)
    w = rng.uniform(0.2, 3.0, 5) if weight else None
    ours = ce_lib.nll_loss(logq, y, weight=w, reduction=reduction)
    theirs = F.nll_loss(t(logq), t(y), weight=None if w is None else t(w), reduction=reduction).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_all_ignored_is_nan_in_both(rng):
    x, y = rng.normal(size=(3, 4)), np.full(3, -100)
    assert np.isnan(ce_lib.softmax_cross_entropy(x, y)) and torch.isnan(F.cross_entropy(t(x), t(y)))


BIN_SHAPES = [(6,), (4, 3), (2, 3, 5)]


@pytest.mark.parametrize(
    "shape, weight, reduction, soft", list(itertools.product(BIN_SHAPES, [None, "w"], ["none", "sum", "mean"], [False, True]))
)
def test_binary_cross_entropy(shape, weight, reduction, soft, rng):
    p = rng.uniform(0, 1, shape)
    p.flat[0], p.flat[-1] = 0.0, 1.0  # the clamp at -100
    y = rng.uniform(0, 1, shape) if soft else (rng.uniform(0, 1, shape) > 0.5).astype(float)
    w = rng.uniform(0.2, 3.0, shape[-1:]) if weight else None
    ours = ce_lib.binary_cross_entropy(p, y, weight=w, reduction=reduction)
    theirs = F.binary_cross_entropy(t(p), t(y), weight=None if w is None else t(w), reduction=reduction).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_binary_cross_entropy_backward_is_the_rule_the_stability_chapter_states():
    """numerical_stability.md: PyTorch's backward is (y_hat - y) / max(y_hat (1 - y_hat), 1e-12), about -1e12 at 0 or 1e-50."""
    y_hat = np.array([0.0, 1e-50, 1e-13, 1e-6, 0.3, 0.5, 1 - 1e-9, 1.0])
    for label in (0.0, 1.0):
        y = np.full_like(y_hat, label)
        x = t(y_hat).requires_grad_()
        F.binary_cross_entropy(x, t(y), reduction="sum").backward()
        expected = (y_hat - y) / np.maximum(y_hat * (1 - y_hat), 1e-12)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-8)
    x = t(np.array([1e-50, 0.0])).requires_grad_()
    F.binary_cross_entropy(x, t(np.ones(2)), reduction="sum").backward()
    assert np.all(np.abs(x.grad.numpy() / -1e12 - 1) < 1e-8)


@pytest.mark.parametrize(
    "shape, weight, pos_weight, reduction, soft",
    list(itertools.product(BIN_SHAPES, [None, "w"], [None, "pw"], ["none", "sum", "mean"], [False, True])),
)
def test_binary_cross_entropy_with_logits(shape, weight, pos_weight, reduction, soft, rng):
    z = rng.normal(0, 3, shape)
    y = rng.uniform(0, 1, shape) if soft else (rng.uniform(0, 1, shape) > 0.5).astype(float)
    w = rng.uniform(0.2, 3.0, shape) if weight else None
    pw = rng.uniform(0.5, 4.0, shape[-1]) if pos_weight else None
    kw = dict(reduction=reduction)
    ours = ce_lib.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, **kw)
    tw, tpw = (None if w is None else t(w)), (None if pw is None else t(pw))
    theirs = F.binary_cross_entropy_with_logits(t(z), t(y), weight=tw, pos_weight=tpw, **kw).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    z_t = t(z).requires_grad_()
    F.binary_cross_entropy_with_logits(z_t, t(y), weight=tw, pos_weight=tpw, **kw).sum().backward()
    grad = ce_lib.binary_cross_entropy_with_logits_grad(z, y, weight=w, pos_weight=pw, **kw)
    np.testing.assert_allclose(grad, z_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_activations_match_torch(rng):
    x = rng.normal(0, 10, (8, 6))
    np.testing.assert_allclose(ce_lib.softmax(x), torch.softmax(t(x), -1).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ce_lib.log_softmax(x), torch.log_softmax(t(x), -1).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ce_lib.logsumexp(x), torch.logsumexp(t(x), -1).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ce_lib.sigmoid(x), torch.sigmoid(t(x)).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ce_lib.log_sigmoid(x), F.logsigmoid(t(x)).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ce_lib.softplus(x), F.softplus(t(x)).numpy(), rtol=RTOL, atol=ATOL)


def _listings(markdown: str) -> list[str]:
    import re

    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_the_frameworks_listings_run_and_say_what_the_text_says():
    """book/part3/frameworks.md shows PyTorch as listings: run each, and check each stated output.

    A line commented "the same value" must equal the value of the expression before it,
    and the four values must match the ce_lib cell that follows the listing.
    """
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "book" / "part3" / "frameworks.md").read_text()
    listings = _listings(source)
    assert listings, "frameworks.md has no PyTorch listing"
    for listing in listings:
        lines = listing.splitlines()
        namespace: dict = {}
        values = []
        for node in ast.parse(listing).body:
            code = compile(
                ast.Module([node], type_ignores=[]) if not isinstance(node, ast.Expr) else ast.Expression(node.value),
                "<listing>",
                "eval" if isinstance(node, ast.Expr) else "exec",
            )
            result = eval(code, namespace)
            if isinstance(node, ast.Expr):
                values.append((float(result), lines[node.lineno - 1]))
        claims = [(previous, current) for previous, current in itertools.pairwise(values) if "the same value" in current[1]]
        assert claims, "the listing states no equality to check"
        for (before, _), (after, line) in claims:
            assert np.isclose(after, before, rtol=1e-6), line
    ours = [
        ce_lib.softmax_cross_entropy(np.array([[2.3, -1.2, 0.7]]), np.array([0])),
        ce_lib.nll_loss(ce_lib.log_softmax(np.array([[2.3, -1.2, 0.7]]), axis=1), np.array([0])),
        ce_lib.binary_cross_entropy_with_logits(np.array([1.5, -0.3]), np.array([1.0, 0.0])),
        ce_lib.binary_cross_entropy(ce_lib.sigmoid(np.array([1.5, -0.3])), np.array([1.0, 0.0])),
    ]
    np.testing.assert_allclose([v for v, _ in values], ours, rtol=1e-6)  # torch computes in float32 here


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (0.28, reduction="none"), transcribed: torchvision's CUDA wheels do not
    load beside the CPU build of torch used here, and its focal loss is these few lines of torch."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (-1.0, 2.0), (0.5, 0.0), (0.9, 1.5)])
def test_sigmoid_focal_loss_matches_torchvision(alpha, gamma, rng):
    z = rng.normal(0, 4, (6, 5))  # moderate logits: torchvision's 1 - p_t loses digits beyond |z| of about 30
    y = np.where(rng.uniform(size=(6, 5)) < 0.3, 1.0, 0.0)
    y[0] = rng.uniform(size=5)  # soft targets too
    theirs = torchvision_sigmoid_focal_loss(t(z), t(y), alpha, gamma).numpy()
    ours = ce_lib.sigmoid_focal_loss(z, y, alpha=alpha, gamma=gamma)
    # torchvision forms 1 - p_t by subtraction, which costs it eps / (1 - p_t) relative: allow that, and no more
    miss = np.minimum(ce_lib.sigmoid(z), ce_lib.sigmoid(-z))
    allowed = 1e-13 + 4 * gamma * np.finfo(float).eps / miss
    assert np.all(np.abs(ours - theirs) <= allowed * np.abs(theirs)), np.max(np.abs(ours - theirs) / np.abs(theirs) / allowed)
    np.testing.assert_allclose(
        ce_lib.sigmoid_focal_loss(z, y, alpha=alpha, gamma=gamma, reduction="mean"), theirs.mean(), rtol=1e-12
    )


@pytest.mark.parametrize(
    "reduction, log_target, shape",
    list(itertools.product(["none", "sum", "mean", "batchmean"], [False, True], [(5,), (4, 6), (2, 3, 4)])),
)
def test_kl_div(reduction, log_target, shape, rng):
    x = ce_lib.log_softmax(rng.normal(0, 2, shape), axis=-1)
    y = ce_lib.softmax(rng.normal(0, 2, shape), axis=-1)
    if not log_target:
        y.flat[0] = 0.0  # 0 log 0 = 0 (for log targets see the next test)
    target = np.log(y) if log_target else y
    ours = ce_lib.kl_div(x, target, reduction=reduction, log_target=log_target)
    if reduction == "mean":  # PyTorch warns that "mean" is not the KL divergence; the book says so too
        with pytest.warns(UserWarning, match="batchmean"):
            theirs = F.kl_div(t(x), t(target), reduction=reduction, log_target=log_target).numpy()
    else:
        theirs = F.kl_div(t(x), t(target), reduction=reduction, log_target=log_target).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_kl_div_differs_from_torch_only_where_a_log_target_is_minus_infinity():
    x, log_y = np.log([0.5, 0.5]), np.array([-np.inf, 0.0])
    theirs = F.kl_div(t(x), t(log_y), reduction="none", log_target=True).numpy()
    ours = ce_lib.kl_div(x, log_y, reduction="none", log_target=True)
    assert np.isnan(theirs[0]) and ours[0] == 0 and ours[1] == theirs[1]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
@pytest.mark.parametrize("reduction", ["batchmean", "sum"])
def test_distillation_loss_and_gradient_match_torch(temperature, reduction, rng):
    z, v = rng.normal(0, 3, (6, 5)), rng.normal(0, 3, (6, 5))
    z_t = t(z).requires_grad_()
    theirs = temperature**2 * F.kl_div(
        F.log_softmax(z_t / temperature, dim=1), F.softmax(t(v) / temperature, dim=1), reduction=reduction
    )
    theirs.backward()
    np.testing.assert_allclose(
        ce_lib.distillation_loss(z, v, temperature, reduction=reduction), theirs.detach().numpy(), rtol=RTOL
    )
    np.testing.assert_allclose(
        ce_lib.distillation_loss_grad(z, v, temperature, reduction=reduction), z_t.grad.numpy(), rtol=1e-12, atol=1e-16
    )


@pytest.mark.parametrize("shared", [False, True])
def test_info_nce_matches_cross_entropy_in_torch(shared, rng):
    q, pos = rng.normal(size=(7, 8)), rng.normal(size=(7, 8))
    negatives = rng.normal(size=(5, 8)) if shared else rng.normal(size=(7, 5, 8))
    qn = F.normalize(t(q), dim=1)
    pn, kn = F.normalize(t(pos), dim=1), F.normalize(t(negatives), dim=-1)
    negative_logits = qn @ kn.T if shared else torch.einsum("nd,nkd->nk", qn, kn)
    logits = torch.cat([(qn * pn).sum(dim=1, keepdim=True), negative_logits], dim=1) / 0.07
    theirs = F.cross_entropy(logits, torch.zeros(7, dtype=torch.long)).numpy()
    ours = ce_lib.info_nce(qn.numpy(), pn.numpy(), kn.numpy(), temperature=0.07)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)


def test_the_summarys_pytorch_column_for_the_rows_tested_nowhere_else(rng):
    """book/summary.md names a PyTorch equivalent per row; these rows have no parity test of their own."""
    p = rng.dirichlet(np.ones(6), size=5)
    np.testing.assert_allclose(ce_lib.logit(p), torch.logit(t(p)).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        ce_lib.entropy(p), torch.distributions.Categorical(probs=t(p)).entropy().numpy(), rtol=RTOL, atol=ATOL
    )
    s = rng.normal(0, 3, 6)
    jacobian = torch.func.jacrev(lambda v: torch.softmax(v, -1))(t(s)).numpy()
    np.testing.assert_allclose(ce_lib.softmax_jacobian(s), jacobian, rtol=RTOL, atol=ATOL)
    # the average log-likelihood of N labels is minus PyTorch's mean cross-entropy from log q
    q = p[0]
    labels = rng.integers(0, 6, 40)
    logits = t(np.log(np.broadcast_to(q, (40, 6))))
    mean_ce = F.cross_entropy(logits, t(labels)).item()
    np.testing.assert_allclose(ce_lib.log_likelihood(labels, q) / 40, -mean_ce, rtol=RTOL)


# The gradients added for issue 25, against autograd over every keyword combination.


def autograd(fn, x, grad_output=None, dtype=None):
    """d/dx of sum(grad_output * fn(x)) by torch.autograd (sum(fn(x)) for a scalar loss)."""
    x_t = t(np.ascontiguousarray(x if dtype is None else x.astype(dtype))).requires_grad_()  # nll_loss2d needs it
    out = fn(x_t)
    (out if grad_output is None else out * t(grad_output)).sum().backward()
    return x_t.grad.numpy()


ND_SHAPES = [(), (5,), (7, 5), (3, 5, 2, 4)]


@pytest.mark.parametrize("shape", ND_SHAPES)
def test_softmax_and_log_softmax_vjp_match_autograd(shape, rng):
    x = rng.normal(0, 3, shape)
    for axis in range(-max(len(shape), 1), max(len(shape), 1)):
        g = rng.normal(0, 2, shape)
        np.testing.assert_allclose(
            ce_lib.softmax_vjp(x, g, axis=axis), autograd(lambda v: torch.softmax(v, axis), x, g), rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(
            ce_lib.log_softmax_vjp(x, g, axis=axis), autograd(lambda v: torch.log_softmax(v, axis), x, g), rtol=RTOL, atol=ATOL
        )


LSE_DIMS = {
    (): [0, -1, (0,)],
    (5,): [0, -1, (0,)],
    (7, 5): [0, 1, -1, (0, 1), (1, 0)],
    (3, 5, 2, 4): [1, -2, (0, 2), (1, 3), (0, 1, 2, 3)],
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", list(LSE_DIMS))
def test_logsumexp_vjp_matches_autograd(shape, keepdims, rng):
    x = rng.normal(0, 3, shape)
    for axis in LSE_DIMS[shape] + ([None] if shape else []):
        dim = tuple(range(len(shape))) if axis is None else axis  # torch has no dim=None: every axis
        g = rng.normal(0, 2, tuple(torch.logsumexp(t(x), dim, keepdim=keepdims).shape))
        theirs = autograd(lambda v: torch.logsumexp(v, dim, keepdim=keepdims), x, g)
        np.testing.assert_allclose(ce_lib.logsumexp_vjp(x, g, axis=axis, keepdims=keepdims), theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_vjp_is_nan_where_autograd_is(dtype):
    x = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 1.0], [np.inf, np.nan], [np.inf, np.inf]], dtype=dtype)
    theirs = autograd(lambda v: torch.logsumexp(v, 1), x, np.ones(5, dtype=dtype))
    ours = ce_lib.logsumexp_vjp(x, np.ones(5))
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours, theirs)  # NaN NaN; NaN 0; 0 1; NaN NaN; NaN NaN
    for v in (np.inf, -np.inf, np.nan, 2.0):  # 0-d
        np.testing.assert_array_equal(
            ce_lib.logsumexp_vjp(np.array(v), 3.0), autograd(lambda u: torch.logsumexp(u, 0), np.array(v), 3.0)
        )


def test_log_sigmoid_grad_matches_autograd(rng):
    x = np.concatenate([rng.normal(0, 10, 40), [-800.0, -40.0, 0.0, 40.0, 800.0, np.inf, -np.inf]])
    np.testing.assert_allclose(ce_lib.log_sigmoid_grad(x), autograd(F.logsigmoid, x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", [None, 0.0, 1e-6, 0.1, 0.25, 0.5])
def test_logit_grad_matches_autograd_at_and_beyond_the_clamp(eps, dtype, rng):
    """torch's logit backward: 1/(p(1-p)) for lo <= p <= hi (the edges included), 0 outside, lo and hi in p's dtype."""
    p = np.concatenate([rng.uniform(0, 1, 30), [0.0, 1.0, 0.5, 1e-300, 1 - 2**-53]]).astype(dtype)
    if eps is not None:
        lo = dtype(eps)
        hi = dtype(1) - lo
        near = [
            lo,
            hi,
            np.nextafter(lo, dtype(0)),
            np.nextafter(lo, dtype(1)),
            np.nextafter(hi, dtype(0)),
            np.nextafter(hi, dtype(1)),
        ]
        p = np.concatenate([p, np.clip(np.array(near, dtype=dtype), 0, 1)])
    theirs = autograd(lambda v: torch.logit(v, eps=eps), p)
    with np.errstate(divide="ignore"):
        ours = ce_lib.logit_grad(p, eps=eps)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=RTOL if dtype == np.float64 else 1e-6, atol=0)
    if eps is not None:
        np.testing.assert_array_equal(ours == 0, theirs == 0)  # zero exactly where torch's is


@pytest.mark.parametrize(
    "shape, weight, ignore, reduction", list(itertools.product(SHAPES, [None, "w"], [False, True], ["none", "sum", "mean"]))
)
def test_nll_loss_grad_matches_autograd(shape, weight, ignore, reduction, rng):
    xs, ys = SHAPES[shape]
    logq = ce_lib.log_softmax(rng.normal(0, 3, xs), axis=0 if len(xs) == 1 else 1)
    y = index_target(ys, ignore, rng)
    w = rng.uniform(0.2, 3.0, 5) if weight else None
    tw = None if w is None else t(w)
    theirs = autograd(lambda v: F.nll_loss(v, t(y), weight=tw, reduction=reduction), logq)
    ours = ce_lib.nll_loss_grad(logq, y, weight=w, reduction=reduction)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_grads_when_every_target_is_ignored_or_weighs_nothing_match_autograd(smoothing, weighted, rng):
    """Mean over no weight: the loss is NaN in both; autograd leaves ignored rows 0 and makes kept rows NaN."""
    x = rng.normal(0, 2, (4, 3))
    w = np.array([0.0, 1.0, 2.0]) if weighted else None
    tw = None if w is None else t(w)
    for y in (np.full(4, -100), np.array([0, -100, 0, -100]) if weighted else np.full(4, -100)):
        theirs_nll = autograd(lambda v: F.nll_loss(v, t(y), weight=tw), x)
        np.testing.assert_array_equal(ce_lib.nll_loss_grad(x, y, weight=w), theirs_nll)
        theirs_ce = autograd(lambda v: F.cross_entropy(v, t(y), weight=tw, label_smoothing=smoothing), x)
        np.testing.assert_array_equal(ce_lib.softmax_cross_entropy_grad(x, y, weight=w, label_smoothing=smoothing), theirs_ce)


@pytest.mark.parametrize(
    "shape, weight, reduction, soft", list(itertools.product(BIN_SHAPES, [None, "w"], ["none", "sum", "mean"], [False, True]))
)
def test_binary_cross_entropy_grad_matches_autograd(shape, weight, reduction, soft, rng):
    p = rng.uniform(0, 1, shape)
    p.flat[0], p.flat[-1] = 0.0, 1.0  # PyTorch's 1e-12 clamp of the backward
    if p.size > 3:
        p.flat[1], p.flat[2] = 1e-50, 1 - 1e-14
    y = rng.uniform(0, 1, shape) if soft else (rng.uniform(0, 1, shape) > 0.5).astype(float)
    w = rng.uniform(0.2, 3.0, shape[-1:]) if weight else None
    tw = None if w is None else t(w)
    theirs = autograd(lambda v: F.binary_cross_entropy(v, t(y), weight=tw, reduction=reduction), p)
    np.testing.assert_allclose(
        ce_lib.binary_cross_entropy_grad(p, y, weight=w, reduction=reduction), theirs, rtol=RTOL, atol=ATOL
    )


def test_binary_cross_entropy_grad_matches_autograd_in_float32(rng):
    p = np.concatenate([rng.uniform(0, 1, 20), [0.0, 1e-30, 1.0, 1 - 2**-24]]).astype(np.float32)
    y = (rng.uniform(0, 1, p.size) > 0.5).astype(np.float32)
    theirs = autograd(lambda v: F.binary_cross_entropy(v, t(y)), p)
    ours = ce_lib.binary_cross_entropy_grad(p, y)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    "reduction, log_target, shape",
    list(itertools.product(["none", "sum", "mean", "batchmean"], [False, True], [(5,), (4, 6), (2, 3, 4)])),
)
def test_kl_div_grad_matches_autograd(reduction, log_target, shape, rng):
    x = ce_lib.log_softmax(rng.normal(0, 2, shape), axis=-1)
    y = ce_lib.softmax(rng.normal(0, 2, shape), axis=-1)
    y.flat[0] = 0.0  # a zero probability (a -inf log target): its gradient is -0 in both
    with np.errstate(divide="ignore"):
        target = np.log(y) if log_target else y
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean'", UserWarning)  # PyTorch's advice to use batchmean
        theirs = autograd(lambda v: F.kl_div(v, t(target), reduction=reduction, log_target=log_target), x)
    ours = ce_lib.kl_div_grad(x, target, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


# ---- linear_cross_entropy (Part V): F.linear_cross_entropy and autograd over every keyword combination ----------------

LCE_N, LCE_D, LCE_V = 7, 3, 5


@pytest.mark.parametrize(
    "unbatched, bias, weight, target_kind, ignore, reduction, smoothing",
    [
        *itertools.product(
            [False, True], [False, True], [False, True], ["index"], [None, -100, 2], ["none", "sum", "mean"], [0.0, 0.3]
        ),
        *itertools.product([False, True], [False, True], [False, True], ["prob"], [None], ["none", "sum", "mean"], [0.0, 0.3]),
    ],
)
def test_linear_cross_entropy_and_its_gradients_match_torch(
    unbatched, bias, weight, target_kind, ignore, reduction, smoothing, rng
):
    """ce_lib in chunks of 3 rows (7 = 3 + 3 + 1) against PyTorch's reference path (options=None) and autograd."""
    rows = () if unbatched else (LCE_N,)
    h, w = rng.normal(0, 1, (*rows, LCE_D)), rng.normal(0, 1.5, (LCE_V, LCE_D))
    b = rng.normal(0, 1, LCE_V) if bias else None
    cw = rng.uniform(0.2, 3.0, LCE_V) if weight else None
    if target_kind == "prob":
        y = ce_lib.softmax(rng.normal(0, 2, (*rows, LCE_V)), axis=-1)
    else:
        y = rng.integers(0, LCE_V, rows)
        if rows:
            y[[1, 4]] = -100 if ignore is None else ignore
    kw = dict(reduction=reduction, ignore_index=ignore, label_smoothing=smoothing)
    ours = ce_lib.linear_cross_entropy(h, w, y, linear_bias=b, weight=cw, chunk_size=3, **kw)
    grads = ce_lib.linear_cross_entropy_grad(h, w, y, linear_bias=b, weight=cw, chunk_size=3, **kw)
    leaves = [t(a).requires_grad_() for a in (h, w, *([] if b is None else [b]))]
    theirs = F.linear_cross_entropy(
        leaves[0], leaves[1], t(y), linear_bias=leaves[2] if bias else None, weight=None if cw is None else t(cw), **kw
    )
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert np.shape(ours) == tuple(theirs.shape)
    theirs.sum().backward()
    assert (grads[2] is None) == (not bias)
    for ours_grad, leaf in zip(grads, leaves, strict=False):
        np.testing.assert_allclose(ours_grad, leaf.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("ignore_index", [-100, -1, 0])
def test_linear_cross_entropy_rejects_any_ignore_index_with_probability_targets_as_torch(ignore_index, rng):
    """PyTorch's rule (unlike its cross_entropy's): any ignore_index, even -100, with a target of the logits' shape raises."""
    h, w = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    p = ce_lib.softmax(rng.normal(size=(4, 5)))
    with pytest.raises(RuntimeError, match="ignore_index cannot be specified"):
        F.linear_cross_entropy(t(h), t(w), t(p), ignore_index=ignore_index)
    for fn in (ce_lib.linear_cross_entropy, ce_lib.linear_cross_entropy_grad):
        with pytest.raises(ValueError, match="ignore_index"):
            fn(h, w, p, ignore_index=ignore_index)


def test_linear_cross_entropy_matches_torchs_own_chunked_path(rng):
    """PyTorch's chunked path (options=LinearCrossEntropyOptions(batch_chunk_size=4)) agrees too, values and gradients."""
    h, w, b = rng.normal(size=(10, 3)), rng.normal(size=(6, 3)), rng.normal(size=6)
    y = rng.integers(0, 6, 10)
    y[[0, 5]] = -100
    for reduction in ("mean", "sum", "none"):
        leaves = [t(a).requires_grad_() for a in (h, w, b)]
        options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=4)
        theirs = F.linear_cross_entropy(leaves[0], leaves[1], t(y), linear_bias=leaves[2], reduction=reduction, options=options)
        theirs.sum().backward()
        ours = ce_lib.linear_cross_entropy(h, w, y, linear_bias=b, reduction=reduction)
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)
        grads = ce_lib.linear_cross_entropy_grad(h, w, y, linear_bias=b, reduction=reduction)
        for ours_grad, leaf in zip(grads, leaves, strict=True):
            np.testing.assert_allclose(ours_grad, leaf.grad.numpy(), rtol=RTOL, atol=ATOL)


# Gaussians, sample estimates and DPO (issue: divergences beyond discrete distributions), against torch.distributions
# and autograd. Inputs keep the variances apart (a ratio outside [0.9, 1.1]), where torch's Gaussian KL is accurate:
# near equality it is not (tests/test_differences.py::test_gaussian_kl_near_equal_variances).

GAUSSIAN_SHAPES = [  # mean_p, var_p, mean_q, var_q: torch's Normal broadcasts loc and scale, kl_divergence the two
    ((4,), (4,), (4,), (4,)),
    ((3, 4), (4,), (3, 4), (3, 4)),
    ((2, 1, 4), (1, 5, 4), (5, 4), (4,)),
    ((1,), (6, 1), (6, 1), (1,)),
]


def apart_variances(rng, shape):
    """Variances whose ratios to 1 stay outside [0.9, 1.1], from 0.05 to 20."""
    return np.exp(rng.choice([-1, 1], shape) * rng.uniform(0.1, 3, shape))


@pytest.mark.parametrize("shapes", GAUSSIAN_SHAPES)
def test_gaussian_kl_matches_torch_independent_normal(shapes, rng):
    from torch.distributions import Independent, Normal, kl_divergence

    mp, mq = rng.normal(0, 2, shapes[0]), rng.normal(0, 2, shapes[2])
    vp, vq = apart_variances(rng, shapes[1]), np.ones(shapes[3])  # var_q = 1: every ratio is var_p's own, apart from 1
    ours = ce_lib.gaussian_kl(mp, vp, mq, vq)
    mp_t, vp_t = torch.broadcast_tensors(t(mp), t(vp))
    mq_t, vq_t = torch.broadcast_tensors(t(mq), t(vq))
    theirs = kl_divergence(Independent(Normal(mp_t, vp_t.sqrt()), 1), Independent(Normal(mq_t, vq_t.sqrt()), 1))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=RTOL, atol=0)


MVN_BATCHES = [  # batch shapes of mean_p, cov_p, mean_q, cov_q
    ((), (), (), ()),
    ((3,), (), (3,), (3,)),
    ((2, 1), (4,), (), (1, 4)),
    ((), (5,), (5,), ()),
]


@pytest.mark.parametrize("batches", MVN_BATCHES)
@pytest.mark.parametrize("n", [1, 3])
def test_mvn_kl_matches_torch_multivariate_normal(batches, n, rng):
    from torch.distributions import MultivariateNormal, kl_divergence

    def spd(batch):
        a = rng.normal(size=(*batch, n, n))
        return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)

    mp, cp = rng.normal(size=(*batches[0], n)), spd(batches[1])
    mq, cq = rng.normal(size=(*batches[2], n)), spd(batches[3])
    ours = ce_lib.mvn_kl(mp, cp, mq, cq)
    theirs = kl_divergence(MultivariateNormal(t(mp), t(cp)), MultivariateNormal(t(mq), t(cq)))
    assert np.shape(ours) == tuple(theirs.shape)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=0)  # both within ~20 ULP of mpmath at n <= 5


DPO_CASES = list(itertools.product(["none", "sum", "mean"], [0.0, 0.1], [0.1, 0.5, 2.0]))


def torch_dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta, label_smoothing, reduction):
    """The conservative-DPO loss as TRL 0.x's DPOTrainer (loss_type="sigmoid") writes it, in PyTorch."""
    delta = (chosen - ref_chosen) - (rejected - ref_rejected)
    losses = -F.logsigmoid(beta * delta) * (1 - label_smoothing) - F.logsigmoid(-beta * delta) * label_smoothing
    return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]


@pytest.mark.parametrize("reduction, label_smoothing, beta", DPO_CASES)
def test_dpo_loss_and_grad_match_torch_autograd(reduction, label_smoothing, beta, rng):
    v = [rng.normal(-30, 5, 8) for _ in range(4)]
    v[2][:3] = v[0][:3] + rng.normal(size=3)  # some pairs near the reference, some far from it
    leaves = [t(a).requires_grad_() for a in v[:2]]
    theirs = torch_dpo_loss(*leaves, t(v[2]), t(v[3]), beta, label_smoothing, reduction)
    theirs.sum().backward()
    ours = ce_lib.dpo_loss(*v, beta=beta, label_smoothing=label_smoothing, reduction=reduction)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)
    grads = ce_lib.dpo_loss_grad(*v, beta=beta, label_smoothing=label_smoothing, reduction=reduction)
    for ours_grad, leaf in zip(grads, leaves, strict=True):
        np.testing.assert_allclose(ours_grad, leaf.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", ["kl", "reverse_kl"])
def test_f_divergence_kl_matches_torch_kl_div(kind, rng):
    p, q = ce_lib.softmax(rng.normal(size=(6, 5))), ce_lib.softmax(rng.normal(size=(6, 5)))
    target, approx = (p, q) if kind == "kl" else (q, p)
    theirs = F.kl_div(t(np.log(approx)), t(target), reduction="none").sum(-1).numpy()
    np.testing.assert_allclose(ce_lib.f_divergence(p, q, kind), theirs, rtol=RTOL, atol=ATOL)
