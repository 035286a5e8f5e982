r"""Entropy, cross-entropy and Kullback-Leibler divergence of discrete distributions.

Conventions follow SciPy's ``entr``, ``xlogy`` and ``rel_entr``: a term with
:math:`p_i = 0` contributes 0 (the limit :math:`\lim_{t \to 0^+} t \log t = 0`),
and a term with :math:`q_i = 0 < p_i` contributes :math:`+\infty`.

Inputs are checked to be distributions: non-negative, summing to 1 along
``axis`` within :math:`\sqrt{\varepsilon}` of the dtype (about 1.5e-8 for float64,
3.5e-4 for float32). NaN entries skip the check and propagate to the result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, check_axis, check_distribution, check_same_shape, half_in_half_out, log_of_base

__all__ = ["cross_entropy", "entropy", "f_divergence", "js_divergence", "kl_divergence", "mutual_information"]


def _distribution(p: ArrayLike, name: str, axis: int) -> tuple[np.ndarray, int]:
    arr = as_float_array(p, name)
    axis = check_axis(arr, axis, name)
    check_distribution(arr, name, axis)
    return arr, axis


def _pair(p: ArrayLike, q: ArrayLike, axis: int) -> tuple[np.ndarray, np.ndarray, int]:
    pa, qa = as_float_array(p, "p"), as_float_array(q, "q")
    check_same_shape(pa, qa, "p", "q")  # before the sums, so that a shape mismatch is reported as one
    pa, axis = _distribution(pa, "p", axis)
    qa, _ = _distribution(qa, "q", axis)
    dtype = np.result_type(pa, qa)
    return pa.astype(dtype, copy=False), qa.astype(dtype, copy=False), axis


def _logarithm(base: float | None) -> Callable[..., np.ndarray]:
    """The logarithm to ``base``: NumPy's own log2 and log10 (exact at powers of the base), else log / log(base)."""
    ln_base = log_of_base(base)
    if ln_base is None or base is None:
        return np.log
    if float(base) == 2:
        return np.log2
    if float(base) == 10:
        return np.log10
    return lambda x, **kw: np.divide(np.log(x, **kw), ln_base, **kw)


def _log_where_positive(q: np.ndarray, p: np.ndarray, base: float | None = None) -> np.ndarray:
    """``log(q)`` where ``p > 0`` and 0 elsewhere, so that ``p * log q`` obeys 0 log 0 = 0."""
    out = np.zeros_like(q)
    with np.errstate(divide="ignore"):  # q = 0 < p gives -inf: the term is +inf, as rel_entr
        _logarithm(base)(q, out=out, where=p > 0)
    out[np.isnan(p) | np.isnan(q)] = np.nan  # NaN propagates even where the log was skipped
    return out


@half_in_half_out
def entropy(p: ArrayLike, axis: int = -1, base: float | None = None) -> np.ndarray:
    r"""Shannon entropy of a discrete distribution.

    .. math:: H(p) = -\sum_{i=1}^{C} p_i \log p_i

    Parameters
    ----------
    p : array_like
        Distribution(s), shape ``(..., C, ...)`` with the ``C`` outcomes along ``axis``.
    axis : int, optional
        The outcome axis. Default ``-1``.
    base : float, optional
        Logarithm base: ``None`` (default) gives nats, ``2`` gives bits (computed
        with ``log2``, so dyadic probabilities give exact results).

    Returns
    -------
    ndarray
        :math:`0 \le H(p) \le \log C`, ``p`` reduced along ``axis``.

    Raises
    ------
    ValueError
        If ``p`` has a negative entry, does not sum to 1 along ``axis``, or ``base`` is invalid.

    Notes
    -----
    Differences from SciPy: ``scipy.stats.entropy`` normalises its input, sums along
    axis 0 by default, and with a second argument computes the KL divergence; here ``p``
    must be a distribution (else ``ValueError``), the default axis is the last, and the second
    argument is ``axis`` (use :func:`kl_divergence` for two distributions).
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import entropy
    >>> float(entropy([0.5, 0.5], base=2))
    1.0
    >>> float(entropy([1.0, 0.0]))  # 0 log 0 = 0
    0.0
    """
    p, axis = _distribution(p, "p", axis)
    return (0.0 - np.sum(p * _log_where_positive(p, p, base), axis=axis))[()]  # 0 - x: no -0.0


