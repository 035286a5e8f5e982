"""Every chapter runs outside the repository: alone in a folder, in a fresh virtual environment
holding only ce_lib's wheel and requirements-reader.txt (what the 'Running the chapters' page
tells a JupyterHub or Colab user to install). Without ce_lib, a chapter stops with a clear message.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from book_sources import ROOT, notebooks

pytestmark = pytest.mark.notebooks


def nbclient_pin() -> str:
    """nbclient's pin in requirements.txt: the test runs chapters with its jupyter-execute."""
    return re.search(r"^nbclient==\S+", (ROOT / "requirements.txt").read_text(), flags=re.M).group(0)


@pytest.fixture(scope="module")
def reader_env(tmp_path_factory):
    """A fresh virtual environment with the reader's runtime, and the wheel built from this checkout."""
    base = tmp_path_factory.mktemp("reader")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(base / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = (base / "dist").glob("ce_lib-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True)
    python = base / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements-reader.txt"), nbclient_pin()],
        check=True,
        capture_output=True,
        text=True,
    )
    env = dict(
        os.environ,
        JUPYTER_PATH=str(base / "venv" / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(base / "jupyter-data"),
        PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        MPLBACKEND="Agg",
        PYTHONPATH="",
    )
    return base, python, wheel, env


def test_the_wheel_holds_ce_lib_only_typed_versioned_and_passes_twine(reader_env):
    import zipfile

    from ce_lib import __version__

    _, _, wheel, _ = reader_env
    assert wheel.name == f"ce_lib-{__version__}-py3-none-any.whl"  # the version from ce_lib/_version.py
    names = zipfile.ZipFile(wheel).namelist()
    assert all(n.startswith(("ce_lib/", f"ce_lib-{__version__}.dist-info/")) for n in names), names
    assert "ce_lib/py.typed" in names and "ce_lib/__init__.py" in names
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel)], capture_output=True, text=True)
    assert check.returncode == 0 and "PASSED" in check.stdout, check.stdout + check.stderr


def execute(notebook: Path, folder: Path, env: dict) -> subprocess.CompletedProcess:
    """Copy one notebook, alone, into ``folder`` and execute it there with nbclient."""
    folder.mkdir(parents=True)
    target = folder / notebook.name
    shutil.copyfile(notebook, target)
    return subprocess.run(
        [str(Path(env["PATH"].split(os.pathsep)[0]) / "jupyter-execute"), "--timeout=600", target.name],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )


def test_chapters_run_outside_the_repository_from_the_wheel(reader_env):
    base, python, wheel, env = reader_env
    chapter = next(p for p in notebooks() if p.name == "softmax.ipynb")
    missing = execute(chapter, base / "without-ce_lib", env)  # the wheel is not installed yet
    assert missing.returncode != 0
    assert "This chapter needs ce_lib" in missing.stdout + missing.stderr and "pip install" in missing.stdout + missing.stderr

    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    chapters = notebooks()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda nb: (nb, execute(nb, base / "chapters" / nb.stem, env)), chapters))
    failed = [f"{nb.name}:\n{run.stderr[-2000:]}" for nb, run in runs if run.returncode != 0]
    assert not failed, "chapters that failed outside the repository:\n" + "\n".join(failed)
    assert len(runs) == len(chapters) >= 15
    print(f"{len(runs)} chapter notebooks executed outside the repository with {wheel.name}")
