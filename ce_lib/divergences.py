r"""KL divergence beyond discrete distributions: Gaussians, and estimates from samples.

:func:`gaussian_kl` and :func:`mvn_kl` give the KL divergence between two Gaussians in closed
form (diagonal and full covariance), :func:`kl_estimate` the three sample estimators of
:math:`D_{\mathrm{KL}}(q \,\|\, p)` from the log-densities of samples drawn from :math:`q`.

All three meet the same function near equality: with :math:`t` the log of a ratio
(of variances, of densities), the divergence holds :math:`e^{t} - 1 - t \ge 0`, which is
:math:`t^2/2` for small :math:`t`. Computed as written it keeps no correct digit once
:math:`|t| < \varepsilon`; here it is a power series for :math:`|t| < 1` and
:math:`\operatorname{expm1}(t) - t` or :math:`(e^{t} - 1) - t` beyond, a few ULP
everywhere, and the log-ratio itself is :math:`\operatorname{log1p}` of the relative
difference when the two quantities are within a factor of 2 (their difference is then exact).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._validation import as_float_array, check_reduction, check_same_shape, half_in_half_out

__all__ = ["gaussian_kl", "kl_estimate", "mvn_kl"]

#: 1/k! for k = 2..19: e^t - 1 - t = t^2 * sum_k t^(k-2) / k!, truncated where 1/k! < 2^-56 * 0.36 for |t| < 1.
_EXCESS_SERIES = tuple(1.0 / math.factorial(k) for k in range(2, 20))
KL_ESTIMATORS = ("k1", "k2", "k3")


def _exp_excess(t: np.ndarray) -> np.ndarray:
    r""":math:`e^{t} - 1 - t \ge 0`, elementwise, to a few ULP for every :math:`t` (``+inf`` at ``+inf``)."""
    out = np.empty_like(t)
    small = np.abs(t) < 1
    ts = t[small]
    acc = np.full_like(ts, _EXCESS_SERIES[-1])
    for c in _EXCESS_SERIES[-2::-1]:  # Horner, from the smallest term
        acc = c + ts * acc
    out[small] = (ts * ts) * acc
    big = ~small
    tb = t[big]
    with np.errstate(over="ignore", invalid="ignore"):  # t = +inf: inf - inf, set below
        out[big] = np.expm1(tb) - tb
    out[np.isposinf(t)] = np.inf
    return out


def _log_ratio(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\log(x / y)` for positive ``x``, ``y`` of one shape, accurate relative to itself, and ``x / y``.

    Within a factor of 2, :math:`x - y` is exact (Sterbenz) and :math:`\operatorname{log1p}((x - y)/y)`
    keeps every digit of a small log-ratio; beyond, the rounded ratio's error is at most
    :math:`\varepsilon/2` absolute against a log-ratio of at least :math:`\log 2`; where the
    ratio leaves the normal range, the difference of the logs.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ratio = x / y
        near = (x >= 0.5 * y) & (x <= 2 * y)
        t = np.log(np.where(near, 1, ratio))
        t[near] = np.log1p((x[near] - y[near]) / y[near])
        extreme = ~near & ((ratio < np.finfo(ratio.dtype).tiny) | np.isinf(ratio))
        t[extreme] = np.log(x[extreme]) - np.log(y[extreme])
    return t, ratio


def _half_excess(t: np.ndarray, half_ratio: np.ndarray) -> np.ndarray:
    r""":math:`\tfrac12 (r - 1 - t)` with :math:`t = \log r` and ``half_ratio`` :math:`= r/2`.

    For :math:`t > 1` the ratio itself is used (no cancellation: :math:`r - 1 > 1.7\,t`), so that
    a large ratio does not pass through :math:`\exp(\log r)`; below, :func:`_exp_excess`.
    """
    out = _exp_excess(t) * 0.5
    large = t > 1
    with np.errstate(over="ignore", invalid="ignore"):
        out[large] = (half_ratio[large] - 0.5) - 0.5 * t[large]
    out[np.isposinf(t)] = np.inf
    return out


def _same_dtype(*arrays: np.ndarray) -> list[np.ndarray]:
    dtype = np.result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays]


def _positive_finite(x: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(x) & (x > 0)):
        raise ValueError(f"{name} must hold positive finite variances; found an entry that is not (zero, negative, inf or NaN)")


@half_in_half_out
def gaussian_kl(mean_p: ArrayLike, var_p: ArrayLike, mean_q: ArrayLike, var_q: ArrayLike) -> np.ndarray:
    r"""KL divergence between two Gaussians with diagonal covariances, summed over the last axis.

    .. math:: D_{\mathrm{KL}}(p \,\|\, q) &= \frac12 \sum_{i=1}^{d} \Big(
              \frac{\tau_{p,i}^2}{\tau_{q,i}^2} - 1 - \log\frac{\tau_{p,i}^2}{\tau_{q,i}^2} \\
              &\qquad + \frac{(\mu_{p,i} - \mu_{q,i})^2}{\tau_{q,i}^2} \Big), \\
              p &= \mathcal N(\mu_p, \operatorname{diag}\tau_p^2), \quad
              q = \mathcal N(\mu_q, \operatorname{diag}\tau_q^2)

    Parameters
    ----------
    mean_p, var_p : array_like
        Means and **variances** :math:`\tau_p^2` (not standard deviations) of :math:`p`,
        the :math:`d` coordinates along the last axis.
    mean_q, var_q : array_like
        The same for :math:`q`. The four arrays broadcast together, as NumPy's and PyTorch's
        arrays do; the broadcast shape must have at least one axis.

    Returns
    -------
    ndarray
        :math:`D_{\mathrm{KL}}(p \,\|\, q) \ge 0`, the broadcast shape without its last axis
        (a scalar for one pair of :math:`d`-dimensional Gaussians).

    Raises
    ------
    ValueError
        If a variance is zero, negative, infinite or NaN (naming ``var_p`` or ``var_q``), or
        the shapes do not broadcast. NaN in a mean propagates.

    Notes
    -----
    The variance term :math:`r - 1 - \log r`, :math:`r = \tau_p^2 / \tau_q^2`, is computed as
    :math:`e^{t} - 1 - t` with :math:`t = \log r` taken as :math:`\operatorname{log1p}` of the
    relative difference of the variances when they are within a factor of 2 (the difference is
    then exact), and :math:`e^{t} - 1 - t` as a power series for :math:`|t| < 1`: every term is
    non-negative and none cancels, so the result is accurate to a few ULP relative to itself
    however close :math:`p` is to :math:`q` (the tests measure at most 4 ULP against mpmath).

    Differences from PyTorch: ``torch.distributions.Normal`` takes standard deviations (its
    ``scale``), this function variances (``Normal(mean, var.sqrt())`` is the same distribution).
    ``kl_divergence(Independent(Normal(...), 1), Independent(Normal(...), 1))`` computes
    :math:`\tfrac12 (r + m^2 - 1 - \log r)` as written, from the rounded ratio of the rounded
    standard deviations: for variances that differ by a relative :math:`10^{-k}` its relative
    error is about :math:`10^{k - 16}`, so it loses about :math:`k` of its 16 digits (at
    :math:`10^{-12}`, :math:`1.7 \times 10^{-4}`; at :math:`10^{-14}`, 4%), where this function
    stays within 4 ULP.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import gaussian_kl
    >>> float(gaussian_kl([0.0], [1.0], [1.0], [1.0]))  # unit variances: half the squared distance
    0.5
    >>> float(gaussian_kl([0.0, 0.0], [1.0, 4.0], [0.0, 0.0], [1.0, 1.0]))  # (4 - 1 - log 4) / 2
    0.8068528194400547
    >>> float(gaussian_kl([0.0], [1.0 + 1e-9], [0.0], [1.0]))  # about (1e-9)^2 / 4, every digit kept
    2.500000412035205e-19
    """
    mp, vp = as_float_array(mean_p, "mean_p"), as_float_array(var_p, "var_p")
    mq, vq = as_float_array(mean_q, "mean_q"), as_float_array(var_q, "var_q")
    _positive_finite(vp, "var_p")
    _positive_finite(vq, "var_q")
    try:
        shape = np.broadcast_shapes(mp.shape, vp.shape, mq.shape, vq.shape)
    except ValueError:
        raise ValueError(
            f"mean_p, var_p, mean_q and var_q must broadcast together, got shapes {mp.shape}, {vp.shape}, {mq.shape} and {vq.shape}"
        ) from None
    if not shape:
        raise ValueError("mean_p, var_p, mean_q and var_q are all 0-d: give the d coordinates along a last axis, e.g. [mean]")
    mp, vp, mq, vq = (np.broadcast_to(a, shape) for a in _same_dtype(mp, vp, mq, vq))
    t, _ = _log_ratio(vp, vq)
    with np.errstate(over="ignore", under="ignore"):
        half_ratio = (vp * 0.5) / vq  # finite a little beyond where vp / vq overflows
        var_term = _half_excess(t, half_ratio)
    with np.errstate(over="ignore", invalid="ignore"):  # infinite means: an infinite divergence (or NaN for inf - inf)
        m = mp - mq
        mean_term = 0.5 * m * (m / vq)
    return np.sum(var_term + mean_term, axis=-1)[()]


def _matrices(cov: ArrayLike, name: str) -> np.ndarray:
    c = as_float_array(cov, name)
    if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (..., n, n) with n >= 1, got {c.shape}")
    return c


def _cholesky(c: np.ndarray, name: str) -> np.ndarray:
    """The lower Cholesky factors of a stack of covariances, or ValueError naming ``name``."""
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be finite; it holds inf or NaN")
    diag = np.abs(np.diagonal(c, axis1=-2, axis2=-1))
    scale = np.sqrt(diag[..., :, None] * diag[..., None, :])  # |C_ij| <= sqrt(C_ii C_jj) for a covariance
    tol = np.sqrt(np.finfo(c.dtype).eps)
    if np.any(np.abs(c - np.swapaxes(c, -1, -2)) > tol * scale):
        raise ValueError(f"{name} must be symmetric (within sqrt(eps) of sqrt(C_ii C_jj) entrywise); it is not")
    try:
        factor = np.linalg.cholesky(c)  # reads the lower triangle, as torch.linalg.cholesky
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be symmetric positive definite; its Cholesky factorisation failed") from None
    if not np.all(np.diagonal(factor, axis1=-2, axis2=-1) > 0):
        raise ValueError(f"{name} must be symmetric positive definite; its Cholesky factor has a zero pivot")
    return factor


def _forward_substitution(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``lower^-1 @ b`` for lower-triangular ``lower`` (..., n, n) and ``b`` (..., n, k), row by row."""
    x = np.empty(np.broadcast_shapes(lower.shape[:-2], b.shape[:-2]) + b.shape[-2:], dtype=b.dtype)
    for i in range(lower.shape[-1]):
        known = lower[..., i : i + 1, :i] @ x[..., :i, :]  # (..., 1, k); zeros for i = 0
        x[..., i, :] = (b[..., i, :] - known[..., 0, :]) / lower[..., i, i, None]
    return x


