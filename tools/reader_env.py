"""The reader's environment, in which `make test` executes every chapter once, outside the repository.

    python tools/reader_env.py install VENV   # the environment, its kernels and the wheel (make reader-env)
    python tools/reader_env.py copy OUT       # each committed notebook, alone in a folder below OUT

A reader on JupyterHub or Colab installs ``requirements-reader.txt`` and ce_lib's wheel and
opens one chapter notebook alone. ``make test`` does the same, once, for nbval:

- ``VENV`` gets the reader's runtime, constrained by ``requirements.lock`` (so every package a
  chapter's kernel imports has the version the project pins; ``tests/test_outside.py`` compares
  them with the project's environment), and ce_lib's wheel, built from this checkout, installed
  into ``VENV/ce_lib-wheel``;
- two Jupyter kernels are declared in ``VENV/share/jupyter/kernels``: ``ce-reader`` (the reader's
  runtime and the wheel) and ``ce-reader-bare`` (without the wheel: a chapter must stop there
  with a message saying how to install ce_lib);
- each committed notebook is copied alone into ``OUT/<chapter>/``.

nbval then re-executes each copy in the ``ce-reader`` kernel (``--nbval-kernel-name``) and
compares every output with the committed one: one execution per chapter proves both that the
chapter reproduces its outputs with the pinned versions and that it runs outside the repository
from the wheel. (The PyPA tools have no notion of a Jupyter kernel over a wheel installed
aside, hence this script.)
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import venv as venv_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chapters  # noqa: E402

KERNEL = "ce-reader"
BARE_KERNEL = "ce-reader-bare"
WHEEL_DIR = "ce_lib-wheel"


def nbclient_pin() -> str:
    """nbclient's pin in requirements-book.txt (``jupyter-execute`` comes with it)."""
    return re.search(r"^nbclient==\S+", (ROOT / "requirements-book.txt").read_text(), flags=re.M).group(0)


def _requirements_hash() -> str:
    text = b"".join((ROOT / name).read_bytes() for name in ("requirements-reader.txt", "requirements.lock"))
    return hashlib.sha256(text + nbclient_pin().encode()).hexdigest()


def install(target: Path) -> Path:
    """Create or update the reader's environment at ``target``; return the wheel installed in it."""
    python = target / "bin" / "python"
    uv = [str(Path(sys.executable).parent / "uv"), "pip", "install", "--quiet", "--python", str(python)]
    if not python.exists():
        venv_module.create(target, with_pip=False)
    stamp = target / ".requirements.sha256"
    if not stamp.exists() or stamp.read_text() != _requirements_hash():
        subprocess.run(
            uv + ["-r", str(ROOT / "requirements-reader.txt"), "-c", str(ROOT / "requirements.lock"), nbclient_pin()],
            check=True,
        )
        stamp.write_text(_requirements_hash())
    dist = target / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:  # build outside the checkout: no build/ or egg-info left in it
        subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist), str(ROOT)],
            check=True,
            capture_output=True,
            cwd=scratch,
        )
    (wheel,) = dist.glob("ce_lib-*.whl")
    shutil.rmtree(target / WHEEL_DIR, ignore_errors=True)
    subprocess.run(uv + ["--no-deps", "--target", str(target / WHEEL_DIR), str(wheel)], check=True)
    kernels = target / "share" / "jupyter" / "kernels"
    for name, env in ((KERNEL, {"PYTHONPATH": str(target / WHEEL_DIR)}), (BARE_KERNEL, {"PYTHONPATH": ""})):
        (kernels / name).mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 ({name})",
            "language": "python",
            "env": env,
        }
        (kernels / name / "kernel.json").write_text(json.dumps(spec, indent=1))
    return wheel


def copy_notebooks(out: Path) -> list[Path]:
    """Each committed notebook alone in a folder of its own below ``out``."""
    copies = []
    for source in chapters.sources():
        notebook = chapters.notebook_path(source)
        folder = out / notebook.stem
        folder.mkdir(parents=True, exist_ok=True)
        copies.append(Path(shutil.copyfile(notebook, folder / notebook.name)))
    return copies


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="create or update the reader's environment").add_argument("venv", type=Path)
    sub.add_parser("copy", help="copy each committed notebook alone into a folder below OUT").add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "install":
        wheel = install(args.venv.resolve())
        print(f"reader environment {args.venv} with {wheel.name}")
    else:
        copies = copy_notebooks(args.out)
        print(f"{len(copies)} notebooks copied to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
