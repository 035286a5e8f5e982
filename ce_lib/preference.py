r"""Preference optimisation: the DPO loss and its gradient.

Direct Preference Optimization (Rafailov et al., 2023) trains a policy on pairs of
responses, one chosen and one rejected, from the log-probabilities the policy and a frozen
reference model give each response. The loss is a binary cross-entropy with logits: the
logit is :math:`\beta` times how much more the policy, relative to the reference, prefers
the chosen response, and so it is computed as :func:`~ce_lib.binary_cross_entropy_with_logits`
is, through softplus, for any logit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _targets
from ._validation import as_float_array, check_reduction, check_same_shape, half_in_half_out, is_half
from .activations import sigmoid, softplus

__all__ = ["dpo_loss", "dpo_loss_grad"]

NAMES = ("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps")


def _dpo_inputs(
    logps: tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike], beta: float, label_smoothing: float, reduction: str
) -> tuple[np.ndarray, float, float]:
    """The logits :math:`\\beta\\Delta` of a DPO call, validated, and ``beta`` and ``label_smoothing`` as floats."""
    check_reduction(reduction)
    b = _number(beta, "beta")
    if not (np.isfinite(b) and b > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta!r}")
    eps = _number(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 0.5:
        raise ValueError(
            f"label_smoothing must lie in [0, 0.5], got {label_smoothing!r}; above 0.5 the labels are more likely "
            "wrong than right: swap chosen and rejected instead"
        )
    arrays = [as_float_array(x, name) for x, name in zip(logps, NAMES, strict=True)]
    for a, name in zip(arrays[1:], NAMES[1:], strict=True):
        check_same_shape(arrays[0], a, NAMES[0], name)
    dtype = np.result_type(*arrays)
    chosen, rejected, ref_chosen, ref_rejected = (a.astype(dtype, copy=False) for a in arrays)
    with np.errstate(invalid="ignore", over="ignore"):  # -inf - -inf: NaN, which propagates
        delta = (chosen - ref_chosen) - (rejected - ref_rejected)
        return np.asarray(dtype.type(b) * delta), b, eps


def _number(x: object, name: str) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {x!r}") from None


@half_in_half_out
def dpo_loss(
    chosen_logps: ArrayLike,
    rejected_logps: ArrayLike,
    ref_chosen_logps: ArrayLike,
    ref_rejected_logps: ArrayLike,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> np.ndarray:
    r"""The DPO loss, with conservative DPO's label smoothing.

    .. math:: \Delta &= \big(\log\pi(y_w) - \log\pi_{\mathrm{re}\mathrm{f}}(y_w)\big) \\
                     &\quad - \big(\log\pi(y_l) - \log\pi_{\mathrm{re}\mathrm{f}}(y_l)\big), \\
              \ell &= -(1 - \varepsilon) \log\sigma(\beta\Delta) - \varepsilon \log\sigma(-\beta\Delta) \\
                   &= (1 - \varepsilon)\operatorname{softplus}(-\beta\Delta) + \varepsilon \operatorname{softplus}(\beta\Delta)

    per pair, where :math:`y_w` is the chosen and :math:`y_l` the rejected response and
    :math:`\varepsilon` the label smoothing: the probability that a pair's preference label is
    flipped (conservative DPO; :math:`\varepsilon = 0` is DPO).

    Parameters
    ----------
    chosen_logps, rejected_logps : array_like
        The policy's log-probabilities :math:`\log\pi(y_w)`, :math:`\log\pi(y_l)` of each pair's
        chosen and rejected response (summed over their tokens), any shape, e.g. (N,).
    ref_chosen_logps, ref_rejected_logps : array_like
        The reference model's log-probabilities of the same responses, the same shape.
    beta : float, optional
        :math:`\beta > 0`, finite: the strength of the implicit KL penalty. Default 0.1.
    label_smoothing : float in [0, 0.5], optional
        :math:`\varepsilon`. Default 0 (DPO).
    reduction : {"mean", "sum", "none"}, optional
        ``"none"``: the loss of each pair; ``"mean"`` (default): their mean; ``"sum"``: their sum.

    Returns
    -------
    ndarray
        A scalar, or the inputs' shape for ``reduction="none"``.

    Raises
    ------
    ValueError
        If the four arrays differ in shape, ``beta`` is not positive and finite,
        ``label_smoothing`` is outside :math:`[0, 0.5]`, or ``reduction`` is unknown.

    Notes
    -----
    Computed through :func:`~ce_lib.softplus`, a sum of two non-negative terms: nothing
    overflows for any finite :math:`\beta\Delta` (:math:`10^{308}` included), a large margin
    keeps its tiny loss (:math:`e^{-40} \approx 4.2 \times 10^{-18}` at :math:`\beta\Delta = 40`,
    where :math:`-\log(\sigma(40))` as written gives 0), and the result is within a few ULP of
    the exact loss of the computed :math:`\Delta` (the tests measure it against mpmath).
    :math:`\Delta` is formed as written above, policy minus reference for each response first:
    where the policy is still close to the reference those differences are exact. NaN
    propagates; a log-probability of :math:`-\infty` gives the loss's limit (0 or ``inf``), or
    NaN where :math:`\Delta` is :math:`\infty - \infty`.

    ``label_smoothing`` above 0.5 raises ``ValueError``: it would say that the labels are more
    often wrong than right (swap chosen and rejected instead), and at 0.5 the loss no longer
    prefers either response.

    Differences from TRL: this is the loss of ``DPOTrainer`` with ``loss_type="sigmoid"`` in TRL
    0.x, which applied ``label_smoothing`` this way, with the argument names TRL 1.x uses. In
    TRL 1.x (checked against its source, 1.9) the ``"sigmoid"`` loss ignores
    ``label_smoothing``, which only the ``"robust"`` (required in :math:`[0, 0.5)`),
    ``"exo_pair"`` and ``"aot"`` losses read; TRL reduces by the mean over the batch, here
    ``reduction`` chooses.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import dpo_loss
    >>> float(dpo_loss([-1.0], [-1.0], [-1.0], [-1.0]))  # no preference yet: log 2
    0.6931471805599453
    >>> # Delta = 2 (the chosen response gained on the reference) and -6: softplus(-2), softplus(6)
    >>> dpo_loss([-5.0, -9.0], [-7.0, -3.0], [-6.0, -6.0], [-6.0, -6.0], beta=1.0, reduction="none")
    array([0.12692801, 6.00247569])
    """
    x, _, eps = _dpo_inputs(
        (chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps), beta, label_smoothing, reduction
    )
    per = (1 - x.dtype.type(eps)) * softplus(-x)
    if eps > 0:  # skipped at 0, where 0 * softplus(+inf) would be NaN
        per = per + x.dtype.type(eps) * softplus(x)
    return _targets.reduce(np.asarray(per), reduction, per.size)


def dpo_loss_grad(
    chosen_logps: ArrayLike,
    rejected_logps: ArrayLike,
    ref_chosen_logps: ArrayLike,
    ref_rejected_logps: ArrayLike,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`dpo_loss` with respect to the policy's log-probabilities.

    .. math:: \frac{\partial \ell}{\partial \log\pi(y_w)} = -\frac{\partial \ell}{\partial \log\pi(y_l)}
              = \beta\,\big(\varepsilon - \sigma(-\beta\Delta)\big)

    per pair (from :math:`\sigma(x) + \sigma(-x) = 1`), divided by the number of pairs for
    ``reduction="mean"``; for ``"none"`` and ``"sum"``, the gradient of the sum of the pairs'
    losses, as the library's other gradients. The reference log-probabilities are constants.

    Parameters
    ----------
    chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, beta, label_smoothing, reduction
        As :func:`dpo_loss`.

    Returns
    -------
    tuple of two ndarrays
        The gradients with respect to ``chosen_logps`` and ``rejected_logps``, each of their
        shape (float16 for a float16 ``chosen_logps``, computed in float32).

    Raises
    ------
    ValueError
        As :func:`dpo_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from ce_lib import dpo_loss_grad
    >>> g_chosen, g_rejected = dpo_loss_grad([-1.0, -2.0], [-1.0, -2.0], [-1.0, -2.0], [-1.0, -2.0], beta=0.5)
    >>> g_chosen  # beta (0 - sigma(0)) / N = 0.5 * -0.5 / 2
    array([-0.125, -0.125])
    >>> bool(np.all(g_rejected == -g_chosen))
    True
    """
    x, b, eps = _dpo_inputs(
        (chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps), beta, label_smoothing, reduction
    )
    dtype = x.dtype.type
    grad = dtype(b) * (dtype(eps) - np.asarray(sigmoid(-x)))
    grad = _targets.mean_scale(np.asarray(grad, dtype=x.dtype), reduction, grad.size)
    chosen, rejected = grad[()], (-grad)[()]
    if is_half(chosen_logps):  # float16 in, float16 out, as half_in_half_out does for one array
        return np.asarray(chosen).astype(np.float16)[()], np.asarray(rejected).astype(np.float16)[()]
    return chosen, rejected
