"""ce_lib.verify: each check passes on a true claim and fails on a false one; SymPy is imported lazily."""

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import ce_lib
from ce_lib import verify

s = sp.symbols("s", real=True)
sigma = 1 / (1 + sp.exp(-s))


def test_identity_passes_and_fails(capsys):
    verify.identity("eq-x", sp.diff(sigma, s), sigma * (1 - sigma))
    assert capsys.readouterr().out == "✔ (eq-x) holds symbolically\n"
    with pytest.raises(AssertionError, match="eq-y"):
        verify.identity("eq-y", sp.diff(sigma, s), sigma * (1 + sigma))


def test_numerically_passes_and_fails():
    pts = np.linspace(-800, 800, 81)
    verify.numerically("eq-a", sigma, [s], lambda P: ce_lib.sigmoid(P[:, 0]), pts)
    with pytest.raises(AssertionError, match="eq-b"):
        verify.numerically("eq-b", sigma, [s], lambda P: 1 / (1 + np.exp(-P[:, 0]) + 1e-12), pts[30:50])


def test_on_grid_and_limit():
    verify.on_grid("eq-c", lambda P: ce_lib.logsumexp(P) >= P.max(axis=1), np.random.default_rng(0).normal(size=(50, 3)), "lse >= max")
    with pytest.raises(AssertionError, match="eq-d"):
        verify.on_grid("eq-d", lambda P: P[:, 0] > 0, np.array([[1.0], [-1.0]]), "positive")
    verify.limit("eq-e", sigma, s, sp.oo, 1)
    with pytest.raises(AssertionError):
        verify.limit("eq-f", sigma, s, sp.oo, 0)


def test_importing_ce_lib_does_not_import_sympy():
    code = "import sys, ce_lib; ce_lib.softmax([1.0, 2.0]); print('sympy' in sys.modules, 'mpmath' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
