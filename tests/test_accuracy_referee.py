"""The referee must be able to say no: ce_lib.accuracy rejects wrong answers it is shown."""

import numpy as np
import pytest
import scipy.special as sc

import ce_lib
from ce_lib import accuracy


def naive_log_softmax(v):
    return np.log(np.exp(v) / np.sum(np.exp(v)))


def test_a_loss_of_4e_18_returned_as_0_fails_by_about_1e14():
    exact, kappa = accuracy.exact_log_softmax([40.0, 0.0], 0)
    assert accuracy.scaled_error(0.0, exact, kappa) > 1e14
    assert accuracy.scaled_error(float(exact), exact, kappa) < 0.5  # the correctly rounded answer


def test_one_ulp_off_is_one_ulp():
    exact, _ = accuracy.exact_logsumexp([2.3, -1.2, 0.7])
    f = float(exact)
    assert accuracy.ulp_error(np.nextafter(f, np.inf), exact) == pytest.approx(1.0, abs=0.51)
    assert accuracy.ulp_error(f + 8 * np.spacing(f), exact) > 7


def test_wrong_libraries_fail_and_ce_lib_passes():
    naive = accuracy.worst_scaled_errors({"log_softmax": naive_log_softmax, "logsumexp": lambda v: np.log(np.sum(np.exp(v)))})
    assert naive["log_softmax"] > 1e10 and naive["logsumexp"] > 1e10
    scipy_ce = accuracy.worst_scaled_errors({"cross_entropy": lambda v, k: -sc.log_softmax(v)[k]})
    assert scipy_ce["cross_entropy"] > 1e10  # SciPy's loss of 4e-18 is 0
    ours = accuracy.worst_scaled_errors(accuracy.ce_lib_functions())
    assert set(ours) == set(accuracy.FUNCTIONS) and max(ours.values()) <= 4.0


def test_a_softmax_one_percent_off_fails():
    worst = accuracy.worst_scaled_errors({"softmax": lambda v: ce_lib.softmax(v) * 1.01})
    assert worst["softmax"] > 1e10


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown names"):
        accuracy.worst_scaled_errors({"softmx": ce_lib.softmax})
    with pytest.raises(ValueError, match="name must be one of"):
        accuracy.exact_scalar("sigmod", 1.0)
