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

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._kernels import as_rows, from_rows, log_softmax_of_rows, logsumexp_of_rows, softmax_of_rows
from ._validation import (
    as_float_array,
    check_axes,
    check_axis,
    check_scalar_axis,
    check_unit_interval,
    half_in_half_out,
    logit_bounds,
)

__all__ = ["log_sigmoid", "log_softmax", "logit", "logsumexp", "sigmoid", "softmax", "softplus"]


def _scalar_or_array(result: np.ndarray) -> Any:
    """Return a NumPy scalar for a 0-d result and the array otherwise."""
    return result[()]


@half_in_half_out
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

    Differences from PyTorch and SciPy: a very negative ``x`` keeps its subnormal
    result (``sigmoid(-710.0)`` is 4.5e-309), where ``torch.sigmoid`` and
    ``scipy.special.expit`` return 0 below about -709.78 (in float64; this function returns 0 below
    about -745.13); integer input gives float64.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import sigmoid
    >>> sigmoid([0.0, 2.0, -710.0])  # 1 / (1 + exp(710)) would overflow
    array([5.00000000e-001, 8.80797078e-001, 4.47628623e-309])
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))  # in (0, 1], never overflows
    return _scalar_or_array(np.where(x >= 0, 1 / (1 + e), e / (1 + e)))


@half_in_half_out
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


@half_in_half_out
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

    Notes
    -----
    Differences from PyTorch: there is no ``beta`` or ``threshold``. ``F.softplus``
    returns ``x`` itself once ``beta * x > 20``, so ``F.softplus(25.0)`` is exactly 25, where
    this function returns ``25 + 1.4e-11``, correct to the last bit; for PyTorch's ``beta``,
    use ``softplus(beta * x) / beta``.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import softplus
    >>> softplus([-40.0, 0.0, 1000.0])
    array([4.24835426e-18, 6.93147181e-01, 1.00000000e+03])
    """
    x = as_float_array(x, "x")
    return _scalar_or_array(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))


@half_in_half_out
def logit(p: ArrayLike, eps: float | None = None) -> np.ndarray:
    r"""Log-odds, the inverse of :func:`sigmoid`, elementwise.

    .. math:: \operatorname{logit}(p) = \log\frac{p}{1 - p}

    Parameters
    ----------
    p : array_like
        Probabilities in :math:`[0, 1]`, any shape.
    eps : float in [0, 0.5], optional
        Clamp ``p`` to :math:`[\varepsilon, 1 - \varepsilon]` first, as ``torch.logit``'s
        ``eps``, so that 0 and 1 give finite log-odds. Default None: no clamp.

    Returns
    -------
    ndarray
        Log-odds, same shape and floating dtype as ``p``; ``logit(0) = -inf``,
        ``logit(1) = inf``.

    Raises
    ------
    ValueError
        If an entry of ``p`` lies outside :math:`[0, 1]`, or ``eps`` outside :math:`[0, 0.5]`.

    Notes
    -----
    Differences from PyTorch: an entry outside :math:`[0, 1]` raises ``ValueError`` here,
    where ``torch.logit`` and ``scipy.special.logit`` return NaN for that entry (and
    ``torch.logit`` with ``eps`` clamps it silently): a probability outside :math:`[0, 1]`
    is a bug upstream, and this library refuses to turn it into a number. ``eps`` must lie in
    :math:`[0, 0.5]`, where PyTorch accepts any (one above 0.5 reverses the sign).
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logit, sigmoid
    >>> logit([0.5, 0.9])
    array([0.        , 2.19722458])
    >>> bool(np.isclose(logit(sigmoid(3.0)), 3.0, rtol=1e-14, atol=0))
    True
    >>> logit([0.0, 1.0], eps=0.1)  # clamped to 0.1 and 0.9: log(1/9) and log 9
    array([-2.19722458,  2.19722458])
    """
    q = as_float_array(p, "p")
    check_unit_interval(q, "p")
    if eps is not None:
        q = np.clip(q, *logit_bounds(p, q, eps))  # bounds rounded in p's own dtype, as torch.logit
    with np.errstate(divide="ignore"):  # p = 0 or 1 gives -inf or inf, the exact limit
        return _scalar_or_array(np.log(q / (1 - q)))


@half_in_half_out
def logsumexp(x: ArrayLike, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> np.ndarray:
    r"""Log of the sum of exponentials along ``axis``, computed stably.

    .. math:: \operatorname{lse}(x) = \log\sum_{i=1}^{C} e^{x_i} = a + \operatorname{log1p}\Big(\sum_{i \ne m} e^{x_i - a}\Big),
              \quad a = x_m = \max_i x_i

    It is a smooth maximum: :math:`\max_i x_i \le \operatorname{lse}(x) \le \max_i x_i + \log C`.

    Parameters
    ----------
    x : array_like
        Scores, shape ``(..., C, ...)`` with the ``C`` classes along ``axis``.
    axis : int, tuple of ints or None, optional
        The class axis. Default ``-1``, the last axis (the losses use axis 1, as PyTorch:
        pass ``axis=1`` for an (N, C, d1, ...) array). A tuple sums over several axes at
        once (as ``torch.logsumexp``'s ``dim`` and SciPy's ``axis``); None, over every
        axis (as SciPy); the empty tuple, over none (as SciPy: the result is ``x``). A 0-d
        ``x`` takes ``axis`` 0 or -1 (as PyTorch) and gives ``x`` itself.
    keepdims : bool, optional
        Keep the reduced axes as dimensions of length 1. Default ``False``.

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

    Differences from PyTorch and SciPy: ``axis`` defaults to the last axis
    (``scipy.special.logsumexp`` reduces the whole array; ``torch.logsumexp`` requires
    ``dim``); SciPy's ``b`` and ``return_sign`` are not offered; float16 input is summed in
    float32 and rounded once, so 70 000 float16 zeros give 11.16 where SciPy and PyTorch
    overflow to ``inf``.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logsumexp
    >>> logsumexp([1000.0, 1000.0])  # np.log(np.sum(np.exp(x))) overflows to inf
    np.float64(1000.6931471805599)
    >>> float(logsumexp([0.0, -40.0]))  # the naive log(1 + e^-40) rounds to 0
    4.248354255291589e-18
    >>> float(logsumexp(np.zeros((2, 3)), axis=(0, 1)))  # log 6, over both axes at once
    1.791759469228055
    """
    x = as_float_array(x, "x")
    axes = check_axes(x, axis, "x")
    if x.ndim == 0:  # one element: log(e^x) = x, inf and NaN included
        return _scalar_or_array(x.copy())
    if len(axes) != 1:
        return _logsumexp_axes(x, axes, keepdims)
    axis = axes[0]
    if x.shape[axis] == 0:  # the log of an empty sum
        return _scalar_or_array(np.full(np.sum(x, axis=axis, keepdims=keepdims).shape, -np.inf, dtype=x.dtype))
    x2 = as_rows(x, axis)
    lse = from_rows(logsumexp_of_rows(x2), x.shape, axis)
    return _scalar_or_array(np.expand_dims(lse, axis) if keepdims else lse)


def _logsumexp_axes(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Log-sum-exp over several axes (or none): those axes merged into one last axis, reduced by :func:`logsumexp`."""
    kept = [i for i in range(x.ndim) if i not in axes]
    merged = np.moveaxis(x, axes, range(len(kept), x.ndim))
    lse = logsumexp(merged.reshape([x.shape[i] for i in kept] + [math.prod(x.shape[i] for i in axes)]), axis=-1)
    return _scalar_or_array(np.reshape(lse, [1 if i in axes else n for i, n in enumerate(x.shape)]) if keepdims else lse)


