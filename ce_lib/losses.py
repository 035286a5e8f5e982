r"""Classification losses with PyTorch's shape conventions and reductions.

Shapes (``C`` classes, ``N`` samples, optional extra dimensions ``d1, ..., dK``):

- multi-class input: ``(C)``, ``(N, C)`` or ``(N, C, d1, ..., dK)``: the class axis is
  0 for a 1-d input and 1 otherwise;
- class-index target: ``()``, ``(N)`` or ``(N, d1, ..., dK)``, integers in
  ``[0, C)`` or equal to ``ignore_index``;
- probability target (``softmax_cross_entropy`` only): the input's shape, floating;
- binary losses: input, target and output all of one shape.

Reductions: ``"none"`` returns one loss per target element; ``"sum"`` adds them;
``"mean"`` divides the sum by

- the sum of the weights :math:`w_{y_n}` of the non-ignored targets, for class-index
  targets (the count of non-ignored targets when ``weight`` is None; NaN when every
  target is ignored, as PyTorch);
- :math:`N \cdot d_1 \cdots d_K` (the number of class distributions), for probability
  targets, whatever the weights;
- the number of elements, for the binary losses, whatever the weights.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    as_float_array,
    as_index_array,
    check_reduction,
    check_same_shape,
    check_unit_interval,
)
from .activations import _lse_parts, _shifted_scores, softplus

__all__ = [
    "softmax_cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

# PyTorch clamps each log of binary_cross_entropy at -100 (see that function's Notes).
BCE_LOG_CLAMP = -100.0


def _classes_last(x: np.ndarray, name: str) -> np.ndarray:
    """Move the class axis (0 for 1-d input, 1 otherwise) to the end."""
    if x.ndim == 0:
        raise ValueError(f"{name} must have a class dimension: shape (C), (N, C) or (N, C, d1, ...)")
    return x if x.ndim <= 2 else np.moveaxis(x, 1, -1)


def _classes_back(g: np.ndarray) -> np.ndarray:
    return g if g.ndim <= 2 else np.moveaxis(g, -1, 1)


def _class_weight(weight, num_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = as_float_array(weight, "weight")
    if w.shape != (num_classes,):
        raise ValueError(f"weight must have shape (C,) = ({num_classes},), got {w.shape}")
    return w.astype(dtype, copy=False)


def _check_label_smoothing(label_smoothing: float) -> float:
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    return eps


def _index_target(target, input_shape: tuple, num_classes: int, ignore_index: int):
    """Validate class indices; return them with ignored entries replaced by 0, and the mask of kept ones."""
    y = as_index_array(target, "target")
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    if y.shape != expected:
        raise ValueError(
            f"target of class indices must have shape {expected} for input of shape {input_shape}, got {y.shape}"
        )
    kept = y != ignore_index
    bad = kept & ((y < 0) | (y >= num_classes))
    if bad.any():
        raise ValueError(
            f"target holds class index {int(y[bad].flat[0])}, outside [0, {num_classes}) "
            f"and not ignore_index={ignore_index}"
        )
    return np.where(kept, y, 0), kept


def _target_kind(target, x: np.ndarray) -> str:
    t = np.asarray(target)
    return "probabilities" if t.dtype.kind == "f" and t.shape == x.shape else "indices"


def _reduce(per_element: np.ndarray, reduction: str, denominator):
    if reduction == "none":
        return per_element[()]
    total = np.sum(per_element)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: 0/0 = NaN, as PyTorch
        return (total / per_element.dtype.type(denominator))[()]


def _index_setup(logits_or_logp, target, weight, ignore_index, reduction, name):
    check_reduction(reduction)
    x = as_float_array(logits_or_logp, name)
    xl = _classes_last(x, name)
    num_classes = xl.shape[-1]
    y, kept = _index_target(target, x.shape, num_classes, ignore_index)
    w = _class_weight(weight, num_classes, x.dtype)
    w_y = np.ones(y.shape, dtype=x.dtype) if w is None else w[y]
    w_y = np.where(kept, w_y, 0).astype(x.dtype, copy=False)
    return xl, y, kept, w, w_y


def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Negative log-likelihood of class indices, given log-probabilities.

    .. math:: \ell_n = -w_{y_n} \log q_{n, y_n}, \qquad
              \text{mean} = \frac{\sum_n \ell_n}{\sum_{n:\, y_n \ne \text{ignore}} w_{y_n}}

    The values of ``torch.nn.functional.nll_loss``. The input is *not* checked to
    be log-probabilities: feeding probabilities (a classic mistake) returns
    :math:`-w_{y_n} q_{n,y_n}`, as PyTorch does.

    Parameters
    ----------
    log_probs : array_like, shape (C), (N, C) or (N, C, d1, ..., dK)
        Log-probabilities, for example from :func:`ce_lib.log_softmax` over the class axis.
    target : array_like of int, shape (), (N) or (N, d1, ..., dK)
        Class indices in ``[0, C)``, or ``ignore_index``.
    weight : array_like, shape (C,), optional
        A weight for each class.
    ignore_index : int, optional
        Targets equal to it contribute nothing, not even to the mean's denominator. Default -100.
    reduction : {"mean", "sum", "none"}, optional
        See the module docstring. Default ``"mean"``.

    Returns
    -------
    ndarray
        A scalar, or the target's shape for ``reduction="none"`` (0 at ignored targets).

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import nll_loss
    >>> logq = np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    >>> float(nll_loss(logq, [0, 2])) == float(-(np.log(0.7) + np.log(0.8)) / 2)
    True
    """
    xl, y, _, _, w_y = _index_setup(log_probs, target, weight, ignore_index, reduction, "log_probs")
    picked = np.take_along_axis(xl, y[..., None], axis=-1)[..., 0]
    per = np.where(w_y != 0, -w_y * picked, 0)
    return _reduce(per, reduction, np.sum(w_y))


