"""One place for the book's print options and figure style, so stored outputs do not drift.

Call :func:`use_book_style` once, in the first code cell of a chapter. Matplotlib is
imported here only when asked for, so ``import ce_lib`` needs NumPy alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["COLORS", "PRINT_OPTIONS", "use_book_style"]

# Fixed print options: 8 significant digits, NumPy 1.25-style scalar reprs (0.5, not
# np.float64(0.5)), so a NumPy upgrade that changes repr does not change stored outputs.
PRINT_OPTIONS: dict[str, Any] = dict(precision=8, suppress=False, floatmode="maxprec", linewidth=88, legacy="1.25")

# A colour-blind-safe palette (Okabe & Ito) that reads on white and dark pages alike.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def use_book_style() -> None:
    """Set NumPy print options and, if Matplotlib is installed, the figure style.

    In a notebook (IPython's inline backend) a figure is stored twice: as SVG, which the
    HTML book shows (sharp at any pixel density and zoom), and as a PNG at twice the
    resolution for the PDF. The SVG is byte-deterministic (fixed ``svg.hashsalt``, no
    date), since nbval compares it when it re-executes a chapter.
    """
    np.set_printoptions(**PRINT_OPTIONS)
    try:
        import matplotlib as mpl
    except ImportError:  # the numeric core does not need it
        return
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            # An opaque white background: figures stay legible on the dark theme.
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "font.family": "DejaVu Sans",
            "font.size": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=COLORS),
            "lines.linewidth": 2,
            "legend.frameon": False,
            "svg.hashsalt": "ce_lib",  # reproducible SVG ids
        }
    )
    _store_figures_as_svg_and_retina_png()


def _store_figures_as_svg_and_retina_png() -> None:
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not in IPython: nothing to configure
        return
    if get_ipython() is None:
        return
    # no creation date in the SVG's metadata, so that executing a chapter twice gives the same bytes
    set_matplotlib_formats("svg", "retina", metadata={"Date": None})  # type: ignore[no-untyped-call]
