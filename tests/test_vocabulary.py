"""linear_cross_entropy and its gradients, chunked, against independent references.

- The direct composition, logits formed at once: ``softmax_cross_entropy(h @ W.T + b, y)`` and
  ``G = softmax_cross_entropy_grad(...)`` with ``G @ W``, ``G.T @ h``, ``G.sum(0)``, for every
  keyword combination and chunk sizes 1, 3 and 4 (neither divides N = 11), N, more than N and the
  default: whatever the chunking, the same numbers (float64, up to the rounding of the products).
- Central differences of the loss, for the three gradients.
- Memory by tracemalloc (deterministic, not timed): the chunked path allocates under 1/4 of
  the logits' size, where the direct one allocates more than all of it.
- Bad input: ValueError naming the argument, including PyTorch's rules (1-d or 2-d input,
  2-d linear_weight, no ignore_index with probability targets).

PyTorch's values and autograd (``F.linear_cross_entropy``) are in tests/test_torch_parity.py,
its OpInfo samples in tests/test_pytorch_opinfo.py.
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

import ce_lib
from ce_lib import vocabulary

N, D, V = 11, 4, 6
CHUNKS = [1, 3, 4, N, N + 5, None]
RTOL, ATOL = 1e-13, 1e-14


def problem(rng, unbatched, bias, weighted, target_kind, ignore):
    """Random hidden states, weight, bias, class weights and a target; some index targets ignored."""
    h = rng.normal(0, 1, (D,) if unbatched else (N, D))
    w = rng.normal(0, 1.5, (V, D))
    b = rng.normal(0, 1, V) if bias else None
    cw = rng.uniform(0.2, 3.0, V) if weighted else None
    rows = () if unbatched else (N,)
    if target_kind == "prob":
        y = ce_lib.softmax(rng.normal(0, 2, (*rows, V)), axis=-1)
    else:
        y = rng.integers(0, V, rows)
        if ignore is not None and not unbatched:
            y[[1, 2, 3, 7]] = -100 if ignore == "default" else ignore  # chunk sizes 3 and 4 get chunks with 1-3 ignored
    return h, w, b, cw, y


def direct(h, w, y, b, cw, **kw):
    """The logits formed at once, and ce_lib's own cross-entropy and its gradient: (loss, (g_h, g_w, g_b))."""
    z = h @ w.T + (0 if b is None else b)
    loss = ce_lib.softmax_cross_entropy(z, y, weight=cw, **kw)
    g = ce_lib.softmax_cross_entropy_grad(z, y, weight=cw, **kw)
    gz = g if g.ndim == 2 else g[None]
    hh = h if h.ndim == 2 else h[None]
    return loss, ((gz @ w).reshape(h.shape), gz.T @ hh, None if b is None else gz.sum(0))


def ce_kwargs(ignore, reduction, smoothing):
    """ce_lib.softmax_cross_entropy's keywords for linear_cross_entropy's ignore_index (None there means -100)."""
    return {"ignore_index": -100 if ignore in (None, "default") else ignore, "reduction": reduction, "label_smoothing": smoothing}


def lce_kwargs(ignore, reduction, smoothing):
    return {"ignore_index": None if ignore is None else -100 if ignore == "default" else ignore} | {
        "reduction": reduction,
        "label_smoothing": smoothing,
    }


INDEX_CASES = list(
    itertools.product(
        [False, True], [False, True], [False, True], ["index"], [None, "default", 2], ["mean", "sum", "none"], [0.0, 0.3]
    )
)
PROB_CASES = list(
    itertools.product([False, True], [False, True], [False, True], ["prob"], [None], ["mean", "sum", "none"], [0.0, 0.3])
)


@pytest.mark.parametrize("unbatched, bias, weighted, target_kind, ignore, reduction, smoothing", INDEX_CASES + PROB_CASES)
def test_every_chunking_gives_the_direct_composition(unbatched, bias, weighted, target_kind, ignore, reduction, smoothing, rng):
    h, w, b, cw, y = problem(rng, unbatched, bias, weighted, target_kind, ignore)
    loss, grads = direct(h, w, y, b, cw, **ce_kwargs(ignore, reduction, smoothing))
    kw = lce_kwargs(ignore, reduction, smoothing) | {"linear_bias": b, "weight": cw}
    for chunk in CHUNKS:
        ours = vocabulary.linear_cross_entropy(h, w, y, chunk_size=chunk, **kw)
        assert np.shape(ours) == np.shape(loss), chunk
        np.testing.assert_allclose(ours, loss, rtol=RTOL, atol=ATOL, err_msg=f"loss, chunk_size={chunk}")
        ours_grads = vocabulary.linear_cross_entropy_grad(h, w, y, chunk_size=chunk, **kw)
        for name, g, ref in zip(("input", "linear_weight", "linear_bias"), ours_grads, grads, strict=True):
            if ref is None:
                assert g is None
                continue
            assert g.shape == ref.shape and g.dtype == ref.dtype, (name, chunk)
            np.testing.assert_allclose(g, ref, rtol=RTOL, atol=ATOL, err_msg=f"grad {name}, chunk_size={chunk}")


