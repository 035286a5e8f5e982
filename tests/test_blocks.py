"""Blocking must change no result: inputs large enough to span many blocks, narrow and wide rows.

The unit tests elsewhere use inputs of one block; these use several (with a short last
block), rows of 10 and 17 classes (computed transposed) and 1000 (row layout), rows of
+-inf and NaN at block boundaries, and a class axis that is not last.
References: SciPy, and each row computed on its own (a one-row input is one block, and
rows are independent, so blocking must not move a single bit).

Rows of at most ``_kernels.TRANSPOSE_MAX`` classes are computed in blocks transposed to
(C, n); the tests below the first ones check that layout on its own: against SciPy, against
the row layout (the same inputs with the threshold set to 0), against mpmath on hard rows
(ties, terms that round to 1, tiny log-probabilities, -inf masks) placed among many ordinary
rows, and on both sides of the threshold.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

import ce_lib
from ce_lib import _kernels, accuracy

SHAPES = [(70001, 10), (5003, 17), (1101, 1000)]


def scores(shape, dtype, seed, share=_kernels.SHARE):
    x = np.random.default_rng(seed).normal(0, 30, shape).astype(dtype)
    step = _kernels.block_rows(x, share)
    # awkward rows exactly at block boundaries: all -inf, one +inf, one NaN, huge magnitudes
    x[step - 1] = -np.inf
    x[step, min(3, shape[1] - 1)] = np.inf
    x[2 * step - 1, min(5, shape[1] - 1)] = np.nan
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
    blocks = list(_kernels.row_blocks(x, _kernels.LOSS_SHARE))  # the loss's own blocks
    assert len(blocks) > 3
    edges = sorted({b.start for b in blocks} | {b.stop - 1 for b in blocks})
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


#: Transposed (1, 2, 10 classes and the threshold) and the row layout (one class more); many blocks each.
NARROW_SHAPES = [(700001, 1), (300001, 2), (70001, 10), (20001, _kernels.TRANSPOSE_MAX), (20001, _kernels.TRANSPOSE_MAX + 1)]
FUNCTIONS = ("softmax", "log_softmax", "logsumexp")


def test_the_transposed_layout_serves_rows_up_to_its_threshold():
    assert _kernels.is_narrow(np.zeros((3, _kernels.TRANSPOSE_MAX)))
    assert not _kernels.is_narrow(np.zeros((3, _kernels.TRANSPOSE_MAX + 1)))


def test_the_transposed_kernel_relies_on_exp_of_zero_being_one_and_no_term_above_one():
    # narrow_parts leaves the maximum out of s as floor(e) = 1: exp(0) must be exactly 1, exp(z < 0) at most 1
    for dtype in (np.float32, np.float64):
        tiny = np.finfo(dtype).smallest_subnormal
        z = -np.concatenate([[0.0, tiny], np.logspace(np.log10(float(tiny)), 2, 200001)]).astype(dtype)
        e = np.exp(z)
        assert e[0] == 1 and np.all(e <= 1) and np.all(np.floor(e[z < 0]) <= 1)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000])
def test_column_sum_adds_rows_in_order_whatever_the_number_of_columns(n):
    e = np.exp(np.random.default_rng(n).normal(0, 20, (17, n)))  # a wide range of magnitudes: order shows
    sequential = e[0].copy()
    for row in e[1:]:
        sequential = sequential + row
    assert_array_equal(_kernels.column_sum(e), sequential)


def narrow_scores(shape, dtype, seed, share=_kernels.SHARE):
    """:func:`scores` plus rows that the transposed kernel treats specially: ties, terms rounding to 1, -inf masks."""
    x = scores(shape, dtype, seed, share)
    step, cols = _kernels.block_rows(x, share), shape[1]
    x[step + 1] = 0.5  # every entry ties with the maximum: s = C - 1
    if cols > 2:
        x[2 * step + 1, :3] = [7.0, 7.0, -30.0]  # two maxima, the rest e^-37 or less
        x[2 * step + 2, :3] = [0.5, 0.5 - 2.0**-55, -40.0]  # e^(-2^-55) rounds to 1: counted with the maximum
        x[3 * step - 1, 1:] = -np.inf  # a masked row: only class 0 left
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", NARROW_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_transposed_layout_matches_scipy_the_row_layout_and_rows_alone(shape, dtype, monkeypatch):
    x = narrow_scores(shape, dtype, seed=shape[1])
    assert len(list(_kernels.row_blocks(x))) > 3
    eps = np.finfo(dtype).eps
    rtol, atol = (1e-12, 1e-300) if dtype == np.float64 else (2e-5, 1e-30)  # as the first test
    with np.errstate(all="ignore"):  # SciPy warns on the inf and NaN rows
        ours = {name: getattr(ce_lib, name)(x, axis=1) for name in FUNCTIONS}
        edges = sorted({b.start for b in _kernels.row_blocks(x)} | {b.stop - 1 for b in _kernels.row_blocks(x)})
        for name in FUNCTIONS:
            theirs = getattr(special, name)(x, axis=1)
            assert_array_equal(np.isnan(ours[name]), np.isnan(theirs), err_msg=name)
            finite = np.isfinite(theirs)
            tol = atol if name != "log_softmax" else 4 * eps  # a log-probability near 0: SciPy rounds it to 0
            assert_allclose(ours[name][finite], theirs[finite], rtol=rtol, atol=tol, err_msg=name)
            alone = np.array([getattr(ce_lib, name)(x[i : i + 1], axis=1)[0] for i in edges])
            assert_array_equal(ours[name][edges], alone, err_msg=f"{name}: a row alone differs")
        monkeypatch.setattr(_kernels, "TRANSPOSE_MAX", 0)  # every row in the row layout
        for name in FUNCTIONS:
            rows = getattr(ce_lib, name)(x, axis=1)
            assert_array_equal(np.isnan(ours[name]), np.isnan(rows), err_msg=name)
            # sums of C terms added in another order: C eps apart at most
            tol = shape[1] * eps
            assert_allclose(ours[name], rows, rtol=tol, atol=atol if name != "log_softmax" else tol, err_msg=name)


@pytest.mark.parametrize("shape", NARROW_SHAPES[1:], ids=lambda s: f"{s[0]}x{s[1]}")
def test_transposed_cross_entropy_with_weights_smoothing_and_ignored_targets_matches_scipy(shape, monkeypatch):
    x = narrow_scores(shape, np.float64, seed=5, share=_kernels.LOSS_SHARE)
    y = np.random.default_rng(6).integers(0, shape[1], shape[0])
    y[::7] = -100  # ignored
    w = np.random.default_rng(7).uniform(0.5, 2.0, shape[1])
    finite = np.isfinite(np.max(x, axis=1))
    with np.errstate(all="ignore"):
        logq = special.log_softmax(x, axis=1)
        y0 = np.where(y == -100, 0, y)
        nll = -np.take_along_axis(logq, y0[:, None], axis=1)[:, 0]
        masked = np.where(np.isneginf(x), 0, -logq)  # a masked class (-inf, q = 0) adds 0 * inf: ce_lib's 0
        reference = np.where(y == -100, 0, 0.9 * w[y0] * nll + 0.1 / shape[1] * (masked * w).sum(axis=1))
        ours = ce_lib.softmax_cross_entropy(x, y, weight=w, reduction="none", label_smoothing=0.1)
        ok = finite & (y != -100)
        assert_allclose(ours[ok], reference[ok], rtol=1e-13)
        assert_array_equal(ours[y == -100], 0)
        monkeypatch.setattr(_kernels, "TRANSPOSE_MAX", 0)
        rows = ce_lib.softmax_cross_entropy(x, y, weight=w, reduction="none", label_smoothing=0.1)
    assert_array_equal(np.isnan(ours), np.isnan(rows))
    assert_allclose(ours, rows, rtol=1e-14)
    assert_array_equal(ours[~finite], rows[~finite])  # rows of +-inf or NaN: the row layout's own values
    monkeypatch.undo()
    blocks = list(_kernels.row_blocks(x, _kernels.LOSS_SHARE))
    edges = sorted({b.start for b in blocks} | {b.stop - 1 for b in blocks})
    with np.errstate(all="ignore"):
        alone = [
            ce_lib.softmax_cross_entropy(x[i : i + 1], y[i : i + 1], weight=w, reduction="none", label_smoothing=0.1)[0]
            for i in edges
        ]
    assert_array_equal(ours[edges], alone)


@pytest.mark.parametrize("cols", [3, 10, _kernels.TRANSPOSE_MAX])
def test_hard_rows_among_many_are_accurate_against_mpmath(cols):
    hard = np.array(
        [
            [40.0, 0.0] + [-np.inf] * (cols - 2),  # a log-probability of -4.2e-18
            [7.0, 7.0, -30.0] + [-50.0] * (cols - 3),  # a tie at the maximum
            [0.5, 0.5 - 2.0**-55, -40.0] + [-45.0] * (cols - 3),  # a term that rounds to 1
            [1e300, 1e300 - 1e284] + [-1e300] * (cols - 2),  # huge scores, differences exact
            np.linspace(-3, 3, cols),
        ]
    )
    x = np.random.default_rng(cols).normal(0, 3, (20000, cols))
    where = [0, 4095, 4096, 9999, 19999]  # first, around block edges, last
    x[where] = hard
    with np.errstate(divide="ignore"):
        lse, logq, q = ce_lib.logsumexp(x, axis=1), ce_lib.log_softmax(x, axis=1), ce_lib.softmax(x, axis=1)
        loss = ce_lib.softmax_cross_entropy(x, np.zeros(len(x), dtype=int), reduction="none")
    for i, v in zip(where, hard):
        exact, kappa = accuracy.exact_logsumexp(v)
        assert accuracy.scaled_error(lse[i], exact, kappa) <= 4, (i, "logsumexp")
        for k in range(cols):
            exact, kappa = accuracy.exact_log_softmax(v, k)
            if np.isfinite(float(exact)):
                assert accuracy.scaled_error(logq[i, k], exact, kappa) <= 4, (i, k, "log_softmax")
            exact, kappa = accuracy.exact_softmax(v, k)
            assert accuracy.scaled_error(q[i, k], exact, kappa) <= 4, (i, k, "softmax")
        exact, kappa = accuracy.exact_log_softmax(v, 0)
        assert accuracy.scaled_error(loss[i], -exact, kappa) <= 4, (i, "cross_entropy")


def test_shift_invariance_holds_in_the_transposed_layout():
    x = np.round(np.random.default_rng(8).normal(0, 3, (30000, 10)) * 1024) / 1024  # + 1024 is exact for these
    assert_array_equal(ce_lib.log_softmax(x + 1024.0), ce_lib.log_softmax(x))
    assert_array_equal(ce_lib.softmax(x + 1024.0), ce_lib.softmax(x))


def test_masked_classes_get_probability_zero_and_log_probability_minus_inf():
    x = np.random.default_rng(9).normal(0, 3, (30000, 10))
    x[:, 3] = -np.inf
    assert_array_equal(ce_lib.softmax(x)[:, 3], 0)
    assert_array_equal(ce_lib.log_softmax(x)[:, 3], -np.inf)
    assert np.isfinite(ce_lib.logsumexp(x)).all()
