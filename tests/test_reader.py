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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from book_sources import ROOT, chapter_sources, toc_files

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
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


def _settle(page, url: str) -> None:
    """Open ``url`` and wait until nothing more can happen: redirects followed, the page loaded, math typeset,
    fonts loaded.

    The root page redirects to the preface; waiting for the final URL means every
    message either page logs has arrived before the caller reads them, on any machine.
    MathJax's own promise says when typesetting (and the fonts it asks for) is done.
    """
    page.goto(url, wait_until="load")
    if urlsplit(url).path.rstrip("/") in ("", "/index.html"):
        page.wait_for_url("**/book/preface.html", wait_until="load")
    page.evaluate(
        """async () => {
          if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
          await document.fonts.ready;
        }"""
    )


def _open(browser, url, **context):
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    _settle(page, url)
    return ctx, page


# Every page of the built site, known before it is built: the table of contents' pages and Sphinx's own.
SPHINX_PAGES = ["index.html", "genindex.html", "search.html", "py-modindex.html", "prf-prf.html"]
PAGES = [src.relative_to(ROOT).with_suffix(".html").as_posix() for src in toc_files()] + SPHINX_PAGES
CHAPTER_PAGES = [src.relative_to(ROOT).with_suffix(".html").as_posix() for src in chapter_sources()]


@dataclass
class Visit:
    """What one visit to a page saw: at 1280 px, then resized to a phone's 390 px."""

    outside: list[str]
    errors: list[str]
    math: dict
    links: list[str]
    axe: list[dict]
    overflow_at_390: int
    transferred: dict[str, int]
    icon: list | None


@pytest.fixture(scope="session")
def visits(site, browser) -> dict[str, Visit]:
    """Each page visited once, in a fresh browser context (a cold cache, so every byte is counted)."""
    from axe_playwright_python.sync_playwright import Axe

    origin, root = site
    axe = Axe()
    seen: dict[str, Visit] = {}
    for page_path in html_pages(root):
        rel = page_path.relative_to(root).as_posix()
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        outside: list[str] = []
        errors: list[str] = []
        sizes: dict[str, int] = {}
        page.on(
            "request", lambda r: outside.append(r.url) if not r.url.startswith((origin, "data:", "blob:", "about:")) else None
        )
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body()) if r.ok else 0))
        _settle(page, f"{origin}/{rel}")
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
        icon = page.evaluate(
            """() => { const i = document.querySelector('i.fa-solid, i.fas');
                       const s = i && getComputedStyle(i, '::before');
                       return i ? [s.content, s.fontFamily, document.fonts.check('900 16px "Font Awesome 6 Free"')] : null; }"""
        )
        # what the reader's browser did, before axe-core runs: to build its CSS model axe fetches the
        # stylesheets' @imports itself, resolved against the site's root (a 404 no reader ever sees)
        seen_outside, seen_errors, seen_sizes = list(outside), list(errors), dict(sizes)
        violations = axe.run(page).response["violations"]
        page.set_viewport_size({"width": 390, "height": 844})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        ctx.close()
        seen[rel] = Visit(seen_outside, seen_errors, math, links, violations, overflow, seen_sizes, icon)
    return seen


def test_the_visited_pages_are_every_page_built(site):
    _, root = site
    assert sorted(p.relative_to(root).as_posix() for p in html_pages(root)) == sorted(PAGES)


@pytest.mark.parametrize("rel", PAGES)
def test_page_reads_offline_with_rendered_math_and_working_links(site, visits, rel):
    origin, root = site
    seen = visits[rel]
    problems = [f"request left the site: {u}" for u in seen.outside]
    problems += [f"console error: {e}" for e in seen.errors]
    problems += [f"math left as raw TeX: {t!r}" for t in seen.math["raw"]]
    if seen.math["errors"]:
        problems.append(f"{seen.math['errors']} MathJax error(s)")
    for href in seen.links:
        if not href.startswith(origin):
            continue
        parts = urlsplit(href)
        target = root / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"broken link {href}")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target):
            problems.append(f"link to a missing anchor {href}")
    assert not problems, "\n".join(sorted(set(problems))[:40])