def test_the_mean_divides_by_the_whole_batchs_weight_not_a_chunks():
    """Chunks of 2 rows: the second holds one kept target of weight 5, the first two of weight 1: mean = sum / 7."""
    rng = np.random.default_rng(0)
    h, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    y, cw = np.array([0, 0, 1, -100]), np.array([1.0, 5.0, 1.0])
    per = ce_lib.softmax_cross_entropy(h @ w.T, y, weight=cw, reduction="none")
    expected = per.sum() / 7  # and not the mean of the chunks' means, (per[0] + per[1]) / 2 / 2 + per[2] / 5 / 2
    assert vocabulary.linear_cross_entropy(h, w, y, weight=cw, chunk_size=2) == pytest.approx(expected, rel=1e-15)
    g_h, _, _ = vocabulary.linear_cross_entropy_grad(h, w, y, weight=cw, chunk_size=2)
    g = ce_lib.softmax_cross_entropy_grad(h @ w.T, y, weight=cw, reduction="sum") / 7
    np.testing.assert_allclose(g_h, g @ w, rtol=1e-14)


def test_every_target_ignored_gives_nan_loss_and_zero_gradients(rng):
    """As softmax_cross_entropy and PyTorch: the mean is 0/0; the ignored rows' gradients are 0."""
    h, w, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    y = np.full(5, -100)
    assert np.isnan(vocabulary.linear_cross_entropy(h, w, y, linear_bias=b, chunk_size=2))
    for g in vocabulary.linear_cross_entropy_grad(h, w, y, linear_bias=b, chunk_size=2):
        assert np.array_equal(g, np.zeros_like(g))


# ---- central differences --------------------------------------------------------------------------------------------


def central_difference(f, x, step=1e-6):
    """d f / d x entry by entry, (f(x + s) - f(x - s)) / 2s: error O(s^2) + O(eps / s), about 1e-9 here."""
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (f(up) - f(down)) / (2 * step)
    return grad


