"""Perplexity against closed forms, mpmath at 60 digits, SciPy and torchmetrics.

References: a uniform model over V tokens has perplexity V; perplexity = exp(token-mean NLL)
= 2^(bits per token) with the NLL from mpmath; SciPy's log_softmax; torchmetrics' functional
perplexity where it is accurate, and where it is not (inf, or a few digits) the mpmath value.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest

import ce_lib
from ce_lib import perplexity

EPS = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)


def exact_perplexity(logits, target, ignore_index=None):
    """exp of the token-mean NLL and that mean in bits, in mpmath at 60 digits: (perplexity, mean NLL in nats)."""
    with mpmath.workdps(60):
        losses = []
        for row, y in zip(np.reshape(logits, (-1, np.shape(logits)[-1])), np.ravel(target)):
            if y == ignore_index:
                continue
            lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))
            losses.append(lse - mpmath.mpf(float(row[int(y)])))
        mean = mpmath.fsum(losses) / len(losses)
        return mpmath.exp(mean), mean


def rel_error(value, exact):
    return abs((mpmath.mpf(float(value)) - exact) / exact)


def within(value, exact, mean, eps=EPS):
    """exp turns an error of a few ulps of the mean loss L into a relative error of a few eps times L."""
    return rel_error(value, exact) <= 4 * eps * max(1.0, abs(float(mean)))


@pytest.mark.parametrize("vocab", [1, 2, 50, 50_257, 100_000])
@pytest.mark.parametrize("level", [0.0, 1000.0, -1e4])
def test_uniform_model_has_perplexity_vocab(vocab, level):
    logits = np.full((2, 3, vocab), level)
    target = np.arange(6).reshape(2, 3) % vocab
    value = perplexity(logits, target)
    assert abs(value - vocab) <= 4 * EPS * vocab * max(1.0, math.log(vocab))  # the mean loss is log V


def test_perplexity_is_exp_mean_nll_and_two_to_the_bits():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, (3, 7, 11))
    target = rng.integers(0, 11, (3, 7))
    exact, mean = exact_perplexity(logits, target)
    value = perplexity(logits, target)
    assert within(value, exact, mean)
    bits = mean / mpmath.log(2)  # bits per token
    assert within(value, mpmath.mpf(2) ** bits, mean)


def test_agrees_with_scipy_log_softmax():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 5.0, (4, 9, 30))
    target = rng.integers(0, 30, (4, 9))
    log_q = special.log_softmax(logits, axis=-1)
    nll = -np.take_along_axis(log_q, target[..., None], axis=-1)
    assert np.isclose(perplexity(logits, target), np.exp(nll.mean()), rtol=1e-13, atol=0)


def test_ignored_positions_count_nowhere_and_the_mean_is_over_tokens():
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 2.0, (2, 6, 5))
    target = rng.integers(0, 5, (2, 6))
    target[0, 2:] = -100  # sequence 0 has 2 tokens, sequence 1 has 6
    exact, mean = exact_perplexity(logits, target, ignore_index=-100)
    value = perplexity(logits, target, ignore_index=-100)
    assert within(value, exact, mean)
    # the mean over tokens is not the mean of the per-sequence means (the sequences differ in length)
    per_seq = [exact_perplexity(logits[i : i + 1], target[i : i + 1], ignore_index=-100)[1] for i in range(2)]
    assert rel_error(value, mpmath.exp(mpmath.fsum(per_seq) / 2)) > 1e-3
    # an ignore_index inside the vocabulary (a padding token) is ignored as well
    padded = np.where(target == -100, 4, target)
    with_pad = perplexity(logits, padded, ignore_index=4)
    assert within(with_pad, *exact_perplexity(logits, padded, ignore_index=4))
    assert np.isnan(perplexity(logits, np.full((2, 6), -100), ignore_index=-100))  # no token: 0/0


def test_finite_where_the_softmax_underflows():
    """A target 120 below the largest logit: e^-120 is 0 in float32, yet the mean loss is only 60.3."""
    logits = np.float32([[[0.0, 120.0], [0.0, 0.0]]])
    exact, mean = exact_perplexity(logits, [[0, 0]])
    value = perplexity(logits, np.array([[0, 0]]))
    assert value.dtype == np.float32 and np.isfinite(value)
    assert within(value, exact, mean, eps=EPS32)  # measured: 6.9e-7 relative; allowed 4 eps32 times the mean loss, 2.9e-5
    logits64 = np.array([[[0.0, 800.0], [0.0, 0.0]]])  # in float64: e^-800 is 0, the perplexity 5e173
    exact64, mean64 = exact_perplexity(logits64, [[0, 0]])
    assert within(perplexity(logits64, [[0, 0]]), exact64, mean64)


def test_float16_in_float16_out():
    logits = np.float16([[[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]]])
    exact, _ = exact_perplexity(logits.astype(np.float64), [[2, 0]])
    value = perplexity(logits, [[2, 0]])
    assert value.dtype == np.float16
    assert abs(float(value) - float(exact)) <= float(np.spacing(np.float16(float(exact))))  # within a float16 ulp


@pytest.mark.parametrize(
    ("logits", "target", "kwargs", "match"),
    [
        (np.zeros((3, 4)), np.zeros(3, dtype=int), {}, "logits"),
        (np.zeros((1, 3, 4)), np.zeros((1, 2), dtype=int), {}, "target"),
        (np.zeros((1, 3, 4)), np.zeros((1, 3)), {}, "target"),  # floating targets
        (np.zeros((1, 3, 4)), np.array([[0, -1, 2]]), {}, "target"),  # negative, no ignore_index
        (np.zeros((1, 3, 4)), np.array([[0, 4, 2]]), {}, "target"),  # beyond the vocabulary
        (np.zeros((1, 3, 4)), np.array([[0, 4, 2]]), {"ignore_index": -100}, "target"),
        (np.zeros((1, 3, 4)), np.array([[0, 1, 2]]), {"ignore_index": 1.5}, "ignore_index"),
        (np.zeros((1, 3, 4)), np.array([[0, 1, 2]]), {"ignore_index": True}, "ignore_index"),
        (np.array([[["a", "b"]]]), np.array([[0]]), {}, "logits"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(logits, target, kwargs, match):
    with pytest.raises(ValueError, match=match):
        perplexity(logits, target, **kwargs)


def test_without_ignore_index_the_message_names_no_ignore_index():
    """A token beyond the vocabulary is reported as such, not against an ignore_index the caller never passed."""
    with pytest.raises(ValueError, match=r"token 3, outside \[0, 3\); pass ignore_index") as error:
        perplexity(np.zeros((1, 2, 3)), [[3, 0]])
    assert "ignore_index=" not in str(error.value)


def test_in_the_public_api():
    assert ce_lib.perplexity is perplexity and "perplexity" in ce_lib.__all__


# torchmetrics: the same values wherever it is accurate; inf or a few digits where its softmax underflows


@functools.cache
def torchmetrics_module():
    """torchmetrics' own ``functional/text/perplexity.py``, loaded alone.

    ``import torchmetrics`` takes 3.5 s (it imports SciPy's signal processing and more); the
    functional perplexity needs only torch, so its file is loaded by itself, unchanged.
    """
    pytest.importorskip("torch")
    spec = importlib.util.find_spec("torchmetrics")  # finds the package without importing it
    if spec is None or spec.origin is None:
        pytest.skip("torchmetrics is not installed")
    path = Path(spec.origin).parent / "functional" / "text" / "perplexity.py"
    module_spec = importlib.util.spec_from_file_location("torchmetrics_text_perplexity", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def torchmetrics_perplexity(logits, target, ignore_index=None):
    import torch

    fn = torchmetrics_module().perplexity
    return fn(torch.from_numpy(np.asarray(logits)), torch.from_numpy(np.asarray(target)), ignore_index=ignore_index)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ignore_index", [None, -100, 3])
def test_torchmetrics_parity(dtype, ignore_index):
    rng = np.random.default_rng(4)
    logits = rng.normal(0.0, 4.0, (3, 8, 20)).astype(dtype)
    target = rng.integers(0, 20, (3, 8))
    if ignore_index is not None:
        target[1, 5:] = ignore_index
    theirs = torchmetrics_perplexity(logits, target, ignore_index).item()
    ours = perplexity(logits, target, ignore_index=ignore_index)
    assert ours.dtype == dtype
    eps = EPS if dtype == np.float64 else EPS32
    # each within a few eps times the mean loss (measured: 1.8e-15 apart in float64, 1.0e-6 in float32)
    assert np.isclose(ours, theirs, rtol=8 * eps * math.log(theirs), atol=0)


@pytest.mark.torch
@pytest.mark.parametrize(("dtype", "gap"), [(np.float32, 120.0), (np.float64, 800.0)])
def test_torchmetrics_returns_inf_where_ce_lib_is_finite(dtype, gap):
    logits = np.array([[[0.0, gap], [0.0, 0.0]]], dtype=dtype)
    target = np.array([[0, 0]])
    assert math.isinf(torchmetrics_perplexity(logits, target).item())  # log(0): the softmax underflowed
    exact, mean = exact_perplexity(logits, target)
    assert within(perplexity(logits, target), exact, mean, eps=EPS32 if dtype == np.float32 else EPS)


@pytest.mark.torch
def test_torchmetrics_loses_digits_in_the_subnormal_range():
    """e^-100 = 3.7e-44 is subnormal in float32 (a few significant bits): torchmetrics is off by 8e-3, ce_lib by 8e-7."""
    logits = np.float32([[[0.0, 100.0], [0.0, 0.0]]])
    target = np.array([[0, 0]])
    exact, mean = exact_perplexity(logits, target)
    assert rel_error(torchmetrics_perplexity(logits, target).item(), exact) > 1e-3
    assert within(perplexity(logits, target), exact, mean, eps=EPS32)


@pytest.mark.torch
def test_torchmetrics_reads_a_negative_target_as_the_last_token():
    """With ignore_index=None torchmetrics indexes with -1 (the last token); ce_lib refuses it."""
    rng = np.random.default_rng(5)
    logits = rng.normal(0.0, 1.0, (1, 2, 4))
    assert np.isclose(torchmetrics_perplexity(logits, np.array([[-1, 0]])).item(), perplexity(logits, [[3, 0]]), rtol=1e-13)
    with pytest.raises(ValueError, match="target"):
        perplexity(logits, [[-1, 0]])
