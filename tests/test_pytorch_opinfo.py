"""PyTorch's own test inputs through ce_lib: its OpInfo and ModuleInfo samples, values and gradients.

PyTorch tests its operators with the inputs of its OpInfo database
(``torch.testing._internal.common_methods_invocations.op_db``) and its modules with those of
the ModuleInfo database (``common_modules.module_db``). This file feeds them to ce_lib, ported
as a user would port the call, and compares values and gradients. It needs torch and
expecttest (both in the ``torch`` extra); without them it skips.

What is compared
    The OpInfos softmax, log_softmax, nn.functional.softmin, logsumexp, sigmoid,
    nn.functional.logsigmoid, logit, nn.functional.softplus, nn.functional.cross_entropy,
    nn.functional.nll_loss, nn.functional.binary_cross_entropy,
    nn.functional.binary_cross_entropy_with_logits, nn.functional.kl_div and
    nn.functional.linear_cross_entropy (each variant, e.g. softmax's ``with_dtype``,
    linear_cross_entropy's ``chunked`` and ``chunked_none``), through ``OpInfo.reference_inputs``: the sample inputs plus, for
    the elementwise ones, PyTorch's large, extremal (inf, NaN), empty and non-contiguous inputs;
    and the ModuleInfos nn.Softmax, nn.LogSoftmax, nn.Sigmoid, nn.LogSigmoid, nn.Softplus,
    nn.CrossEntropyLoss, nn.NLLLoss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.KLDivLoss and
    nn.LinearCrossEntropyLoss, through their module inputs. On CPU, in float64, float32 and float16 wherever PyTorch's database
    lists the dtype for the op (the modules other than CrossEntropyLoss list no float16). Not
    requested: bfloat16 (NumPy has none), complex and integer dtypes (ce_lib takes real scores;
    integer input becomes float64, see the differences page).

How a call is ported (``ce_lib_value``, ``ce_lib_gradient``)
    ``softmax(x, dim, dtype=d)`` -> ``ce_lib.softmax(x.astype(d), axis=dim)`` (PyTorch casts
    first, so does the port; likewise log_softmax); ``softmin(x, dim)`` -> ``softmax(-x,
    axis=dim)``; ``logsumexp(x, dim, keepdim)`` -> ``logsumexp(x, axis=tuple(dim),
    keepdims=keepdim)``; ``logit(p, eps)`` -> ``logit(p, eps=eps)``; the losses by keyword
    (``weight``, ``pos_weight``, ``ignore_index``, ``reduction``, ``label_smoothing``,
    ``log_target``), ``cross_entropy`` being ``softmax_cross_entropy``. A keyword without a
    counterpart fails the sample, naming it, unless SKIPS below lists it.
    ``linear_cross_entropy(input, linear_weight, target, linear_bias=, weight=, reduction=,
    ignore_index=, label_smoothing=, options=)`` -> ``ce_lib.linear_cross_entropy`` with the same
    keywords and ``chunk_size=options.batch_chunk_size`` (the options' other fields choose how
    PyTorch chunks, not the value); nn.LinearCrossEntropyLoss -> the same call with its linear
    layer's weight and bias (the module built once per sample, seeded).

    Gradients, with respect to the input: for softmax, log_softmax, softmin and logsumexp the
    vector-Jacobian product (``softmax_vjp``, ``log_softmax_vjp``, ``logsumexp_vjp``; softmin's
    is ``-softmax_vjp(-x, g)``) with a fixed random ``g`` (seeded by the sample's id), against
    ``out.backward(g)``; for the elementwise activations ``g = 1``, so the gradient is the
    derivative ``sigmoid_grad``, ``log_sigmoid_grad``, ``logit_grad`` (and for softplus
    ``ce_lib.sigmoid``, its derivative); for a loss its ``*_grad`` with the loss's own arguments,
    against ``loss.sum().backward()`` (the summed loss for ``reduction="none"``). A gradient
    function missing from ``ce_lib.gradients`` fails the sample, naming it. For
    linear_cross_entropy, ``linear_cross_entropy_grad``'s three gradients (input, linear_weight,
    linear_bias), one after another, against autograd's for the three.

The reference, and the tolerances
    float64 samples: PyTorch's value and autograd gradient. float32 and float16 samples:
    PyTorch run on the same numbers upcast to float64 (exactly), rounded once to the dtype of
    PyTorch's own result; that own run, in the sample's dtype, gives the shape and dtype
    ce_lib must return. So for float32 and float16 only ce_lib's rounding error is measured,
    not PyTorch's. For linear_cross_entropy the reference is PyTorch's reference path
    (``options=None``, ``cross_entropy(linear(...))``, which its docstring defines it by), the
    sample's own options giving the shape and dtype. A result agrees when NaN and inf stand where PyTorch's do and elsewhere
    ``|ce_lib - reference| <= atol + rtol * |reference|``, with, by the reference's dtype:

    - float64: rtol 1e-13 (about 450 eps), atol 1e-14 (about 45 eps), as
      tests/test_torch_parity.py. Two float64 computations in different orders (sums of up to
      a few hundred terms, logarithms of sums) each err by a few eps of their largest
      intermediate; atol covers the entries that are small by cancellation (``q - y`` in a
      gradient, a log-probability or loss near 0, whose absolute error is a few eps of the
      terms of size 1 to 20 that cancel; PyTorch's form ``x - max - log(sum)`` is the one that
      loses digits there). Largest error seen: 0.18 of the tolerance.
    - float32: rtol 64 eps32 (7.6e-6), atol 16 eps32 (1.9e-6): ce_lib computes in float32,
      errs by a few eps32 of its intermediates, absolutely near a cancellation (logit near
      1/2, ``q - y``). Largest seen: 0.24 of the tolerance.
    - float16: rtol eps16 (2**-10), atol 16 eps32: ce_lib computes in float32 and rounds once,
      as the reference rounds once, so the two are at most one float16 unit in the last place
      apart (less than eps16 relative), wherever the float32 computation is good to far
      better than that; atol as for float32, for cancellation and float16's subnormals.
      Differences of one unit do occur (0.99 of the tolerance).

    linear_cross_entropy's gradients are sums of products (``G W``, ``G^T H``, ``G^T 1``, with G
    the gradient with respect to the logits): computed in float32 an entry errs by a few eps32 of
    the sum of the sizes of its terms (``|G| |W|``, ``|G|^T |H|``, ``|G|^T 1``, from autograd),
    not of its own size where they cancel, so that sum takes the place of ``|reference|`` in the
    relative tolerance where it is larger (``mismatch``'s ``terms``). One float32
    entry needed it: 0.04565108 against 0.04564836, 1.2 times the plain tolerance.

    ce_lib's accurate tiny values where PyTorch's are 0 (the differences page: sigmoid's
    derivative at x = 501 is 5.8e-218 here, 0 in PyTorch, whose y (1 - y) loses it) lie
    within atol, so they need no entry below.

Not compared, each with its reason (SKIPS)
    softplus with ``beta`` or ``threshold`` (every softplus OpInfo sample has beta=3,
    threshold=0.2; three of nn.Softplus's five module inputs set them): ce_lib.softplus has
    neither option (its docstring; for beta, ``softplus(beta * x) / beta``).

Checked against a documented difference instead (POLICIES)
    logit of an entry outside [0, 1] (PyTorch's extremal and non-contiguous inputs), and
    kl_div with a negative target (nn.KLDivLoss's module inputs pass the log of numbers drawn
    from [-9, 9] as a probability target: NaN, and negative where the number is below 1).
    ce_lib raises ValueError there, value and gradient, as its docstrings say; the check
    confirms that, that PyTorch gives NaN at exactly those entries (logit with ``eps``: its
    clamp, a number), and that ce_lib given the sample's other entries alone agrees with
    PyTorch's values and gradients there (for elementwise results).
    linear_cross_entropy with a K-dimensional ``linear_weight`` (V, d1, ..., dK, in_features):
    ce_lib raises ValueError (its docstring), value and gradient, where PyTorch computes a
    K-dimensional loss; the check confirms the ValueError (PyTorch's number is not compared).

Census (CENSUS, asserted by test_census_is_the_documented_one), torch 2.13
    5 102 samples: 3 380 compared (1 143 float64, 1 142 float32, 1 095 float16; of them 2 040
    linear_cross_entropy: 672, 672, 696), 1 599 checked against a documented difference (30 logit,
    9 kl_div, 1 560 K-dimensional linear_weight), 123 skipped (softplus beta/threshold).
    Every compared and checked sample passes, value and gradient: 4 979
    (``python tests/test_pytorch_opinfo.py`` prints the census and every problem).

It can fail: test_a_perturbed_value_is_caught (softmax + 1e-10 fails every non-empty float64
softmax, softmin and nn.Softmax sample), test_a_perturbed_gradient_is_caught (an NLL gradient
moved by twice its dtype's tolerance fails every NLL sample of every dtype), and
test_shapes_dtypes_and_documented_differences_are_checked (a lost keepdims, float16 returned
as float32, a logit that stops raising), and test_a_wrong_linear_cross_entropy_is_caught (a value
off by twice its tolerance, or the weight's gradient doubled, fails every linear_cross_entropy sample
whose reference is a number, in every eighth sample).

Speed: importing PyTorch's databases takes about 10 s per process (each xdist worker that
runs a test here); the samples are built once per process (a module-scoped fixture) and each
compared once (a cache), about 20 s for all of them (linear_cross_entropy's 3 600 about 8 of those).
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import ce_lib
from ce_lib import gradients

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]' to run the parity tests")
pytestmark = pytest.mark.torch

# ---- what is compared --------------------------------------------------------------------------------------------

#: OpInfo name (each of its variants, e.g. softmax's "with_dtype") -> the operator it computes
OPS = {
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    "nn.functional.softmin": "softmin",
    "logsumexp": "logsumexp",
    "sigmoid": "sigmoid",
    "nn.functional.logsigmoid": "log_sigmoid",
    "logit": "logit",
    "nn.functional.softplus": "softplus",
    "nn.functional.cross_entropy": "cross_entropy",
    "nn.functional.nll_loss": "nll_loss",
    "nn.functional.binary_cross_entropy": "binary_cross_entropy",
    "nn.functional.binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "nn.functional.kl_div": "kl_div",
    "nn.functional.linear_cross_entropy": "linear_cross_entropy",
}
#: ModuleInfo name -> the operator its forward computes
MODULES = {
    "nn.Softmax": "softmax",
    "nn.LogSoftmax": "log_softmax",
    "nn.Sigmoid": "sigmoid",
    "nn.LogSigmoid": "log_sigmoid",
    "nn.Softplus": "softplus",
    "nn.CrossEntropyLoss": "cross_entropy",
    "nn.NLLLoss": "nll_loss",
    "nn.BCELoss": "binary_cross_entropy",
    "nn.BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "nn.KLDivLoss": "kl_div",
    "nn.LinearCrossEntropyLoss": "linear_cross_entropy",
}
DTYPES = ("float64", "float32", "float16")

#: the functional's parameters after the input, in order: an OpInfo sample's positional arguments are named by these
PARAMETERS = {
    "softmax": ("dim", "dtype"),
    "log_softmax": ("dim", "dtype"),
    "softmin": ("dim", "_stacklevel", "dtype"),
    "logsumexp": ("dim", "keepdim"),
    "sigmoid": (),
    "log_sigmoid": (),
    "logit": ("eps",),
    "softplus": ("beta", "threshold"),
    "cross_entropy": ("target", "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"),
    "nll_loss": ("target", "weight", "size_average", "ignore_index", "reduce", "reduction"),
    "binary_cross_entropy": ("target", "weight", "size_average", "reduce", "reduction"),
    "binary_cross_entropy_with_logits": ("target", "weight", "size_average", "reduce", "reduction", "pos_weight"),
    "kl_div": ("target", "size_average", "reduce", "reduction", "log_target"),
    "linear_cross_entropy": ("linear_weight", "target"),
}
#: a module's constructor parameters -> the functional's keywords (modules take the target in forward)
MODULE_PARAMETERS = {"dim": "dim", "beta": "beta", "threshold": "threshold", "weight": "weight", "pos_weight": "pos_weight"}
MODULE_PARAMETERS |= {k: k for k in ("ignore_index", "reduction", "label_smoothing", "log_target", "size_average", "reduce")}

#: the loss in ce_lib, and its gradient, for each of PyTorch's losses
LOSSES = {
    "cross_entropy": ("softmax_cross_entropy", "softmax_cross_entropy_grad"),
    "nll_loss": ("nll_loss", "nll_loss_grad"),
    "binary_cross_entropy": ("binary_cross_entropy", "binary_cross_entropy_grad"),
    "binary_cross_entropy_with_logits": ("binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad"),
    "kl_div": ("kl_div", "kl_div_grad"),
}
LOSS_KEYWORDS = ("weight", "pos_weight", "ignore_index", "reduction", "label_smoothing", "log_target")


@dataclasses.dataclass
class Case:
    """One sample: PyTorch's call, and the same call spelled in ce_lib's terms."""

    id: str  #: "<OpInfo or ModuleInfo name>[.<variant>]/<dtype>#<index>[ <description>]"
    op: str  #: the operator, a key of PARAMETERS
    dtype: str  #: the sample's dtype (the output's may differ: softmax's dtype= keyword)
    x_t: Any  #: the input tensor (the one differentiated)
    #: PyTorch's call (the OpInfo's op or the ModuleInfo's module) on an input tensor; with True, every other
    #: floating tensor and dtype argument upcast to float64
    call: Callable[[Any, bool], Any]
    kw: dict[str, Any]  #: the keyword arguments by the functional's names, tensors as NumPy arrays

    @property
    def x(self) -> np.ndarray:
        return self.x_t.detach().numpy()  # a view: non-contiguous and broadcast (stride 0) inputs stay so


def _numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, torch.dtype):
        return torch.empty((), dtype=value).numpy().dtype
    return value


class Unmapped(Exception):
    """A sample argument this file does not know how to give ce_lib: the test fails, naming it."""


# ---- ce_lib's side -----------------------------------------------------------------------------------------------


def _cast(x: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    """softmax(x, dim, dtype=d) casts x to d first (PyTorch's documentation): so does the port."""
    return x if kw.get("dtype") is None else x.astype(kw["dtype"])


def _axes(dim: Any) -> int | tuple[int, ...]:
    return dim if isinstance(dim, int) else tuple(dim)


def _loss_keywords(kw: dict[str, Any]) -> dict[str, Any]:
    extra = set(kw) - set(LOSS_KEYWORDS) - {"target"}
    if extra:
        raise Unmapped(f"keyword(s) {sorted(extra)} have no ce_lib counterpart")
    return {k: v for k, v in kw.items() if k in LOSS_KEYWORDS}


def ce_lib_value(c: Case) -> Any:
    """The sample's value as a user porting the call to ce_lib would compute it."""
    x, kw = c.x, c.kw
    if c.op in ("softmax", "log_softmax"):
        return getattr(ce_lib, c.op)(_cast(x, kw), axis=kw["dim"])
    if c.op == "softmin":
        return ce_lib.softmax(-_cast(x, kw), axis=kw["dim"])
    if c.op == "logsumexp":
        return ce_lib.logsumexp(x, axis=_axes(kw["dim"]), keepdims=kw.get("keepdim", False))
    if c.op in ("sigmoid", "log_sigmoid", "softplus"):
        return getattr(ce_lib, c.op)(x)
    if c.op == "logit":
        return ce_lib.logit(x, eps=kw.get("eps"))
    if c.op == "linear_cross_entropy":
        return ce_lib.linear_cross_entropy(x, kw["linear_weight"], kw["target"], **_linear_keywords(kw))
    return getattr(ce_lib, LOSSES[c.op][0])(x, kw["target"], **_loss_keywords(kw))


LINEAR_KEYWORDS = ("linear_bias", "weight", "ignore_index", "reduction", "label_smoothing")


def _linear_keywords(kw: dict[str, Any]) -> dict[str, Any]:
    """linear_cross_entropy's keywords; PyTorch's ``options`` (LinearCrossEntropyOptions) -> its batch_chunk_size.

    The options' other fields choose how PyTorch chunks and accumulates (``acc_dtype=float32`` for
    float16: what ce_lib always does), not the value.
    """
    extra = set(kw) - set(LINEAR_KEYWORDS) - {"target", "linear_weight", "options"}
    if extra:
        raise Unmapped(f"keyword(s) {sorted(extra)} have no ce_lib counterpart")
    options = kw.get("options")
    return {k: v for k, v in kw.items() if k in LINEAR_KEYWORDS} | {"chunk_size": getattr(options, "batch_chunk_size", None)}


class MissingGradient(Exception):
    """ce_lib.gradients lacks a function the plan names: the gradient comparison fails, saying which."""


def _gradient(name: str) -> Callable[..., Any]:
    fn = getattr(gradients, name, None)
    if fn is None:
        raise MissingGradient(f"ce_lib.gradients has no {name}")
    return fn


def ce_lib_gradient(c: Case, g: np.ndarray | None) -> Any:
    """The gradient with respect to the input: for an activation J^T g, for a loss that of the loss (summed if "none")."""
    x, kw = c.x, c.kw
    if c.op in ("softmax", "log_softmax", "softmin"):
        vjp = _gradient("log_softmax_vjp" if c.op == "log_softmax" else "softmax_vjp")
        xc = _cast(x, kw)
        grad = -vjp(-xc, g, axis=kw["dim"]) if c.op == "softmin" else vjp(xc, g, axis=kw["dim"])
        return np.asarray(grad).astype(x.dtype)  # the gradient of the cast is the cast back
    if c.op == "logsumexp":
        return _gradient("logsumexp_vjp")(x, g, axis=_axes(kw["dim"]), keepdims=kw.get("keepdim", False))
    if c.op == "sigmoid":
        return _gradient("sigmoid_grad")(x)  # g = 1 (grad_output): the derivative itself
    if c.op == "log_sigmoid":
        return _gradient("log_sigmoid_grad")(x)
    if c.op == "logit":
        return _gradient("logit_grad")(x, eps=kw.get("eps"))
    if c.op == "softplus":
        return ce_lib.sigmoid(x)  # softplus' = sigmoid: ce_lib has no softplus_grad
    if c.op == "linear_cross_entropy":  # with respect to input, linear_weight and linear_bias, flattened one after another
        grads = ce_lib.linear_cross_entropy_grad(x, kw["linear_weight"], kw["target"], **_linear_keywords(kw))
        return np.concatenate([g.ravel() for g in grads if g is not None])
    return _gradient(LOSSES[c.op][1])(x, kw["target"], **_loss_keywords(kw))


# ---- PyTorch's side ----------------------------------------------------------------------------------------------


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        # F.kl_div(reduction="mean") warns that "mean" is not the KL divergence; ce_lib's docstring says the same
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss", category=UserWarning)
        # F.linear_cross_entropy warns when a sample's options cannot take its chunked path (it takes the reference path)
        warnings.filterwarnings("ignore", message="linear_cross_entropy: ``options`` ignored", category=UserWarning)
        return fn()


ELEMENTWISE = ("sigmoid", "log_sigmoid", "logit", "softplus")


def grad_output(c: Case, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """g: ones for an elementwise activation (its gradient is then its derivative), else fixed random, seeded by the case."""
    if c.op in ELEMENTWISE:
        return np.ones(shape, dtype)
    rng = np.random.default_rng(zlib.crc32(c.id.encode()))
    return rng.standard_normal(shape).astype(dtype)


Expected = tuple[tuple[int, ...], np.dtype]  #: the shape and dtype of PyTorch's own result
Run = tuple[Expected, np.ndarray, np.ndarray | None, np.ndarray]  #: what torch_run returns


def _up(value: Any, upcast: bool) -> Any:
    """With upcast, a floating tensor or dtype argument becomes float64 (exactly: the same numbers)."""
    if upcast and isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.double()
    if upcast and isinstance(value, torch.dtype) and value.is_floating_point:
        return torch.float64
    return value


def torch_run(c: Case) -> Run:
    """PyTorch's output (shape, dtype) in the sample's dtype; its value, g and autograd gradient in float64, rounded to it.

    g is None for a loss (its gradient is that of the loss, summed when reduction="none").
    """
    own = _quiet(lambda: c.call(c.x_t.detach(), False))
    out_dtype = _numpy(own.dtype)
    if c.op == "linear_cross_entropy":
        return (tuple(own.shape), out_dtype), *_linear_reference(c, out_dtype)
    x_t = c.x_t.detach().double().requires_grad_(True)
    out = _quiet(lambda: c.call(x_t, True))
    if c.op in LOSSES:
        out.sum().backward()
        g = None
    else:
        g = grad_output(c, tuple(own.shape), out_dtype)
        out.backward(torch.from_numpy(g.astype(np.float64)))
    grad = x_t.grad.numpy() if x_t.grad is not None else np.zeros(c.x.shape)
    with np.errstate(over="ignore"):  # beyond float16's range the correctly rounded value is inf, as PyTorch's
        return (tuple(own.shape), out_dtype), out.detach().numpy().astype(out_dtype), g, grad.astype(c.x.dtype)


def _linear_reference(c: Case, out_dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F.linear_cross_entropy's value in float64, and its autograd gradients with respect to input, linear_weight and
    linear_bias (flattened one after another, as ce_lib_gradient): PyTorch's reference path (options=None), which its
    docstring defines the function by; the sample's own options gave the shape and dtype.

    In the place of g: the size of the terms each gradient entry sums, |G| |W|, |G|^T |H| and |G|^T 1 (G the
    gradient with respect to the logits, from autograd): a gradient entry computed in float32 errs by a few eps32
    of that, not of its own size, where the terms cancel (the module docstring)."""
    leaves = [c.x_t.detach().double()] + [
        torch.from_numpy(np.array(c.kw[k], dtype=np.float64)) for k in ("linear_weight", "linear_bias") if c.kw.get(k) is not None
    ]
    for leaf in leaves:
        leaf.requires_grad_(True)
    kw = {k: _up(torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v, True) for k, v in c.kw.items()}
    kw |= {"options": None, "linear_bias": leaves[2] if len(leaves) > 2 else None}
    target = kw.pop("target")
    del kw["linear_weight"]
    out = _quiet(lambda: torch.nn.functional.linear_cross_entropy(leaves[0], leaves[1], target, **kw))
    out.sum().backward()
    grad = np.concatenate([leaf.grad.numpy().ravel() for leaf in leaves])
    h = leaves[0].detach().numpy().reshape(-1, leaves[0].shape[-1])
    w = leaves[1].detach().numpy().reshape(-1, h.shape[1])
    z = torch.from_numpy(h @ w.T).requires_grad_(True)
    b = kw["linear_bias"]
    logits = (z if b is None else z + b.detach().reshape(-1)).reshape(*leaves[0].shape[:-1], *leaves[1].shape[:-1])
    ce_kw = {k: v for k, v in kw.items() if k not in ("linear_bias", "options")}
    ce_kw["ignore_index"] = -100 if ce_kw.get("ignore_index") is None else ce_kw["ignore_index"]
    _quiet(lambda: torch.nn.functional.cross_entropy(logits, target, **ce_kw)).sum().backward()
    g = np.abs(z.grad.numpy())
    terms = [g @ np.abs(w), g.T @ np.abs(h)] + ([g.sum(axis=0)] if b is not None else [])
    with np.errstate(over="ignore"):
        return out.detach().numpy().astype(out_dtype), np.concatenate([a.ravel() for a in terms]), grad.astype(c.x.dtype)


# ---- the comparison ------------------------------------------------------------------------------------------------

EPS32 = float(np.finfo(np.float32).eps)
#: (rtol, atol) by the dtype of PyTorch's result: the module docstring gives the reasons
TOLERANCE = {
    np.dtype(np.float64): (1e-13, 1e-14),
    np.dtype(np.float32): (64 * EPS32, 16 * EPS32),
    np.dtype(np.float16): (float(np.finfo(np.float16).eps), 16 * EPS32),
}


def mismatch(
    ours: Any, theirs: np.ndarray, what: str, expected: Expected | None = None, terms: np.ndarray | None = None
) -> str | None:
    """None when ce_lib's result matches PyTorch's in shape, dtype and value (NaN and inf where PyTorch has them).

    ``expected`` is the (shape, dtype) of PyTorch's own result, when ``theirs`` was computed otherwise.
    ``terms``: for a result that sums products (linear_cross_entropy's gradients), the sum of their sizes,
    which takes the place of ``|reference|`` in the relative tolerance where it is larger (the module docstring).
    """
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    shape, dtype = expected or (theirs.shape, theirs.dtype)
    if ours.shape != shape:
        return f"{what}: shape {ours.shape}, PyTorch {shape}"
    if ours.dtype != dtype:
        return f"{what}: dtype {ours.dtype}, PyTorch {dtype}"
    rtol, atol = TOLERANCE[np.dtype(dtype)]
    a, b = ours.astype(np.float64), theirs.astype(np.float64)
    with np.errstate(invalid="ignore"):
        size = np.abs(b) if terms is None else np.maximum(np.abs(b), terms)
        ok = (a == b) | (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol + rtol * size)
    if ok.all():
        return None
    worst = np.unravel_index(np.argmax(np.where(ok, -1, np.nan_to_num(np.abs(a - b), nan=np.inf))), a.shape)
    at = tuple(int(i) for i in worst)
    return (
        f"{what}: {int((~ok).sum())} of {ok.size} entries differ (rtol={rtol:.3g}, atol={atol:.3g}); "
        f"at {at}: ce_lib {a[worst]!r}, PyTorch {b[worst]!r}"
    )


def _attempt(
    fn: Callable[[], Any], theirs: np.ndarray, what: str, expected: Expected | None = None, terms: np.ndarray | None = None
) -> str | None:
    try:
        ours = fn()
    except Exception as exc:  # a ValueError, a warning turned error, a missing gradient: each a failure, named
        return f"{what}: ce_lib raised {type(exc).__name__}: {exc}"
    return mismatch(ours, theirs, what, expected, terms)


# ---- documented differences: checked as documented, not skipped --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Policy:
    """A deliberate difference from PyTorch, documented in ce_lib, and the entries of a sample it concerns."""

    name: str
    op: str
    rule: str
    entries: Callable[[Case], np.ndarray]  #: a boolean mask over the input's entries
    #: the whole sample is refused, where PyTorch computes a number: only the ValueError is checked
    whole_sample: bool = False


def _negative_target(c: Case) -> np.ndarray:
    if c.kw.get("log_target"):
        return np.zeros(c.x.shape, bool)
    return np.broadcast_to(np.asarray(c.kw["target"]) < 0, c.x.shape)


POLICIES = (
    Policy(
        "logit outside [0, 1]",
        "logit",
        "ce_lib.logit (and logit_grad) raise ValueError for p outside [0, 1] (logit's 'Differences from PyTorch'), "
        "where torch.logit gives NaN for that entry, or with eps clamps it",
        lambda c: (c.x < 0) | (c.x > 1),
    ),
    Policy(
        "kl_div negative target",
        "kl_div",
        "ce_lib.kl_div (and kl_div_grad) raise ValueError for a negative target probability (kl_div's docstring), "
        "where F.kl_div gives NaN for that term",
        _negative_target,
    ),
    Policy(
        "K-dimensional linear_weight",
        "linear_cross_entropy",
        "ce_lib.linear_cross_entropy (and its gradient) raise ValueError for a linear_weight of shape (V, d1, ..., dK, "
        "in_features) (its docstring), where PyTorch computes a K-dimensional loss",
        lambda c: np.full(c.x.shape, np.ndim(c.kw["linear_weight"]) > 2),
        whole_sample=True,
    ),
)


def policy_of(c: Case) -> Policy | None:
    return next((p for p in POLICIES if p.op == c.op and p.entries(c).any()), None)


def check_policy(c: Case, policy: Policy, run: Run) -> tuple[str | None, str | None]:
    """The documented behaviour, PyTorch's behaviour there, and agreement on the sample's other entries.

    ce_lib must raise ValueError for the sample, value and gradient. Where PyTorch's output is
    elementwise (logit; kl_div with reduction="none"): its entries there are NaN (logit with eps:
    finite, the clamp), and ce_lib given the other entries alone matches PyTorch's values and
    gradients there. A reduced kl_div is NaN in PyTorch. ``run`` is :func:`torch_run`'s.
    """
    own, theirs, g, theirs_grad = run
    problems: dict[str, list[str]] = {"value": [], "gradient": []}
    for what, fn in (("value", lambda: ce_lib_value(c)), ("gradient", lambda: ce_lib_gradient(c, g))):
        try:
            fn()
            problems[what].append(f"{what}: ce_lib did not raise ValueError ({policy.rule})")
        except ValueError:
            pass
        except Exception as exc:
            problems[what].append(f"{what}: ce_lib raised {type(exc).__name__}: {exc}, not ValueError ({policy.rule})")
    if policy.whole_sample:
        return tuple("; ".join(p) or None for p in problems.values())
    mask = policy.entries(c)
    elementwise = c.op == "logit" or c.kw.get("reduction") == "none"
    if not elementwise:
        if not np.isnan(theirs):
            problems["value"].append(f"value: PyTorch gives {theirs!r}, not the NaN the rule says")
    else:
        expect_nan = not (c.op == "logit" and c.kw.get("eps") is not None)
        if not np.all(np.isnan(theirs[mask]) == expect_nan):
            problems["value"].append(f"value: PyTorch is {'not ' if expect_nan else ''}NaN there, which the rule does not say")
        keep = ~mask
        if keep.any():
            x_t = c.x_t.detach()[torch.from_numpy(np.ascontiguousarray(keep))]
            kw = c.kw | ({"target": np.broadcast_to(c.kw["target"], c.x.shape)[keep]} if "target" in c.kw else {})
            rest = dataclasses.replace(c, x_t=x_t, kw=kw)
            g_rest = None if g is None else g[keep]
            expected = (x_t.shape, own[1])
            for what, fn, ref in (
                ("value", lambda: ce_lib_value(rest), theirs[keep]),
                ("gradient", lambda: ce_lib_gradient(rest, g_rest), theirs_grad[keep]),
            ):
                problem = _attempt(fn, ref, f"{what} at the other entries", expected if what == "value" else None)
                problems[what] += [problem] if problem else []
    return tuple("; ".join(p) or None for p in problems.values())


# ---- samples not compared: each with its reason ---------------------------------------------------------------------

#: (op, reason, predicate): a sample is skipped for the first row whose op and predicate match; the census
#: counts the skips by the reason's words before its colon
SKIPS = (
    (
        "softplus",
        "beta/threshold: ce_lib.softplus has neither keyword (it is softplus with beta = 1, correct to the last "
        "bit for every x, where PyTorch returns x itself once beta * x > threshold)",
        lambda c: c.kw.get("beta", 1) != 1 or c.kw.get("threshold", 20) != 20,
    ),
)


def skip_reason(c: Case) -> str | None:
    return next((reason for op, reason, applies in SKIPS if op == c.op and applies(c)), None)


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: str  #: "compared", "policy: <name>" or "skipped: <reason>"
    value: str | None = None  #: the value's problem, None when it agrees
    gradient: str | None = None  #: the gradient's problem, None when it agrees


def classify(c: Case) -> str:
    if (reason := skip_reason(c)) is not None:
        return f"skipped: {reason.split(':')[0]}"
    if (policy := policy_of(c)) is not None:
        return f"policy: {policy.name}"
    return "compared"


def compare(c: Case) -> Outcome:
    """Compare one sample (or check its documented difference); nothing is cached, so a monkeypatch is seen."""
    kind = classify(c)
    if kind.startswith("skipped"):
        return Outcome(kind)
    try:
        run = torch_run(c)
    except Exception as exc:
        return Outcome(kind, f"PyTorch raised {type(exc).__name__}: {exc}", "not compared: PyTorch raised")
    if (policy := policy_of(c)) is not None:
        return Outcome(kind, *check_policy(c, policy, run))
    own, theirs, g, theirs_grad = run
    value = _attempt(lambda: ce_lib_value(c), theirs, "value", own)
    terms = g if c.op == "linear_cross_entropy" else None  # torch_run's g: the sizes of the summed terms
    gradient = _attempt(lambda: ce_lib_gradient(c, g), theirs_grad, "gradient", terms=terms)
    return Outcome(kind, value, gradient)


# ---- the samples ---------------------------------------------------------------------------------------------------


def _logit_clamped_in(dtype: str, eps: float, call: Any) -> Any:
    """torch.logit clamps at eps and 1 - eps rounded in the input's dtype; the float64 reference must clamp there too.

    (Upcast, the bounds would be eps and 1 - eps in float64: float16(1) - float16(1e-6) is 1, for
    example, where 1 - 1e-6 in float64 is not.) Clamping first gives the same values and the same
    gradient (0 strictly outside the bounds) as torch.logit's own eps.
    """
    own = getattr(np, dtype)
    low = own(eps)
    high = own(1) - low

    def clamped(x_t: Any, upcast: bool) -> Any:
        if not upcast:
            return call(x_t, upcast)
        return torch.logit(torch.clamp(x_t, float(low), float(high)))

    return clamped


def _op_cases(op_info: Any, dtype: str) -> list[Case]:
    op = OPS[op_info.name]
    name = op_info.name + (f".{op_info.variant_test_name}" if op_info.variant_test_name else "")
    torch.manual_seed(0)
    cases = []
    for i, s in enumerate(op_info.reference_inputs("cpu", getattr(torch, dtype), requires_grad=True)):
        kw = dict(zip(PARAMETERS[op], s.args)) | dict(s.kwargs)
        args = [a.detach() if isinstance(a, torch.Tensor) else a for a in s.args]
        kwargs = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in s.kwargs.items()}
        call = lambda x_t, upcast, fn=op_info.op, args=args, kwargs=kwargs: fn(
            x_t, *(_up(a, upcast) for a in args), **{k: _up(v, upcast) for k, v in kwargs.items()}
        )
        eps = kw.get("eps")
        if op_info.name == "logit" and eps is not None and dtype != "float64":
            call = _logit_clamped_in(dtype, eps, call)
        cases.append(Case(f"{name}/{dtype}#{i}", op, dtype, s.input.detach(), call, {k: _numpy(v) for k, v in kw.items()}))
    return cases


def _linear_module_case(case_id: str, m: Any) -> Case:
    """nn.LinearCrossEntropyLoss: the module built once (seeded), its linear layer's weight and bias, and forward's target.

    Its forward is F.linear_cross_entropy(input, weight reshaped to (num_classes, *out_features,
    in_features), target, linear_bias=bias reshaped likewise, weight=, reduction=, ignore_index=,
    label_smoothing=, options=): the sample becomes that call.
    """
    module = torch.nn.LinearCrossEntropyLoss(*m.constructor_input.args, **m.constructor_input.kwargs)
    first, target = m.forward_input.args
    lw = module.linear.weight.reshape(module.num_classes, *module.out_features, module.linear.in_features)
    lb = module.linear.bias
    kw = {
        "linear_weight": _numpy(lw),
        "target": _numpy(target),
        "linear_bias": None if lb is None else _numpy(lb.reshape(module.num_classes, *module.out_features)),
        "weight": _numpy(module.weight),
    }
    kw |= {k: getattr(module, k) for k in ("reduction", "ignore_index", "label_smoothing", "options")}
    fixed = target.detach()
    call = lambda x_t, upcast, module=module, target=fixed: module(x_t, target)  # upcast: see _linear_reference
    return Case(case_id, "linear_cross_entropy", str(first.dtype).removeprefix("torch."), first.detach(), call, kw)


def _module_cases(module_info: Any, dtype: str) -> list[Case]:
    op = MODULES[module_info.name]
    torch.manual_seed(0)
    inputs = module_info.module_inputs_func(
        module_info, device="cpu", dtype=getattr(torch, dtype), requires_grad=True, training=True
    )
    cases = []
    for i, m in enumerate(inputs):
        if op == "linear_cross_entropy":
            cases.append(_linear_module_case(f"{module_info.name}/{dtype}#{i}", m))
            continue
        cargs, ckwargs = m.constructor_input.args, m.constructor_input.kwargs
        bound = inspect.signature(module_info.module_cls).bind(*cargs, **ckwargs).arguments
        kw = {MODULE_PARAMETERS[k]: _numpy(v) for k, v in bound.items()}
        first, *rest = m.forward_input.args
        if rest:
            kw["target"] = _numpy(rest[0])
        rest = [a.detach() if isinstance(a, torch.Tensor) else a for a in rest]
        call = lambda x_t, upcast, cls=module_info.module_cls, cargs=cargs, ckwargs=ckwargs, rest=rest: cls(
            *(_up(a, upcast) for a in cargs), **{k: _up(v, upcast) for k, v in ckwargs.items()}
        )(x_t, *(_up(a, upcast) for a in rest))
        desc = f" {m.desc}" if getattr(m, "desc", "") else ""
        cases.append(Case(f"{module_info.name}/{dtype}#{i}{desc}", op, dtype, first.detach(), call, kw))
    return cases


def collect() -> dict[str, list[Case]]:
    """Every sample, by OpInfo or ModuleInfo name, for each of DTYPES that PyTorch supports for it on CPU."""
    cmi = pytest.importorskip(
        "torch.testing._internal.common_methods_invocations",
        reason="PyTorch's OpInfo database needs expecttest: pip install -e '.[torch]'",
    )
    cm = pytest.importorskip("torch.testing._internal.common_modules", reason="PyTorch's ModuleInfo database")
    by_name: dict[str, list[Case]] = collections.defaultdict(list)
    for op_info in cmi.op_db:
        if op_info.name in OPS:
            supported = op_info.supported_dtypes("cpu")
            for dtype in DTYPES:
                if getattr(torch, dtype) in supported:
                    by_name[op_info.name] += _op_cases(op_info, dtype)
    for module_info in cm.module_db:
        if module_info.name in MODULES:
            for dtype in DTYPES:
                if getattr(torch, dtype) in module_info.dtypes:
                    by_name[module_info.name] += _module_cases(module_info, dtype)
    missing = (set(OPS) | set(MODULES)) - set(by_name)
    assert not missing, f"PyTorch's databases no longer hold {sorted(missing)}"
    return dict(by_name)


def census(kinds: list[str]) -> dict[str, int]:
    """Counts by kind: compared, checked against each documented difference, skipped for each reason."""
    return dict(sorted(collections.Counter(kinds).items()))


# ---- the tests -----------------------------------------------------------------------------------------------------

NAMES = [*OPS, *MODULES]
_OUTCOMES: dict[str, Outcome] = {}


@pytest.fixture(scope="module")
def samples():
    """Every sample, built once per process; PyTorch on one thread meanwhile (xdist runs a process per core)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield collect()
    finally:
        torch.set_num_threads(threads)


def outcome(c: Case) -> Outcome:
    if c.id not in _OUTCOMES:
        _OUTCOMES[c.id] = compare(c)
    return _OUTCOMES[c.id]


def _report(problems: list[str]) -> str:
    shown = problems[:12]
    return "\n".join(shown + ([f"... and {len(problems) - len(shown)} more"] if len(problems) > len(shown) else []))


@pytest.mark.parametrize("name", NAMES)
def test_values_match_pytorch(name, samples):
    problems = [f"{c.id}: {o.value}" for c in samples[name] if (o := outcome(c)).value]
    assert not problems, _report(problems)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_autograd(name, samples):
    problems = [f"{c.id}: {o.gradient}" for c in samples[name] if (o := outcome(c)).gradient]
    assert not problems, _report(problems)


def test_census_is_the_documented_one(samples):
    """The counts the module docstring states: samples compared, checked against a documented difference, skipped.

    (That each compared or checked sample passes is what the tests above assert, sample by sample.)
    """
    assert census([classify(c) for cases in samples.values() for c in cases]) == CENSUS


def _caught(cases: list[Case], part: str) -> list[str]:
    """The ids of the cases whose comparison did NOT report a problem in ``part`` ("value" or "gradient")."""
    return [c.id for c in cases if getattr(compare(c), part) is None]


def test_a_perturbed_value_is_caught(samples, monkeypatch):
    """softmax + 1e-10 fails every float64 softmax, softmin and nn.Softmax sample that has an entry.

    (1e-10 is below float32's resolution of these values, so the float32 and float16 samples
    are left out; test_a_perturbed_gradient_is_caught perturbs every dtype.)
    """
    softmax = ce_lib.softmax
    monkeypatch.setattr(ce_lib, "softmax", lambda x, axis=-1: softmax(x, axis=axis) + 1e-10)
    cases = [
        c
        for name in ("softmax", "nn.functional.softmin", "nn.Softmax")
        for c in samples[name]
        if c.x.size and (c.dtype == "float64" or c.kw.get("dtype") == np.float64)
    ]
    assert len(cases) > 20
    assert _caught(cases, "value") == []


def test_a_perturbed_gradient_is_caught(samples, monkeypatch):
    """nll_loss_grad moved by twice the tolerance of its dtype fails every NLL sample, of every dtype."""
    nll_loss_grad = gradients.nll_loss_grad

    def perturbed(*args, **kwargs):
        grad = np.asarray(nll_loss_grad(*args, **kwargs))
        rtol, atol = TOLERANCE[grad.dtype]
        return (grad + 2 * (atol + rtol * np.abs(grad))).astype(grad.dtype)

    monkeypatch.setattr(gradients, "nll_loss_grad", perturbed)
    cases = samples["nn.functional.nll_loss"] + samples["nn.NLLLoss"]
    assert {c.dtype for c in cases} == {"float64", "float32", "float16"}
    assert _caught(cases, "gradient") == []


def test_shapes_dtypes_and_documented_differences_are_checked(samples, monkeypatch):
    """A lost keepdims, float16 returned as float32, and a logit that stops raising are each caught."""
    logsumexp, sigmoid, logit = ce_lib.logsumexp, ce_lib.sigmoid, ce_lib.logit
    monkeypatch.setattr(ce_lib, "logsumexp", lambda x, axis=-1, keepdims=False: logsumexp(x, axis=axis))
    monkeypatch.setattr(ce_lib, "sigmoid", lambda x: sigmoid(np.asarray(x, dtype=np.float32)))
    monkeypatch.setattr(ce_lib, "logit", lambda p, eps=None: logit(np.clip(p, 0, 1), eps=eps))
    kept = [c for c in samples["logsumexp"] if c.kw.get("keepdim") and c.x.ndim]
    half = [c for c in samples["sigmoid"] if c.dtype == "float16"]
    outside = [c for c in samples["logit"] if classify(c).startswith("policy")]
    assert kept and half and outside
    assert _caught(kept, "value") == []
    assert _caught(half, "value") == []
    assert _caught(outside, "value") == []


def test_a_wrong_linear_cross_entropy_is_caught(samples, monkeypatch):
    """A value off by twice its tolerance, or the weight's gradient doubled, fails every eighth compared sample.

    (Every eighth: 255 samples of the 2 040, of both databases and all three dtypes, in under 2 s; except, for
    the gradient, the samples whose weight gradient is 0 or NaN: every target ignored.)
    """
    value, grad = ce_lib.linear_cross_entropy, ce_lib.linear_cross_entropy_grad

    def off(*args, **kwargs):
        v = np.asarray(value(*args, **kwargs))
        rtol, atol = TOLERANCE[v.dtype]
        return (v + 2 * (atol + rtol * np.abs(v))).astype(v.dtype)

    def doubled(*args, **kwargs):
        g_h, g_w, g_b = grad(*args, **kwargs)
        return g_h, 2 * g_w, g_b

    monkeypatch.setattr(ce_lib, "linear_cross_entropy", off)
    monkeypatch.setattr(ce_lib, "linear_cross_entropy_grad", doubled)
    cases = [c for name in ("nn.functional.linear_cross_entropy", "nn.LinearCrossEntropyLoss") for c in samples[name]]
    compared = [c for c in cases if classify(c) == "compared"][::8]
    assert {c.id.split("/")[0] for c in compared} == {
        "nn.functional.linear_cross_entropy",
        "nn.functional.linear_cross_entropy.chunked",
        "nn.functional.linear_cross_entropy.chunked_none",
        "nn.LinearCrossEntropyLoss",
    }
    assert {c.dtype for c in compared} == {"float64", "float32", "float16"}
    assert [i for i in _caught(compared, "value") if not np.all(np.isnan(torch_run(by_id(compared, i))[1]))] == []
    for i in _caught(compared, "gradient"):
        c = by_id(compared, i)
        h_size = c.x.size
        w_grad = torch_run(c)[3][h_size : h_size + np.size(c.kw["linear_weight"])]
        assert np.all((w_grad == 0) | np.isnan(w_grad)), i


def by_id(cases: list[Case], case_id: str) -> Case:
    return next(c for c in cases if c.id == case_id)


#: the census: see the module docstring
CENSUS = {
    "compared": 3380,
    "policy: K-dimensional linear_weight": 1560,
    "policy: kl_div negative target": 9,
    "policy: logit outside [0, 1]": 30,
    "skipped: beta/threshold": 123,
}


if __name__ == "__main__":  # python tests/test_pytorch_opinfo.py: the census, and every problem
    import time

    start = time.perf_counter()
    every = [c for cases in collect().values() for c in cases]
    outcomes = {c.id: compare(c) for c in every}
    for cid, o in outcomes.items():
        for problem in (o.value, o.gradient):
            if problem:
                print(f"{cid}: {problem}")
    passed = sum(1 for o in outcomes.values() if not o.kind.startswith("skipped") and not (o.value or o.gradient))
    print(census([o.kind for o in outcomes.values()]), f"passed: {passed}")
    print(census([f"{c.dtype} {outcomes[c.id].kind}" for c in every]))
    print(f"{len(every)} samples in {time.perf_counter() - start:.1f} s")
