r"""The log-sum-exp and softmax kernels that every public function builds on.

With :math:`a = \max_i x_i` (attained at :math:`i = m`) and
:math:`s = \sum_{i \ne m} e^{x_i - a}`, log-sum-exp is :math:`a + \operatorname{log1p}(s)`
and the softmax is :math:`e^{x_k - a} / (1 + s)` [BHH21]_ (see :mod:`ce_lib.activations`).
:func:`logsumexp_parts` computes :math:`a`, :math:`m` and :math:`s` (log-sum-exp,
log-softmax, the losses, and the softmax of the gradients, which need :math:`s` on its
own); :func:`softmax_rows` is the public softmax, which needs only :math:`1 + s` and so
skips locating :math:`m`.

The kernels work on a 2-d array of rows, the classes along the last axis: :func:`as_rows`
reshapes any input to that form and :func:`from_rows` undoes it. The public functions walk
the rows in blocks (:func:`row_blocks`), so that every pass over a block (argmax, subtract,
exp, sum, divide) reads it from the CPU's cache rather than from memory, and scratch space
is one block, not one input, in size. Each public function's loop is one function here
(:func:`logsumexp_of_rows`, :func:`log_softmax_of_rows`, :func:`softmax_of_rows`,
:func:`cross_entropy_of_rows`); for rows of at most :data:`TRANSPOSE_MAX` classes it
transposes each block to (C, n) first (:func:`narrow_parts`), so that every pass is a
vector operation over the block's rows rather than a short loop per row.

Private: the public functions validate their arguments and then call these.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

import numpy as np

#: Entries per block, 262 144 (1 MB in float32, 2 MB in float64): large enough that NumPy's
#: per-call overhead (about a microsecond a call, ten calls a block) is small beside the
#: work, small enough to stay in cache between passes. Chosen by timing softmax and
#: log_softmax against SciPy on make bench's four inputs with 2**14, 2**16, 2**18 and
#: 2**20: 2**18 was fastest on the reference machine, though within its noise of 2**16.
BLOCK_ENTRIES = 1 << 18


def as_rows(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` as a C-contiguous 2-d array of rows, ``axis`` last: a view when ``axis`` is already last."""
    return np.ascontiguousarray(np.moveaxis(x, axis, -1)).reshape(-1, x.shape[axis])


