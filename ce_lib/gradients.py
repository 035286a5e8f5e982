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

from . import _targets
from ._kernels import as_rows, from_rows, softmax_complement, softmax_parts
from ._validation import as_float_array
from .activations import sigmoid, softmax

__all__ = [
    "binary_cross_entropy_with_logits_grad",
    "distillation_loss_grad",
    "sigmoid_grad",
    "softmax_cross_entropy_grad",
    "softmax_jacobian",
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


def _softmax_and_complement(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The softmax over the last axis, as ``e / (1 + s)``, and ``1 - q`` without cancellation (which needs ``s``)."""
    q, parts = softmax_parts(as_rows(x, -1))
    return from_rows(q, x.shape, -1), from_rows(softmax_complement(q, parts), x.shape, -1)


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
    logits : array_like, shape (C), (N, C) or (N, C, d1, ..., dK)
        Raw scores; **the classes are on axis 1** (axis 0 for a 1-d input), as in PyTorch.
    target : array_like
        Class indices of shape (), (N) or (N, d1, ..., dK), or floating probabilities
        of the logits' shape.
    weight : array_like, shape (C,), optional
        A weight for each class.
    ignore_index : int, optional
        Index targets equal to it get a zero gradient and leave the mean's denominator. Default -100.
    reduction : {"mean", "sum", "none"}, optional
        Which loss is differentiated. ``"none"`` and ``"sum"``: the sum of the per-sample
        losses (each sample's loss depends only on its own logits, so this is also the
        stack of per-sample gradients). ``"mean"``: that sum divided by the loss's
        denominator: :math:`\sum_n w_{y_n}` over non-ignored index targets (NaN when all
        are ignored), or :math:`N d_1 \cdots d_K` for probability targets. Default ``"mean"``.
    label_smoothing : float in [0, 1], optional
        Mix the target with the uniform distribution. Default 0.

    Returns
    -------
    ndarray
        The logits' shape; entries of ignored targets are 0.

    Shape
    -----
    - ``logits`` and the output: (C), (N, C) or (N, C, d1, ..., dK), classes on axis 1.
    - ``target``: the logits' shape without the class axis (indices), or the logits' shape (probabilities).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import softmax, softmax_cross_entropy_grad
    >>> x = np.array([[2.3, -1.2, 0.7]])
    >>> np.allclose(softmax_cross_entropy_grad(x, [0]), softmax(x) - [1, 0, 0])
    True
    """
    eps = _targets.label_smoothing_value(label_smoothing)
    x = as_float_array(logits, "logits")
    if _targets.is_probability_target(target, x):
        return _probability_target_grad(_targets.probability_target(x, target, weight, reduction, eps), reduction)
    t = _targets.index_target(x, target, weight, ignore_index, reduction, "logits")
    q, comp = _softmax_and_complement(t.scores)
    w_y, y = t.sample_weight[..., None], t.label[..., None]
    grad = q * w_y
    # the target entry: w_y (q_y - 1) = -w_y * sum_{i != y} q_i
    np.put_along_axis(grad, y, -w_y * np.take_along_axis(comp, y, -1), -1)
    if eps > 0:
        num_classes = t.scores.shape[-1]
        w_all = np.ones(num_classes, dtype=x.dtype) if t.class_weight is None else t.class_weight
        smooth = np.sum(w_all) * q - w_all
        grad = (1 - eps) * grad + (eps / num_classes) * np.where(t.kept[..., None], smooth, 0)
    grad = _targets.mean_scale(grad.astype(x.dtype, copy=False), reduction, np.sum(t.sample_weight))
    return _targets.classes_back(grad)


def _probability_target_grad(t: _targets.ProbabilityTarget, reduction: str) -> np.ndarray:
    wt = t.target if t.class_weight is None else t.target * t.class_weight
    q, comp = _softmax_and_complement(t.scores)
    # (sum_c w_c t_c) q_k - w_k t_k = q_k sum_{c != k} w_c t_c - w_k t_k (1 - q_k): no 1 - q_k cancellation
    others = np.sum(wt, axis=-1, keepdims=True) - wt
    grad = (q * others - wt * comp).astype(t.scores.dtype, copy=False)
    return _targets.classes_back(_targets.mean_scale(grad, reduction, grad.size // t.scores.shape[-1]))


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
    logits : array_like
        Scores :math:`z`, any shape; the last axis indexes the labels when ``pos_weight`` is given.
    target : array_like
        Target probabilities :math:`y \in [0, 1]`, the logits' shape.
    weight : array_like, optional
        Rescaling weight broadcastable to the logits' shape.
    pos_weight : array_like, shape (L,), optional
        Weight :math:`p_w` of the positive term for each label of the last axis.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"`` and ``"sum"``: the gradient of the summed loss (elementwise, so also
        each element's own gradient). ``"mean"``: that divided by the number of
        elements. Default ``"mean"``.

    Returns
    -------
    ndarray
        The logits' shape.

    Shape
    -----
    - ``logits``, ``target`` and the output: one shape, any; ``weight`` broadcastable
      to it; ``pos_weight``: (L,), the length of the last axis.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy_with_logits_grad
    >>> binary_cross_entropy_with_logits_grad([0.0, 2.0], [1.0, 0.0], reduction="sum")
    array([-0.5       ,  0.88079708])
    """
    z, y = _targets.binary_target(logits, target, reduction, "logits")
    pw = _targets.positive_weight(pos_weight, z)
    positive = sigmoid(-z) if pw is None else pw * sigmoid(-z)
    grad = _targets.elementwise_weight((1 - y) * sigmoid(z) - y * positive, weight)
    return _targets.mean_scale(grad.astype(z.dtype, copy=False), reduction, grad.size)[()]


def distillation_loss_grad(
    student_logits: ArrayLike, teacher_logits: ArrayLike, temperature: float, reduction: str = "batchmean"
) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.distillation_loss` with respect to the student's logits.

    .. math:: \frac{\partial}{\partial z}\, T^2 D_{\mathrm{KL}}(p_T \,\|\, q_T) = T\,(q_T - p_T)

    per distribution, divided by the reduction's denominator for ``"mean"`` (the number
    of distributions) and ``"batchmean"`` (N, the first axis).

    Returns
    -------
    ndarray
        The student logits' shape.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import distillation_loss_grad
    >>> g = distillation_loss_grad(np.zeros((1, 2)), np.array([[1.0, -1.0]]), temperature=1.0)
    >>> bool(np.allclose(g, [[0.5 - 0.8807970779778823, 0.5 - 0.11920292202211769]]))
    True
    """
    from .distillation import distillation_inputs

    zl, vl, t, batch = distillation_inputs(student_logits, teacher_logits, temperature, reduction)
    grad = t * (softmax(zl / t, axis=-1) - softmax(vl / t, axis=-1))
    if reduction == "mean":
        grad = grad / (grad.size // zl.shape[-1])
    elif reduction == "batchmean":
        grad = grad / batch
    return _targets.classes_back(grad)