def softmax_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    r"""Cross-entropy between the softmax of logits and a target: log-softmax then NLL in one step.

    For class indices :math:`y_n` (with :math:`\varepsilon` = ``label_smoothing``):

    .. math:: \ell_n = (1 - \varepsilon)\, w_{y_n} \big(-\log q_{n,y_n}\big)
              + \frac{\varepsilon}{C} \sum_{c=1}^{C} w_c \big(-\log q_{n,c}\big),
              \qquad q_n = \operatorname{softmax}(x_n)

    For probability targets :math:`t_n` (rows of the input's shape):

    .. math:: \ell_n = -\sum_{c=1}^{C} w_c\, t'_{n,c} \log q_{n,c}, \qquad t' = (1 - \varepsilon)\, t + \varepsilon / C

    The values of ``torch.nn.functional.cross_entropy``.

    Parameters
    ----------
    logits : array_like, shape (C), (N, C) or (N, C, d1, ..., dK)
        Raw, unnormalised scores. Do not apply a softmax first.
    target : array_like
        Class indices of shape (), (N) or (N, d1, ..., dK), or floating
        probabilities of the logits' shape.
    weight : array_like, shape (C,), optional
        A weight for each class.
    ignore_index : int, optional
        Index targets equal to it contribute nothing to either term, nor to the
        mean's denominator. Default -100.
    reduction : {"mean", "sum", "none"}, optional
        See the module docstring: with index targets "mean" divides by the sum of
        the kept targets' weights, with probability targets by :math:`N d_1 \cdots d_K`.
    label_smoothing : float in [0, 1], optional
        Mix the target with the uniform distribution. Default 0.

    Returns
    -------
    ndarray
        A scalar, or shape (), (N) or (N, d1, ..., dK) for ``reduction="none"``.

    Notes
    -----
    With :math:`a = \max_c x_c` and :math:`s = \sum_{c \ne \arg\max} e^{x_c - a}`, the
    loss of class :math:`y` is :math:`(a - x_y) + \operatorname{log1p}(s)` [BHH21]_: a
    sum of two non-negative terms, so a confident correct prediction keeps its
    tiny loss instead of rounding to 0. With a probability target, a term whose
    target probability is 0 contributes 0 even when its logit is ``-inf``
    (PyTorch returns NaN there).

    Examples
    --------
    >>> from ce_lib import softmax_cross_entropy
    >>> float(softmax_cross_entropy([[40.0, 0.0]], [0]))  # PyTorch and SciPy give 0.0
    4.248354255291589e-18
    >>> float(softmax_cross_entropy([[2.3, -1.2, 0.7]], [0]))
    0.20871508088944055
    """
    eps = _check_label_smoothing(label_smoothing)
    x = as_float_array(logits, "logits")
    if x.ndim >= 1 and _target_kind(target, x) == "probabilities":
        return _soft_target_cross_entropy(x, target, weight, reduction, eps)
    xl, y, kept, w, w_y = _index_setup(x, target, weight, ignore_index, reduction, "logits")
    a, s, _, buf, shift = _lse_parts(xl, -1)
    log1p_s = np.log1p(s)  # keepdims
    with np.errstate(invalid="ignore"):  # x_y - a is NaN only where the row holds +inf or NaN, as PyTorch
        z_y = np.take_along_axis(xl, y[..., None], axis=-1) - a
    # -log q_y = (a - x_y) + log1p(s): two non-negative terms, no cancellation
    nll = (log1p_s - z_y)[..., 0]
    per = np.where(kept, w_y * nll, 0)
    if eps > 0:
        # -sum_c w_c log q_c = sum_c w_c (log1p(s) - (x_c - a)), every term non-negative
        neg_logq = np.subtract(log1p_s, _shifted_scores(xl, a, shift, out=buf), out=buf)
        smooth = np.sum(neg_logq if w is None else neg_logq * w, axis=-1)
        per = (1 - eps) * per + (eps / xl.shape[-1]) * np.where(kept, smooth, 0)
    return _reduce(per.astype(x.dtype, copy=False), reduction, np.sum(w_y))