@half_in_half_out
def cross_entropy(p: ArrayLike, q: ArrayLike, axis: int = -1, base: float | None = None) -> np.ndarray:
    r"""Cross-entropy of a predicted distribution ``q`` relative to a true distribution ``p``.

    .. math:: H(p, q) = -\sum_{i=1}^{C} p_i \log q_i = H(p) + D_{\mathrm{KL}}(p \,\|\, q)

    The expected code length, per symbol, of data drawn from ``p`` and encoded
    with a code that is optimal for ``q``.

    Parameters
    ----------
    p : array_like
        True distribution(s), shape ``(..., C, ...)``.
    q : array_like
        Predicted distribution(s), the same shape as ``p``.
    axis : int, optional
        The outcome axis. Default ``-1``.
    base : float, optional
        Logarithm base: ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    ndarray
        :math:`H(p, q) \ge H(p)`, reduced along ``axis``; ``+inf`` where some
        :math:`q_i = 0 < p_i`.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` is not a distribution, their shapes differ, or ``base`` is invalid.

    Notes
    -----
    Differences from SciPy: inputs are not normalised (each must sum to 1 along
    ``axis``, else ``ValueError``, where ``scipy.stats.entropy(p, q)`` divides by the sums),
    ``p`` and ``q`` must have one shape (SciPy broadcasts), and the default axis is the last.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import cross_entropy
    >>> float(cross_entropy([0, 0, 1, 0], [0.1, 0.2, 0.6, 0.1]))  # one-hot p: -log q of the true class
    0.5108256237659907
    """
    p, q, axis = _pair(p, q, axis)
    return (0.0 - np.sum(p * _log_where_positive(q, p, base), axis=axis))[()]  # 0 - x: no -0.0


@half_in_half_out
def kl_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1, base: float | None = None) -> np.ndarray:
    r"""Kullback-Leibler divergence of ``q`` from ``p`` (relative entropy).

    .. math:: D_{\mathrm{KL}}(p \,\|\, q) = \sum_{i=1}^{C} p_i \log\frac{p_i}{q_i}

    Parameters
    ----------
    p : array_like
        True distribution(s), shape ``(..., C, ...)``.
    q : array_like
        Approximating distribution(s), the same shape as ``p``.
    axis : int, optional
        The outcome axis. Default ``-1``.
    base : float, optional
        Logarithm base: ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    ndarray
        :math:`D_{\mathrm{KL}}(p\|q) \ge 0` (Gibbs' inequality), reduced along
        ``axis``; ``+inf`` where some :math:`q_i = 0 < p_i`. It is not symmetric in
        ``p`` and ``q``.

    Notes
    -----
    Each term is computed as :math:`p_i \log(p_i / q_i)`; where the ratio overflows or
    underflows, the difference of logs is used. When :math:`p_i \approx q_i` the ratio
    avoids the cancellation of :math:`\log p_i - \log q_i`, but rounding the ratio (a
    number near 1) still moves its logarithm by up to :math:`\varepsilon/2` in absolute
    terms: each term, and so the sum, is accurate to about :math:`\varepsilon` absolute
    (relative to :math:`p_i`), not relative to a tiny divergence. The chapter on KL
    divergence measures this, and shows a sum of non-negative terms that is correctly
    rounded on its example and within a few :math:`\varepsilon` relative on random pairs;
    that sum is valid only when ``p`` and ``q`` have exactly the same total, which inputs
    in floating point rarely have, so this function keeps the direct sum.

    Differences from SciPy: as :func:`cross_entropy`: no normalising, one shape, the
    last axis by default.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import kl_divergence
    >>> float(kl_divergence([0.5, 0.5], [0.9, 0.1]))
    0.5108256237659907
    >>> float(kl_divergence([0.9, 0.1], [0.5, 0.5]))  # not symmetric
    0.3680642071684971
    """
    p, q, axis = _pair(p, q, axis)
    log = _logarithm(base)
    positive = p > 0
    with np.errstate(divide="ignore", over="ignore", under="ignore"):  # q = 0 < p: the term is +inf
        ratio = np.divide(p, q, out=np.ones_like(p), where=positive)
        log_ratio = log(ratio)
        extreme = positive & ((ratio == 0) | np.isinf(ratio)) & (q > 0)
        if extreme.any():  # the ratio left the float range: subtract logs instead
            log_ratio[extreme] = log(p[extreme]) - log(q[extreme])
    terms = np.where(positive | np.isnan(p), p * log_ratio, 0)
    terms[np.isnan(q)] = np.nan  # NaN propagates, as rel_entr
    return np.sum(terms, axis=axis)[()]


