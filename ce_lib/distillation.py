r"""Soft targets: PyTorch's ``kl_div`` loss, knowledge distillation and the InfoNCE contrastive loss.

Shapes follow the losses (see :mod:`ce_lib.losses`): the classes of a multi-class
input are on axis 0 for a 1-d input and on axis 1 otherwise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._validation import as_float_array, check_same_shape, half_in_half_out
from .activations import log_softmax
from .losses import softmax_cross_entropy

__all__ = ["distillation_loss", "info_nce", "kl_div"]

KL_DIV_REDUCTIONS = ("none", "sum", "mean", "batchmean")


def _check_kl_reduction(reduction: str) -> None:
    if reduction not in KL_DIV_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_DIV_REDUCTIONS}, got {reduction!r}")


def _reduce_kl(per: np.ndarray, reduction: str, batch: int) -> np.ndarray:
    """none, sum, mean (over every entry of ``per``) or batchmean (the sum over ``batch``)."""
    if reduction == "none":
        return per[()]
    if reduction == "batchmean":
        return (np.sum(per) / per.dtype.type(batch))[()]
    return _targets.reduce(per, reduction, per.size)


@half_in_half_out
def kl_div(input: ArrayLike, target: ArrayLike, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    r"""PyTorch's ``kl_div`` loss: the KL divergence of the prediction from the target, pointwise.

    .. math:: \ell_i &= y_i \big(\log y_i - x_i\big) \quad (\text{with } 0 \log 0 = 0), \\
              \ell_i &= e^{y_i}\,(y_i - x_i) \quad (\text{target given as log-probabilities})

    where :math:`x` is the **log**-probability the model predicts and :math:`y` the target
    probability (or, with ``log_target=True``, log-probability). The values of
    ``torch.nn.functional.kl_div``,
    including its pitfalls: ``input`` must already be log-probabilities (pass
    ``log_softmax(scores)``, not probabilities), the arguments are in the opposite
    order to :math:`D_{\mathrm{KL}}(y \,\|\, q)`, and only ``reduction="batchmean"`` gives the KL
    divergence per example, averaged; ``"mean"`` also divides by the number of classes.
    Its differences from PyTorch are in the Notes.

    Parameters
    ----------
    input : array_like
        Log-probabilities :math:`x = \log q`, any shape.
    target : array_like
        Probabilities :math:`y \ge 0` (or log-probabilities with ``log_target=True``), the same shape.
    reduction : {"mean", "batchmean", "sum", "none"}, optional
        ``"none"``: the pointwise terms. ``"sum"``: their sum. ``"batchmean"``: the sum
        divided by ``input.shape[0]`` (the sum for a 0-d input), the KL divergence per
        example when rows are distributions. ``"mean"``: the sum divided by the number
        of elements (PyTorch's default, and rarely what is meant). Default ``"mean"``.
    log_target : bool, optional
        Whether ``target`` holds log-probabilities. Default ``False``.

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Shape
    -----
    - ``input`` and ``target``: one shape, any; with ``"batchmean"`` the first axis counts
      the examples (e.g. (N, C) with a distribution in each row).
    - output: a scalar, or the input's shape for ``reduction="none"``.

    Notes
    -----
    Differences from PyTorch: with ``log_target=True`` a target of :math:`-\infty`
    (probability 0) contributes 0, by :math:`0 \log 0 = 0`, where PyTorch returns NaN; a
    negative target probability raises ``ValueError``, where PyTorch returns NaN for that
    term (a negative probability is a bug upstream, not a number); ``input`` and ``target``
    must have one shape (PyTorch broadcasts); ``reduction="mean"`` gives PyTorch's value
    without its warning. This is not ``scipy.special.kl_div``, which computes
    ``x log(x/y) - x + y`` with the target first.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import kl_div, kl_divergence, log_softmax
    >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    >>> bool(np.isclose(kl_div(np.log(q), p, reduction="batchmean"), kl_divergence(p, q)))
    True
    >>> bool(np.isclose(kl_div(np.log(q), p), kl_divergence(p, q)[0] / 2))  # "mean" divides by C too
    True
    """
    _check_kl_reduction(reduction)
    x = as_float_array(input, "input")
    y = as_float_array(target, "target")
    check_same_shape(x, y, "input", "target")
    dtype = np.result_type(x, y)
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    if log_target:
        with np.errstate(invalid="ignore"):
            per = np.exp(y) * (y - x)
        per = np.where(np.isneginf(y), 0, per)  # a target of probability 0: 0 log 0 = 0 (PyTorch gives NaN here)
    else:
        if np.any(y < 0):
            raise ValueError("target holds negative values: it must hold probabilities (or pass log_target=True)")
        with np.errstate(divide="ignore", invalid="ignore"):
            y_log_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), np.where(np.isnan(y), np.nan, 0))
            per = y_log_y - y * x  # as torch: xlogy(y, y) - y * x
    return _reduce_kl(np.asarray(per, dtype=dtype), reduction, x.shape[0] if x.ndim else 1)


def distillation_inputs(
    student_logits: ArrayLike, teacher_logits: ArrayLike, temperature: float, reduction: str
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Validated (student, teacher) with classes last, the temperature, and N for ``"batchmean"``."""
    _check_kl_reduction(reduction)
    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    z = as_float_array(student_logits, "student_logits")
    v = as_float_array(teacher_logits, "teacher_logits")
    check_same_shape(z, v, "student_logits", "teacher_logits")
    zl, vl = _targets.classes_last(z, "student_logits"), _targets.classes_last(v, "teacher_logits")
    dtype = np.result_type(zl, vl)
    return zl.astype(dtype, copy=False), vl.astype(dtype, copy=False), t, z.shape[0] if z.ndim > 1 else 1


@half_in_half_out
def distillation_loss(
    student_logits: ArrayLike, teacher_logits: ArrayLike, temperature: float, reduction: str = "batchmean"
) -> np.ndarray:
    r"""The soft-target loss of knowledge distillation.

    .. math:: \mathcal L = T^2\, D_{\mathrm{KL}}\big(p_T \,\|\, q_T\big), \qquad
              p_T = \operatorname{softmax}(v / T), \quad q_T = \operatorname{softmax}(z / T)

    for teacher logits :math:`v` and student logits :math:`z`. The factor :math:`T^2` keeps
    the gradient's size independent of the temperature (its gradient, in
    :func:`ce_lib.distillation_loss_grad`, is :math:`T\,(q_T - p_T)`). Hinton, Vinyals and
    Dean combine it with the ordinary cross-entropy on the true labels.

    Parameters
    ----------
    student_logits, teacher_logits : array_like
        Logits of one shape, (C), (N, C) or (N, C, d1, ..., dK).
    temperature : float
        :math:`T > 0`; 1 compares the plain softmax outputs.
    reduction : {"batchmean", "mean", "sum", "none"}, optional
        ``"none"``: one loss per distribution. ``"sum"``: their sum. ``"mean"``: their
        mean. ``"batchmean"`` (default): the sum divided by N, the first axis (equal to
        ``"mean"`` for (N, C) inputs, as ``kl_div(..., reduction="batchmean")``).

    Returns
    -------
    ndarray
        A scalar, or one loss per distribution for ``reduction="none"``.

    Shape
    -----
    - inputs: (C), (N, C) or (N, C, d1, ..., dK), the classes on axis 1 (axis 0 when 1-d).
    - output: a scalar, or the input's shape without the class axis for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import distillation_loss
    >>> teacher = np.array([[3.0, 1.0, 0.0]])
    >>> float(distillation_loss(teacher, teacher, temperature=4.0))  # a perfect student
    0.0
    >>> float(distillation_loss(np.zeros((1, 3)), teacher, temperature=2.0)) > 0
    True
    """
    zl, vl, t, batch = distillation_inputs(student_logits, teacher_logits, temperature, reduction)
    log_q, log_p = log_softmax(zl / t, axis=-1), log_softmax(vl / t, axis=-1)
    p = np.exp(log_p)
    per = t**2 * np.sum(np.where(p > 0, p * (log_p - log_q), 0), axis=-1)
    return _reduce_kl(per, reduction, batch)


@half_in_half_out
def info_nce(
    query: ArrayLike, positive: ArrayLike, negatives: ArrayLike, temperature: float = 0.1, reduction: str = "mean"
) -> np.ndarray:
    r"""The InfoNCE contrastive loss: pick the positive among G + 1 candidates with a softmax.

    .. math:: \ell_n = -\log \frac{e^{f(x_n, y_n^+) / T}}{e^{f(x_n, y_n^+) / T} + \sum_{g=1}^{G} e^{f(x_n, y_{n,g}) / T}},
              \qquad f(x, y) = x \cdot y

    (the book's :eq:`eq-info-nce`, with query :math:`x_n`, positive :math:`y_n^+`, negatives :math:`y_{n,g}` and
    temperature :math:`T`): the softmax cross-entropy of the logits
    :math:`[f(x_n, y_n^+), f(x_n, y_{n,1}), \dots, f(x_n, y_{n,G})] / T` with the positive as the class at index 0.
    Similarity is the dot product: normalise the vectors first for the cosine similarity of SimCLR.

    Parameters
    ----------
    query, positive : array_like, shape (N, D)
        Each query's embedding :math:`x_n` and the embedding of its positive :math:`y_n^+`.
    negatives : array_like, shape (N, G, D) or (G, D)
        G negatives per query, or G negatives shared by every query.
    temperature : float, optional
        :math:`T > 0`. Default 0.1.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: one loss per query; ``"sum"``, ``"mean"``: over the N queries.

    Returns
    -------
    ndarray
        A scalar, or shape (N,) for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import info_nce
    >>> q = np.array([[1.0, 0.0]]); pos = np.array([[1.0, 0.0]]); neg = np.array([[0.0, 1.0], [-1.0, 0.0]])
    >>> round(float(info_nce(q, pos, neg, temperature=1.0)), 6)  # -log(e / (e + 1 + e^-1))
    0.407606
    """
    tau = float(temperature)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    q = as_float_array(query, "query")
    p = as_float_array(positive, "positive")
    k = as_float_array(negatives, "negatives")
    if q.ndim != 2:
        raise ValueError(f"query must have shape (N, D), got {q.shape}")
    check_same_shape(q, p, "query", "positive")
    if k.ndim == 2 and k.shape[1] == q.shape[1]:
        negative_logits = q @ k.T
    elif k.ndim == 3 and k.shape[0] == q.shape[0] and k.shape[2] == q.shape[1]:
        negative_logits = np.einsum("nd,nkd->nk", q, k)
    else:
        raise ValueError(f"negatives must have shape (G, {q.shape[1]}) or ({q.shape[0]}, G, {q.shape[1]}), got {k.shape}")
    logits = np.concatenate([np.sum(q * p, axis=1, keepdims=True), negative_logits], axis=1) / tau
    return softmax_cross_entropy(logits, np.zeros(q.shape[0], dtype=np.int64), reduction=reduction)
