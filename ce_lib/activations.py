r"""From scores to probabilities: sigmoid, softmax and their logarithms.

Every function here is exact in the sense of backward error: the result is the
correctly rounded value for an input within a few units in the last place (ULP)
of the given one. The multi-class functions use the ``log1p`` form of
log-sum-exp [BHH21]_: with :math:`a = \max_i x_i` (attained at :math:`i = m`) and
:math:`s = \sum_{i \neq m} e^{x_i - a}`,

.. math:: \operatorname{lse}(x) = a + \operatorname{log1p}(s),

so that a dominant score keeps the tiny correction :math:`\operatorname{log1p}(s)
\approx s` instead of rounding :math:`1 + s` to 1.

The class axis: these functions take ``axis`` and default to the **last** axis (as
SciPy), whereas the losses in :mod:`ce_lib.losses` follow PyTorch and read the
classes from axis 1 of an (N, C, ...) input.

References
----------
.. [BHH21] P. Blanchard, D. J. Higham and N. J. Higham, "Accurately computing the
   log-sum-exp and softmax functions", IMA Journal of Numerical Analysis 41(4),
   2311-2330, 2021. doi:10.1093/imanum/draa038
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._kernels import as_rows, from_rows, logsumexp_parts, row_blocks, scratch, shifted_scores, softmax_rows
from ._validation import as_float_array, check_axis, check_unit_interval

__all__ = ["log_sigmoid", "log_softmax", "logit", "logsumexp", "sigmoid", "softmax", "softplus"]


def _scalar_or_array(result: np.ndarray) -> Any:
    """Return a NumPy scalar for a 0-d result and the array otherwise."""
    return result[()]


def sigmoid(x: ArrayLike) -> np.ndarray:
    r"""Logistic sigmoid, elementwise.

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}} = \frac{e^{x}}{1 + e^{x}}

    Parameters
    ----------
    x : array_like
        Scores of any shape.

    Returns
    -------
    ndarray
        :math:`\sigma(x)` in :math:`[0, 1]`, same shape and floating dtype as ``x``.

    Notes
    -----
    The exponential is only ever taken of :math:`-|x|`, so nothing overflows: for
    :math:`x \ge 0` the first form is used, for :math:`x < 0` the second.
    ``sigmoid(inf) = 1`` and ``sigmoid(-inf) = 0``; NaN propagates.

    Examples
    --------
    >>> from ce_lib import sigmoid
    >>> sigmoid([0.0, 2.0, -710.0])  # 1 / (1 + exp(710)) would overflow
    array([5.00000000e-001, 8.80797078e-001, 4.47628623e-309])
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))  # in (0, 1], never overflows
    return _scalar_or_array(np.where(x >= 0, 1 / (1 + e), e / (1 + e)))


def log_sigmoid(x: ArrayLike) -> np.ndarray:
    r"""Logarithm of the sigmoid, elementwise, without forming :math:`\sigma(x)`.

    .. math:: \log \sigma(x) = \min(x, 0) - \operatorname{log1p}(e^{-|x|}) = -\operatorname{softplus}(-x)

    Parameters
    ----------
    x : array_like
        Scores of any shape.

    Returns
    -------
    ndarray
        :math:`\log\sigma(x) \le 0`, same shape and floating dtype as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import log_sigmoid
    >>> log_sigmoid([-1000.0, 0.0, 40.0])  # log(sigmoid(-1000)) would be log(0) = -inf
    array([-1.00000000e+03, -6.93147181e-01, -4.24835426e-18])
    """
    x = as_float_array(x, "x")
    return _scalar_or_array(np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))))