@half_in_half_out
def js_divergence(p: ArrayLike, q: ArrayLike, axis: int = -1, base: float | None = None) -> np.ndarray:
    r"""Jensen-Shannon divergence: the mean KL divergence of ``p`` and ``q`` from their mixture.

    .. math:: \mathrm{JS}(p, q) = \tfrac12 D_{\mathrm{KL}}(p \,\|\, m) + \tfrac12 D_{\mathrm{KL}}(q \,\|\, m),
              \qquad m = \tfrac12 (p + q)

    Symmetric, finite even where the supports differ, and at most :math:`\log 2`
    (1 bit with ``base=2``), reached exactly for disjoint supports.

    Parameters
    ----------
    p, q : array_like
        Distributions of one shape, the outcomes along ``axis``.
    axis : int, optional
        The outcome axis. Default ``-1``.
    base : float, optional
        Logarithm base: ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    ndarray
        The divergence, reduced along ``axis``.

    Notes
    -----
    Differences from SciPy: ``scipy.spatial.distance.jensenshannon`` returns the *square
    root* of this quantity (the Jensen-Shannon distance, a metric; square it to compare),
    normalises its inputs, broadcasts them, and sums along axis 0 by default; here the
    inputs must be distributions of one shape (else ``ValueError``) and the default axis is
    the last. The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import js_divergence
    >>> float(js_divergence([1.0, 0.0], [0.0, 1.0], base=2))  # disjoint supports: 1 bit
    1.0
    >>> float(js_divergence([0.5, 0.5], [0.9, 0.1])) == float(js_divergence([0.9, 0.1], [0.5, 0.5]))
    True
    """
    p, q, axis = _pair(p, q, axis)
    m = (p + q) / 2
    return (kl_divergence(p, m, axis=axis, base=base) + kl_divergence(q, m, axis=axis, base=base)) / 2


F_DIVERGENCES = ("kl", "reverse_kl", "js", "chi2", "hellinger", "tv")