@half_in_half_out
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
        pass ``axis=1`` for an (N, C, d1, ...) array). A 0-d ``x`` takes 0 or -1 and
        gives 0, as PyTorch.

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

    Differences from PyTorch and SciPy: as :func:`softmax` for ``axis``, integer and
    complex input. A ``+inf`` score gives NaN at that entry and ``-inf`` at finite ones, as
    SciPy, where PyTorch makes the whole slice NaN; a tiny log-probability
    (``log_softmax([40, 0])[0] = -4.2e-18``) is kept where PyTorch and SciPy return 0.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

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
    if x.ndim == 0:  # one element, as PyTorch: log 1 = 0 (NaN for inf or NaN, as SciPy)
        check_scalar_axis(axis, "x")
        return log_softmax(x.reshape(1))[0]
    axis = check_axis(x, axis, "x")
    if x.shape[axis] == 0:
        return x.copy()
    x2 = as_rows(x, axis)
    out = log_softmax_of_rows(x2)  # (x - a) - log1p(s): exact shift invariance, see the Notes
    return from_rows(out, x.shape, axis)


@half_in_half_out
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
        pass ``axis=1`` for an (N, C, d1, ...) array). A 0-d ``x`` takes 0 or -1 and
        gives 1, as PyTorch.

    Returns
    -------
    ndarray
        Probabilities in :math:`[0, 1]` summing to 1 along ``axis``; same shape
        and floating dtype as ``x``. A slice containing ``+inf`` gives NaN, and
        ``-inf`` scores get probability 0, as SciPy's ``softmax``; an empty axis gives
        an empty result.

    Notes
    -----
    Differences from PyTorch and SciPy: ``axis`` defaults to the last axis, where
    ``scipy.special.softmax`` normalises the whole array by default and ``F.softmax`` without
    ``dim`` picks dim 0 of a 3-d input; integer input gives float64 (PyTorch raises);
    complex input raises ``ValueError`` (SciPy accepts it).
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

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
    if x.ndim == 0:  # one element, as PyTorch: e^x / e^x = 1 (NaN for inf or NaN, as SciPy)
        check_scalar_axis(axis, "x")
        return softmax(x.reshape(1))[0]
    axis = check_axis(x, axis, "x")
    if x.shape[axis] == 0:
        return x.copy()
    x2 = as_rows(x, axis)
    out = softmax_of_rows(x2)
    return from_rows(out, x.shape, axis)
