"""The one place the Jupyter Book build command is written (used by the Makefile and the tests).

    python tools/build_book.py html [--path-output DIR] [--source DIR]
    python tools/build_book.py pdflatex [--path-output DIR]

HTML is built strictly: warnings are errors (``-W``), every cross-reference must
resolve (``-n``, nitpicky), and ``--keep-going`` reports all problems at once.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = ["-W", "-n", "--keep-going"]


def command(builder: str = "html", source: Path = ROOT, path_output: Path | None = None) -> list[str]:
    """The ``jupyter-book build`` command line for ``builder`` (strict for HTML)."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", str(source)]
    if path_output is not None:
        cmd += ["--path-output", str(path_output)]
    cmd += ["--builder", builder]
    return cmd + (STRICT if builder == "html" else [])


def run(builder: str = "html", source: Path = ROOT, path_output: Path | None = None) -> subprocess.CompletedProcess:
    """Build and capture the log (for tests): the process, with ``stdout`` holding stdout and stderr."""
    return subprocess.run(command(builder, source, path_output), cwd=source, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builder", choices=["html", "pdflatex"])
    parser.add_argument("--path-output", type=Path)
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    return subprocess.run(command(args.builder, args.source, args.path_output), cwd=args.source).returncode


if __name__ == "__main__":
    sys.exit(main())