@pytest.mark.parametrize("rel", PAGES)
def test_page_has_no_serious_accessibility_violation(visits, rel):
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} e.g. {v['nodes'][0]['target']}"
        for v in visits[rel].axe
        if v["impact"] in ("serious", "critical")
    ]
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("rel", PAGES)
def test_page_fits_a_phone_without_horizontal_scrolling(visits, rel):
    assert visits[rel].overflow_at_390 <= 0, f"{rel}: {visits[rel].overflow_at_390}px too wide at 390 px"


@pytest.mark.parametrize("rel", CHAPTER_PAGES)
def test_chapter_page_transfers_at_most_2_mb_and_still_shows_icons(visits, rel):
    """Every chapter page transfers at most 2 MB: no fontawesome.js, only the MathJax components used.

    The stylesheet's web-font icons must still render (MathJax is checked by the offline
    reading test). Prints the bytes the page transfers.
    """
    seen = visits[rel]
    assert not any("fontawesome.js" in url for url in seen.transferred), rel
    icon = seen.icon
    assert icon and icon[0] not in ("none", "normal", '""') and "Font Awesome" in icon[1] and icon[2], (rel, icon)
    total = sum(seen.transferred.values())
    print(f"{rel}: {total / 1e6:.3f} MB")
    assert total <= 2_000_000, f"{rel} transfers {total / 1e6:.3f} MB, more than 2 MB"


def test_root_page_has_a_head_and_a_visible_link_to_the_preface(site, browser):
    """A real page, not a bare refresh: a title, the book's icon (so no /favicon.ico 404) and a link."""
    origin, root = site
    text = (root / "index.html").read_text()
    assert re.search(r"<title>[^<]*Softmax[^<]*</title>", text), "the root page has no title"
    icon = re.search(r'<link rel="icon" href="([^"]+)"', text)
    assert icon and (root / icon.group(1)).is_file(), "the root page names no existing icon"
    assert '<a href="book/preface.html">' in text, "no visible link for browsers that ignore meta refresh"
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(urlsplit(r.url).path))
    page.goto(f"{origin}/index.html", wait_until="networkidle")
    page.wait_for_url("**/book/preface.html", wait_until="networkidle")
    ctx.close()
    assert "/favicon.ico" not in requests, f"the browser still asked for /favicon.ico: {requests}"


@pytest.mark.parametrize(
    "query, expected_page",
    [
        ("softmax", "book/part1/softmax.html"),
        ("Kullback", "book/part2/kl_divergence.html"),
        ("log-sum-exp", "book/part1/softmax.html"),
    ],
)
def test_search_finds_the_right_chapter_offline(site, browser, query, expected_page):
    origin, _ = site
    ctx, page = _open(browser, f"{origin}/search.html?q={query}")
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((origin, "data:", "blob:")) else None)
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    ctx.close()
    assert any(expected_page in h for h in hrefs), f"'{query}' did not find {expected_page}: {hrefs[:8]}"
    assert not outside


def test_every_chapter_offers_its_notebook_for_download(built_book):
    from book_sources import ROOT, notebooks

    for nb in notebooks():
        rel = nb.relative_to(ROOT)
        html = (built_book.html / rel.with_suffix(".html")).read_text()
        assert f"_sources/{rel.as_posix()}" in html, f"{rel} has no download link"
        assert (built_book.html / "_sources" / rel).exists()


def test_execution_table_lists_every_notebook(built_book):
    from book_sources import notebooks

    table = (built_book.html / "book" / "notebooks.html").read_text()
    for nb in notebooks():
        assert nb.stem in table, f"{nb.stem} missing from the execution table"


