"""Chapter sources and their executed notebooks.

Each chapter is written as MyST Markdown (``book/**/name.md``, jupytext's ``myst``
format): that is the file authors edit and Sphinx builds. Beside it sits
``name.ipynb``, generated from it by this tool and committed with its outputs: the
notebook readers download and the one ``pytest --nbval`` re-executes and compares.

    python tools/chapters.py execute [CHAPTER.md ...]   # regenerate the notebooks (all by default)
    python tools/chapters.py check                      # fail if a notebook's cells differ from its source
    python tools/chapters.py format [CHAPTER.md ...]    # sort imports and format the code cells with ruff

A generated notebook carries nothing volatile: cell ids are derived from the cell's
source, no execution timestamps are recorded, and the Python version is left out of
the metadata, so executing an unchanged chapter again changes no byte. It records
what it was executed with: :func:`fingerprint`, a hash of ce_lib's sources and of the
pinned versions of every package the reader's requirements pull in (their closure in the lock). The book build reuses a
committed notebook's outputs only while that fingerprint is current
(``tools/build_book.py``); otherwise it executes the chapter again.

Which pages are executed comes from ``_toc.yml`` (``book/_ext/book_toc.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext
import jupytext.cli
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
sys.path.insert(0, str(BOOK / "_ext"))
import book_toc  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "name": "python",
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "pygments_lexer": "ipython3",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "nbconvert_exporter": "python",
}
# Cell metadata that belongs in the source; anything else jupytext or Jupyter adds is dropped.
KEPT_CELL_METADATA = ("tags", "mystnb")
# The notebook metadata key under which a generated notebook records what it was executed with.
EXECUTED_WITH = "ce_book"
# The requirements a chapter's kernel runs with: the reader's runtime, and the lock that pins its dependencies.
READER_REQUIREMENTS = "requirements-reader.txt"
LOCK = "requirements.lock"


def sources(root: Path = ROOT) -> list[Path]:
    """Every executed page's MyST source, in the order of ``_toc.yml``."""
    return book_toc.executed_pages(root)


def _lock_closure(lock: str, direct: str) -> list[str]:
    """The ``name==version`` lines of ``lock`` that ``direct`` (a requirements file's name) pulls in.

    uv and pip-tools annotate each pin with what required it (``# via``); a pin belongs to
    the closure when one of those is ``-r direct`` or another pin of the closure.
    """
    pins: dict[str, str] = {}
    via: dict[str, set[str]] = {}
    name = None
    for line in lock.splitlines():
        if line and not line.startswith((" ", "#")):
            pin = line.split(";")[0].strip()
            name = pin.split("==")[0].lower()
            pins[name], via[name] = pin, set()
        elif name and line.strip().startswith("#") and line.strip() != "# via":
            by = line.strip().lstrip("#").strip().removeprefix("via").strip()
            via[name].add(by.lower())
    closure = {n for n, by in via.items() if f"-r {direct}" in by}
    while True:
        grown = closure | {n for n, by in via.items() if by & closure}
        if grown == closure:
            return sorted(pins[n] for n in closure)
        closure = grown


def fingerprint(root: Path = ROOT) -> str:
    """A hash of what a chapter's outputs depend on besides its own code.

    ce_lib's sources (every file of the package) and the pinned versions of the packages a
    reader's environment holds: the reader's requirements and, from the lock, everything they
    pull in. A change to a test or lint tool's pin does not change it; a change to ce_lib does.
    """
    digest = hashlib.sha256()
    for path in sorted((root / "ce_lib").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    reader, lock = root / READER_REQUIREMENTS, root / LOCK
    if reader.exists():
        digest.update(reader.read_bytes())
    if lock.exists():
        digest.update("\n".join(_lock_closure(lock.read_text(), READER_REQUIREMENTS)).encode())
    return digest.hexdigest()


def executed_with(notebook: Path) -> str | None:
    """The fingerprint a committed notebook records, or None."""
    meta = nbformat.read(notebook, as_version=4).metadata
    return meta.get(EXECUTED_WITH, {}).get("executed_with")


def _metadata(executed: str | None = None) -> nbformat.NotebookNode:
    meta: dict = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    if executed is not None:
        meta[EXECUTED_WITH] = {"executed_with": executed}
    return nbformat.from_dict(meta)


def notebook_path(source: Path) -> Path:
    return source.with_suffix(".ipynb")


def _cell_id(source: str, seen: set[str]) -> str:
    digest = hashlib.sha1(source.encode()).hexdigest()
    n, cell_id = 0, digest[:8]
    while cell_id in seen:  # two cells with the same source
        n += 1
        cell_id = f"{digest[:8]}-{n}"
    seen.add(cell_id)
    return cell_id


def read_source(source: Path) -> nbformat.NotebookNode:
    """The chapter as an unexecuted notebook, with stable ids and only meaningful metadata."""
    nb = jupytext.read(source, fmt="md:myst")
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = _metadata()
    seen: set[str] = set()
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata})
        cell.id = _cell_id(cell.source, seen)
    return nb


