"""The execution cache is dropped when a requirements file changes (jupyter-cache keys on code only)."""

import shutil
import subprocess

from book_sources import ROOT


def run_make(folder):
    return subprocess.run(
        ["make", "-C", str(folder), "--no-print-directory", "_build/.requirements.sha256"],
        capture_output=True,
        text=True,
        check=True,
    )


def test_cache_is_invalidated_when_requirements_change(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "requirements.txt").write_text("-r requirements-reader.txt\n")
    (tmp_path / "requirements-reader.txt").write_text("numpy==1.0\n")
    run_make(tmp_path)
    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir()
    (cache / "entry").write_text("executed notebook")
    run_make(tmp_path)  # nothing changed: the cache stays
    assert (cache / "entry").exists()
    (tmp_path / "requirements-reader.txt").write_text("numpy==2.0\n")
    run_make(tmp_path)  # a reader's dependency changed: the cache goes
    assert not cache.exists()
    cache.mkdir()
    (tmp_path / "requirements.txt").write_text("-r requirements-reader.txt\nsphinx==7.4.7\n")
    run_make(tmp_path)  # a build dependency changed: the cache goes too
    assert not cache.exists()
