"""CONTRIBUTING.md's recipes, checked against what they describe; and `make lab` opening the sources."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

import lab
import pytest
from book_sources import ROOT, book_toc

GUIDE = ROOT / "CONTRIBUTING.md"


def test_the_readme_links_the_contributing_guide():
    assert "(CONTRIBUTING.md)" in (ROOT / "README.md").read_text()


def test_every_test_file_the_guide_names_exists():
    """The guide says which test enforces each rule: each one it names must exist (and each function in it)."""
    text = GUIDE.read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert len(named) >= 10, named
    for path, function in named:
        source = ROOT / path
        assert source.is_file(), path
        if function:
            assert re.search(rf"^def {function}\b", source.read_text(), re.M), f"{path}::{function}"


def test_every_make_target_the_guide_names_exists():
    text = GUIDE.read_text()
    targets = set(re.findall(r"`make ([a-z-]+)", text))
    makefile = (ROOT / "Makefile").read_text()
    assert targets >= {"notebooks", "test", "lint", "lab", "lock"}, targets
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"make {target} is not a target"


def test_the_guide_names_every_chapter_rule_the_tests_enforce():
    """The chapter recipe lists the rules; each rule's words appear, so a rule cannot silently drop out."""
    text = GUIDE.read_text().lower()
    for rule in ("goals", "label", "notation", "exercises", "caption", "alt text", "_toc.yml", "__all__", "api.md"):
        assert rule in text, rule


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_opens_the_sources_and_hides_the_generated_notebooks(tmp_path):
    """Start a Jupyter server with `make lab`'s options: the file browser lists no .ipynb, and a MyST
    source opens as a notebook (jupytext's contents manager), with its cells."""
    settings = lab.set_default_viewer(tmp_path)
    viewers = json.loads(settings.read_text())["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            *lab.server_options(),
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        api = f"http://127.0.0.1:{port}/api/contents"
        for _ in range(150):
            try:
                urllib.request.urlopen(api, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        chapter = book_toc.chapters()[0].source
        folder = chapter.parent.relative_to(ROOT / "book").as_posix()
        listing = json.load(urllib.request.urlopen(f"{api}/{folder}"))
        names = {entry["name"] for entry in listing["content"]}
        assert chapter.name in names and not any(n.endswith(".ipynb") for n in names), names
        opened = json.load(urllib.request.urlopen(f"{api}/{folder}/{chapter.name}?type=notebook"))
        assert opened["type"] == "notebook" and len(opened["content"]["cells"]) > 10
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("chapter", book_toc.chapters(), ids=lambda c: c.stem)
def test_a_chapter_meets_the_guides_rules(chapter):
    """The rules of the guide's first recipe, for every chapter: goals at the top, at least three exercises
    each with a solution, and a labelled equation."""
    text = chapter.source.read_text()
    assert "**After this chapter you will be able to**" in text, chapter.stem
    exercises = len(re.findall(r"^```\{exercise\}", text, re.M))
    solutions = len(re.findall(r"^```\{solution-start\}", text, re.M))
    assert exercises >= 3 and solutions == exercises, (chapter.stem, exercises, solutions)
    assert re.search(r"\$\$\s*\(eq-|:label: eq-", text), chapter.stem
