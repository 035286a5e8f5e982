"""ce_lib: softmax, cross-entropy and KL divergence, computed carefully with NumPy.

The numerical companion of the book *Softmax, Cross-Entropy and KL Divergence*.
NumPy is its only runtime dependency; :mod:`ce_lib.verify` (the SymPy side, used
by the book's notebooks) is imported only when asked for.
"""

from ._version import __version__, release_date
from .activations import log_sigmoid, log_softmax, logit, logsumexp, sigmoid, softmax, softplus
from .calibration import (
    ReliabilityCurve,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_curve,
    sigmoid_focal_loss,
)
from .distillation import distillation_loss, info_nce, kl_div
from .divergences import gaussian_kl, kl_estimate, mvn_kl
from .gradients import (
    binary_cross_entropy_grad,
    binary_cross_entropy_with_logits_grad,
    distillation_loss_grad,
    kl_div_grad,
    log_sigmoid_grad,
    log_softmax_vjp,
    logit_grad,
    logsumexp_vjp,
    nll_loss_grad,
    sigmoid_grad,
    softmax_cross_entropy_grad,
    softmax_jacobian,
    softmax_vjp,
)
from .information import cross_entropy, entropy, f_divergence, js_divergence, kl_divergence, mutual_information
from .language import perplexity
from .likelihood import empirical_distribution, log_likelihood
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    nll_loss,
    softmax_cross_entropy,
)
from .preference import dpo_loss, dpo_loss_grad
from .streaming import OnlineLogSumExp, streaming_logsumexp
from .vocabulary import linear_cross_entropy, linear_cross_entropy_grad

__all__ = [
    "__version__",
    "release_date",
    # activations
    "sigmoid",
    "log_sigmoid",
    "logit",
    "softplus",
    "logsumexp",
    "softmax",
    "log_softmax",
    # information
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "f_divergence",
    "mutual_information",
    # Gaussians and sample estimates of the KL divergence
    "gaussian_kl",
    "mvn_kl",
    "kl_estimate",
    # likelihood
    "empirical_distribution",
    "log_likelihood",
    # losses
    "softmax_cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    # soft targets: PyTorch's kl_div, distillation, contrastive learning
    "kl_div",
    "distillation_loss",
    "info_nce",
    # scoring rules and calibration
    "brier_score",
    "sigmoid_focal_loss",
    "ReliabilityCurve",
    "reliability_curve",
    "expected_calibration_error",
    "fit_temperature",
    # gradients
    "sigmoid_grad",
    "log_sigmoid_grad",
    "logit_grad",
    "softmax_jacobian",
    "softmax_vjp",
    "log_softmax_vjp",
    "logsumexp_vjp",
    "softmax_cross_entropy_grad",
    "nll_loss_grad",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "kl_div_grad",
    "distillation_loss_grad",
    # preference optimisation
    "dpo_loss",
    "dpo_loss_grad",
    # streaming log-sum-exp: a row seen a chunk at a time
    "OnlineLogSumExp",
    "streaming_logsumexp",
    # language models
    "perplexity",
    # huge vocabularies: the logits of a linear layer, chunk by chunk
    "linear_cross_entropy",
    "linear_cross_entropy_grad",
]
