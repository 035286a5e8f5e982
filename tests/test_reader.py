"""Read the built book as a person would: every page in headless Chromium, served on 127.0.0.1.

Fails on any request that leaves the local server, any console error, any MathJax
error, any math left as raw TeX, and any broken internal link or anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lighter_pages  # book/_ext, on the path through book_sources
import numpy as np
import pytest
from book_sources import ROOT, chapter_sources, toc_files

pytestmark = pytest.mark.browser


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
    equations: dict  # display equations and scrolling boxes, at 1280 px and at 390 px
    icon_chars: list[int]  # the code points of every Font Awesome glyph the page draws


# Every display equation, and every other box that scrolls sideways (tables, outputs, code): how much each
# hides, and whether it shows the cue (book/_static/ce_reader.js sets the class, custom.css draws a shadow).
_BOXES = """() => {
  const describe = (box, kind) => {
    const style = getComputedStyle(box);
    const eqno = kind === 'equation' && box.closest('div.math') && box.closest('div.math').querySelector('.eqno');
    return {kind, hidden: box.scrollWidth - box.clientWidth, name: eqno ? eqno.textContent.replace(/[#\\s]/g, '')
              : box.textContent.replace(/\\s+/g, ' ').slice(0, 50),
            cue: box.classList.contains('ce-scrolls-right') && style.boxShadow !== 'none',
            scrolls: ['auto', 'scroll'].includes(style.overflowX)};
  };
  return [...document.querySelectorAll('mjx-container[display="true"]')].map(b => describe(b, 'equation'))
    .concat([...document.querySelectorAll('.bd-article table, div.cell_output div.output, .bd-article div.highlight pre')]
            .map(b => describe(b, 'box')));
}"""

# The code points of the Font Awesome glyphs drawn on the page (the theme draws icons as ::before content).
_ICON_CHARS = """() => {
  const chars = new Set();
  for (const el of document.querySelectorAll('body *:not(mjx-container *)')) {
    for (const pseudo of ['::before', '::after']) {
      const style = getComputedStyle(el, pseudo);
      // the solid icons: the font cut down by book/_ext/lighter_pages.py
      if (!/Font Awesome 6 Free/.test(style.fontFamily) || style.fontWeight !== '900' || !/^"/.test(style.content)) continue;
      for (const ch of JSON.parse(style.content)) chars.add(ch.codePointAt(0));
    }
  }
  return [...chars];
}"""


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
              const containers = [...document.querySelectorAll('mjx-container')];
              return {
                total: nodes.length,
                raw: nodes.filter(n => !n.querySelector('mjx-container') && !n.closest('mjx-container')).map(n => n.textContent.slice(0, 60)),
                errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
                containers: containers.length,
                // MathJax's assistive MathML: what a screen reader reads instead of the glyphs
                unreadable: containers.filter(c => {
                  const m = c.querySelector(':scope > mjx-assistive-mml > math');
                  return !m || !m.textContent.trim() || c.querySelector(':scope > mjx-assistive-mml').getAttribute('unselectable') !== 'on';
                }).map(c => c.textContent.slice(0, 40)),
              };
            }"""
        )
        links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        icon = page.evaluate(
            """() => { const i = document.querySelector('i.fa-solid, i.fas');
                       const s = i && getComputedStyle(i, '::before');
                       return i ? [s.content, s.fontFamily, document.fonts.check('900 16px "Font Awesome 6 Free"')] : null; }"""
        )
        equations_wide = page.evaluate(_BOXES)
        icon_chars = page.evaluate(_ICON_CHARS)
        # what the reader's browser did, before axe-core runs: to build its CSS model axe fetches the
        # stylesheets' @imports itself, resolved against the site's root (a 404 no reader ever sees)
        seen_outside, seen_errors, seen_sizes = list(outside), list(errors), dict(sizes)
        violations = axe.run(page).response["violations"]
        page.set_viewport_size({"width": 390, "height": 844})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        equations = {"1280": equations_wide, "390": page.evaluate(_BOXES)}
        ctx.close()
        seen[rel] = Visit(seen_outside, seen_errors, math, links, violations, overflow, seen_sizes, icon, equations, icon_chars)
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
def test_every_equation_is_readable_by_a_screen_reader(visits, rel):
    """Each typeset expression carries MathJax's assistive MathML: a hidden <math> element that screen readers
    read instead of the glyphs (without it (3.1) was read as "q k = s o f t m a x ( s ) k = e s k ...")."""
    math = visits[rel].math
    assert not math["unreadable"], f"{len(math['unreadable'])} of {math['containers']} without MathML: {math['unreadable'][:5]}"
    print(f"{rel}: {math['containers']} expressions, all with MathML")


@pytest.mark.parametrize("rel", PAGES)
def test_no_display_equation_is_cut_off(visits, rel):
    """At 1280 px no display equation hides any of its width; at 390 px an equation (or a table, an output, a
    code block) that does not fit scrolls inside its own box and shows the cue that it does."""
    boxes = visits[rel].equations
    wide = [f"{b['name']} hides {b['hidden']} px" for b in boxes["1280"] if b["kind"] == "equation" and b["hidden"] > 1]
    hidden_on_phone = [b for b in boxes["390"] if b["hidden"] > 1]
    no_cue = [f"{b['kind']} {b['name']!r} hides {b['hidden']} px" for b in hidden_on_phone if not (b["cue"] and b["scrolls"])]
    equations = [b for b in boxes["390"] if b["kind"] == "equation"]
    scrolling = sum(b["kind"] == "equation" for b in hidden_on_phone)
    print(f"{rel}: {len(equations)} display equations; at 390 px {scrolling} scroll, with the cue")
    assert not wide, f"{rel} at 1280 px: {wide}"
    assert not no_cue, f"{rel} at 390 px, without a cue: {no_cue[:10]}"


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


def test_the_icon_font_holds_every_icon_the_pages_draw(site, visits):
    """The icon font is cut down to the icons the pages use (book/_ext/lighter_pages.py): every glyph drawn on
    any page, at either width, must be in it, or the reader would see an empty box."""
    from fontTools.ttLib import TTFont

    _, root = site
    font = root / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2"
    cmap = set(TTFont(str(font)).getBestCmap())
    drawn = {char: rel for rel, seen in visits.items() for char in seen.icon_chars}
    assert len(drawn) >= 8, f"too few icons drawn to trust the measurement: {sorted(map(hex, drawn))}"
    missing = {hex(char): rel for char, rel in drawn.items() if char not in cmap}
    assert not missing, f"icons drawn but not in the font: {missing}"
    print(f"{len(drawn)} icons drawn; the font holds {len(cmap)} glyphs, {font.stat().st_size} bytes")


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


def test_every_figure_has_alt_text_an_opaque_background_and_opens_full_size(built_book):
    """Every image has alt text; every figure a chapter draws is SVG (sharp at any pixel density and zoom: a
    1x PNG was soft on phones), painted on an opaque white background so that it stays legible on the dark
    theme, and linked to its own file, so that a phone reader can open it full size and zoom in."""
    import json

    from book_sources import notebooks

    figures = 0
    for page in html_pages(built_book.html):
        text = page.read_text()
        for tag in re.findall(r"<img\b[^>]*>", text):
            alt = re.search(r'\balt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), f"{page.name}: image without alt text: {tag[:120]}"
            src = re.search(r'\bsrc="([^"]+)"', tag).group(1)
            if "_images" not in src:
                continue
            assert src.endswith(".svg"), f"{page.name}: a figure as {src}, not SVG"
            figures += 1
            svg = (page.parent / src).resolve().read_text()
            width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
            background = re.search(
                r'<g id="patch_1">\s*<path d="M 0 ([\d.]+) \s*L ([\d.]+) \1 \s*L \2 0 \s*L 0 0 \s*z\s*"'
                r' style="fill: #ffffff"',
                svg,
            )
            assert background and float(background.group(1)) == height and float(background.group(2)) == width, (
                f"{src}: its first shape is not an opaque white background covering the figure"
            )
            assert re.search(r'<a class="ce-figure-full" href="' + re.escape(src) + r'"[^>]*>\s*' + re.escape(tag), text), (
                f"{page.name}: {src} does not open full size"
            )
    stored = [
        o["data"]
        for nb in notebooks()
        for c in json.loads(nb.read_text())["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
    ]
    assert all("image/svg+xml" in data and "image/png" in data for data in stored), "a figure stored without its SVG or PNG"
    assert figures >= len(stored) > 0, f"{figures} figures in the HTML, {len(stored)} stored in the notebooks"


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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_code_keeps_its_colours_once_plain_tokens_lose_their_spans(site, browser, scheme):
    """book/_ext/lighter_pages.py unwraps the spans Pygments draws in the block's own colour: the text left bare
    must take that colour (the theme gives pre another), and only the plain classes may have gone."""
    origin, root = site
    plain = lighter_pages.plain_token_classes((root / "_static" / "pygments.css").read_text(encoding="utf-8"))
    assert {"n", "p", "w"} <= plain, plain  # names, punctuation and spaces: most of the tokens
    ctx, page = _open(browser, f"{origin}/book/part6/variational_inference.html", color_scheme=scheme)
    seen = page.evaluate(
        """(plain) => {
          const blocks = [...document.querySelectorAll('div.highlight')].filter(d => d.querySelector(':scope > pre'));
          return {theme: document.documentElement.dataset.theme,
                  blocks: blocks.length,
                  differ: blocks.filter(d => getComputedStyle(d.querySelector(':scope > pre')).color !== getComputedStyle(d).color).length,
                  plainSpans: blocks.reduce((n, d) => n + d.querySelectorAll(plain.map(c => `span.${c}`).join(',')).length, 0),
                  coloured: blocks.reduce((n, d) => n + d.querySelectorAll('pre span.o, pre span.mi').length, 0)};
        }""",
        sorted(plain),
    )
    ctx.close()
    assert seen["theme"] == scheme
    assert seen["blocks"] > 20 and seen["coloured"] > 100, seen  # the coloured tokens keep their spans
    assert seen["plainSpans"] == 0, seen
    assert seen["differ"] == 0, f"{seen['differ']} code blocks draw their bare text in another colour than the block's"


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


def _sidebar_state(page) -> dict:
    return page.evaluate(
        """() => {
          const visible = el => { if (!el) return false; const r = el.getBoundingClientRect(), s = getComputedStyle(el);
                                  return r.width > 0 && r.height > 0 && r.right > 0 && s.visibility !== 'hidden' && s.opacity !== '0'; };
          const dialog = document.querySelector('#pst-primary-sidebar-modal');
          const link = [...document.querySelectorAll('a')].find(a => /Numerical stability/.test(a.textContent) && visible(a));
          return {dialog: !!(dialog && dialog.open), tocLinkVisible: !!link,
                  sidebarVisible: visible(document.querySelector('#pst-primary-sidebar'))};
        }"""
    )


@pytest.mark.parametrize("width", [390, 800, 1280])
def test_the_table_of_contents_opens_and_closes_from_the_visible_button(site, browser, width):
    """At a phone's, a tablet's and a laptop's width: the visible "Site navigation" button, pressed with the keyboard,
    shows the table of contents and then hides it again. On narrow screens it opens as a dialog, which closes from
    its visible Close button and with Escape; on wide ones the sidebar collapses and comes back."""
    origin, _ = site
    ctx, page = _open(browser, f"{origin}/book/part1/softmax.html", viewport={"width": width, "height": 844})
    buttons = page.locator(".primary-toggle")
    visible = [i for i in range(buttons.count()) if buttons.nth(i).is_visible()]
    assert len(visible) == 1, f"{len(visible)} visible navigation buttons at {width} px"
    button = buttons.nth(visible[0])
    before = _sidebar_state(page)
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(400)  # the sidebar's transition
    opened = _sidebar_state(page)
    if width < 992:  # the theme's breakpoint: narrower, the sidebar is a dialog
        assert not before["dialog"] and not before["tocLinkVisible"], before
        assert opened["dialog"] and opened["tocLinkVisible"], f"the button did not open the contents at {width} px: {opened}"
        close = page.locator("#pst-primary-sidebar-modal .ce-dialog-close")
        assert close.is_visible()
        close.click()
        page.wait_for_timeout(300)
        assert not _sidebar_state(page)["dialog"], "the Close button did not close the dialog"
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        assert _sidebar_state(page)["dialog"], "the button did not open the contents a second time"
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        after = _sidebar_state(page)
        assert not after["dialog"] and not after["tocLinkVisible"], f"Escape did not close the contents: {after}"
    else:
        assert before["sidebarVisible"] and before["tocLinkVisible"], before
        assert not opened["sidebarVisible"] and not opened["tocLinkVisible"], f"the button did not hide the sidebar: {opened}"
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_timeout(400)
        assert _sidebar_state(page)["tocLinkVisible"], "the button did not bring the sidebar back"
    ctx.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_chapter_is_one_tap_from_the_home_page(site, browser, width):
    """The home page (the root, which redirects to the preface) has a visible "Start here" link to Chapter 1."""
    origin, _ = site
    ctx, page = _open(browser, f"{origin}/index.html", viewport={"width": width, "height": 844})
    link = page.get_by_role("link", name=re.compile("Start here"))
    assert link.count() >= 1 and link.first.is_visible()
    link.first.click()
    page.wait_for_load_state("load")
    title = page.title()
    ctx.close()
    assert page.url.endswith("book/part1/scores_and_sigmoid.html") and "sigmoid" in title.lower(), (page.url, title)


def _display_tex(source: str, label: str) -> str:
    """The TeX of the display equation labelled ``label`` in a chapter's MyST source, whitespace collapsed."""
    match = re.search(r"\$\$(.*?)\$\$\s*\(" + re.escape(label) + r"\)", source, re.S)
    assert match, label
    return " ".join(match.group(1).split())


def test_a_reader_can_copy_an_equations_tex(site, browser):
    """Each display equation has a "Copy TeX" button that puts its TeX, as written in the chapter, on the clipboard;
    copying a selected sentence puts its inline mathematics on the clipboard as $...$ TeX, not as glyphs."""
    origin, _ = site
    source = (ROOT / "book" / "part1" / "softmax.md").read_text()
    ctx, page = _open(browser, f"{origin}/book/part1/softmax.html", permissions=["clipboard-read", "clipboard-write"])
    page.wait_for_selector("#equation-eq-softmax .ce-copy-tex, div.math:has(#equation-eq-softmax) .ce-copy-tex")
    box = page.locator("div.math:has(#equation-eq-softmax), div.math#equation-eq-softmax").first
    button = box.locator(".ce-copy-tex")
    assert button.is_visible() and "(3.1)" in button.get_attribute("aria-label")
    button.click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("$$") and copied.endswith("$$")
    assert " ".join(copied[2:-2].split()) == _display_tex(source, "eq-softmax"), copied
    buttons = page.locator(".ce-copy-tex").count()
    displays = page.locator("div.math mjx-container").count()
    # a selected sentence with inline mathematics
    sentence = page.evaluate(
        """() => {
          const p = [...document.querySelectorAll('.bd-article p')].find(p => p.querySelector('mjx-container') && p.textContent.length < 400);
          const range = document.createRange(); range.selectNodeContents(p);
          const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
          return [...p.querySelectorAll('mjx-container')].length;
        }"""
    )
    page.keyboard.press("Control+C")
    text = page.evaluate("() => navigator.clipboard.readText()")
    ctx.close()
    assert buttons == displays > 5, (buttons, displays)
    assert sentence >= 1 and text.count("$") == 2 * sentence, text
    for tex in re.findall(r"\$([^$]+)\$", text):
        assert f"${tex}$" in source or tex in source, f"copied {tex!r}, which the chapter does not have"


_LABEL = re.compile(r"(?<![\w/#.-])(?:eq|fig|ex|sec|tab)-[a-z0-9]+(?:-[a-z0-9]+)*\b")
_ROLE = re.compile(r"\{(?:ref|eq|numref|doc|cite|cite:p|cite:t|index|py:func|term|download)\}")


def test_no_page_shows_a_raw_label_or_a_roles_source(built_book):
    """Outside code, no page shows a label ("eq-temperature-convex") where a number belongs, or a role's source
    ("{eq}`...`"): both are what a reference that failed to resolve, or one written as plain text, looks like.
    Alt text and titles are read too."""
    import html

    problems = []
    for page in html_pages(built_book.html):
        if page.name in ("genindex.html", "search.html"):
            continue
        page_html = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", page.read_text(), flags=re.S)
        shown = re.findall(r'\b(?:alt|title|aria-label)="([^"]*)"', page_html)
        text = html.unescape(" ".join([re.sub(r"<[^>]+>", " ", page_html), *shown]))
        for m in _LABEL.finditer(text):
            problems.append(f"{page.name}: {m.group(0)!r} in '...{text[max(0, m.start() - 40) : m.end() + 20]}...'")
        problems += [f"{page.name}: role source {m.group(0)!r}" for m in _ROLE.finditer(text)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("width", [390, 1280])
def test_interactive_figures_text_is_legible_and_apart_on_a_phone(site, browser, width):
    """On a phone the drawing is scaled to about 0.6 of its width: its text is enlarged (custom.css) to at least
    9.5 px high (8 px before, measured with the old style), and no two labels, ticks or keys overlap at either width."""
    origin, _ = site
    for rel, figure, _ in INTERACTIVE:
        ctx, page = _open(browser, f"{origin}/{rel}", viewport={"width": width, "height": 844})
        seen = page.evaluate(
            """(name) => {
              const f = document.querySelector(`figure[data-figure="${name}"]`);
              const texts = [...f.querySelectorAll('svg text')].filter(t => t.textContent.trim());
              const boxes = texts.map(t => t.getBoundingClientRect());
              const overlaps = [];
              for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                const a = boxes[i], b = boxes[j];
                if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
                  overlaps.push(texts[i].textContent + ' / ' + texts[j].textContent);
              }
              return {smallest: Math.min(...boxes.map(b => b.height)), n: texts.length, overlaps};
            }""",
            figure,
        )
        ctx.close()
        assert seen["n"] > 5 and seen["smallest"] >= 9.5, (figure, width, seen)
        assert not seen["overlaps"], (figure, width, seen["overlaps"])
