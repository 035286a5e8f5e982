r"""Derivatives of the activations and of the losses with respect to the logits.

The loss gradients take the same arguments as the losses in :mod:`ce_lib.losses`
and differentiate the same reduced value: for ``reduction="mean"`` they include
the division by the mean's denominator; for ``"none"`` and ``"sum"`` they return
the gradient of the sum of the per-element losses (each element's loss depends
only on its own logits, so this is also the stack of per-element gradients).

Cancellation is avoided where a gradient entry is a small difference of numbers
near 1: the target entry :math:`q_y - 1` is computed as :math:`-\sum_{i \ne y} q_i`,
and :math:`\sigma(x)(1 - \sigma(x))` as :math:`\sigma(x)\,\sigma(-x)`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, check_reduction, check_same_shape, check_unit_interval
from .activations import _lse_parts, sigmoid
from .losses import (
    _apply_weight,
    _check_label_smoothing,
    _class_weight,
    _classes_back,
    _classes_last,
    _index_setup,
    _pos_weight,
    _target_kind,
)

__all__ = [
    "sigmoid_grad",
    "softmax_jacobian",
    "softmax_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
]


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    r"""Derivative of the sigmoid, elementwise.

    .. math:: \sigma'(x) = \sigma(x)\big(1 - \sigma(x)\big) = \sigma(x)\,\sigma(-x)

    Parameters
    ----------
    x : array_like
        Scores of any shape.

    Returns
    -------
    ndarray
        Values in :math:`[0, 1/4]`, same shape and dtype as ``x``.

    Examples
    --------
    >>> from ce_lib import sigmoid_grad
    >>> sigmoid_grad([0.0, 40.0])  # 1 - sigmoid(40) would round to 0
    array([2.50000000e-01, 4.24835426e-18])
    """
    x = as_float_array(x, "x")
    return (sigmoid(x) * sigmoid(-x))[()]


def _softmax_and_complement(xl: np.ndarray):
    """Softmax over the last axis, its complement ``1 - q`` computed without cancellation, and the argmax."""
    a, s, idx, q, _ = _lse_parts(xl, -1)
    np.put_along_axis(q, idx, 1, axis=-1)  # e^(a - a) for the maximum
    with np.errstate(invalid="ignore"):  # inf / inf: only in rows holding +inf, where the gradient is NaN
        q /= 1 + s
    comp = 1 - q  # exact enough wherever q <= 1/2, i.e. away from the maximum
    np.put_along_axis(comp, idx, s / (1 + s), axis=-1)  # 1 - 1/(1+s) at the maximum
    return q, comp


def softmax_jacobian(x: ArrayLike) -> np.ndarray:
    r"""Jacobian of the softmax over the last axis.

    .. math:: \frac{\partial q_i}{\partial x_j} = q_i(\delta_{ij} - q_j), \qquad
              J = \operatorname{diag}(q) - q q^{\top}

    Parameters
    ----------
    x : array_like, shape (..., C)
        Scores, classes along the last axis.

    Returns
    -------
    ndarray, shape (..., C, C)
        Symmetric, positive semi-definite, each row and column summing to 0.

    Examples
    --------
    >>> from ce_lib import softmax_jacobian
    >>> softmax_jacobian([0.0, 0.0])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have a class dimension (the last axis)")
    q, comp = _softmax_and_complement(x)
    jac = -q[..., :, None] * q[..., None, :]
    diag = np.einsum("...ii->...i", jac)  # a writable view of the diagonal
    diag[...] = q * comp  # q_i (1 - q_i), without cancellation
    return jac