@half_in_half_out
def mvn_kl(mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike) -> np.ndarray:
    r"""KL divergence between two multivariate Gaussians with full covariance matrices.

    .. math:: D_{\mathrm{KL}}(p \,\|\, q) = \frac12 \left( \operatorname{tr}(\Sigma_q^{-1} \Sigma_p)
              + (\mu_q - \mu_p)^\top \Sigma_q^{-1} (\mu_q - \mu_p) - n
              + \log\frac{\det \Sigma_q}{\det \Sigma_p} \right)

    computed from the Cholesky factors :math:`\Sigma_p = L_p L_p^\top`,
    :math:`\Sigma_q = L_q L_q^\top`: with :math:`A = L_q^{-1} L_p` (lower triangular, diagonal
    :math:`a_i = L_{p,ii} / L_{q,ii}`) and :math:`z = L_q^{-1} (\mu_q - \mu_p)`,

    .. math:: D_{\mathrm{KL}}(p \,\|\, q) = \frac12 \Big( \sum_{i > j} A_{ij}^2 + \|z\|^2
              + \sum_{i} \big(a_i^2 - 1 - \log a_i^2\big) \Big),

    a sum of non-negative terms (the trace is :math:`\|A\|_F^2`, the log-determinant ratio
    :math:`-\sum_i \log a_i^2`).

    Parameters
    ----------
    mean_p : array_like, shape (..., n)
        Mean of :math:`p`.
    cov_p : array_like, shape (..., n, n)
        Covariance of :math:`p`: symmetric positive definite.
    mean_q, cov_q : array_like
        The same for :math:`q`. The batch dimensions (all but the last of a mean, all but the
        last two of a covariance) broadcast together, as in ``torch.distributions.MultivariateNormal``.

    Returns
    -------
    ndarray
        :math:`D_{\mathrm{KL}}(p \,\|\, q) \ge 0`, the broadcast batch shape (a scalar for one pair).

    Raises
    ------
    ValueError
        If a covariance is not square, not finite, not symmetric (beyond
        :math:`\sqrt{\varepsilon}\sqrt{\Sigma_{ii}\Sigma_{jj}}` entrywise) or not positive definite,
        naming ``cov_p`` or ``cov_q`` (NumPy's ``LinAlgError`` does not escape); if a mean's last
        axis is not :math:`n`; or if the batch shapes do not broadcast.

    Notes
    -----
    NumPy has no triangular solver (SciPy's ``solve_triangular`` is not a dependency of
    ``ce_lib``, which needs NumPy only), and ``numpy.linalg.solve`` would factorise the already
    triangular :math:`L_q` again by LU with row pivoting, ignoring its structure; so the two
    solves are a forward substitution written out, a row at a time over the whole batch, which
    is backward stable. As in PyTorch and LAPACK only the lower triangle of each covariance is read.

    Writing the divergence as a sum of non-negative terms removes the cancellation of
    :math:`\operatorname{tr} - n + \log\det` between factors that are close, but not the
    rounding of the factors themselves: for nearly equal full covariances the relative error
    is of order :math:`\kappa(\Sigma_q)\,\varepsilon / \delta` at a relative difference
    :math:`\delta`, not a few ULP. For diagonal covariances use :func:`gaussian_kl`, which
    works from the variances and stays accurate to a few ULP.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import mvn_kl
    >>> float(mvn_kl([0.0, 0.0], np.eye(2), [1.0, 0.0], np.eye(2)))
    0.5
    >>> cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> float(mvn_kl([0.0, 0.0], cov, [0.0, 0.0], cov))
    0.0
    """
    mp, mq = as_float_array(mean_p, "mean_p"), as_float_array(mean_q, "mean_q")
    cp, cq = _matrices(cov_p, "cov_p"), _matrices(cov_q, "cov_q")
    mp, cp, mq, cq = _same_dtype(mp, cp, mq, cq)
    n = cp.shape[-1]
    if cq.shape[-1] != n:
        raise ValueError(f"cov_q must be {n} x {n} as cov_p is, got {cq.shape}")
    for mean, name in ((mp, "mean_p"), (mq, "mean_q")):
        if mean.ndim < 1 or mean.shape[-1] != n:
            raise ValueError(f"{name} must have shape (..., {n}) to match the covariances, got {mean.shape}")
    try:
        batch = np.broadcast_shapes(mp.shape[:-1], cp.shape[:-2], mq.shape[:-1], cq.shape[:-2])
    except ValueError:
        raise ValueError(
            f"the batch shapes of mean_p, cov_p, mean_q and cov_q must broadcast together, got "
            f"{mp.shape[:-1]}, {cp.shape[:-2]}, {mq.shape[:-1]} and {cq.shape[:-2]}"
        ) from None
    lp, lq = _cholesky(cp, "cov_p"), _cholesky(cq, "cov_q")
    lp, lq = np.broadcast_to(lp, batch + (n, n)), np.broadcast_to(lq, batch + (n, n))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        a = _forward_substitution(lq, lp)
        off_diagonal = np.sum(np.tril(a, -1) ** 2, axis=(-2, -1))
        diff = np.broadcast_to(mq - mp, batch + (n,))
        z = _forward_substitution(lq, diff[..., None])[..., 0]
        t, ratio = _log_ratio(np.diagonal(lp, axis1=-2, axis2=-1), np.diagonal(lq, axis1=-2, axis2=-1))
        diagonal = np.sum(_half_excess(2 * t, 0.5 * ratio * ratio), axis=-1)
        return (diagonal + 0.5 * (off_diagonal + np.sum(z * z, axis=-1)))[()]


