"""The one place the Jupyter Book build command is written (used by the Makefile and the tests).

    python tools/build_book.py html [--path-output DIR] [--source DIR]
    python tools/build_book.py pdflatex [--path-output DIR]

HTML is built strictly: warnings are errors (``-W``), every cross-reference must
resolve (``-n``, nitpicky), and ``--keep-going`` reports all problems at once.

Before Sphinx runs, :func:`prepare`:

1. fails the build if a chapter's committed notebook no longer matches its source
   (the drift check, ``tools/chapters.py check``);
2. seeds the build's execution cache from the committed, executed notebooks, so that a
   first build executes nothing. A notebook is reused only while the fingerprint it
   records (``tools/chapters.py``: ce_lib's sources and the reader's pinned requirements)
   is the current one; otherwise the chapter is executed by the build like any new one.
   The cache itself is dropped when the fingerprint changes, since jupyter-cache keys on
   the cells' code alone and would otherwise serve outputs computed with an older ce_lib.

The cache lives in the build folder (``<path-output>/_build/.jupyter_cache``, MyST-NB's
default), so a test's build never touches the repository's own ``_build``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = ["-W", "-n", "--keep-going"]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chapters  # noqa: E402

FINGERPRINT_FILE = "ce_book_fingerprint"


def command(builder: str = "html", source: Path = ROOT, path_output: Path | None = None) -> list[str]:
    """The ``jupyter-book build`` command line for ``builder`` (strict for HTML)."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", str(source)]
    if path_output is not None:
        cmd += ["--path-output", str(path_output)]
    cmd += ["--builder", builder]
    return cmd + (STRICT if builder == "html" else [])


def cache_folder(source: Path = ROOT, path_output: Path | None = None) -> Path:
    """Where MyST-NB keeps the execution cache of a build: beside the builder's output folder."""
    return (path_output or source) / "_build" / ".jupyter_cache"


def _myst_config(source: Path):
    """The Markdown configuration the build parses with (the extensions ``_config.yml`` enables)."""
    import yaml
    from myst_parser.config.main import MdParserConfig

    config = yaml.safe_load((source / "_config.yml").read_text())
    return MdParserConfig(enable_extensions=set(config.get("parse", {}).get("myst_enable_extensions", [])))


def seed_cache(source: Path = ROOT, path_output: Path | None = None) -> dict[str, list[str]]:
    """Put each committed notebook whose fingerprint is current into the build's execution cache.

    Returns ``{"seeded": [...], "cached": [...], "stale": [...]}`` (page names): added now,
    already in the cache, and left for the build to execute (executed with another
    fingerprint, or never). The notebook is cached as MyST-NB reads the source, with the
    committed notebook's outputs, so that the build's own cache lookup matches it.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook

    folder = cache_folder(source, path_output)
    current = chapters.fingerprint(source)
    stamp = folder / FINGERPRINT_FILE
    if folder.exists() and (not stamp.exists() or stamp.read_text() != current):
        shutil.rmtree(folder)  # computed with another ce_lib or other pins
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    cache = get_cache(folder)
    md_config = _myst_config(source)
    report: dict[str, list[str]] = {"seeded": [], "cached": [], "stale": []}
    for page in chapters.sources(source):
        name = page.relative_to(source).as_posix()
        notebook = chapters.notebook_path(page)
        if not notebook.exists() or chapters.executed_with(notebook) != current:
            report["stale"].append(name)
            continue
        nb = read_myst_markdown_notebook(page.read_text(), config=md_config, add_source_map=True, path=str(page))
        try:
            cache.match_cache_notebook(nb)
            report["cached"].append(name)
            continue
        except KeyError:
            pass
        stored = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
        code = [c for c in nb.cells if c.cell_type == "code"]
        if [c.source for c in stored] != [c.source for c in code]:  # the drift check reports this
            report["stale"].append(name)
            continue
        for cell, executed in zip(code, stored):
            cell.outputs, cell.execution_count = executed.outputs, executed.execution_count
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(page)), check_validity=False, overwrite=True)
        report["seeded"].append(name)
    return report


def prepare(source: Path = ROOT, path_output: Path | None = None) -> tuple[list[str], dict[str, list[str]]]:
    """The drift check's problems (the build must not start if any), and the cache seeding's report."""
    problems = chapters.drift(source)
    if problems:
        return problems, {}
    return [], seed_cache(source, path_output)


def _environment(builder: str, env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    if builder == "pdflatex":  # Sphinx's LaTeX Makefile compiles the book and each chapter's PDF: in parallel
        env.setdefault("MAKEFLAGS", f"-j{os.cpu_count() or 1}")
    return env


def run(
    builder: str = "html", source: Path = ROOT, path_output: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Prepare, then build, capturing the log (for tests): ``stdout`` holds stdout and stderr."""
    problems, report = prepare(source, path_output)
    if problems:
        message = "the committed notebooks differ from their sources (run `make notebooks`):\n" + "\n".join(problems)
        return subprocess.CompletedProcess(command(builder, source, path_output), 1, message, "")
    proc = subprocess.run(
        command(builder, source, path_output), cwd=source, capture_output=True, text=True, env=_environment(builder, env)
    )
    proc.stdout = _summary(report) + "\n" + proc.stdout
    return proc


def _summary(report: dict[str, list[str]]) -> str:
    return (
        f"execution cache: {len(report['seeded'])} committed notebooks seeded, {len(report['cached'])} already cached, "
        f"{len(report['stale'])} to execute{': ' + ', '.join(report['stale']) if report['stale'] else ''}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builder", choices=["html", "pdflatex"])
    parser.add_argument("--path-output", type=Path)
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    source = args.source.resolve()
    problems, report = prepare(source, args.path_output)
    if problems:
        print("error: the committed notebooks differ from their sources; run `make notebooks`:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(_summary(report), flush=True)
    cmd = command(args.builder, source, args.path_output)
    return subprocess.run(cmd, cwd=source, env=_environment(args.builder)).returncode


if __name__ == "__main__":
    sys.exit(main())
