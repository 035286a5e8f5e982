r"""Classification losses with PyTorch's shape conventions and reductions.

Each function's docstring states its shapes and reductions in full; this summary
puts them side by side.

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

from . import _targets
from ._kernels import as_rows, cross_entropy_of_rows, from_rows, logsumexp_parts, shifted_scores
from ._validation import as_float_array, check_unit_interval, half_in_half_out
from .activations import softplus

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "softmax_cross_entropy",
]

# PyTorch clamps each log of binary_cross_entropy at -100 (see that function's Notes).
BCE_LOG_CLAMP = -100.0


@half_in_half_out
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
        ``"none"``: one loss per target, 0 at ignored ones. ``"sum"``: their sum.
        ``"mean"``: the sum divided by :math:`\sum_n w_{y_n}` over the non-ignored targets
        (their count when ``weight`` is None); NaN when every target is ignored, as
        PyTorch. Default ``"mean"``.

    Returns
    -------
    ndarray
        A scalar, or the target's shape for ``reduction="none"`` (0 at ignored targets).

    Shape
    -----
    - ``log_probs``: (C), (N, C) or (N, C, d1, ..., dK). **The classes are on axis 1**
      (axis 0 for a 1-d input), as in PyTorch; :func:`ce_lib.log_softmax` defaults to
      the last axis, so pass ``axis=1`` when producing this input from (N, C, d1, ...) scores.
    - ``target``: (), (N) or (N, d1, ..., dK): the input's shape without the class axis.
    - output: a scalar, or the target's shape for ``reduction="none"``.

    Notes
    -----
    Differences from PyTorch: class indices may have any integer dtype (``F.nll_loss``
    accepts only int64 and uint8); a class index out of range raises ``ValueError`` (PyTorch:
    ``IndexError``).
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import nll_loss
    >>> logq = np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    >>> float(nll_loss(logq, [0, 2])) == float(-(np.log(0.7) + np.log(0.8)) / 2)
    True
    """
    t = _targets.index_target(log_probs, target, weight, ignore_index, reduction, "log_probs")
    picked = np.take_along_axis(t.scores, t.label[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):  # 0 * -inf at an ignored target (made 0 by the where), or at a zero weight
        per = np.where(t.kept, -t.sample_weight * picked, 0)  # weight 0 times -inf is NaN, as PyTorch
    return _targets.reduce(per, reduction, np.sum(t.sample_weight))


@half_in_half_out
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

    .. math:: \ell_n &= (1 - \varepsilon)\, w_{y_n} \big(-\log q_{n,y_n}\big)
              + \frac{\varepsilon}{C} \sum_{c=1}^{C} w_c \big(-\log q_{n,c}\big), \\
              q_n &= \operatorname{softmax}(x_n)

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
        mean's denominator. Default -100. With probability targets it must be negative
        (it then has no effect): a class index raises ``ValueError``, as PyTorch.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: one loss per sample (per position, with extra dimensions), 0 at
        ignored targets. ``"sum"``: their sum. ``"mean"``: with class-index targets, the
        sum divided by :math:`\sum_n w_{y_n}` over the non-ignored targets (their count
        when ``weight`` is None; NaN when every target is ignored); with probability
        targets, the sum divided by :math:`N d_1 \cdots d_K`, the number of class
        distributions, whatever the weights. Default ``"mean"``, as PyTorch.
    label_smoothing : float in [0, 1], optional
        Mix the target with the uniform distribution. Default 0.

    Returns
    -------
    ndarray
        A scalar, or shape (), (N) or (N, d1, ..., dK) for ``reduction="none"``.

    Shape
    -----
    - ``logits``: (C), (N, C) or (N, C, d1, ..., dK). **The classes are on axis 1**
      (axis 0 for a 1-d input), as in PyTorch, whereas :func:`ce_lib.softmax` and
      :func:`ce_lib.log_softmax` default to the last axis.
    - ``target``: class indices of shape (), (N) or (N, d1, ..., dK) (the logits' shape
      without the class axis), or floating probabilities of the logits' own shape.
    - output: a scalar, or the target's shape without the class axis for ``reduction="none"``.

    Notes
    -----
    With :math:`a = \max_c x_c` and :math:`s = \sum_{c \ne \arg\max} e^{x_c - a}`, the
    loss of class :math:`y` is :math:`(a - x_y) + \operatorname{log1p}(s)` (Blanchard, Higham and Higham, 2021): a
    sum of two non-negative terms, so a confident correct prediction keeps its
    tiny loss instead of rounding to 0. With a probability target, a term whose
    target probability is 0 contributes 0 even when its logit is ``-inf``
    (PyTorch returns NaN there).

    Differences from PyTorch: the tiny loss above (and its gradient) is kept where
    ``F.cross_entropy`` gives 0; a probability target of 0 at a ``-inf`` logit contributes 0
    (PyTorch: NaN); probability targets outside [0, 1] and a negative ``label_smoothing``
    raise ``ValueError`` (PyTorch computes with the former and treats the latter as 0); class
    indices may have any integer dtype; bad input raises ``ValueError`` naming the argument
    where PyTorch raises ``IndexError`` or ``RuntimeError``.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import softmax_cross_entropy
    >>> float(softmax_cross_entropy([[40.0, 0.0]], [0]))  # PyTorch and SciPy give 0.0
    4.248354255291589e-18
    >>> float(softmax_cross_entropy([[2.3, -1.2, 0.7]], [0]))
    0.20871508088944055
    """
    eps = _targets.label_smoothing_value(label_smoothing)
    x = as_float_array(logits, "logits")
    if _targets.is_probability_target(target, x):
        t_prob = _targets.probability_target(x, target, weight, reduction, eps, ignore_index)
        return _probability_target_cross_entropy(t_prob, reduction)
    t = _targets.index_target(x, target, weight, ignore_index, reduction, "logits")
    # -log q_y = (a - x_y) + log1p(s), and -sum_c w_c log q_c: sums of non-negative terms
    nll, smooth = cross_entropy_of_rows(as_rows(t.scores, -1), t.label.reshape(-1), t.class_weight, eps > 0)
    with np.errstate(invalid="ignore"):  # 0 * inf at an ignored target (made 0 by the where), or a zero weight: NaN
        per = np.where(t.kept, t.sample_weight * from_rows(nll, t.scores.shape, -1), 0)
    if eps > 0:
        per = (1 - eps) * per + (eps / t.scores.shape[-1]) * np.where(t.kept, from_rows(smooth, t.scores.shape, -1), 0)
    return _targets.reduce(per.astype(x.dtype, copy=False), reduction, np.sum(t.sample_weight))


def _probability_target_cross_entropy(t: _targets.ProbabilityTarget, reduction: str) -> np.ndarray:
    x2 = as_rows(t.scores, -1)
    parts = logsumexp_parts(x2)
    neg_logq = from_rows(np.subtract(np.log1p(parts.rest), shifted_scores(x2, parts), out=parts.buf), t.scores.shape, -1)
    with np.errstate(invalid="ignore"):  # 0 * inf where a -inf logit has target 0: set to 0 here
        terms = np.where(t.target == 0, 0, t.target * neg_logq)
    w = t.class_weight
    per = np.sum(terms if w is None else terms * w, axis=-1).astype(t.scores.dtype, copy=False)
    return _targets.reduce(per, reduction, per.size)


@half_in_half_out
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
        ``"none"``: one loss per element. ``"sum"``: their sum. ``"mean"``: the sum
        divided by the number of elements, whatever the weights. Default ``"mean"``.

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Shape
    -----
    - ``probs``: any shape (there is no class axis: each element is its own
      yes/no prediction, e.g. (N, L) for L independent labels).
    - ``target``: the same shape as ``probs``; ``weight``: broadcastable to it.
    - output: a scalar, or ``probs``' shape for ``reduction="none"``.

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

    Differences from PyTorch: a NaN in ``probs`` propagates to the loss, where
    ``F.binary_cross_entropy`` raises; values outside [0, 1] raise ``ValueError`` naming the
    argument (PyTorch: ``RuntimeError``).
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy
    >>> binary_cross_entropy([0.8, 0.9, 0.01], [1.0, 1.0, 0.0], reduction="none")
    array([0.22314355, 0.10536052, 0.01005034])
    >>> float(binary_cross_entropy([0.0], [1.0]))  # -log(0) clamped
    100.0
    """
    p, y = _targets.binary_target(probs, target, reduction, "probs")
    check_unit_interval(p, "probs")
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 just below
        log_p = np.maximum(np.log(p), BCE_LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), BCE_LOG_CLAMP)
    per = (y - 1) * log_1mp - y * log_p  # PyTorch's order of operations
    per = _targets.elementwise_weight(per, weight)
    return _targets.reduce(per.astype(p.dtype, copy=False), reduction, per.size)