def softplus(x: ArrayLike) -> np.ndarray:
    r"""Softplus, elementwise: the smooth maximum of :math:`x` and 0.

    .. math:: \operatorname{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \operatorname{log1p}(e^{-|x|})

    Note that :math:`-\log \sigma(x) = \operatorname{softplus}(-x)` and
    :math:`-\log(1 - \sigma(x)) = \operatorname{softplus}(x)`.

    Parameters
    ----------
    x : array_like
        Scores of any shape.

    Returns
    -------
    ndarray
        Values in :math:`[\max(x, 0), \max(x, 0) + \log 2]`, same shape and floating dtype as ``x``.

    Examples
    --------
    >>> from ce_lib import softplus
    >>> softplus([-40.0, 0.0, 1000.0])
    array([4.24835426e-18, 6.93147181e-01, 1.00000000e+03])
    """
    x = as_float_array(x, "x")
    return _scalar_or_array(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))


def logit(p: ArrayLike) -> np.ndarray:
    r"""Log-odds, the inverse of :func:`sigmoid`, elementwise.

    .. math:: \operatorname{logit}(p) = \log\frac{p}{1 - p}

    Parameters
    ----------
    p : array_like
        Probabilities in :math:`[0, 1]`, any shape.

    Returns
    -------
    ndarray
        Log-odds, same shape and floating dtype as ``p``; ``logit(0) = -inf``,
        ``logit(1) = inf``.

    Raises
    ------
    ValueError
        If an entry of ``p`` lies outside :math:`[0, 1]`.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logit, sigmoid
    >>> logit([0.5, 0.9])
    array([0.        , 2.19722458])
    >>> bool(np.isclose(logit(sigmoid(3.0)), 3.0, rtol=1e-14, atol=0))
    True
    """
    p = as_float_array(p, "p")
    check_unit_interval(p, "p")
    with np.errstate(divide="ignore"):  # p = 0 or 1 gives -inf or inf, the exact limit
        return _scalar_or_array(np.log(p / (1 - p)))


