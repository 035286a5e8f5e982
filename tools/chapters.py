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
the metadata, so executing an unchanged chapter again changes no byte.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
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


def sources() -> list[Path]:
    """Every chapter source: a MyST Markdown file that declares a Jupyter kernel."""
    return sorted(p for p in BOOK.rglob("*.md") if "kernelspec:" in p.read_text().split("\n---", 1)[0])


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
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    seen: set[str] = set()
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata})
        cell.id = _cell_id(cell.source, seen)
    return nb


def execute(source: Path) -> bool:
    """Execute a chapter top to bottom in a fresh kernel; write its notebook. True if the file changed."""
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
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
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


def _ruff(args: list[str], code: str) -> str:
    """``code`` passed through ``ruff`` (the project's configuration applies), as a notebook cell would be."""
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), *args, "--stdin-filename", str(ROOT / "book" / "cell.py"), "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    return done.stdout


def format_source(source: Path) -> bool:
    """Sort the imports of, and format, every code cell of a MyST chapter in place; True if it changed."""
    lines = source.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        if not lines[i].startswith("```{code-cell}"):
            i += 1
            continue
        i += 1
        if i < len(lines) and lines[i] == "---":  # a YAML block of cell options
            end = lines.index("---", i + 1)
            out.extend(lines[i : end + 1])
            i = end + 1
        while i < len(lines) and lines[i].startswith(":"):  # short cell options
            out.append(lines[i])
            i += 1
        end = lines.index("```", i)
        code = "\n".join(lines[i:end]).strip("\n")
        leading = lines[i:end][:1] == [""]
        code = _ruff(["check", "--fix-only", "--select", "I", "--quiet", "--exit-zero"], code + "\n")
        code = _ruff(["format", "--quiet"], code)
        out.extend(([""] if leading else []) + code.rstrip("\n").split("\n"))
        i = end
    text = "\n".join(out)
    changed = text != source.read_text()
    if changed:
        source.write_text(text)
    return changed


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
    problems = [p for s in sources() for p in differences(s)]
    print("\n".join(problems) or f"{len(sources())} notebooks match their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