def from_rows(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Undo :func:`as_rows` for an output of ``x``'s ``shape`` (``rows`` 2-d) or reduced along ``axis`` (1-d)."""
    axis %= len(shape)
    moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
    if rows.ndim == 1:
        return rows.reshape(moved[:-1])
    return np.moveaxis(rows.reshape(moved), -1, axis)


#: A block is at most this fraction of a large input (see :func:`block_rows`).
SHARE = 32

#: The index-target cross-entropy's blocks may be twice as large: its output is one number
#: per row, so it can spend that memory on fewer blocks, each of which costs some twenty
#: NumPy calls (a tenth of the time for 65 536 rows of 10 classes on an AMD EPYC).
LOSS_SHARE = 16


def block_rows(rows: np.ndarray, share: int = SHARE) -> int:
    """How many rows make one block: :data:`BLOCK_ENTRIES` entries, or ``1/share`` of a large input if less.

    The 1/32 keeps one block of scratch space (and the per-row arrays of a block) within a
    few per cent of a large input's size; an input of up to 16 384 entries is one block, so
    small calls pay the per-block overhead once.
    """
    n, cols = rows.shape
    entries = min(BLOCK_ENTRIES, max(n * cols // share, 1 << 14))
    return max(1, entries // max(cols, 1))


def row_blocks(rows: np.ndarray, share: int = SHARE) -> Iterator[slice]:
    """Consecutive slices of the rows of a 2-d array, one block (:func:`block_rows`) each.

    The blocking helper: every blocked function is a loop ``for b in row_blocks(x2): out[b] = f(x2[b])``,
    so that each pass over a block (argmax, subtract, exp, sum, divide) reads it from the CPU's
    cache instead of from memory, and scratch space is one block, not one input, in size.
    """
    n, step = rows.shape[0], block_rows(rows, share)
    return (slice(start, min(start + step, n)) for start in range(0, n, step))


def scratch(rows: np.ndarray, share: int = SHARE) -> np.ndarray:
    """One block's worth of scratch space for :func:`logsumexp_parts`, reused block after block."""
    return np.empty((min(rows.shape[0], block_rows(rows, share)), rows.shape[1]), dtype=rows.dtype)


#: Rows of at most this many entries are reduced column by column (see :func:`row_max`).
NARROW_ROWS = 16


def row_max(x: np.ndarray) -> np.ndarray:
    """The largest entry of each row of a 2-d ``x``, shape (n, 1); NaN where a row holds NaN.

    NumPy reduces a row at a time, with a fixed cost per row that dominates when rows are
    short (ten classes); a narrow block is reduced instead column by column, ``C - 1``
    vectorised maxima over all its rows at once (several times faster for ten classes).
    """
    if x.shape[1] > NARROW_ROWS:
        return np.max(x, axis=1, keepdims=True)
    m = x[:, :1].copy()
    for j in range(1, x.shape[1]):
        np.maximum(m[:, 0], x[:, j], out=m[:, 0])
    return m


def row_sum(x: np.ndarray) -> np.ndarray:
    """The sum of each row of a 2-d ``x``, shape (n, 1): column by column for narrow rows, as :func:`row_max`."""
    if x.shape[1] > NARROW_ROWS:
        return np.add.reduce(x, axis=1, keepdims=True)
    s = x[:, :1].copy()
    for j in range(1, x.shape[1]):
        np.add(s[:, 0], x[:, j], out=s[:, 0])
    return s


def softmax_rows(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The softmax of each row of a 2-d ``x`` into ``out``: ``e / sum(e)`` with ``e = exp(x - a)``.

    Three passes and two row reductions, nothing more: the largest term is ``e^0 = 1``
    exactly, so the sum is ``1 + s`` as in :func:`softmax_parts`, rounded in another
    order. Rows whose maximum is not finite (only ``-inf``, or holding NaN or ``+inf``)
    give NaN throughout, as SciPy.
    """
    a = row_max(x)
    finite = np.isfinite(a)
    if finite.all():  # the usual case: x - a <= 0, so nothing overflows
        np.exp(np.subtract(x, a, out=out), out=out)
        return np.divide(out, row_sum(out), out=out)
    with np.errstate(invalid="ignore"):  # inf - inf in rows of +-inf, made NaN below anyway
        np.exp(np.subtract(x, a, out=out), out=out)
        np.divide(out, row_sum(out), out=out)
    out[~finite[:, 0]] = np.nan
    return out


class LogSumExpParts(NamedTuple):
    """The pieces of log-sum-exp of each row of an (n, C) block; ``max``, ``rest`` and ``shift`` have shape (n, 1)."""

    max: np.ndarray  #: a, the largest entry
    at_max: np.ndarray  #: the flat index (row * C + m) of one largest entry of each row, shape (n,)
    rest: np.ndarray  #: s = sum over i != m of e^(x_i - a)
    buf: np.ndarray  #: e^(x_i - shift), 0 at m, shape (n, C): callers reuse it as output
    shift: np.ndarray  #: a where a is finite, 0 elsewhere (rows of +-inf or NaN, finished as SciPy does)


def logsumexp_parts(x: np.ndarray, buf: np.ndarray | None = None, shifted: np.ndarray | None = None) -> LogSumExpParts:
    """Compute :class:`LogSumExpParts` of the rows of a C-contiguous 2-d ``x`` (at least one column).

    ``buf`` is C-contiguous scratch space with at least ``x``'s number of rows (a fresh array
    if None); only its first ``len(x)`` rows are used. Four passes: argmax, subtract, exp, sum.
    ``x - shift`` goes to ``shifted`` when given (a caller that needs :func:`shifted_scores`
    then saves a pass), to ``buf`` otherwise.
    """
    n, cols = x.shape
    buf = np.empty_like(x) if buf is None else buf[:n]
    at_max = np.arange(0, n * cols, cols) + x.argmax(axis=1)  # NaN wins, so a row holding NaN gets a = NaN
    a = x.reshape(-1)[at_max][:, None]
    if np.isfinite(a).all():  # the usual case: x - a <= 0, so exp cannot overflow
        shift = a
        np.exp(np.subtract(x, a, out=buf if shifted is None else shifted), out=buf)
    else:  # rows of +-inf or NaN
        shift = np.where(np.isfinite(a), a, 0)
        with np.errstate(over="ignore", invalid="ignore"):
            np.exp(np.subtract(x, shift, out=buf if shifted is None else shifted), out=buf)
    buf.reshape(-1)[at_max] = 0  # leave out the maximum: its term is exactly 1
    return LogSumExpParts(a, at_max, row_sum(buf), buf, shift)


def shifted_scores(x: np.ndarray, parts: LogSumExpParts, shifted: np.ndarray | None = None) -> np.ndarray:
    """``x - a``; NaN (as SciPy) where ``a`` is not finite and ``x - a`` is undefined.

    Finished in ``shifted`` if :func:`logsumexp_parts` wrote ``x - shift`` there, else computed into ``parts.buf``.
    """
    out = np.subtract(x, parts.shift, out=parts.buf) if shifted is None else shifted
    if parts.shift is not parts.max:  # some rows have a = +-inf or NaN
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, SciPy's answer too
            np.copyto(out, x - parts.max, where=~np.isfinite(parts.max))
    return out


def softmax_parts(x: np.ndarray, buf: np.ndarray | None = None) -> tuple[np.ndarray, LogSumExpParts]:
    """The softmax of each row of a 2-d ``x`` (SciPy's conventions for infinite and NaN entries), in ``buf``.

    A row of only ``-inf``, or holding NaN or ``+inf``, gives NaN throughout: exactly the rows
    whose maximum is not finite.
    """
    parts = logsumexp_parts(x, buf)
    out = parts.buf
    out.reshape(-1)[parts.at_max] = 1  # e^(a - a) for the maximum
    if parts.shift is parts.max:
        np.divide(out, 1 + parts.rest, out=out)
    else:  # rows of -inf only, or holding NaN or +inf (inf / inf there): NaN throughout
        with np.errstate(invalid="ignore"):
            np.divide(out, 1 + parts.rest, out=out)
        out[~np.isfinite(parts.max[:, 0])] = np.nan
    return out, parts


def softmax_complement(q: np.ndarray, parts: LogSumExpParts) -> np.ndarray:
    """``1 - q`` without cancellation: exact enough where ``q <= 1/2``, and ``s / (1 + s)`` at the maximum."""
    comp = 1 - q
    with np.errstate(invalid="ignore"):  # inf / inf in rows holding +inf, already NaN in q
        comp.reshape(-1)[parts.at_max] = np.where(
            np.isnan(q.reshape(-1)[parts.at_max]), np.nan, (parts.rest / (1 + parts.rest))[:, 0]
        )
    return comp


# The public functions' block loops. Rows of at most TRANSPOSE_MAX classes are computed in
# a transposed layout, every other row in the row layout of the kernels above.

#: Rows of at most this many classes are computed transposed (see :func:`is_narrow`). Timed
#: on an AMD EPYC (AVX2) on 655 360 entries: transposed blocks are faster for every function
#: up to 24 classes (by 30-40 % at 16 in float32, 10-20 % in float64), and log_softmax in
#: float64 is slower from about 32.
TRANSPOSE_MAX = 24


def is_narrow(rows: np.ndarray) -> bool:
    """Whether the rows of a 2-d array are computed in blocks transposed to (C, n), classes-major.

    A row of ten classes costs NumPy a fixed overhead per row in every reduction along it
    (argmax, sum) and a loop of only ten entries in every broadcast (``x - a``): in a
    transposed block, class ``j`` of every row is one contiguous vector, so each pass is a
    vector operation over the block's ``n`` rows. The transposes cost two copies of the
    block (one for the reductions), which pays off for rows of up to :data:`TRANSPOSE_MAX` classes.
    """
    return rows.shape[1] <= TRANSPOSE_MAX


class Workspace(NamedTuple):
    """Scratch space reused block after block: ``rows`` as :func:`scratch`, and ``flats`` for the transposed kernels."""

    rows: np.ndarray  #: (block rows, C), as :func:`scratch`
    flats: list[np.ndarray]  #: flat arrays of one block's entries each (empty for wide rows), viewed by :func:`columns`


def workspace(rows: np.ndarray, flats: int, share: int = SHARE) -> Workspace:
    """A :class:`Workspace` for the rows of a 2-d array, with ``flats`` flat arrays if its rows are narrow."""
    buf = scratch(rows, share)
    return Workspace(buf, [np.empty(buf.size, dtype=rows.dtype) for _ in range(flats if is_narrow(rows) else 0)])


def columns(buf: np.ndarray, cols: int, n: int) -> np.ndarray:
    """The first ``cols * n`` entries of a flat (or C-contiguous) ``buf`` as a C-contiguous (cols, n) array."""
    return buf.reshape(-1)[: cols * n].reshape(cols, n)


def column_sum(e: np.ndarray) -> np.ndarray:
    """The sum of each column of a (C, n) array, added in row order ``((e_0 + e_1) + e_2) + ...`` for any ``n``.

    NumPy reduces axis 0 of a C-contiguous (C, n) array row after row, but a single column
    (``n = 1``) pairwise: that case is added row by row here, so that a row gives the
    same bits alone as in a block of many.
    """
    if e.shape[1] != 1:
        return np.add.reduce(e, axis=0)
    s = e[0].copy()
    for j in range(1, e.shape[0]):
        s += e[j]
    return s


class NarrowParts(NamedTuple):
    """Log-sum-exp's pieces for a transposed block of n rows: ``max`` and ``rest`` have shape (n,)."""

    max: np.ndarray  #: a, the largest entry of each row
    rest: np.ndarray  #: s, the sum over i != m of e^(x_i - a)
    bad: np.ndarray | None  #: indices of rows whose maximum is not finite (wrong here: recompute them), or None


def narrow_parts(xb: np.ndarray, z: np.ndarray, e: np.ndarray, f: np.ndarray) -> NarrowParts:
    """The :class:`NarrowParts` of an (n, C) block, transposed: ``z`` gets ``x - a``, shape (C, n).

    ``e`` and ``f`` are (C, n) scratch space; ``e`` may be ``z`` (then ``z`` ends up
    overwritten). Without an argmax, the maximum's term is left out of ``s`` by value: it
    is ``e^0 = 1`` exactly, and every term is at most 1, so ``floor(e)`` is 1 at the
    maximum, at any tie and where ``e^{x_i - a}`` rounds to 1, and 0 elsewhere;
    ``s = sum(e - floor(e)) + (sum(floor(e)) - 1)`` adds each other term exactly once.
    Rows whose maximum is not finite are listed in ``bad``: the row layout
    (:func:`logsumexp_parts`) finishes them as SciPy does.
    """
    np.copyto(z, xb.T)
    a = np.maximum.reduce(z, axis=0)
    finite = np.isfinite(a)
    bad = None if finite.all() else np.flatnonzero(~finite)
    with quiet(bad):
        np.exp(np.subtract(z, a, out=z), out=e)
        np.subtract(e, np.floor(e, out=f), out=e)
        s = column_sum(e)
        if np.add.reduce(f, axis=None) != z.shape[1]:  # some row has more than one term equal to 1
            s += column_sum(f) - 1
    return NarrowParts(a, s, bad)


def quiet(bad: np.ndarray | None) -> AbstractContextManager[object]:
    """Silence NumPy's invalid and overflow warnings when a block has rows of +-inf or NaN, which are recomputed.

    Entering :class:`numpy.errstate` costs about as much as a small ufunc call, so blocks
    without such rows (``bad`` None) skip it.
    """
    return nullcontext() if bad is None else np.errstate(invalid="ignore", over="ignore", divide="ignore")


def logsumexp_of_rows(x2: np.ndarray) -> np.ndarray:
    """Log-sum-exp ``a + log1p(s)`` of each row of a C-contiguous 2-d ``x2``, shape (n,), block by block."""
    out, work = np.empty(x2.shape[0], dtype=x2.dtype), workspace(x2, 1)
    block = _lse_narrow if is_narrow(x2) else _lse_rows
    for b in row_blocks(x2):
        out[b] = block(x2[b], work)
    return out


def _lse_narrow(xb: np.ndarray, work: Workspace) -> np.ndarray:
    """Log-sum-exp of each row of a narrow block, transposed; rows whose maximum is not finite in the row layout."""
    z = columns(work.rows, xb.shape[1], xb.shape[0])
    parts = narrow_parts(xb, z, z, columns(work.flats[0], *z.shape))
    with quiet(parts.bad):
        lse = parts.max + np.log1p(parts.rest)
    if parts.bad is not None:
        lse[parts.bad] = _lse_rows(xb[parts.bad], work)
    return lse


def _lse_rows(xb: np.ndarray, work: Workspace) -> np.ndarray:
    """Log-sum-exp of each row of a block in the row layout (any row, +-inf and NaN included)."""
    parts = logsumexp_parts(xb, work.rows)
    return (parts.max + np.log1p(parts.rest))[:, 0]


def log_softmax_of_rows(x2: np.ndarray) -> np.ndarray:
    """Log-softmax ``(x - a) - log1p(s)`` of each row of a C-contiguous 2-d ``x2``, block by block.

    ``x - a`` is exact for scores of similar magnitude, so adding an exactly representable
    constant to every score changes no bit of the result, in either layout.
    """
    out, work = np.empty_like(x2), workspace(x2, 1)
    block = _log_softmax_narrow if is_narrow(x2) else _log_softmax_rows
    for b in row_blocks(x2):
        block(x2[b], work, out[b])
    return out


def _log_softmax_narrow(xb: np.ndarray, work: Workspace, out: np.ndarray) -> np.ndarray:
    """Log-softmax of a narrow block into ``out``, transposed; ``out`` is scratch space until the last pass.

    Borrowing the output block as the third (C, n) array keeps scratch space at two blocks.
    """
    z = columns(work.rows, xb.shape[1], xb.shape[0])
    parts = narrow_parts(xb, z, columns(work.flats[0], *z.shape), columns(out, *z.shape))
    with quiet(parts.bad):
        np.copyto(out, np.subtract(z, np.log1p(parts.rest), out=z).T)
    if parts.bad is not None:
        out[parts.bad] = _log_softmax_rows(xb[parts.bad], work, np.empty_like(xb[parts.bad]))
    return out


def _log_softmax_rows(xb: np.ndarray, work: Workspace, out: np.ndarray) -> np.ndarray:
    """Log-softmax of each row of a block in the row layout, into ``out``: ``x - a`` goes there directly."""
    parts = logsumexp_parts(xb, work.rows, shifted=out)
    return np.subtract(shifted_scores(xb, parts, shifted=out), np.log1p(parts.rest), out=out)


def softmax_of_rows(x2: np.ndarray) -> np.ndarray:
    """Softmax ``e / sum(e)``, ``e = exp(x - a)``, of each row of a C-contiguous 2-d ``x2``, block by block.

    Rows whose maximum is not finite give NaN throughout, in either layout (as SciPy).
    """
    out = np.empty_like(x2)
    if not is_narrow(x2):
        for b in row_blocks(x2):
            softmax_rows(x2[b], out[b])
        return out
    work = workspace(x2, 0)
    for b in row_blocks(x2):
        _softmax_narrow(x2[b], columns(work.rows, x2.shape[1], b.stop - b.start), out[b])
    return out


def _softmax_narrow(xb: np.ndarray, z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Softmax of a narrow block into ``out``, computed in ``z``, a (C, n) array: the sum includes the maximum's 1."""
    np.copyto(z, xb.T)
    a = np.maximum.reduce(z, axis=0)
    finite = np.isfinite(a)
    bad = None if finite.all() else ~finite
    with quiet(bad):  # rows of +-inf or NaN: NaN throughout, below
        np.exp(np.subtract(z, a, out=z), out=z)
        np.copyto(out, np.divide(z, column_sum(z), out=z).T)
    if bad is not None:
        out[bad] = np.nan
    return out


def cross_entropy_of_rows(
    x2: np.ndarray, label: np.ndarray, weight: np.ndarray | None, smooth: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``-log q_y`` of each row of a C-contiguous 2-d ``x2`` and, if ``smooth``, ``-sum_c w_c log q_c``; shape (n,) each.

    ``-log q_y = log1p(s) - (x_y - a)``: two non-negative terms, no cancellation; so is
    every term ``log1p(s) - (x_c - a)`` of the smoothing sum. ``x_y - a`` is NaN only where
    a row holds +inf or NaN, as PyTorch. Without ``smooth`` the smoothing sum is a read-only
    view of one zero (no memory).
    """
    n = x2.shape[0]
    nll = np.empty(n, dtype=x2.dtype)
    smoothing = np.empty(n, dtype=x2.dtype) if smooth else np.broadcast_to(np.zeros((), dtype=x2.dtype), (n,))
    work = workspace(x2, 2 if smooth else 1, LOSS_SHARE)
    block = _cross_entropy_narrow if is_narrow(x2) else _cross_entropy_rows
    for b in row_blocks(x2, LOSS_SHARE):
        nll_b, smooth_b = block(x2[b], label[b], weight, smooth, work)
        nll[b] = nll_b
        if smooth_b is not None:
            smoothing[b] = smooth_b
    return nll, smoothing


def _cross_entropy_narrow(
    xb: np.ndarray, yb: np.ndarray, weight: np.ndarray | None, smooth: bool, work: Workspace
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`cross_entropy_of_rows` of one narrow block, transposed.

    ``x_y`` is gathered from the block as it is, by flat index; rows whose maximum is not
    finite are recomputed in the row layout.
    """
    n, cols = xb.shape
    z = columns(work.rows, cols, n)
    e = columns(work.flats[1], cols, n) if smooth else z  # e overwrites z unless the smoothing needs z
    parts = narrow_parts(xb, z, e, columns(work.flats[0], cols, n))
    with quiet(parts.bad):  # bad rows only, recomputed below
        log1p_s = np.log1p(parts.rest)
        x_y = xb.reshape(-1)[np.arange(0, n * cols, cols) + yb]
        nll = np.subtract(log1p_s, np.subtract(x_y, parts.max, out=x_y), out=x_y)
        smoothing = _smoothing_sum(np.subtract(log1p_s, z, out=z), weight) if smooth else None
    if parts.bad is not None:
        nll_bad, smooth_bad = _cross_entropy_rows(xb[parts.bad], yb[parts.bad], weight, smooth, work)
        nll[parts.bad] = nll_bad
        if smoothing is not None:
            smoothing[parts.bad] = smooth_bad
    return nll, smoothing


def _smoothing_sum(neg_logq: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """``sum_c w_c (-log q_c)`` of each column of a transposed (C, n) block of ``-log q``, in place."""
    if weight is not None:
        with np.errstate(invalid="ignore"):  # a weight of 0 times -log q = inf: NaN, as PyTorch
            np.multiply(neg_logq, weight[:, None], out=neg_logq)
    return column_sum(neg_logq)


def _cross_entropy_rows(
    xb: np.ndarray, yb: np.ndarray, weight: np.ndarray | None, smooth: bool, work: Workspace
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`cross_entropy_of_rows` of one block in the row layout (any row, +-inf and NaN included)."""
    parts = logsumexp_parts(xb, work.rows)
    log1p_s = np.log1p(parts.rest[:, 0])
    with np.errstate(invalid="ignore"):  # x_y - a is NaN only where the row holds +inf or NaN, as PyTorch
        z_y = xb[np.arange(xb.shape[0]), yb] - parts.max[:, 0]
    if not smooth:
        return log1p_s - z_y, None
    neg_logq = np.subtract(log1p_s[:, None], shifted_scores(xb, parts), out=parts.buf)
    with np.errstate(invalid="ignore"):  # a weight of 0 times -log q = inf: NaN, as PyTorch
        return log1p_s - z_y, np.sum(neg_logq if weight is None else neg_logq * weight, axis=-1)