def softmax_cross_entropy_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.softmax_cross_entropy` with respect to the logits.

    For one index target :math:`y`, no weights and no smoothing,
    :math:`\partial \ell / \partial x_k = q_k - [k = y]`; in general

    .. math:: \frac{\partial \ell}{\partial x} = (1 - \varepsilon)\, w_y (q - e_y)
              + \frac{\varepsilon}{C}\Big(\big(\textstyle\sum_c w_c\big) q - w\Big)

    and for a probability target :math:`t' = (1-\varepsilon)t + \varepsilon/C`,
    :math:`\partial \ell / \partial x = \big(\sum_c w_c t'_c\big) q - w \odot t'`.

    Parameters
    ----------
    logits, target, weight, ignore_index, reduction, label_smoothing
        As in :func:`ce_lib.softmax_cross_entropy`.

    Returns
    -------
    ndarray
        The logits' shape; rows of ignored targets are 0.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import softmax, softmax_cross_entropy_grad
    >>> x = np.array([[2.3, -1.2, 0.7]])
    >>> np.allclose(softmax_cross_entropy_grad(x, [0]), softmax(x) - [1, 0, 0])
    True
    """
    eps = _check_label_smoothing(label_smoothing)
    x = as_float_array(logits, "logits")
    if x.ndim >= 1 and _target_kind(target, x) == "probabilities":
        return _soft_target_grad(x, target, weight, reduction, eps)
    xl, y, kept, w, w_y = _index_setup(x, target, weight, ignore_index, reduction, "logits")
    q, comp = _softmax_and_complement(xl)
    grad = q * w_y[..., None]
    # the target entry: w_y (q_y - 1) = -w_y * sum_{i != y} q_i
    np.put_along_axis(grad, y[..., None], -w_y[..., None] * np.take_along_axis(comp, y[..., None], -1), -1)
    if eps > 0:
        num_classes = xl.shape[-1]
        w_all = np.ones(num_classes, dtype=x.dtype) if w is None else w
        smooth = np.sum(w_all) * q - w_all
        grad = (1 - eps) * grad + (eps / num_classes) * np.where(kept[..., None], smooth, 0)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: NaN, as the loss
            grad = grad / x.dtype.type(np.sum(w_y))
    return _classes_back(grad.astype(x.dtype, copy=False))


def _soft_target_grad(x, target, weight, reduction, eps):
    check_reduction(reduction)
    t = as_float_array(target, "target")
    check_unit_interval(t, "target")
    xl, tl = _classes_last(x, "logits"), _classes_last(t, "target")
    num_classes = xl.shape[-1]
    w = _class_weight(weight, num_classes, x.dtype)
    if eps > 0:
        tl = (1 - eps) * tl + eps / num_classes
    wt = tl if w is None else tl * w
    q, comp = _softmax_and_complement(xl)
    # (sum_c w_c t_c) q_k - w_k t_k = q_k sum_{c != k} w_c t_c - w_k t_k (1 - q_k): no 1 - q_k cancellation
    others = np.sum(wt, axis=-1, keepdims=True) - wt
    grad = q * others - wt * comp
    if reduction == "mean":
        grad = grad / x.dtype.type(grad.size // num_classes)
    return _classes_back(grad.astype(x.dtype, copy=False))


def binary_cross_entropy_with_logits_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.binary_cross_entropy_with_logits` with respect to the logits.

    .. math:: \frac{\partial \ell}{\partial z} = w\big[(1 - y)\,\sigma(z) - p_w\, y\, \sigma(-z)\big],
              \quad\text{which is } \sigma(z) - y \text{ when } w = p_w = 1.

    Parameters
    ----------
    logits, target, weight, pos_weight, reduction
        As in :func:`ce_lib.binary_cross_entropy_with_logits`.

    Returns
    -------
    ndarray
        The logits' shape.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy_with_logits_grad
    >>> binary_cross_entropy_with_logits_grad([0.0, 2.0], [1.0, 0.0], reduction="sum")
    array([-0.5       ,  0.88079708])
    """
    check_reduction(reduction)
    z = as_float_array(logits, "logits")
    y = as_float_array(target, "target")
    check_same_shape(z, y, "logits", "target")
    check_unit_interval(y, "target")
    pw = _pos_weight(pos_weight, z)
    positive = sigmoid(-z) if pw is None else pw * sigmoid(-z)
    grad = _apply_weight((1 - y) * sigmoid(z) - y * positive, weight, "weight")
    if reduction == "mean":
        grad = grad / z.dtype.type(max(grad.size, 1))
    return grad.astype(z.dtype, copy=False)[()]