@pytest.mark.parametrize(
    "target_kind, reduction, smoothing, unbatched",
    [("index", "mean", 0.0, False), ("index", "none", 0.3, False), ("prob", "mean", 0.3, False), ("index", "sum", 0.1, True)],
)
def test_gradients_match_central_differences(target_kind, reduction, smoothing, unbatched, rng):
    h, w, b, cw, y = problem(rng, unbatched, True, True, target_kind, "default" if target_kind == "index" else None)
    kw = {"weight": cw, "reduction": reduction, "label_smoothing": smoothing, "chunk_size": 4}

    def loss(h_, w_, b_):
        return float(np.sum(vocabulary.linear_cross_entropy(h_, w_, y, linear_bias=b_, **kw)))  # "none": the summed loss

    g_h, g_w, g_b = vocabulary.linear_cross_entropy_grad(h, w, y, linear_bias=b, **kw)
    np.testing.assert_allclose(g_h, central_difference(lambda v: loss(v, w, b), h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g_w, central_difference(lambda v: loss(h, v, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g_b, central_difference(lambda v: loss(h, w, v), b), rtol=1e-6, atol=1e-8)


# ---- dtypes ---------------------------------------------------------------------------------------------------------


def test_float16_in_float16_out_computed_in_float32(rng):
    """The float32 direct composition of the same numbers, rounded once to float16: within one float16 unit."""
    h, w, b = (rng.normal(0, 1, s).astype(np.float16) for s in ((9, 8), (5, 8), (5,)))
    y = rng.integers(0, 5, 9)
    loss = vocabulary.linear_cross_entropy(h, w, y, linear_bias=b, chunk_size=4)
    grads = vocabulary.linear_cross_entropy_grad(h, w, y, linear_bias=b, chunk_size=4)
    ref_loss, ref_grads = direct(h.astype(np.float32), w.astype(np.float32), y, b.astype(np.float32), None)
    assert loss.dtype == np.float16 and all(g.dtype == np.float16 for g in grads)
    eps16 = float(np.finfo(np.float16).eps)
    np.testing.assert_allclose(loss, ref_loss.astype(np.float16), rtol=eps16)
    for g, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g.astype(np.float32), ref.astype(np.float16), rtol=eps16, atol=1e-6)


def test_float32_stays_float32_and_mixed_dtypes_promote(rng):
    h, w, y = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32), rng.integers(0, 4, 6)
    assert vocabulary.linear_cross_entropy(h, w, y).dtype == np.float32
    assert {g.dtype for g in vocabulary.linear_cross_entropy_grad(h, w, y)[:2]} == {np.dtype(np.float32)}
    assert vocabulary.linear_cross_entropy(h, w.astype(np.float64), y).dtype == np.float64


# ---- memory ---------------------------------------------------------------------------------------------------------


def peak_extra_bytes(fn):
    """Peak bytes allocated during fn() (NumPy reports its buffers to tracemalloc), less what it returns."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak - returned_bytes(result)


def returned_bytes(result):
    if isinstance(result, tuple):
        return sum(returned_bytes(r) for r in result)
    return 0 if result is None else np.asarray(result).nbytes


def test_the_chunked_path_allocates_under_a_quarter_of_the_logits():
    """N = 2048, V = 4096 float32: the logits take 32 MiB; loss and gradients allocate under 8 MiB besides the gradients.

    The direct computation, and a single chunk of all N rows, allocate more than the logits'
    size: what the check would see if the chunking were lost.
    """
    rng = np.random.default_rng(0)
    n, d, v = 2048, 32, 4096
    h, w = rng.standard_normal((n, d), dtype=np.float32), rng.standard_normal((v, d), dtype=np.float32)
    y = rng.integers(0, v, n)
    logits = n * v * 4
    for fn in (vocabulary.linear_cross_entropy, vocabulary.linear_cross_entropy_grad):
        assert peak_extra_bytes(lambda fn=fn: fn(h, w, y)) < logits / 4, fn.__name__
        assert peak_extra_bytes(lambda fn=fn: fn(h, w, y, chunk_size=n)) > logits, fn.__name__
    assert peak_extra_bytes(lambda: direct(h, w, y, None, None)) > logits


def test_default_chunk_size():
    assert vocabulary.default_chunk_size(8192, 32768, 4) * 32768 * 4 == vocabulary.DEFAULT_CHUNK_BYTES
    assert vocabulary.default_chunk_size(2048, 4096, 4) == 2048 // 32  # 1/32 of the batch: 2 MiB of 32 MiB
    assert vocabulary.default_chunk_size(3, 10**9, 8) == 1  # one row exceeds the budget: still one row
    assert vocabulary.default_chunk_size(0, 10, 8) == 1


# ---- bad input ------------------------------------------------------------------------------------------------------

H, W, Y = np.ones((3, 2)), np.ones((4, 2)), np.array([0, 1, 3])
BAD = {
    "input 3-d": (dict(input=np.ones((2, 3, 2))), "input"),
    "input 0-d": (dict(input=np.float64(1.0)), "input"),
    "input strings": (dict(input=np.array([["a", "b"]] * 3)), "input"),
    "linear_weight 1-d": (dict(linear_weight=np.ones(2)), "linear_weight"),
    "linear_weight K-dimensional": (dict(linear_weight=np.ones((4, 5, 2))), "linear_weight"),
    "in_features differ": (dict(linear_weight=np.ones((4, 3))), "in_features"),
    "linear_bias shape": (dict(linear_bias=np.ones(3)), "linear_bias"),
    "weight shape": (dict(weight=np.ones(3)), "weight"),
    "target out of range": (dict(target=np.array([0, 4, 1])), "target"),
    "target shape": (dict(target=np.array([0, 1])), "target"),
    "target floats of the wrong shape": (dict(target=np.array([0.0, 1.0, 0.0])), "target"),
    "probability target and ignore_index": (dict(target=np.full((3, 4), 0.25), ignore_index=-100), "ignore_index"),
    "probability target outside [0, 1]": (dict(target=np.full((3, 4), 1.5)), "target"),
    "reduction": (dict(reduction="batchmean"), "reduction"),
    "label_smoothing": (dict(label_smoothing=1.5), "label_smoothing"),
    "chunk_size 0": (dict(chunk_size=0), "chunk_size"),
    "chunk_size float": (dict(chunk_size=2.5), "chunk_size"),
    "chunk_size bool": (dict(chunk_size=True), "chunk_size"),
    "ignore_index float": (dict(ignore_index=1.5), "ignore_index"),  # PyTorch: TypeError
    "ignore_index bool": (dict(ignore_index=True), "ignore_index"),  # True would ignore class 1
}


@pytest.mark.parametrize("fn", [vocabulary.linear_cross_entropy, vocabulary.linear_cross_entropy_grad])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_value_error_naming_the_argument(case, fn):
    change, name = BAD[case]
    args = {"input": H, "linear_weight": W, "target": Y} | change
    with pytest.raises(ValueError, match=name):
        fn(args.pop("input"), args.pop("linear_weight"), args.pop("target"), **args)


def test_a_negative_ignore_index_with_index_targets_is_an_index_like_any_other(rng):
    """ignore_index=-1 ignores the targets equal to -1 (the rule is PyTorch's cross_entropy's)."""
    h, w = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    y = np.array([0, -1, 4, -1])
    loss = vocabulary.linear_cross_entropy(h, w, y, ignore_index=-1, reduction="none")
    assert loss[1] == loss[3] == 0
    assert loss[0] > 0 and loss[2] > 0


def test_the_public_names():
    assert ce_lib.linear_cross_entropy is vocabulary.linear_cross_entropy
    assert ce_lib.linear_cross_entropy_grad is vocabulary.linear_cross_entropy_grad
