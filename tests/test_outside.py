"""Every chapter runs outside the repository, from ce_lib's wheel, in the reader's environment.

``make test`` builds that environment (``tools/reader_env.py``: ``requirements-reader.txt``
constrained by the lock, and the wheel built from this checkout) and has nbval re-execute a
copy of each committed notebook, alone in a folder outside the repository, in its kernel,
comparing every output. These tests check the pieces around that single execution: the wheel,
that the environment pins what the project pins (so nbval's comparison there is the
reproducibility check of the project's environment too), that nbval did run every chapter
that way, and that a chapter without ce_lib stops with a clear message.

A plain ``pytest`` (no reader environment) runs nbval on ``book/`` in the project's own
environment instead, and skips these tests, saying so.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import chapters
import pytest
import reader_env
from book_sources import ROOT

READER = ROOT / ".venv-reader"


@pytest.fixture(scope="module")
def reader():
    if not (READER / ".requirements.sha256").exists() or not os.environ.get("CE_READER_NOTEBOOKS"):
        pytest.skip("the reader's environment is set up by `make test` (tools/reader_env.py)")
    (wheel,) = (READER / "dist").glob("ce_lib-*.whl")
    return READER / "bin" / "python", wheel


def test_the_wheel_holds_ce_lib_only_typed_versioned_and_passes_twine(reader):
    import zipfile

    from ce_lib import __version__

    _, wheel = reader
    assert wheel.name == f"ce_lib-{__version__}-py3-none-any.whl"  # the version from ce_lib/_version.py
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("ce_lib/", f"ce_lib-{__version__}.dist-info/")) for n in names), names
    assert "ce_lib/py.typed" in names and "ce_lib/__init__.py" in names
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel)], capture_output=True, text=True)
    assert check.returncode == 0 and "PASSED" in check.stdout, check.stdout + check.stderr


def test_the_readers_environment_has_the_projects_pinned_versions(reader):
    """Every package a chapter's kernel can import (the reader's requirements and what they pull in,
    from the lock) has the same version there as in the project's environment."""
    python, _ = reader
    pins = chapters._lock_closure((ROOT / "requirements.lock").read_text(), "requirements-reader.txt")
    names = [pin.split("==")[0] for pin in pins]
    script = "import json, sys, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    theirs = json.loads(subprocess.run([str(python), "-c", script, *names], capture_output=True, text=True, check=True).stdout)
    from importlib.metadata import version

    ours = {name: version(name) for name in names}
    assert len(pins) >= 20
    assert theirs == ours == {pin.split("==")[0]: pin.split("==")[1] for pin in pins}


def test_the_reader_kernel_imports_ce_lib_from_the_wheel_not_the_checkout(reader, tmp_path):
    python, _ = reader
    spec = json.loads((READER / "share/jupyter/kernels" / reader_env.KERNEL / "kernel.json").read_text())
    env = {**os.environ, **spec["env"]}
    where = subprocess.run(
        [str(python), "-c", "import ce_lib; print(ce_lib.__file__)"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(READER / reader_env.WHEEL_DIR), where.stdout


def test_nbval_ran_every_chapter_alone_outside_the_repository_in_the_readers_kernel(request, reader):
    """The single execution of each chapter (nbval) used the reader's kernel, on copies outside the repository."""
    assert request.config.option.nbval_kernel_name == reader_env.KERNEL
    assert not request.config.option.nbval_current_env
    outside = Path(os.environ["CE_READER_NOTEBOOKS"])
    collected = {Path(item.path) for item in request.session.items if str(item.path).endswith(".ipynb")}
    expected = {outside / nb.stem / nb.name for nb in map(chapters.notebook_path, chapters.sources())}
    assert collected == expected, (sorted(collected), sorted(expected))
    assert not any(path.is_relative_to(ROOT) for path in collected)


def test_a_chapter_without_ce_lib_stops_saying_how_to_install_it(reader, tmp_path):
    python, _ = reader
    chapter = next(nb for nb in map(chapters.notebook_path, chapters.sources()) if nb.name == "softmax.ipynb")
    shutil.copyfile(chapter, tmp_path / chapter.name)
    env = {**os.environ, "JUPYTER_PATH": str(READER / "share" / "jupyter")}
    run = subprocess.run(
        [str(python.parent / "jupyter-execute"), f"--kernel_name={reader_env.BARE_KERNEL}", "--timeout=600", chapter.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "This chapter needs ce_lib" in run.stdout + run.stderr and "pip install" in run.stdout + run.stderr