def test_every_figure_has_alt_text_and_an_opaque_background(built_book):
    import matplotlib.image

    figures = 0
    for page in html_pages(built_book.html):
        for tag in re.findall(r"<img\b[^>]*>", page.read_text()):
            alt = re.search(r'\balt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), f"{page.name}: image without alt text: {tag[:120]}"
            src = re.search(r'\bsrc="([^"]+)"', tag).group(1)
            if src.endswith(".png") and "_images" in src:
                figures += 1
                pixels = matplotlib.image.imread(str((page.parent / src).resolve()))
                if pixels.shape[-1] == 4:  # on a dark page a transparent figure would show dark text on dark
                    assert pixels[..., 3].min() == 1.0, f"{src} has transparent pixels"
    import json

    from book_sources import notebooks

    stored = sum(
        1
        for nb in notebooks()
        for c in json.loads(nb.read_text())["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    assert figures >= stored > 0, f"{figures} figures in the HTML, {stored} stored in the notebooks"


def test_dark_mode_keeps_equations_and_figures_legible(site, browser):
    origin, _ = site
    ctx, page = _open(browser, f"{origin}/book/part1/softmax.html", color_scheme="dark")
    theme = page.evaluate("() => document.documentElement.dataset.theme")
    colours = page.evaluate(
        """() => {
          const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (0.2126*r + 0.7152*g + 0.0722*b) / 255; };
          const maths = [...document.querySelectorAll('mjx-container')].slice(0, 30).map(m => lum(getComputedStyle(m).color));
          const body = lum(getComputedStyle(document.querySelector('.bd-article') || document.body).backgroundColor);
          const imgs = [...document.querySelectorAll('.bd-article img')].map(i => lum(getComputedStyle(i).backgroundColor));
          return {maths, body, imgs};
        }"""
    )
    ctx.close()
    assert theme == "dark"
    assert colours["maths"] and min(colours["maths"]) > 0.6, "dark text for equations on a dark page"
    # the figures themselves are opaque white PNGs (test above); the theme also backs them with a light colour
    assert colours["imgs"] and all(lightness > 0.6 for lightness in colours["imgs"]), (
        "figures need a light backing on the dark theme"
    )


def _readout(page, figure: str) -> dict[str, str]:
    return page.evaluate(
        """(name) => Object.fromEntries([...document.querySelectorAll(`figure[data-figure="${name}"] [data-quantity]`)]
                                         .map(s => [s.dataset.quantity, s.textContent]))""",
        figure,
    )


def _agrees_to_4_significant_digits(shown: str, exact: float) -> bool:
    """``shown`` (JavaScript's toPrecision(4), or "0") is ``exact`` rounded to 4 significant digits."""
    if shown == "0":
        return exact == 0
    value = float(shown)
    half_unit = 0.5 * 10.0 ** (np.floor(np.log10(abs(exact))) - 3)
    return abs(value - exact) <= half_unit * (1 + 1e-9)


def _move(page, figure: str, keys: list[str]) -> None:
    """Operate the figure's slider with the keyboard only: focus it, then press the keys."""
    slider = page.locator(f'figure[data-figure="{figure}"] input[type="range"]')
    slider.focus()
    for key in keys:
        page.keyboard.press(key)


# (chapter page, figure, key presses): every figure is driven to both ends and to points in between
INTERACTIVE = [
    ("book/part1/softmax.html", "softmax-temperature", [[], ["Home"], ["End"], ["Home", *["ArrowRight"] * 37], ["PageDown"]]),
    ("book/part2/kl_divergence.html", "kl-path", [[], ["Home"], ["End"], ["Home", *["ArrowRight"] * 73], ["ArrowLeft"] * 5]),
    ("book/part3/gradients.html", "bce-logit", [[], ["Home"], ["End"], ["Home", *["ArrowRight"] * 121], ["PageUp"]]),
]


@pytest.mark.parametrize("rel, figure, moves", INTERACTIVE, ids=[f for _, f, _ in INTERACTIVE])
def test_interactive_figures_show_what_ce_lib_computes(site, browser, rel, figure, moves):
    """Move each control with the keyboard and compare every number shown with ce_lib, to 4 significant digits.

    Also: the slider has a label and an aria-valuetext that follows it, the read-out is a
    live region, the drawing is an image with an accessible name, and nothing is fetched
    from outside the site (the figure is plain JavaScript and SVG shipped with the book).
    """
    import ce_lib

    origin, _ = site
    ctx, page = _open(browser, f"{origin}/{rel}")
    seen, checked = set(), 0
    for keys in moves:
        _move(page, figure, keys)
        shown = _readout(page, figure)
        if figure == "softmax-temperature":
            t = float(shown["T"])
            assert 0.05 <= t <= 20
            expected = dict(zip(["q1", "q2", "q3"], ce_lib.softmax(np.array([2.3, -1.2, 0.7]) / t)))
            state = t
        elif figure == "kl-path":
            lam = float(shown["lambda"])
            p, a, b = np.array([0.5, 0.3, 0.2]), np.array([0.15, 0.5, 0.35]), np.array([0.85, 0.1, 0.05])
            q = (1 - lam) * a + lam * b
            expected = {
                "q1": q[0],
                "q2": q[1],
                "q3": q[2],
                "kl_pq": ce_lib.kl_divergence(p, q),
                "kl_qp": ce_lib.kl_divergence(q, p),
            }
            state = lam
        else:
            z = float(shown["z"])
            assert -8 <= z <= 8
            loss = lambda y: ce_lib.binary_cross_entropy_with_logits(z, y)
            grad = lambda y: ce_lib.binary_cross_entropy_with_logits_grad(np.array(z), np.array(y))
            expected = {"loss1": loss(1.0), "loss0": loss(0.0), "grad1": grad(1.0), "grad0": grad(0.0)}
            state = z
        seen.add(state)
        for key, value in expected.items():
            assert _agrees_to_4_significant_digits(shown[key], float(value)), (figure, state, key, shown[key], float(value))
            checked += 1
    a11y = page.evaluate(
        """(name) => {
          const f = document.querySelector(`figure[data-figure="${name}"]`);
          const input = f.querySelector('input[type="range"]');
          const label = f.querySelector(`label[for="${input.id}"]`);
          const svg = f.querySelector('svg');
          const live = f.querySelector('[aria-live]');
          return {label: label && label.textContent, valuetext: input.getAttribute('aria-valuetext'),
                  svgRole: svg.getAttribute('role'), svgName: svg.getAttribute('aria-label'),
                  live: live && live.getAttribute('aria-live'), caption: !!f.querySelector('figcaption')};
        }""",
        figure,
    )
    ctx.close()
    assert len(seen) == len(moves), f"{figure}: the keys did not move the control to {len(moves)} distinct states: {seen}"
    assert checked >= 3 * len(moves)
    assert a11y["label"] and a11y["valuetext"] and a11y["svgRole"] == "img" and a11y["svgName"], a11y
    assert a11y["live"] == "polite" and a11y["caption"], a11y
    print(f"{figure}: {checked} numbers checked against ce_lib at {len(seen)} positions")


def test_interactive_figures_are_legible_in_both_themes(site, browser):
    """Text, curves and bars of every interactive figure contrast with the page at least 4.5:1 (WCAG AA) in both themes."""
    origin, _ = site
    for rel, figure, _ in INTERACTIVE:
        for scheme in ("light", "dark"):
            ctx, page = _open(browser, f"{origin}/{rel}", color_scheme=scheme)
            ratios = page.evaluate(
                """(name) => {
                  const lum = c => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(x => x / 255)
                                      .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
                                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
                  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((s, t) => t - s); return (x + 0.05) / (y + 0.05); };
                  let node = document.querySelector('.bd-article'), bg = 'rgba(0, 0, 0, 0)';
                  while (node && /rgba\\(.*, 0\\)/.test(bg = getComputedStyle(node).backgroundColor)) node = node.parentElement;
                  if (!node) bg = getComputedStyle(document.body).backgroundColor;
                  const f = document.querySelector(`figure[data-figure="${name}"]`);
                  const marks = [...f.querySelectorAll('svg text')].map(t => getComputedStyle(t).fill)
                    .concat([...f.querySelectorAll('.ce-curve')].map(c => getComputedStyle(c).stroke))
                    .concat([...f.querySelectorAll('.ce-bar')].map(b => getComputedStyle(b).fill))
                    .concat([getComputedStyle(f.querySelector('.ce-readout')).color]);
                  return {theme: document.documentElement.dataset.theme, worst: Math.min(...marks.map(m => ratio(m, bg))), n: marks.length};
                }""",
                figure,
            )
            ctx.close()
            assert ratios["theme"] == scheme
            assert ratios["n"] > 5 and ratios["worst"] >= 4.5, (rel, scheme, ratios)
