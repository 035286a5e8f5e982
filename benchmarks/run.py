"""Benchmarks: speed ratios against SciPy and PyTorch, peak memory, and worst ULP errors.

Run with `make bench`. Every ratio is ce_lib's time divided by the reference's time,
both measured in this run on this machine (best of several repeats), so a ratio
below 1 means ce_lib is faster. PyTorch is optional; without it its columns say "n/a".
"""

from __future__ import annotations

import sys
import timeit
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.special as sc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import ce_lib  # noqa: E402
from reference import cases_log_softmax, cases_logsumexp, hard_vectors, scaled_error  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional
    torch = None

SHAPES = [(4096, 1000), (65536, 10)]
DTYPES = [np.float32, np.float64]


def best_time(fn, repeat=7):
    fn()  # warm up
    number = max(1, int(0.05 / max(timeit.timeit(fn, number=1), 1e-6)))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def scipy_cross_entropy(x, y):
    return -np.mean(np.take_along_axis(sc.log_softmax(x, axis=1), y[:, None], axis=1))


def peak_extra_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del result
    return peak


def speed_table():
    rng = np.random.default_rng(0)
    rows = []
    for shape in SHAPES:
        for dtype in DTYPES:
            x = rng.normal(0, 3, shape).astype(dtype)
            y = rng.integers(0, shape[1], shape[0])
            ours = {
                "logsumexp": lambda: ce_lib.logsumexp(x, axis=1),
                "log_softmax": lambda: ce_lib.log_softmax(x, axis=1),
                "softmax": lambda: ce_lib.softmax(x, axis=1),
                "softmax_cross_entropy": lambda: ce_lib.softmax_cross_entropy(x, y),
            }
            scipys = {
                "logsumexp": lambda: sc.logsumexp(x, axis=1),
                "log_softmax": lambda: sc.log_softmax(x, axis=1),
                "softmax": lambda: sc.softmax(x, axis=1),
                "softmax_cross_entropy": lambda: scipy_cross_entropy(x, y),
            }
            if torch is not None:
                tx, ty = torch.from_numpy(x), torch.from_numpy(y)
                torches = {
                    "logsumexp": lambda: torch.logsumexp(tx, 1),
                    "log_softmax": lambda: torch.log_softmax(tx, 1),
                    "softmax": lambda: torch.softmax(tx, 1),
                    "softmax_cross_entropy": lambda: F.cross_entropy(tx, ty),
                }
            for name, fn in ours.items():
                t_ours = best_time(fn)
                t_scipy = best_time(scipys[name])
                r_torch1 = r_torchn = float("nan")
                if torch is not None:
                    default_threads = torch.get_num_threads()
                    torch.set_num_threads(1)
                    r_torch1 = t_ours / best_time(torches[name])
                    torch.set_num_threads(default_threads)
                    r_torchn = t_ours / best_time(torches[name])
                memory = peak_extra_bytes(fn) / x.nbytes
                rows.append((name, f"{shape[0]}x{shape[1]}", np.dtype(dtype).name, t_ours * 1e3, t_ours / t_scipy, r_torch1, r_torchn, memory))
    return rows


def ulp_table():
    """Worst scaled ULP error (ULP / max(1, condition number)) over the hard set, float64."""
    vectors = hard_vectors()
    libs = {
        "ce_lib": (ce_lib.logsumexp, ce_lib.log_softmax, lambda v, k: ce_lib.softmax_cross_entropy(v, np.array(k))),
        "SciPy": (sc.logsumexp, sc.log_softmax, lambda v, k: -sc.log_softmax(v)[k]),
    }
    if torch is not None:
        libs["PyTorch"] = (
            lambda v: torch.logsumexp(torch.from_numpy(v), 0).item(),
            lambda v: torch.log_softmax(torch.from_numpy(v), 0).numpy(),
            lambda v, k: F.cross_entropy(torch.from_numpy(v), torch.tensor(k)).item(),
        )
    table = {}
    for lib, (lse, lsm, loss) in libs.items():
        worst = {"logsumexp": 0.0, "log_softmax": 0.0, "cross_entropy": 0.0}
        with np.errstate(all="ignore"):
            for v in vectors:
                exact, kappa = cases_logsumexp(v)
                worst["logsumexp"] = max(worst["logsumexp"], scaled_error(float(lse(v)), exact, kappa))
                logq = lsm(v)
                for k in range(v.size):
                    exact, kappa = cases_log_softmax(v, k)
                    if not np.isfinite(float(exact)):
                        continue
                    worst["log_softmax"] = max(worst["log_softmax"], scaled_error(float(logq[k]), exact, kappa))
                    worst["cross_entropy"] = max(worst["cross_entropy"], scaled_error(float(loss(v, k)), -exact, kappa))
        table[lib] = worst
    return table


def main():
    print(f"numpy {np.__version__}, scipy {sc.__name__ and __import__('scipy').__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print("\nTime ratios (ce_lib time / reference time; < 1 means ce_lib is faster); peak extra memory / input size")
    header = f"{'function':<22} {'shape':<10} {'dtype':<8} {'ce_lib ms':>9} {'/SciPy':>7} {'/torch 1t':>9} {'/torch nt':>9} {'mem':>5}"
    print(header)
    print("-" * len(header))
    for name, shape, dtype, ms, r_scipy, r1, rn, mem in speed_table():
        print(f"{name:<22} {shape:<10} {dtype:<8} {ms:9.2f} {r_scipy:7.2f} {r1:9.2f} {rn:9.2f} {mem:5.2f}")
    print("\nWorst error on the hard set, in ULP divided by max(1, condition number); <= 4 is the target")
    table = ulp_table()
    cols = ["logsumexp", "log_softmax", "cross_entropy"]
    print(f"{'library':<8} " + " ".join(f"{c:>14}" for c in cols))
    for lib, worst in table.items():
        print(f"{lib:<8} " + " ".join(f"{worst[c]:14.3g}" for c in cols))


if __name__ == "__main__":
    main()
