"""Read the built book as a person would: every page in headless Chromium, served on 127.0.0.1.

Fails on any request that leaves the local server, any console error, any MathJax
error, any math left as raw TeX, and any broken internal link or anchor.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(built_book):
    if built_book.returncode != 0:
        pytest.fail("the book did not build; see test_book_builds_strictly")
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", built_book.html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed; install it to run the reader tests (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def html_pages(root: Path) -> list[Path]:
    skip = {"_static", "_sources", "_images", "_downloads"}
    return sorted(p for p in root.rglob("*.html") if not skip & set(p.relative_to(root).parts))


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))


def test_every_page_reads_offline_with_rendered_math_and_working_links(site, browser):
    origin, root = site
    pages = html_pages(root)
    assert len(pages) >= 3
    problems: list[str] = []
    for page_path in pages:
        rel = page_path.relative_to(root).as_posix()
        page = browser.new_page()
        outside: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((origin, "data:", "blob:", "about:")) else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        page.goto(f"{origin}/{rel}", wait_until="networkidle")
        page.evaluate("() => (window.MathJax && MathJax.startup) ? MathJax.startup.promise : null")
        math = page.evaluate(
            """() => {
              const nodes = [...document.querySelectorAll('.math')];
              return {
                total: nodes.length,
                raw: nodes.filter(n => !n.querySelector('mjx-container') && !n.closest('mjx-container')).map(n => n.textContent.slice(0, 60)),
                errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
              };
            }"""
        )
        links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        page.close()
        problems += [f"{rel}: request left the site: {u}" for u in outside]
        problems += [f"{rel}: console error: {e}" for e in errors]
        problems += [f"{rel}: math left as raw TeX: {t!r}" for t in math["raw"]]
        if math["errors"]:
            problems.append(f"{rel}: {math['errors']} MathJax error(s)")
        for href in links:
            if not href.startswith(origin):
                continue
            parts = urlsplit(href)
            target = root / unquote(parts.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {href}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target):
                problems.append(f"{rel}: link to a missing anchor {href}")
    assert not problems, "\n".join(sorted(set(problems))[:40])
