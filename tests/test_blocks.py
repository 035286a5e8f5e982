"""Blocking must change no result: inputs large enough to span many blocks, narrow and wide rows.

The unit tests elsewhere use inputs of one block; these use several (with a short last
block), rows of 10 classes (reduced column by column), 17 (just above that threshold)
and 1000, rows of +-inf and NaN at block boundaries, and a class axis that is not last.
References: SciPy, and each row computed on its own (a one-row input is one block, and
rows are independent, so blocking must not move a single bit).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

import ce_lib
from ce_lib import _kernels

SHAPES = [(70001, 10), (5003, 17), (1101, 1000)]


def scores(shape, dtype, seed):
    x = np.random.default_rng(seed).normal(0, 30, shape).astype(dtype)
    step = _kernels.block_rows(x)
    # awkward rows exactly at block boundaries: all -inf, one +inf, one NaN, huge magnitudes
    x[step - 1] = -np.inf
    x[step, 3] = np.inf
    x[2 * step - 1, 5] = np.nan
    x[2 * step] *= 1e30
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_blocked_results_match_scipy_and_rows_computed_alone(shape, dtype):
    x = scores(shape, dtype, seed=shape[1])
    blocks = list(_kernels.row_blocks(x))
    assert len(blocks) > 3 and blocks[-1].stop - blocks[-1].start < blocks[0].stop - blocks[0].start
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    atol = 1e-300 if dtype == np.float64 else 1e-30
    with np.errstate(all="ignore"):  # SciPy warns on the inf and NaN rows
        for name in ("softmax", "log_softmax", "logsumexp"):
            ours, theirs = getattr(ce_lib, name)(x, axis=1), getattr(special, name)(x, axis=1)
            finite = np.isfinite(theirs)
            assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=name)
            # log_softmax near 0: SciPy rounds a log-probability of -1e-17 to 0, ce_lib keeps it
            tol = atol if name != "log_softmax" else 4 * np.finfo(dtype).eps
            assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=tol, err_msg=name)
            edges = sorted({b.start for b in blocks} | {b.stop - 1 for b in blocks})
            alone = np.array([getattr(ce_lib, name)(x[i : i + 1], axis=1)[0] for i in edges])
            assert_array_equal(ours[edges], alone, err_msg=f"{name}: blocking changed a bit")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_blocked_cross_entropy_matches_scipy_and_rows_alone(shape):
    x = np.random.default_rng(1).normal(0, 30, shape)
    y = np.random.default_rng(2).integers(0, shape[1], shape[0])
    per = ce_lib.softmax_cross_entropy(x, y, reduction="none")
    reference = -np.take_along_axis(special.log_softmax(x, axis=1), y[:, None], axis=1)[:, 0]
    assert_allclose(per, reference, rtol=1e-12, atol=4 * np.finfo(float).eps)
    edges = sorted({b.start for b in _kernels.row_blocks(x)} | {b.stop - 1 for b in _kernels.row_blocks(x)})
    alone = [ce_lib.softmax_cross_entropy(x[i : i + 1], y[i : i + 1], reduction="none")[0] for i in edges]
    assert_array_equal(per[edges], alone)
    assert ce_lib.softmax_cross_entropy(x, y) == pytest.approx(reference.mean(), rel=1e-12)


def test_a_class_axis_that_is_not_last_gives_the_transposed_result():
    x = scores((5003, 17), np.float64, seed=3)
    with np.errstate(all="ignore"):
        for name in ("softmax", "log_softmax"):
            assert_array_equal(getattr(ce_lib, name)(x.T, axis=0), getattr(ce_lib, name)(x, axis=1).T)
        assert_array_equal(ce_lib.logsumexp(x.T, axis=0), ce_lib.logsumexp(x, axis=1))
        assert_array_equal(ce_lib.logsumexp(x.T, axis=0, keepdims=True), ce_lib.logsumexp(x, axis=1)[None, :])


def test_scratch_space_is_at_most_a_thirty_second_of_a_large_input():
    for shape in SHAPES:
        x = np.zeros(shape)
        assert _kernels.scratch(x).size <= max(x.size // 32, 1 << 14)