@half_in_half_out
def kl_estimate(log_q: ArrayLike, log_p: ArrayLike, *, kind: str = "k3", reduction: str = "mean") -> np.ndarray:
    r"""Sample estimates of :math:`D_{\mathrm{KL}}(q \,\|\, p)` from the log-densities of samples drawn from :math:`q`.

    With :math:`x \sim q` and :math:`r = p(x) / q(x)`, :math:`\delta = \log r = \log p(x) - \log q(x)`,
    the three estimators of Schulman's note *Approximating KL Divergence* (2020):

    .. math:: k_1 &= -\log r = -\delta, \qquad k_2 = \tfrac12 (\log r)^2 = \tfrac12 \delta^2, \\
              k_3 &= (r - 1) - \log r = \operatorname{expm1}(\delta) - \delta

    :math:`k_1` is unbiased but takes negative values and has a large variance; :math:`k_2`
    is biased (its mean is :math:`D_{\mathrm{KL}}(q\|p)` only to second order), with a small
    variance; :math:`k_3` is unbiased (:math:`\mathbb E_q[r - 1] = 0`) and never negative, the
    one used as the KL penalty of GRPO. The argument order follows :func:`kl_divergence`
    (``kl_divergence(p, q)`` is :math:`D_{\mathrm{KL}}(p\|q)`): the first distribution of
    :math:`D_{\mathrm{KL}}(q \,\|\, p)`, the one sampled from, comes first.

    Parameters
    ----------
    log_q : array_like
        :math:`\log q(x)` of each sample :math:`x \sim q`, any shape.
    log_p : array_like
        :math:`\log p(x)` of the same samples, the same shape.
    kind : {"k3", "k1", "k2"}, optional
        The estimator. Default ``"k3"``.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: the per-sample values; ``"mean"`` (default): their mean, the estimate;
        ``"sum"``: their sum.

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Raises
    ------
    ValueError
        If ``kind`` or ``reduction`` is not one of the above, the shapes differ, or ``log_q``
        holds :math:`-\infty` (a sample drawn from :math:`q` has :math:`q(x) > 0`).

    Notes
    -----
    :math:`k_3` is computed as :math:`e^{\delta} - 1 - \delta` by a power series for
    :math:`|\delta| < 1` and :math:`\operatorname{expm1}(\delta) - \delta` beyond, to a few
    ULP of the exact value for the given log-densities even when :math:`p(x) \approx q(x)`,
    where :math:`(r - 1) - \log r` as written keeps no correct digit. :math:`\delta` is one
    rounded subtraction (exact when the log-densities are within a factor of 2); for a large
    :math:`\delta`, where :math:`k_3 \approx e^{\delta}` would magnify its rounding error
    :math:`e` by :math:`\delta`, that error is recovered exactly (Knuth's TwoSum) and
    :math:`e \operatorname{expm1}(\delta)` added.

    NaN propagates, as everywhere in ``ce_lib``. Infinities give the estimators' limits:
    :math:`\delta = -\infty` (:math:`\log p(x) = -\infty`, a sample impossible under :math:`p`)
    gives :math:`k_1 = k_2 = k_3 = +\infty`, the divergence's own value; :math:`\delta = +\infty`
    (:math:`\log p(x) = +\infty`) gives :math:`k_1 = -\infty`, :math:`k_2 = k_3 = +\infty`; both
    log-densities :math:`+\infty` give NaN. :math:`\log q(x) = -\infty` raises ``ValueError``:
    a sample drawn from :math:`q` cannot have :math:`q(x) = 0`.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import kl_estimate
    >>> log_q, log_p = np.log([0.5, 0.25]), np.log([0.25, 0.5])
    >>> kl_estimate(log_q, log_p, kind="k3", reduction="none")  # r = 1/2 and 2
    array([0.19314718, 0.30685282])
    >>> float(kl_estimate(log_q, log_p, kind="k1"))  # (log 2 - log 2) / 2
    0.0
    >>> float(kl_estimate([-1.0], [-1.0 + 1e-12]))  # about (1e-12)^2 / 2, every digit kept
    4.999778785247304e-25
    """
    if kind not in KL_ESTIMATORS:
        raise ValueError(f"kind must be one of {KL_ESTIMATORS}, got {kind!r}")
    check_reduction(reduction)
    lq, lp = as_float_array(log_q, "log_q"), as_float_array(log_p, "log_p")
    check_same_shape(lq, lp, "log_q", "log_p")
    lq, lp = _same_dtype(lq, lp)
    if np.any(np.isneginf(lq)):
        raise ValueError("log_q holds -inf: a sample drawn from q has q(x) > 0, so log q(x) > -inf")
    with np.errstate(invalid="ignore", over="ignore"):  # both +inf: NaN
        delta = np.asarray(lp - lq)
        if kind == "k1":
            per = -delta
        elif kind == "k2":
            per = (0.5 * delta) * delta
        else:  # k3 grows as e^delta: the rounding error of delta, recovered exactly (TwoSum), corrects it to first order
            minus_lq = -lq
            lp_part = delta - minus_lq
            error = (lp - lp_part) + (minus_lq - (delta - lp_part))
            error = np.where(np.isfinite(error), error, 0)
            flat = delta.reshape(-1)
            per = (_exp_excess(flat) + error.reshape(-1) * np.expm1(flat)).reshape(delta.shape)
            per[np.isposinf(delta)] = np.inf
    return _targets.reduce(np.asarray(per), reduction, per.size)
