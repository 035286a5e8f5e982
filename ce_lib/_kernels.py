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
is one block, not one input, in size.

Private: the public functions validate their arguments and then call these.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def block_rows(rows: np.ndarray) -> int:
    """How many rows make one block: :data:`BLOCK_ENTRIES` entries, or 1/32 of a large input if less.

    The 1/32 keeps one block of scratch space (and the per-row arrays of a block) within a
    few per cent of a large input's size; an input of up to 16 384 entries is one block, so
    small calls pay the per-block overhead once.
    """
    n, cols = rows.shape
    entries = min(BLOCK_ENTRIES, max(n * cols // 32, 1 << 14))
    return max(1, entries // max(cols, 1))


def row_blocks(rows: np.ndarray) -> Iterator[slice]:
    """Consecutive slices of the rows of a 2-d array, one block (:func:`block_rows`) each.

    The blocking helper: every blocked function is a loop ``for b in row_blocks(x2): out[b] = f(x2[b])``,
    so that each pass over a block (argmax, subtract, exp, sum, divide) reads it from the CPU's
    cache instead of from memory, and scratch space is one block, not one input, in size.
    """
    n, step = rows.shape[0], block_rows(rows)
    return (slice(start, min(start + step, n)) for start in range(0, n, step))


def scratch(rows: np.ndarray) -> np.ndarray:
    """One block's worth of scratch space for :func:`logsumexp_parts`, reused block after block."""
    return np.empty((min(rows.shape[0], block_rows(rows)), rows.shape[1]), dtype=rows.dtype)


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