def execute(source: Path, root: Path = ROOT) -> bool:
    """Execute a chapter top to bottom in a fresh kernel; write its notebook. True if the file changed."""
    executed = fingerprint(root)
    nb = read_source(source)
    # coalesce_streams: stdout arrives in timing-dependent chunks; one output per stream makes the bytes stable
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(source.parent)}},
    ).execute()
    nb.metadata = _metadata(executed)
    text = nbformat.writes(nb) + "\n"
    target = notebook_path(source)
    if target.exists() and target.read_text() == text:
        return False
    target.write_text(text)
    return True


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def differences(source: Path) -> list[str]:
    """How the committed notebook's cells differ from its source's (empty when they agree)."""
    target = notebook_path(source)
    if not target.exists():
        return [f"{_shown(target)} is missing: run `make notebooks`"]
    expected = read_source(source)
    stored = nbformat.read(target, as_version=4)
    problems = []
    if len(expected.cells) != len(stored.cells):
        problems.append(f"{len(stored.cells)} cells in the notebook, {len(expected.cells)} in the source")
    for i, (a, b) in enumerate(zip(expected.cells, stored.cells)):
        for key in ("cell_type", "source", "metadata", "id"):
            if a.get(key) != b.get(key):
                problems.append(f"cell {i}: {key} differs")
                break
    return [f"{_shown(target)}: {p}" for p in problems]


def format_source(source: Path) -> bool:
    """Sort the imports of, and format, every code cell of a MyST chapter in place; True if it changed.

    jupytext pipes the chapter's code, as a percent script, through ``ruff check --select I --fix``
    and ``ruff format`` (the project's configuration applies) and writes the cells back; it also
    writes each cell's YAML options in its own canonical layout.
    """
    ruff = Path(sys.executable).parent / "ruff"
    stdin = f"--stdin-filename {ROOT / 'book' / 'cell.py'}"
    before = source.read_text()
    jupytext.cli.jupytext(
        [
            "--quiet",
            "--pipe",
            f"{ruff} check --fix-only --select I --quiet --exit-zero {stdin} -",
            "--pipe",
            f"{ruff} format --quiet {stdin} -",
            str(source),
        ]
    )
    return source.read_text() != before


def drift(root: Path = ROOT) -> list[str]:
    """Every difference between an executed page's source and its committed notebook (empty: none)."""
    return [p for s in sources(root) for p in differences(s)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="regenerate executed notebooks from their sources")
    run.add_argument("chapters", nargs="*", type=Path)
    sub.add_parser("check", help="fail if a notebook's cells differ from its source")
    fmt = sub.add_parser("format", help="sort imports and format the code cells of the sources with ruff")
    fmt.add_argument("chapters", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.command == "format":
        for source in [p.resolve() for p in args.chapters] or sources():
            print(f"{'formatted' if format_source(source) else 'unchanged'} {source.relative_to(ROOT)}")
        return 0
    if args.command == "execute":
        for source in [p.resolve() for p in args.chapters] or sources():
            changed = execute(source)
            print(f"{'wrote' if changed else 'unchanged'} {notebook_path(source).relative_to(ROOT)}")
        return 0
    problems = drift()
    print("\n".join(problems) or f"{len(sources())} notebooks match their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
