r"""Derivatives of the activations and of the losses with respect to their inputs.

Elementwise activations have a derivative (``sigmoid_grad``, ``log_sigmoid_grad``,
``logit_grad``); those that map a vector to a vector have a vector-Jacobian product
(``softmax_vjp``, ``log_softmax_vjp``, ``logsumexp_vjp``): given :math:`g`, the gradient of
some scalar with respect to the activation's output, it returns :math:`J^\top g`, the
gradient of that scalar with respect to the input, which is what PyTorch's backward computes.

The loss gradients take the same arguments as the losses in :mod:`ce_lib.losses` and
:mod:`ce_lib.distillation`, and differentiate the same reduced value: for
``reduction="mean"`` (and ``"batchmean"``) they include the division by the mean's
denominator; for ``"none"`` and ``"sum"`` they return the gradient of the sum of the
per-element losses (each element's loss depends only on its own inputs, so this is also
the stack of per-element gradients). Every function returns float16 for a float16 input,
computed in float32, as the activations and losses do.

Cancellation is avoided where a gradient entry is a small difference of numbers
near 1: the target entry :math:`q_y - 1` is computed as :math:`-\sum_{i \ne y} q_i`,
and :math:`\sigma(x)(1 - \sigma(x))` as :math:`\sigma(x)\,\sigma(-x)`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._kernels import as_rows, from_rows, softmax_complement, softmax_parts
from ._validation import (
    as_float_array,
    check_axes,
    check_axis,
    check_same_shape,
    check_scalar_axis,
    check_unit_interval,
    half_in_half_out,
    logit_bounds,
)
from .activations import sigmoid, softmax

__all__ = [
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "distillation_loss_grad",
    "kl_div_grad",
    "log_sigmoid_grad",
    "log_softmax_vjp",
    "logit_grad",
    "logsumexp_vjp",
    "nll_loss_grad",
    "sigmoid_grad",
    "softmax_cross_entropy_grad",
    "softmax_jacobian",
    "softmax_vjp",
]


@half_in_half_out
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


@half_in_half_out
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


@half_in_half_out
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
        denominator: :math:`\sum_n w_{y_n}` over non-ignored index targets (the entries of
        ignored targets stay 0 even when every target is ignored and the loss is NaN, as
        PyTorch's autograd), or :math:`N d_1 \cdots d_K` for probability targets. Default ``"mean"``.
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
        t_prob = _targets.probability_target(x, target, weight, reduction, eps, ignore_index)
        return _probability_target_grad(t_prob, reduction)
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
    return _targets.classes_back(_index_mean_scale(grad.astype(x.dtype, copy=False), t, reduction))


def _probability_target_grad(t: _targets.ProbabilityTarget, reduction: str) -> np.ndarray:
    wt = t.target if t.class_weight is None else t.target * t.class_weight
    q, comp = _softmax_and_complement(t.scores)
    # (sum_c w_c t_c) q_k - w_k t_k = q_k sum_{c != k} w_c t_c - w_k t_k (1 - q_k): no 1 - q_k cancellation
    others = np.sum(wt, axis=-1, keepdims=True) - wt
    grad = (q * others - wt * comp).astype(t.scores.dtype, copy=False)
    return _targets.classes_back(_targets.mean_scale(grad, reduction, grad.size // t.scores.shape[-1]))


@half_in_half_out
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


@half_in_half_out
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


def _grad_output(grad_output: ArrayLike, shape: tuple[int, ...], dtype: np.dtype, what: str) -> np.ndarray:
    """``grad_output`` as an array of ``shape`` (the differentiated function's output shape), in ``dtype``."""
    g = as_float_array(grad_output, "grad_output")
    if g.shape != shape:
        raise ValueError(f"grad_output must have the shape of {what}, {shape}, got {g.shape}")
    return g.astype(dtype, copy=False)


def _softmax_and_axis(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """The softmax of ``x`` along ``axis`` and the axis normalised; a 0-d ``x`` is taken as one element of shape (1,)."""
    if x.ndim == 0:
        check_scalar_axis(axis, "x")
        return softmax(x.reshape(1)), 0
    axis = check_axis(x, axis, "x")
    return softmax(x, axis=axis), axis


@half_in_half_out
def softmax_vjp(x: ArrayLike, grad_output: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Vector-Jacobian product of :func:`ce_lib.softmax`: the gradient of :math:`g \cdot \operatorname{softmax}(x)`.

    .. math:: \frac{\partial}{\partial x_j} \sum_i g_i q_i = q_j \Big(g_j - \sum_i g_i q_i\Big),
              \qquad q = \operatorname{softmax}(x)

    along ``axis``, for each slice: :math:`J^\top g` with the Jacobian :math:`J` of
    :func:`ce_lib.softmax_jacobian`, without forming it (PyTorch's backward of ``softmax``).

    Parameters
    ----------
    x : array_like
        Scores, the classes along ``axis``; a 0-d ``x`` takes ``axis`` 0 or -1 (its softmax is
        the constant 1, so its gradient is 0).
    grad_output : array_like
        :math:`g`, the gradient of a scalar with respect to the softmax's output: ``x``'s shape.
    axis : int, optional
        The class axis, as for :func:`ce_lib.softmax`. Default -1.

    Returns
    -------
    ndarray
        :math:`J^\top g`, ``x``'s shape and floating dtype (float16 in, float16 out,
        computed in float32). Each slice along ``axis`` sums to 0 (up to rounding).

    Shape
    -----
    - ``x``, ``grad_output`` and the output: one shape, any.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import softmax_jacobian, softmax_vjp
    >>> x, g = np.array([2.3, -1.2, 0.7]), np.array([1.0, 0.0, -2.0])
    >>> softmax_vjp(x, g)
    array([ 0.41888257, -0.01185984, -0.40702273])
    >>> bool(np.allclose(softmax_vjp(x, g), softmax_jacobian(x).T @ g, rtol=1e-15, atol=0))
    True
    """
    x = as_float_array(x, "x")
    g = _grad_output(grad_output, x.shape, x.dtype, "x")
    q, ax = _softmax_and_axis(x, axis)
    g1 = g.reshape(q.shape)
    return (q * (g1 - np.sum(g1 * q, axis=ax, keepdims=True))).reshape(x.shape)[()]


@half_in_half_out
def log_softmax_vjp(x: ArrayLike, grad_output: ArrayLike, axis: int = -1) -> np.ndarray:
    r"""Vector-Jacobian product of :func:`ce_lib.log_softmax`: the gradient of :math:`g \cdot \log\operatorname{softmax}(x)`.

    .. math:: \frac{\partial}{\partial x_j} \sum_i g_i \log q_i = g_j - q_j \sum_i g_i,
              \qquad q = \operatorname{softmax}(x)

    along ``axis``, for each slice (PyTorch's backward of ``log_softmax``). With
    :math:`g = -e_y` this is :math:`q - e_y`, the gradient of the cross-entropy.

    Parameters
    ----------
    x : array_like
        Scores, the classes along ``axis``; a 0-d ``x`` takes ``axis`` 0 or -1 (its
        log-softmax is the constant 0, so its gradient is 0).
    grad_output : array_like
        :math:`g`, the gradient of a scalar with respect to the log-softmax's output: ``x``'s shape.
    axis : int, optional
        The class axis, as for :func:`ce_lib.log_softmax`. Default -1.

    Returns
    -------
    ndarray
        ``x``'s shape and floating dtype (float16 in, float16 out, computed in float32).

    Shape
    -----
    - ``x``, ``grad_output`` and the output: one shape, any.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import log_softmax_vjp, softmax
    >>> x = np.array([2.3, -1.2, 0.7])
    >>> log_softmax_vjp(x, [-1.0, 0.0, 0.0])  # softmax(x) - e_0: the cross-entropy's gradient
    array([-0.18837355,  0.024509  ,  0.16386455])
    """
    x = as_float_array(x, "x")
    g = _grad_output(grad_output, x.shape, x.dtype, "x")
    q, ax = _softmax_and_axis(x, axis)
    g1 = g.reshape(q.shape)
    return (g1 - q * np.sum(g1, axis=ax, keepdims=True)).reshape(x.shape)[()]


@half_in_half_out
def logsumexp_vjp(
    x: ArrayLike, grad_output: ArrayLike, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False
) -> np.ndarray:
    r"""Vector-Jacobian product of :func:`ce_lib.logsumexp`: its gradient, the softmax, times :math:`g`.

    .. math:: \frac{\partial}{\partial x_j} \sum_r g_r \operatorname{lse}(x_r) = g_{r(j)}\, \operatorname{softmax}(x_{r(j)})_j

    where :math:`x_r` is the slice reduced into output entry :math:`r` and :math:`r(j)`
    the slice that holds :math:`x_j` (the softmax is taken over every axis in ``axis`` at once).

    Parameters
    ----------
    x : array_like
        Scores, any shape.
    grad_output : array_like
        :math:`g`, the gradient of a scalar with respect to ``logsumexp(x, axis, keepdims)``:
        that result's shape.
    axis : int, tuple of ints or None, optional
        The reduced axes, as for :func:`ce_lib.logsumexp`: one axis, several, every axis
        (None) or none (the empty tuple: the gradient is :math:`g` at finite entries). A
        0-d ``x`` takes 0 or -1, and its gradient is :math:`g` (when ``x`` is finite). Default -1.
    keepdims : bool, optional
        Whether ``grad_output`` keeps the reduced axes with length 1, as the
        ``keepdims`` of the :func:`ce_lib.logsumexp` call. Default False.

    Returns
    -------
    ndarray
        ``x``'s shape and floating dtype (float16 in, float16 out, computed in float32).
        As PyTorch's autograd, a slice of only :math:`-\infty` gives NaN, and a slice
        holding :math:`+\infty` gives NaN at those entries and 0 at the others.

    Shape
    -----
    - ``x`` and the output: one shape, any.
    - ``grad_output``: ``x``'s shape without the reduced axes (with them as length 1
      when ``keepdims``).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import logsumexp_vjp
    >>> logsumexp_vjp(np.log([[1.0, 3.0], [2.0, 2.0]]), [1.0, 10.0])  # softmax of each row, times g
    array([[0.25, 0.75],
           [5.  , 5.  ]])
    >>> logsumexp_vjp(np.log([[1.0, 3.0], [2.0, 2.0]]), 1.0, axis=None)  # one softmax over all four
    array([[0.125, 0.375],
           [0.25 , 0.25 ]])
    """
    x = as_float_array(x, "x")
    axes = check_axes(x, axis, "x")
    if x.ndim == 0:  # one element: lse(x) = x, so the gradient is g (NaN at an infinite x, as PyTorch)
        return (softmax(x) * _grad_output(grad_output, (), x.dtype, "logsumexp(x)"))[()]
    kept_shape = [1 if i in axes else n for i, n in enumerate(x.shape)]
    out_shape = tuple(kept_shape) if keepdims else tuple(n for i, n in enumerate(x.shape) if i not in axes)
    g = _grad_output(grad_output, out_shape, x.dtype, f"logsumexp(x, axis={axis!r}, keepdims={keepdims})")
    kept = [i for i in range(x.ndim) if i not in axes]
    merged = np.moveaxis(x, axes, range(len(kept), x.ndim))  # the reduced axes last, in order
    moved_shape = merged.shape
    rows = merged.reshape([x.shape[i] for i in kept] + [math.prod(x.shape[i] for i in axes)])
    q = softmax(rows, axis=-1)
    pos_inf = np.isposinf(rows)
    if pos_inf.any():  # PyTorch's e^(x - lse) with lse = +inf: NaN at the +inf entries, 0 at the others (not NaN rows)
        with_inf = pos_inf.any(axis=-1, keepdims=True) & ~np.isnan(rows).any(axis=-1, keepdims=True)
        q = np.where(with_inf, np.where(pos_inf, q.dtype.type(np.nan), q.dtype.type(0)), q)
    q = np.moveaxis(q.reshape(moved_shape), range(len(kept), x.ndim), axes)
    return q * g.reshape(kept_shape)


@half_in_half_out
def log_sigmoid_grad(x: ArrayLike) -> np.ndarray:
    r"""Derivative of :func:`ce_lib.log_sigmoid`, elementwise.

    .. math:: \frac{d}{dx} \log\sigma(x) = 1 - \sigma(x) = \sigma(-x)

    computed as :math:`\sigma(-x)`, so that large :math:`x` keeps its tiny derivative.

    Parameters
    ----------
    x : array_like
        Scores of any shape.

    Returns
    -------
    ndarray
        Values in :math:`[0, 1]`, same shape and floating dtype as ``x`` (float16 in,
        float16 out, computed in float32).

    Examples
    --------
    >>> from ce_lib import log_sigmoid_grad
    >>> log_sigmoid_grad([0.0, 40.0, -800.0])  # 1 - sigmoid(40) would round to 0
    array([5.00000000e-01, 4.24835426e-18, 1.00000000e+00])
    """
    x = as_float_array(x, "x")
    return sigmoid(-x)[()]


@half_in_half_out
def logit_grad(p: ArrayLike, eps: float | None = None) -> np.ndarray:
    r"""Derivative of :func:`ce_lib.logit`, elementwise.

    .. math:: \frac{d}{dp} \log\frac{p}{1 - p} = \frac{1}{p(1 - p)}

    With ``eps``, :func:`ce_lib.logit` clamps :math:`p` to :math:`[\varepsilon, 1 - \varepsilon]`
    first, so the derivative is 0 where :math:`p < \varepsilon` or :math:`p > 1 - \varepsilon`.
    At the clamp's edges (:math:`p = \varepsilon` or :math:`1 - \varepsilon`, where the
    clamped function has a kink) it is :math:`1/(p(1 - p))`, the value PyTorch's autograd
    gives there; the bounds are :math:`\varepsilon` and :math:`1 - \varepsilon` rounded to
    ``p``'s dtype, as PyTorch.

    Parameters
    ----------
    p : array_like
        Probabilities in :math:`[0, 1]`, any shape.
    eps : float in [0, 0.5], optional
        The clamp of :func:`ce_lib.logit`. Default None: no clamp, and the derivative is
        :math:`+\infty` at 0 and 1.

    Returns
    -------
    ndarray
        Values :math:`\ge 4` (or 0 where clamped), same shape and floating dtype as ``p``
        (float16 in, float16 out, computed in float32).

    Raises
    ------
    ValueError
        If an entry of ``p`` lies outside :math:`[0, 1]` (as :func:`ce_lib.logit`; PyTorch
        gives NaN there without ``eps`` and 0 with it), or ``eps`` outside :math:`[0, 0.5]`.

    Examples
    --------
    >>> from ce_lib import logit_grad
    >>> logit_grad([0.5, 0.9, 1.0])
    array([ 4.        , 11.11111111,         inf])
    >>> logit_grad([0.05, 0.1, 0.5, 1.0], eps=0.1)  # clamped below 0.1 and above 0.9
    array([ 0.        , 11.11111111,  4.        ,  0.        ])
    """
    q = as_float_array(p, "p")
    check_unit_interval(q, "p")
    with np.errstate(divide="ignore", over="ignore"):  # p = 0 or 1 (or subnormal): +inf, as PyTorch
        grad = 1 / (q * (1 - q))
    if eps is not None:
        lo, hi = logit_bounds(p, q, eps)  # PyTorch's bounds, rounded in p's own dtype
        grad = np.where((q < lo) | (q > hi), q.dtype.type(0), grad)
    return grad[()]


def _index_mean_scale(grad: np.ndarray, t: _targets.IndexTarget, reduction: str) -> np.ndarray:
    """For ``"mean"``, divide the rows of kept targets by the sum of their weights; ignored rows stay 0 (as autograd)."""
    if reduction != "mean":
        return grad
    total = grad.dtype.type(np.sum(t.sample_weight))
    # the mean over a total weight of 0 is NaN (0/0), and so is every gradient entry of its kept rows, as PyTorch's
    scaled = grad / total if total != 0 else np.full_like(grad, np.nan)
    return np.where(t.kept[..., None], scaled, grad.dtype.type(0))


@half_in_half_out
def nll_loss_grad(
    log_probs: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.nll_loss` with respect to the log-probabilities.

    .. math:: \frac{\partial \ell_n}{\partial x_{n,k}} = -w_{y_n} [k = y_n]

    Only the target's entry of each sample is non-zero; it does not depend on the
    values of ``log_probs`` at all.

    Parameters
    ----------
    log_probs : array_like, shape (C), (N, C) or (N, C, d1, ..., dK)
        Log-probabilities; **the classes are on axis 1** (axis 0 for a 1-d input), as in PyTorch.
    target : array_like of int, shape (), (N) or (N, d1, ..., dK)
        Class indices in ``[0, C)``, or ``ignore_index``.
    weight : array_like, shape (C,), optional
        A weight for each class.
    ignore_index : int, optional
        Targets equal to it get a zero gradient and leave the mean's denominator. Default -100.
    reduction : {"mean", "sum", "none"}, optional
        Which loss is differentiated. ``"none"`` and ``"sum"``: the sum of the per-sample
        losses (also the stack of per-sample gradients). ``"mean"``: that sum divided by
        :math:`\sum_n w_{y_n}` over the non-ignored targets; the entries of ignored
        targets stay 0 even when every target is ignored (the loss is then NaN), as
        PyTorch's autograd. Default ``"mean"``.

    Returns
    -------
    ndarray
        The shape and floating dtype of ``log_probs`` (float16 in, float16 out, computed in float32).

    Shape
    -----
    - ``log_probs`` and the output: (C), (N, C) or (N, C, d1, ..., dK), classes on axis 1.
    - ``target``: (), (N) or (N, d1, ..., dK): the input's shape without the class axis.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import nll_loss_grad
    >>> nll_loss_grad(np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]), [0, 2], weight=[1.0, 1.0, 3.0])
    array([[-0.25,  0.  ,  0.  ],
           [ 0.  ,  0.  , -0.75]])
    """
    t = _targets.index_target(log_probs, target, weight, ignore_index, reduction, "log_probs")
    dtype = t.scores.dtype
    entry = np.where(t.kept, -t.sample_weight, dtype.type(0))
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):  # a total weight of 0: NaN at the kept entries, as PyTorch
            entry = np.where(t.kept, entry / dtype.type(np.sum(t.sample_weight)), dtype.type(0))
    grad = np.zeros(t.scores.shape, dtype=dtype)
    np.put_along_axis(grad, t.label[..., None], entry[..., None].astype(dtype, copy=False), -1)
    return _targets.classes_back(grad)


# PyTorch's binary_cross_entropy_backward divides by max(p (1 - p), EPSILON), with EPSILON a float32 constant
# (``constexpr float EPSILON = 1e-12`` in ATen): 1e-12 rounded to float32, whatever the dtype of p.
BCE_GRAD_EPSILON = float(np.float32(1e-12))  # 9.999999960041972e-13


@half_in_half_out
def binary_cross_entropy_grad(
    probs: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.binary_cross_entropy` with respect to the probabilities, as PyTorch computes it.

    .. math:: \frac{\partial \ell}{\partial \hat y} = w\, \frac{\hat y - y}{\max\big(\hat y (1 - \hat y),\ \epsilon\big)},
              \qquad \epsilon = \operatorname{fl}_{32}(10^{-12}) \approx 10^{-12}

    which is the derivative :math:`w\,[-y/\hat y + (1 - y)/(1 - \hat y)]` of the loss
    wherever :math:`\hat y(1 - \hat y) \ge \epsilon`. The clamp :math:`\epsilon` is PyTorch's
    constant, :math:`10^{-12}` rounded to float32 (:math:`(1 - 4.0 \times 10^{-9}) \cdot 10^{-12}`),
    in every dtype.

    Parameters
    ----------
    probs : array_like
        Predicted probabilities :math:`\hat y \in [0, 1]`, any shape.
    target : array_like
        Target probabilities :math:`y \in [0, 1]`, the same shape.
    weight : array_like, optional
        Rescaling weight broadcastable to the input's shape.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"`` and ``"sum"``: the gradient of the summed loss (elementwise, so also
        each element's own gradient). ``"mean"``: that divided by the number of
        elements. Default ``"mean"``.

    Returns
    -------
    ndarray
        The shape and floating dtype of ``probs`` (float16 in, float16 out, computed in float32).

    Shape
    -----
    - ``probs``, ``target`` and the output: one shape, any; ``weight`` broadcastable to it.

    Notes
    -----
    PyTorch's backward formula, followed exactly: near 0 and 1, where
    :math:`\hat y(1 - \hat y) < \epsilon`, it is not the derivative of the loss, whose logs
    are clamped at -100 instead. At :math:`\hat y = 0` with :math:`y = 1` the loss is the
    constant 100 there, yet the gradient is :math:`-1/\epsilon \approx -10^{12}`: large, finite, and pointing
    the right way, which is what training needs. :func:`ce_lib.binary_cross_entropy_with_logits_grad`
    needs no such clamp.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy_grad
    >>> binary_cross_entropy_grad([0.8, 0.25, 0.0], [1.0, 0.0, 1.0], reduction="none")
    array([-1.25000000e+00,  1.33333333e+00, -1.00000000e+12])
    """
    p, y = _targets.binary_target(probs, target, reduction, "probs")
    check_unit_interval(p, "probs")
    y = y.astype(p.dtype, copy=False)
    grad = (p - y) / np.maximum((1 - p) * p, p.dtype.type(BCE_GRAD_EPSILON))  # PyTorch's order of operations
    grad = _targets.elementwise_weight(grad, weight)
    return _targets.mean_scale(grad.astype(p.dtype, copy=False), reduction, grad.size)[()]


@half_in_half_out
def kl_div_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    r"""Gradient of :func:`ce_lib.kl_div` with respect to its input (the predicted log-probabilities).

    .. math:: \frac{\partial \ell_i}{\partial x_i} = -y_i, \qquad
              \frac{\partial \ell_i}{\partial x_i} = -e^{y_i} \quad (\text{target given as log-probabilities})

    Parameters
    ----------
    input : array_like
        Log-probabilities :math:`x`, any shape.
    target : array_like
        Probabilities :math:`y \ge 0` (or log-probabilities with ``log_target=True``), the same shape.
    reduction : {"mean", "batchmean", "sum", "none"}, optional
        ``"none"`` and ``"sum"``: the gradient of the summed loss. ``"batchmean"``: that
        divided by ``input.shape[0]`` (1 for a 0-d input). ``"mean"``: divided by the
        number of elements. Default ``"mean"``, as :func:`ce_lib.kl_div`.
    log_target : bool, optional
        Whether ``target`` holds log-probabilities. Default ``False``.

    Returns
    -------
    ndarray
        The input's shape and floating dtype (float16 in, float16 out, computed in float32).

    Shape
    -----
    - ``input``, ``target`` and the output: one shape, any.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import kl_div_grad
    >>> kl_div_grad(np.log([[0.9, 0.1]]), np.array([[0.5, 0.5]]), reduction="batchmean")
    array([[-0.5, -0.5]])
    """
    from .distillation import _check_kl_reduction

    _check_kl_reduction(reduction)
    x = as_float_array(input, "input")
    y = as_float_array(target, "target")
    check_same_shape(x, y, "input", "target")
    if log_target:
        grad = -np.exp(y)
    else:
        if np.any(y < 0):
            raise ValueError("target holds negative values: it must hold probabilities (or pass log_target=True)")
        grad = -y
    grad = grad.astype(x.dtype, copy=False)
    if reduction == "mean":
        grad = grad / x.dtype.type(max(grad.size, 1))
    elif reduction == "batchmean":
        grad = grad / x.dtype.type(x.shape[0] if x.ndim else 1)
    return grad[()]
