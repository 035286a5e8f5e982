"""Benchmarks: speed ratios against SciPy and PyTorch, peak memory, and worst ULP errors.

Run with `make bench`. Every ratio is ce_lib's time divided by the reference's time,
both measured in this run on this machine (best of several repeats), so a ratio
below 1 means ce_lib is faster. PyTorch is optional; without it its columns say "n/a".
"""

from __future__ import annotations

import timeit
import tracemalloc

import numpy as np
import scipy.special as sc

import ce_lib
from ce_lib.accuracy import ce_lib_functions, worst_scaled_errors

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional
    torch = None

SHAPES = [(4096, 1000), (65536, 10)]
DTYPES = [np.float32, np.float64]


def best_times(fns, rounds=25):
    """Best time per call of each function, measured in interleaved rounds.

    Interleaving (ours, reference, ours, ...) exposes every function to the same drift
    in machine load, so that the ratio is fair on a shared or noisy machine.
    """
    for fn in fns:
        fn()  # warm up
    number = max(1, int(0.01 / max(timeit.timeit(fns[0], number=1), 1e-6)))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number)
    return best


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
                t_ours, t_scipy = best_times([fn, scipys[name]])
                r_torch1 = r_torchn = float("nan")
                if torch is not None:
                    default_threads = torch.get_num_threads()
                    torch.set_num_threads(1)
                    t_ours1, t_torch1 = best_times([fn, torches[name]])
                    torch.set_num_threads(default_threads)
                    t_oursn, t_torchn = best_times([fn, torches[name]])
                    r_torch1, r_torchn = t_ours1 / t_torch1, t_oursn / t_torchn
                memory = peak_extra_bytes(fn) / x.nbytes
                rows.append(
                    (
                        name,
                        f"{shape[0]}x{shape[1]}",
                        np.dtype(dtype).name,
                        t_ours * 1e3,
                        t_ours / t_scipy,
                        r_torch1,
                        r_torchn,
                        memory,
                    )
                )
    return rows


def ulp_table():
    """Worst scaled ULP error (ULP / max(1, condition number)) over the hard set, float64."""
    libs = {
        "ce_lib": ce_lib_functions(),
        "SciPy": {
            "logsumexp": sc.logsumexp,
            "log_softmax": sc.log_softmax,
            "softmax": sc.softmax,
            "cross_entropy": lambda v, k: -sc.log_softmax(v)[k],
        },
    }
    if torch is not None:
        libs["PyTorch"] = {
            "logsumexp": lambda v: torch.logsumexp(torch.from_numpy(v), 0).item(),
            "log_softmax": lambda v: torch.log_softmax(torch.from_numpy(v), 0).numpy(),
            "softmax": lambda v: torch.softmax(torch.from_numpy(v), 0).numpy(),
            "cross_entropy": lambda v, k: F.cross_entropy(torch.from_numpy(v), torch.tensor(k)).item(),
        }
    return {lib: worst_scaled_errors(functions) for lib, functions in libs.items()}


#: The targets of ``make bench``: (what, which column, which functions, bound).
TARGETS = [
    ("time / SciPy", "r_scipy", ("softmax", "log_softmax", "logsumexp"), 1.0),
    ("time / PyTorch, 1 thread", "r_torch1", ("softmax_cross_entropy",), 2.0),
    ("peak extra memory / input", "mem", ("softmax", "log_softmax", "logsumexp", "softmax_cross_entropy"), 1.1),
]
ULP_TARGET = 4.0


def report_targets(rows, ulp):
    """Print each target, the worst case over the shapes and dtypes, and whether it is met."""
    print("\nTargets (worst case over the shapes and dtypes above)")
    columns = {"r_scipy": 4, "r_torch1": 5, "mem": 7}
    met_all = True
    for what, column, names, bound in TARGETS:
        for name in names:
            values = [(row[columns[column]], row[1], row[2]) for row in rows if row[0] == name]
            worst, shape, dtype = max(values)
            if np.isnan(worst):
                print(f"  {name:<22} {what:<27} <= {bound:<4} n/a (PyTorch not installed)")
                continue
            met = worst <= bound
            met_all &= met
            print(f"  {name:<22} {what:<27} <= {bound:<4} worst {worst:5.2f} ({shape} {dtype})  {'met' if met else 'NOT MET'}")
    worst_ulp = max(ulp["ce_lib"].values())
    met = worst_ulp <= ULP_TARGET
    met_all &= met
    print(
        f"  {'every function':<22} {'scaled ULP error':<27} <= {ULP_TARGET:<4} worst {worst_ulp:5.2f}  {'met' if met else 'NOT MET'}"
    )
    print("All targets met." if met_all else "Some targets are not met (see above).")


def main():
    print(
        f"numpy {np.__version__}, scipy {sc.__name__ and __import__('scipy').__version__}, "
        f"torch {torch.__version__ if torch else 'not installed'}"
    )
    print("\nTime ratios (ce_lib time / reference time; < 1 means ce_lib is faster); peak extra memory / input size")
    header = (
        f"{'function':<22} {'shape':<10} {'dtype':<8} {'ce_lib ms':>9} {'/SciPy':>7} {'/torch 1t':>9} {'/torch nt':>9} {'mem':>5}"
    )
    print(header)
    print("-" * len(header))
    rows = speed_table()
    for name, shape, dtype, ms, r_scipy, r1, rn, mem in rows:
        print(f"{name:<22} {shape:<10} {dtype:<8} {ms:9.2f} {r_scipy:7.2f} {r1:9.2f} {rn:9.2f} {mem:5.2f}")
    print("\nWorst error on the hard set, in ULP divided by max(1, condition number); <= 4 is the target")
    table = ulp_table()
    cols = ["logsumexp", "log_softmax", "softmax", "cross_entropy"]
    print(f"{'library':<8} " + " ".join(f"{c:>14}" for c in cols))
    for lib, worst in table.items():
        print(f"{lib:<8} " + " ".join(f"{worst[c]:14.3g}" for c in cols))
    report_targets(rows, table)


if __name__ == "__main__":
    main()
