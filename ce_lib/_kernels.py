r"""The one log-sum-exp and the one softmax that every public function builds on.

With :math:`a = \max_i x_i` (attained at :math:`i = m`) and
:math:`s = \sum_{i \ne m} e^{x_i - a}`, log-sum-exp is :math:`a + \operatorname{log1p}(s)`
and the softmax is :math:`e^{x_k - a} / (1 + s)` [BHH21]_ (see :mod:`ce_lib.activations`).
Private: the public functions validate their arguments and then call these.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LogSumExpParts(NamedTuple):
    """The pieces of log-sum-exp along one axis; every array but ``buf`` keeps that axis with length 1."""

    max: np.ndarray  #: a, the largest entry
    argmax: np.ndarray  #: m, the index of one largest entry
    rest: np.ndarray  #: s = sum over i != m of e^(x_i - a)
    buf: np.ndarray  #: a fresh array of x's shape holding e^(x_i - shift), 0 at m: callers reuse it as output
    shift: np.ndarray  #: a where a is finite, 0 elsewhere (rows of +-inf or NaN, finished as SciPy does)


def logsumexp_parts(x: np.ndarray, axis: int) -> LogSumExpParts:
    """Compute :class:`LogSumExpParts` in one scratch buffer. ``x`` must be floating with ``axis`` non-empty."""
    if x.shape[axis] == 0:
        raise ValueError(f"x must have at least one entry along axis {axis}")
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    a = np.take_along_axis(x, idx, axis=axis)
    finite = np.isfinite(a)
    shift = a if finite.all() else np.where(finite, a, 0)
    with np.errstate(over="ignore", invalid="ignore"):  # only reachable for rows holding +inf or NaN
        buf = np.subtract(x, shift)
        np.exp(buf, out=buf)
    np.put_along_axis(buf, idx, 0, axis=axis)  # leave out the maximum: its term is exactly 1
    s = np.sum(buf, axis=axis, keepdims=True)
    return LogSumExpParts(a, idx, s, buf, shift)


def shifted_scores(x: np.ndarray, parts: LogSumExpParts) -> np.ndarray:
    """``x - a`` written into ``parts.buf``; NaN (as SciPy) where ``a`` is not finite and ``x - a`` is undefined."""
    out = np.subtract(x, parts.shift, out=parts.buf)
    if parts.shift is not parts.max:  # some rows have a = +-inf or NaN
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, SciPy's answer too
            np.copyto(out, x - parts.max, where=~np.isfinite(parts.max))
    return out


def softmax_parts(x: np.ndarray, axis: int) -> tuple[np.ndarray, LogSumExpParts]:
    """The softmax along ``axis`` (SciPy's conventions for infinite and NaN entries) and the parts it came from.

    A slice of only ``-inf``, or holding NaN or ``+inf``, gives NaN throughout.
    """
    parts = logsumexp_parts(x, axis)
    out = parts.buf
    np.put_along_axis(out, parts.argmax, 1, axis=axis)  # e^(a - a) for the maximum
    with np.errstate(invalid="ignore"):  # inf / inf: only in rows holding +inf, set to NaN below
        out /= 1 + parts.rest
    finite = np.isfinite(parts.max)
    if not finite.all():  # rows of -inf only, or holding NaN
        out = np.where(finite, out, np.nan)
    has_posinf = np.any(np.isposinf(x), axis=axis, keepdims=True)
    if has_posinf.any():  # a +inf score leaves the distribution undefined
        out = np.where(has_posinf, np.nan, out)
    return out, parts


def softmax_complement(q: np.ndarray, parts: LogSumExpParts, axis: int) -> np.ndarray:
    """``1 - q`` without cancellation: exact enough where ``q <= 1/2``, and ``s / (1 + s)`` at the maximum."""
    comp = 1 - q
    with np.errstate(invalid="ignore"):  # inf / inf in rows holding +inf, already NaN in q
        np.put_along_axis(
            comp,
            parts.argmax,
            np.where(np.isnan(np.take_along_axis(q, parts.argmax, axis)), np.nan, parts.rest / (1 + parts.rest)),
            axis=axis,
        )
    return comp