def _soft_target_cross_entropy(x, target, weight, reduction, eps):
    check_reduction(reduction)
    t = as_float_array(target, "target")
    check_unit_interval(t, "target")
    xl, tl = _classes_last(x, "logits"), _classes_last(t, "target")
    num_classes = xl.shape[-1]
    w = _class_weight(weight, num_classes, x.dtype)
    if eps > 0:
        tl = (1 - eps) * tl + eps / num_classes
    a, s, _, buf, shift = _lse_parts(xl, -1)
    neg_logq = np.subtract(np.log1p(s), _shifted_scores(xl, a, shift, out=buf), out=buf)
    with np.errstate(invalid="ignore"):  # 0 * inf where a -inf logit has target 0: set to 0 below
        terms = np.where(tl == 0, 0, tl * neg_logq)
    per = np.sum(terms if w is None else terms * w, axis=-1).astype(x.dtype, copy=False)
    return _reduce(per, reduction, per.size)


def binary_cross_entropy(
    probs: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Binary cross-entropy of predicted probabilities, elementwise.

    .. math:: \ell = -w \big[\, y \max(\log \hat y, -100) + (1 - y) \max(\log(1 - \hat y), -100) \,\big]

    The values of ``torch.nn.functional.binary_cross_entropy``, clamp included.

    Parameters
    ----------
    probs : array_like
        Predicted probabilities :math:`\hat y \in [0, 1]`, any shape.
    target : array_like
        Target probabilities :math:`y \in [0, 1]` (usually 0 or 1), the same shape.
    weight : array_like, optional
        Rescaling weight broadcastable to the input's shape.
    reduction : {"mean", "sum", "none"}, optional
        "mean" divides by the number of elements, whatever the weights. Default "mean".

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Notes
    -----
    Why the clamp: a prediction of exactly 0 or 1 makes :math:`\log` return
    :math:`-\infty`, so the loss would be infinite and its gradient
    :math:`-y/\hat y` undefined, and :math:`0 \cdot (-\infty)` would make even a
    correct prediction NaN. Clamping each log at -100 (:math:`e^{-100} \approx 3.7
    \times 10^{-44}`, below float32's smallest normal number) caps one element's loss
    at 100 and keeps everything finite. The cost is that the loss no longer grows
    for predictions wronger than that; :func:`binary_cross_entropy_with_logits`
    needs no clamp because it never forms :math:`\hat y`.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy
    >>> binary_cross_entropy([0.8, 0.9, 0.01], [1.0, 1.0, 0.0], reduction="none")
    array([0.22314355, 0.10536052, 0.01005034])
    >>> float(binary_cross_entropy([0.0], [1.0]))  # -log(0) clamped
    100.0
    """
    check_reduction(reduction)
    p = as_float_array(probs, "probs")
    y = as_float_array(target, "target")
    check_same_shape(p, y, "probs", "target")
    check_unit_interval(p, "probs")
    check_unit_interval(y, "target")
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 just below
        log_p = np.maximum(np.log(p), BCE_LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), BCE_LOG_CLAMP)
    per = (y - 1) * log_1mp - y * log_p  # PyTorch's order of operations
    per = _apply_weight(per, weight, "weight")
    return _reduce(per.astype(p.dtype, copy=False), reduction, per.size)


def _apply_weight(per: np.ndarray, weight, name: str) -> np.ndarray:
    if weight is None:
        return per
    w = as_float_array(weight, name)
    try:
        shape = np.broadcast_shapes(w.shape, per.shape)
    except ValueError:
        shape = None
    if shape != per.shape:
        raise ValueError(f"{name} of shape {w.shape} does not broadcast to the input's shape {per.shape}")
    return per * w.astype(per.dtype, copy=False)


def _pos_weight(pos_weight, x: np.ndarray):
    if pos_weight is None:
        return None
    pw = as_float_array(pos_weight, "pos_weight")
    if x.ndim == 0 or pw.shape != (x.shape[-1],):
        last = x.shape[-1] if x.ndim else "none"
        raise ValueError(
            f"pos_weight must have one entry per class of the last axis, shape ({last},), got {pw.shape}"
        )
    return pw.astype(x.dtype, copy=False)


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Binary cross-entropy of logits: a sigmoid and the binary cross-entropy in one stable step.

    .. math:: \ell = w \big[\, p_w\, y \operatorname{softplus}(-z) + (1 - y)\operatorname{softplus}(z) \,\big]
              = -w \big[\, p_w\, y \log\sigma(z) + (1 - y)\log(1 - \sigma(z)) \,\big]

    The values of ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Parameters
    ----------
    logits : array_like
        Scores :math:`z`, any shape; the last axis indexes the labels when
        ``pos_weight`` is given.
    target : array_like
        Target probabilities :math:`y \in [0, 1]`, the same shape.
    weight : array_like, optional
        Rescaling weight broadcastable to the input's shape.
    pos_weight : array_like, shape (C,), optional
        Weight :math:`p_w` of the positive term for each label of the last axis
        (for example negatives/positives, to balance a rare label).
    reduction : {"mean", "sum", "none"}, optional
        "mean" divides by the number of elements. Default "mean".

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Notes
    -----
    Since :math:`-\log\sigma(z) = \operatorname{softplus}(-z)` and
    :math:`-\log(1-\sigma(z)) = \operatorname{softplus}(z)`, both terms are
    non-negative and computed without forming :math:`\sigma(z)`: no overflow, no
    clamp, and a confident correct prediction keeps its tiny loss. This equals the
    common form :math:`\max(z, 0) - zy + \log(1 + e^{-|z|})` when :math:`p_w = 1`.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy_with_logits
    >>> float(binary_cross_entropy_with_logits([40.0], [1.0]))
    4.248354255291589e-18
    >>> float(binary_cross_entropy_with_logits([-1000.0], [1.0]))  # no overflow
    1000.0
    """
    check_reduction(reduction)
    z = as_float_array(logits, "logits")
    y = as_float_array(target, "target")
    check_same_shape(z, y, "logits", "target")
    check_unit_interval(y, "target")
    pw = _pos_weight(pos_weight, z)
    positive = softplus(-z)  # -log sigmoid(z)
    if pw is not None:
        positive = pw * positive
    negative = softplus(z)  # -log(1 - sigmoid(z))
    with np.errstate(invalid="ignore"):  # 0 * inf at an infinite logit: hard targets fixed below
        per = y * positive + (1 - y) * negative
    per = np.where(y == 1, positive, np.where(y == 0, negative, per))  # NaN in y stays NaN
    per = _apply_weight(per, weight, "weight")
    return _reduce(per.astype(z.dtype, copy=False), reduction, per.size)