@half_in_half_out
def f_divergence(p: ArrayLike, q: ArrayLike, kind: str, axis: int = -1) -> np.ndarray:
    r"""An f-divergence of ``q`` from ``p``: KL either way, Jensen-Shannon, Pearson :math:`\chi^2`, squared Hellinger, total variation.

    .. math:: D_f(p \,\|\, q) = \sum_{i=1}^{C} q_i\, f\!\left(\frac{p_i}{q_i}\right), \qquad f \text{ convex}, f(1) = 0

    with, for each ``kind``:

    - ``"kl"``: :math:`\sum_i p_i \log(p_i / q_i)`, :func:`kl_divergence`; :math:`f(t) = t \log t`.
    - ``"reverse_kl"``: :math:`\sum_i q_i \log(q_i / p_i)`, ``kl_divergence(q, p)``; :math:`f(t) = -\log t`.
    - ``"js"``: :math:`\tfrac12 D_{\mathrm{KL}}(p \| m) + \tfrac12 D_{\mathrm{KL}}(q \| m)`, :math:`m = \tfrac12(p + q)`,
      :func:`js_divergence`; :math:`f(t) = \tfrac12 \big(t \log t - (1 + t) \log\tfrac{1 + t}{2}\big)`.
    - ``"chi2"``: Pearson's :math:`\chi^2 = \sum_i (p_i - q_i)^2 / q_i`; :math:`f(t) = (t - 1)^2`.
    - ``"hellinger"``: the squared Hellinger distance :math:`H^2 = \tfrac12 \sum_i (\sqrt{p_i} - \sqrt{q_i})^2`;
      :math:`f(t) = \tfrac12 (\sqrt t - 1)^2`.
    - ``"tv"``: the total variation distance :math:`\tfrac12 \sum_i |p_i - q_i|`; :math:`f(t) = \tfrac12 |t - 1|`.

    Parameters
    ----------
    p, q : array_like
        Distributions of one shape, the outcomes along ``axis``.
    kind : {"kl", "reverse_kl", "js", "chi2", "hellinger", "tv"}
        The divergence.
    axis : int, optional
        The outcome axis. Default ``-1``.

    Returns
    -------
    ndarray
        The divergence, :math:`\ge 0`, reduced along ``axis``. ``"kl"`` and ``"chi2"`` are
        ``+inf`` where some :math:`q_i = 0 < p_i`, ``"reverse_kl"`` where some :math:`p_i = 0 < q_i`;
        ``"js"`` is at most :math:`\log 2`, ``"hellinger"`` and ``"tv"`` at most 1.

    Raises
    ------
    ValueError
        If ``kind`` is unknown, or as :func:`kl_divergence` (not distributions, shapes differ).

    Notes
    -----
    Zeros follow SciPy's conventions, as :func:`kl_divergence`: a term with :math:`p_i = q_i = 0`
    contributes 0 (:math:`0 \log 0 = 0`, and :math:`0^2 / 0 = 0` for :math:`\chi^2`), a term
    with :math:`q_i = 0 < p_i` contributes :math:`+\infty` to ``"kl"`` and ``"chi2"``. ``"kl"``,
    ``"reverse_kl"`` and ``"js"`` call :func:`kl_divergence` and :func:`js_divergence`, and give
    their values bit for bit. The squared Hellinger distance is computed as
    :math:`\tfrac12 \sum_i \big((p_i - q_i) / (\sqrt{p_i} + \sqrt{q_i})\big)^2`, which keeps its
    digits when :math:`p \approx q` (where :math:`\sqrt{p_i} - \sqrt{q_i}` cancels). NaN propagates.

    Differences from SciPy: it has ``rel_entr`` (summed, ``"kl"``) and
    ``spatial.distance.jensenshannon``, the square root of ``"js"``, and no :math:`\chi^2`,
    Hellinger or total-variation function; the conventions for the inputs are those of
    :func:`kl_divergence` (no normalising, one shape, the last axis by default).

    Examples
    --------
    >>> from ce_lib import f_divergence
    >>> p, q = [0.5, 0.5], [0.9, 0.1]
    >>> float(f_divergence(p, q, "tv"))  # (0.4 + 0.4) / 2
    0.4
    >>> float(f_divergence(p, q, "chi2"))  # 0.16 / 0.9 + 0.16 / 0.1
    1.7777777777777781
    >>> float(f_divergence([1.0, 0.0], [0.0, 1.0], "hellinger"))  # disjoint supports: the largest, 1
    1.0
    """
    if kind not in F_DIVERGENCES:
        raise ValueError(f"kind must be one of {F_DIVERGENCES}, got {kind!r}")
    if kind == "kl":
        return kl_divergence(p, q, axis=axis)
    if kind == "reverse_kl":
        pa, qa = as_float_array(p, "p"), as_float_array(q, "q")
        check_same_shape(pa, qa, "p", "q")  # named as the caller named them, before the swap
        _pair(pa, qa, axis)
        return kl_divergence(qa, pa, axis=axis)
    if kind == "js":
        return js_divergence(p, q, axis=axis)
    pa, qa, axis = _pair(p, q, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = pa - qa
        if kind == "tv":
            terms = np.abs(diff) / 2
        elif kind == "hellinger":
            both_zero = (pa == 0) & (qa == 0)
            root = diff / np.where(both_zero, 1, np.sqrt(pa) + np.sqrt(qa))
            terms = root * root / 2
        else:  # chi2: 0 where p = q = 0, inf where q = 0 < p
            terms = np.where((pa == 0) & (qa == 0), 0, diff * diff / qa)
            terms[np.isnan(pa) | np.isnan(qa)] = np.nan
    return (0.0 + np.sum(terms, axis=axis))[()]


@half_in_half_out
def mutual_information(joint: ArrayLike, base: float | None = None) -> np.ndarray:
    r"""Mutual information of two discrete variables from their joint distribution.

    .. math:: I(X; Y) &= \sum_{x, y} p(x, y) \log\frac{p(x, y)}{p(x)\,p(y)} \\
              &= D_{\mathrm{KL}}\big(p_{XY} \,\|\, p_X \otimes p_Y\big) = H(Y) - H(Y \mid X)

    Parameters
    ----------
    joint : array_like, shape (n_x, n_y)
        The joint distribution: non-negative, summing to 1 over both axes.
    base : float, optional
        Logarithm base: ``None`` (default) gives nats, ``2`` gives bits.

    Returns
    -------
    ndarray
        A scalar :math:`I(X; Y) \ge 0`, 0 exactly when the variables are independent.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import mutual_information
    >>> float(mutual_information(np.eye(2) / 2, base=2))  # Y = X, a fair bit: 1 bit
    1.0
    >>> float(mutual_information(np.full((2, 3), 1 / 6)))  # independent
    0.0
    """
    pxy = as_float_array(joint, "joint")
    if pxy.ndim != 2:
        raise ValueError(f"joint must be a 2-d array p(x, y), got shape {pxy.shape}")
    check_distribution(pxy.reshape(-1), "joint", axis=0)
    independent = np.outer(pxy.sum(axis=1), pxy.sum(axis=0))
    return kl_divergence(pxy.reshape(-1), independent.reshape(-1), base=base)
