r"""Scoring rules and calibration: the Brier score, the focal loss, reliability and temperature.

Shapes follow the losses (see :mod:`ce_lib.losses`): multi-class probabilities are
``(C)``, ``(N, C)`` or ``(N, C, d1, ..., dK)`` with the classes on axis 0 for a 1-d
input and axis 1 otherwise. The calibration functions take one prediction per
example: ``(N, C)`` probabilities, or ``(N,)`` probabilities of class 1 for a
binary problem.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._validation import as_float_array, as_index_array, check_distribution, check_reduction, half_in_half_out
from .activations import sigmoid, softmax
from .losses import binary_cross_entropy_with_logits

__all__ = [
    "ReliabilityCurve",
    "brier_score",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_curve",
    "sigmoid_focal_loss",
]


@half_in_half_out
def brier_score(probs: ArrayLike, target: ArrayLike, reduction: str = "mean") -> np.ndarray:
    r"""The Brier score: the squared distance between predicted and target distributions.

    .. math:: B(q, y) = \sum_{k=1}^{C} (q_k - y_k)^2

    for each sample, with :math:`y` the one-hot vector of a class-index target, or a
    probability target itself. It is a strictly proper scoring rule: its expectation
    under :math:`y \sim p` is smallest exactly at :math:`q = p`.

    Parameters
    ----------
    probs : array_like
        Predicted probabilities, each distribution summing to 1 over the class axis.
    target : array_like
        Class indices in ``[0, C)`` of shape ``()``, ``(N)`` or ``(N, d1, ...)``, or
        probabilities of ``probs``' shape.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: one score per distribution. ``"sum"``: their sum. ``"mean"``:
        their mean over the ``N d1 ... dK`` distributions. Default ``"mean"``.

    Returns
    -------
    ndarray
        A scalar, or one score per distribution for ``reduction="none"``.

    Shape
    -----
    - ``probs``: (C), (N, C) or (N, C, d1, ..., dK); the classes on axis 1 (axis 0 when 1-d).
    - ``target``: class indices of shape (), (N) or (N, d1, ..., dK), or probabilities of ``probs``' shape.
    - output: a scalar, or the target's index shape for ``reduction="none"``.

    Examples
    --------
    >>> from ce_lib import brier_score
    >>> round(float(brier_score([0.7, 0.2, 0.1], 0)), 12)  # 0.3^2 + 0.2^2 + 0.1^2
    0.14
    >>> float(brier_score([[0.5, 0.5]], [1], reduction="sum"))
    0.5
    """
    check_reduction(reduction)
    q = as_float_array(probs, "probs")
    ql = _targets.classes_last(q, "probs")
    check_distribution(ql, "probs", axis=-1)
    if _targets.is_probability_target(target, q):
        t = as_float_array(target, "target")
        tl = _targets.classes_last(t, "target")
        check_distribution(tl, "target", axis=-1)
    else:
        index = _targets.index_target(q, target, None, -100, reduction, "probs")
        if not index.kept.all():
            raise ValueError("target holds -100: brier_score has no ignore_index; drop those samples instead")
        tl = np.eye(ql.shape[-1], dtype=ql.dtype)[index.label]
    per = np.sum((ql - tl) ** 2, axis=-1)
    return _targets.reduce(per.astype(ql.dtype, copy=False), reduction, per.size)


@half_in_half_out
def sigmoid_focal_loss(
    logits: ArrayLike, target: ArrayLike, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "none"
) -> np.ndarray:
    r"""The focal loss of RetinaNet, on logits: a binary cross-entropy down-weighting easy examples.

    .. math:: \ell &= \alpha_t\,(1 - p_t)^{\gamma}\, \operatorname{BCE}(z, y), \\
              p_t &= \sigma(z)\,y + (1 - \sigma(z))(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    The values of ``torchvision.ops.sigmoid_focal_loss``; ``alpha < 0`` disables the
    :math:`\alpha_t` factor, and ``gamma = 0`` with ``alpha < 0`` is the plain binary
    cross-entropy.

    Parameters
    ----------
    logits : array_like
        Scores :math:`z`, any shape.
    target : array_like
        Targets :math:`y \in [0, 1]`, the same shape.
    alpha : float, optional
        Weight of the positive class in :math:`[0, 1]`, or negative for none. Default 0.25.
    gamma : float, optional
        Focusing exponent :math:`\gamma \ge 0`. Default 2.
    reduction : {"none", "mean", "sum"}, optional
        ``"none"`` (the default, as torchvision): one loss per element; ``"sum"``: their
        sum; ``"mean"``: their mean over all elements.

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Shape
    -----
    - ``logits`` and ``target``: one shape, any; output: that shape, or a scalar.

    Notes
    -----
    :math:`1 - p_t = y\,\sigma(-z) + (1 - y)\,\sigma(z)` is computed in that form, a sum of
    non-negative terms, never as ``1 - p_t`` from a rounded :math:`p_t`; the cross-entropy
    comes from :func:`binary_cross_entropy_with_logits`. So the loss keeps its digits at
    logits of any magnitude.

    Examples
    --------
    >>> from ce_lib import sigmoid_focal_loss
    >>> round(float(sigmoid_focal_loss(0.0, 1.0)), 6)  # 0.25 * 0.5^2 * log 2
    0.043322
    >>> float(sigmoid_focal_loss(-800.0, 1.0, alpha=-1.0, gamma=2.0))  # confidently wrong: the full loss
    800.0
    """
    z, y = _targets.binary_target(logits, target, reduction, "logits")
    if not np.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    if not np.isfinite(alpha) or alpha > 1:
        raise ValueError(f"alpha must be in [0, 1], or negative to disable it, got {alpha!r}")
    cross_entropy = binary_cross_entropy_with_logits(z, y, reduction="none")
    miss = y * sigmoid(-z) + (1 - y) * sigmoid(z)  # 1 - p_t, without cancellation
    per = cross_entropy * miss**gamma
    if alpha >= 0:
        per = (alpha * y + (1 - alpha) * (1 - y)) * per
    per = np.asarray(per, dtype=z.dtype)
    return _targets.reduce(per, reduction, per.size)


class ReliabilityCurve(NamedTuple):
    """Per-bin statistics of a reliability diagram; empty bins hold NaN and a count of 0."""

    confidence: np.ndarray  #: mean top-class confidence of the examples in each bin, shape (n_bins,)
    accuracy: np.ndarray  #: fraction of them whose top class is the label, shape (n_bins,)
    counts: np.ndarray  #: how many examples fall in each bin, shape (n_bins,)


def _top_class(probs: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Top-class confidence and correctness of each example, validated."""
    q = as_float_array(probs, "probs")
    if q.ndim == 1:  # binary: P(class 1)
        if np.any((q < 0) | (q > 1)):
            raise ValueError("probs of shape (N,) are probabilities of class 1 and must lie in [0, 1]")
        q = np.stack([1 - q, q], axis=1)
    if q.ndim != 2 or q.shape[0] == 0:
        raise ValueError(f"probs must have shape (N,) or (N, C) with N >= 1, got {q.shape}")
    check_distribution(q, "probs", axis=1)
    y = as_index_array(labels, "labels")
    if y.shape != q.shape[:1]:
        raise ValueError(f"labels must have shape ({q.shape[0]},), one class index per row of probs, got {y.shape}")
    if np.any((y < 0) | (y >= q.shape[1])):
        raise ValueError(f"labels must be class indices in [0, {q.shape[1]})")
    return q.max(axis=1), (q.argmax(axis=1) == y).astype(np.float64)


def _bin_of(confidence: np.ndarray, n_bins: Any) -> np.ndarray:
    """Index of the bin ((b-1)/B, b/B] holding each confidence; the first bin is closed at 0."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], confidence, side="left")


def reliability_curve(probs: ArrayLike, labels: ArrayLike, n_bins: int = 15) -> ReliabilityCurve:
    r"""The points of a reliability diagram: confidence against accuracy, bin by bin.

    Each example's *confidence* is the largest predicted probability (for binary
    ``probs`` of shape (N,), :math:`\max(p, 1 - p)`), and it is *correct* when that
    class is its label. Confidences are grouped into ``n_bins`` equal-width bins
    :math:`\big(\tfrac{b-1}{B}, \tfrac{b}{B}\big]`, the first closed at 0; for each bin the
    result holds the mean confidence, the accuracy and the count. A calibrated model
    has accuracy equal to confidence in every bin.

    Parameters
    ----------
    probs : array_like, shape (N, C) or (N,)
        Predicted distributions, or probabilities of class 1.
    labels : array_like of int, shape (N,)
        Class indices.
    n_bins : int, optional
        Number of bins, default 15.

    Returns
    -------
    ReliabilityCurve
        ``(confidence, accuracy, counts)``, each of shape (n_bins,); NaN where a bin is empty.

    Examples
    --------
    >>> from ce_lib import reliability_curve
    >>> curve = reliability_curve([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1], n_bins=5)
    >>> curve.counts.tolist(), curve.accuracy[3:].tolist()
    ([0, 0, 0, 2, 1], [0.5, 1.0])
    """
    confidence, correct = _top_class(probs, labels)
    index = _bin_of(confidence, n_bins)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty bins: 0/0 = NaN, by design
        mean_confidence = np.bincount(index, weights=confidence, minlength=n_bins) / counts
        accuracy = np.bincount(index, weights=correct, minlength=n_bins) / counts
    return ReliabilityCurve(mean_confidence, accuracy, counts)


def expected_calibration_error(probs: ArrayLike, labels: ArrayLike, n_bins: int = 15) -> float:
    r"""Expected calibration error with equal-width bins.

    .. math:: \mathrm{ECE} = \sum_{b=1}^{B} \frac{n_b}{N}\,\big|\mathrm{acc}_b - \mathrm{conf}_b\big|

    over the bins of :func:`reliability_curve` (empty bins contribute 0). It depends
    on the number of bins and is biased upwards for small bins: a perfectly
    calibrated model still scores above 0 on a finite sample.

    Examples
    --------
    >>> from ce_lib import expected_calibration_error
    >>> round(expected_calibration_error([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1], n_bins=5), 6)
    0.2
    """
    curve = reliability_curve(probs, labels, n_bins)
    kept = curve.counts > 0
    weights = curve.counts[kept] / curve.counts.sum()
    return float(np.sum(weights * np.abs(curve.accuracy[kept] - curve.confidence[kept])))


def _nll_slope(beta: float, scores: np.ndarray, true_scores: np.ndarray) -> float:
    """d/d(beta) of the mean NLL of softmax(beta * scores): E_q[s] - s_y, averaged."""
    q = softmax(beta * scores, axis=1)
    return float(np.mean(np.sum(q * scores, axis=1) - true_scores))


def fit_temperature(logits: ArrayLike, labels: ArrayLike, rtol: float = 1e-8) -> float:
    r"""The temperature :math:`T > 0` that minimises the mean NLL of ``softmax(logits / T)``.

    With :math:`\beta = 1/T`, the mean NLL
    :math:`\frac1N \sum_n \big[\operatorname{lse}(\beta s_n) - \beta s_{n, y_n}\big]` is convex in
    :math:`\beta`, with derivative :math:`\frac1N \sum_n \big(\mathbb E_{q_n}[s_n] - s_{n, y_n}\big)`
    increasing in :math:`\beta`; the function brackets its zero and bisects to a relative
    tolerance ``rtol`` in :math:`\beta`, deterministically. Dividing logits by :math:`T > 0`
    keeps their order, so the arg-max and the accuracy do not change.

    Parameters
    ----------
    logits : array_like, shape (N, C)
        Scores, usually of a held-out validation set.
    labels : array_like of int, shape (N,)
        Class indices.
    rtol : float, optional
        Relative tolerance of the result, default 1e-8.

    Returns
    -------
    float
        The fitted temperature.

    Raises
    ------
    ValueError
        If no finite positive temperature minimises the NLL: when every example's
        label already has the largest score (the NLL falls for ever as :math:`T \to 0`),
        or when the scores carry no information about the labels on average (the
        minimum is at :math:`T = \infty` or beyond).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import fit_temperature
    >>> logits = np.array([[4.0, 0.0], [3.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
    >>> T = fit_temperature(logits, [0, 1, 1, 1])
    >>> round(T, 4) > 1  # over-confident scores are softened
    True
    """
    s = as_float_array(logits, "logits").astype(np.float64)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, C) with N >= 1 and C >= 2, got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("logits must be finite")
    y = as_index_array(labels, "labels")
    if y.shape != (s.shape[0],) or np.any((y < 0) | (y >= s.shape[1])):
        raise ValueError(f"labels must be {s.shape[0]} class indices in [0, {s.shape[1]})")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    true_scores = s[np.arange(s.shape[0]), y]
    if _nll_slope(0.0, s, true_scores) >= 0:
        raise ValueError("logits carry no information about labels on average: the NLL has no minimum at T > 0")
    if np.all(true_scores >= s.max(axis=1)):
        raise ValueError("every label already has the largest logit: the NLL decreases for ever as T -> 0")
    low, high = 0.0, 1.0
    while _nll_slope(high, s, true_scores) < 0:  # the slope tends to a positive limit, so this ends
        low, high = high, 2 * high
    while high - low > rtol * high:
        middle = (low + high) / 2
        if _nll_slope(middle, s, true_scores) < 0:
            low = middle
        else:
            high = middle
    return float(2 / (low + high))