@half_in_half_out
def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Binary cross-entropy of logits: a sigmoid and the binary cross-entropy in one stable step.

    .. math:: \ell &= w \big[\, p_w\, y \operatorname{softplus}(-z) + (1 - y)\operatorname{softplus}(z) \,\big] \\
              &= -w \big[\, p_w\, y \log\sigma(z) + (1 - y)\log(1 - \sigma(z)) \,\big]

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
        ``"none"``: one loss per element. ``"sum"``: their sum. ``"mean"``: the sum
        divided by the number of elements, whatever ``weight`` and ``pos_weight``.
        Default ``"mean"``.

    Returns
    -------
    ndarray
        A scalar, or the input's shape for ``reduction="none"``.

    Shape
    -----
    - ``logits``: any shape; with ``pos_weight``, the **last** axis indexes the labels
      (e.g. (N, L) for L independent labels). There is no class axis to normalise over.
    - ``target``: the same shape as ``logits``; ``weight``: broadcastable to it;
      ``pos_weight``: (L,), the length of the last axis.
    - output: a scalar, or ``logits``' shape for ``reduction="none"``.

    Notes
    -----
    Since :math:`-\log\sigma(z) = \operatorname{softplus}(-z)` and
    :math:`-\log(1-\sigma(z)) = \operatorname{softplus}(z)`, both terms are
    non-negative and computed without forming :math:`\sigma(z)`: no overflow, no
    clamp, and a confident correct prediction keeps its tiny loss. This equals the
    common form :math:`\max(z, 0) - zy + \log(1 + e^{-|z|})` when :math:`p_w = 1`.

    Differences from PyTorch: at an infinite logit the loss is its limit (0 when the
    logit is right, ``inf`` when wrong), where PyTorch returns NaN in three of the four cases;
    targets outside [0, 1] raise ``ValueError``; ``pos_weight`` must have shape ``(L,)``,
    where PyTorch broadcasts any shape.
    The book's page *Differences from PyTorch and SciPy* lists each difference and its test.

    Examples
    --------
    >>> from ce_lib import binary_cross_entropy_with_logits
    >>> float(binary_cross_entropy_with_logits([40.0], [1.0]))
    4.248354255291589e-18
    >>> float(binary_cross_entropy_with_logits([-1000.0], [1.0]))  # no overflow
    1000.0
    """
    z, y = _targets.binary_target(logits, target, reduction, "logits")
    pw = _targets.positive_weight(pos_weight, z)
    positive = softplus(-z)  # -log sigmoid(z)
    if pw is not None:
        positive = pw * positive
    negative = softplus(z)  # -log(1 - sigmoid(z))
    with np.errstate(invalid="ignore"):  # 0 * inf at an infinite logit: hard targets fixed below
        per = y * positive + (1 - y) * negative
    per = np.where(y == 1, positive, np.where(y == 0, negative, per))  # NaN in y stays NaN
    per = _targets.elementwise_weight(per, weight)
    return _targets.reduce(per.astype(z.dtype, copy=False), reduction, per.size)