def logsumexp(x: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r"""Log of the sum of exponentials along ``axis``, computed stably.

    .. math:: \operatorname{lse}(x) = \log\sum_{i=1}^{C} e^{x_i} = a + \operatorname{log1p}\Big(\sum_{i \ne m} e^{x_i - a}\Big),
              \quad a = x_m = \max_i x_i

    It is a smooth maximum: :math:`\max_i x_i \le \operatorname{lse}(x) \le \max_i x_i + \log C`.

    Parameters
    ----------
    x : array_like
        Scores, shape ``(..., C, ...)`` with the ``C`` classes along ``axis``.
    axis : int, optional
        The class axis. Default ``-1``, the last axis (the losses use axis 1, as PyTorch:
        pass ``axis=1`` for an (N, C, d1, ...) array).
    keepdims : bool, optional
        Keep ``axis`` as a dimension of length 1. Default ``False``.

    Returns
    -------
    ndarray
        ``x`` reduced along ``axis``, same floating dtype as ``x``.

    Notes
    -----
    Entries of ``-inf`` contribute nothing; a slice of only ``-inf`` gives ``-inf``;
    a slice containing ``+inf`` gives ``+inf``; NaN propagates; an empty axis gives
    ``-inf``, the log of an empty sum (all as SciPy's ``logsumexp`` and
    ``torch.logsumexp``).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logsumexp
    >>> logsumexp([1000.0, 1000.0])  # np.log(np.sum(np.exp(x))) overflows to inf
    np.float64(1000.6931471805599)
    >>> float(logsumexp([0.0, -40.0]))  # the naive log(1 + e^-40) rounds to 0
    4.248354255291589e-18
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    if x.shape[axis] == 0:  # the log of an empty sum
        return _scalar_or_array(np.full(np.sum(x, axis=axis, keepdims=keepdims).shape, -np.inf, dtype=x.dtype))
    x2 = as_rows(x, axis)
    out, buf = np.empty(x2.shape[0], dtype=x.dtype), scratch(x2)
    for b in row_blocks(x2):
        parts = logsumexp_parts(x2[b], buf)
        out[b] = (parts.max + np.log1p(parts.rest))[:, 0]
    lse = from_rows(out, x.shape, axis)
    return _scalar_or_array(np.expand_dims(lse, axis) if keepdims else lse)


def log_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Logarithm of the softmax along ``axis``, computed stably.

    .. math:: \log\operatorname{softmax}(x)_k = x_k - \operatorname{lse}(x) = (x_k - a) - \operatorname{log1p}(s)

    with :math:`a` and :math:`s` as in :func:`logsumexp`.

    Parameters
    ----------
    x : array_like
        Scores, shape ``(..., C, ...)`` with the ``C`` classes along ``axis``.
    axis : int, optional
        The class axis. Default ``-1``, the last axis (the losses use axis 1, as PyTorch:
        pass ``axis=1`` for an (N, C, d1, ...) array).

    Returns
    -------
    ndarray
        Log-probabilities :math:`\le 0`, same shape and floating dtype as ``x``.

    Notes
    -----
    ``x - a`` is exact for scores of similar magnitude, so adding a constant that
    is exactly representable to every score changes no bit of the result.
    ``-inf`` scores (masked classes) get log-probability ``-inf``; a slice of only
    ``-inf`` gives NaN, and a ``+inf`` score gets NaN, as SciPy's ``log_softmax``.
    An empty axis gives an empty result.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import log_softmax
    >>> log_softmax([1000.0, 1.0])
    array([   0., -999.])
    >>> with np.errstate(under="ignore", divide="ignore"):
    ...     np.log(np.exp([1000.0, 1.0] - np.max([1000.0, 1.0])) / 1.0)  # naive: -inf
    array([  0., -inf])
    >>> log_softmax([40.0, 0.0])[0]  # the tiny log-probability survives
    np.float64(-4.248354255291589e-18)
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    if x.shape[axis] == 0:
        return x.copy()
    x2 = as_rows(x, axis)
    out, buf = np.empty_like(x2), scratch(x2)
    for b in row_blocks(x2):
        parts = logsumexp_parts(x2[b], buf, shifted=out[b])  # x - a goes straight to the output
        # (x - a) - log1p(s): exact shift invariance, see the Notes
        np.subtract(shifted_scores(x2[b], parts, shifted=out[b]), np.log1p(parts.rest), out=out[b])
    return from_rows(out, x.shape, axis)


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``: scores to a probability distribution.

    .. math:: \operatorname{softmax}(x)_k = \frac{e^{x_k}}{\sum_{j=1}^{C} e^{x_j}} = \frac{e^{x_k - a}}{\sum_{j=1}^{C} e^{x_j - a}},
              \qquad a = \max_j x_j

    computed in the second form: every exponent is at most 0, so nothing overflows, and the
    largest term of the sum is exactly 1.

    The result is unchanged by adding the same constant to every score.

    Parameters
    ----------
    x : array_like
        Scores, shape ``(..., C, ...)`` with the ``C`` classes along ``axis``.
    axis : int, optional
        The class axis. Default ``-1``, the last axis (the losses use axis 1, as PyTorch:
        pass ``axis=1`` for an (N, C, d1, ...) array).

    Returns
    -------
    ndarray
        Probabilities in :math:`[0, 1]` summing to 1 along ``axis``; same shape
        and floating dtype as ``x``. A slice containing ``+inf`` gives NaN, and
        ``-inf`` scores get probability 0, as SciPy's ``softmax``; an empty axis gives
        an empty result.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import softmax
    >>> softmax([2.3, -1.2, 0.7])
    array([0.81162645, 0.024509  , 0.16386455])
    >>> softmax([1002.3, 998.8, 1000.7])  # shifted by 1000: same answer, no overflow
    array([0.81162645, 0.024509  , 0.16386455])
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    if x.shape[axis] == 0:
        return x.copy()
    x2 = as_rows(x, axis)
    out = np.empty_like(x2)
    for b in row_blocks(x2):
        softmax_rows(x2[b], out[b])  # the block's softmax, computed in place in the output
    return from_rows(out, x.shape, axis)
