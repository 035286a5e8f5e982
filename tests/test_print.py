"""The built book on paper and on every screen: pages printed from the browser (``book/_static/print.css``),
and the wide tables of the verification ledger and the numerics report card on a phone and a desktop.

Printing is tested in Chromium with the print media emulated, by the computed styles of the page
(what a reader's "Print" would lay out), and by an actual PDF from ``page.pdf()``.
"""

from __future__ import annotations

import re

import pytest
from test_reader import _open

pytestmark = pytest.mark.browser

# a chapter with code and a hidden-input cell, the BibTeX of "How to cite", a chapter with an interactive figure
PRINTED = {
    "book/part3/numerical_stability.html": "8.",
    "book/how_to_cite.html": None,
    "book/part1/softmax.html": "3.",
}
WIDE_TABLES = ["book/verification_ledger.html", "book/numerics_report_card.html"]

# what a printed page shows of itself, read from the computed styles under print media
PRINT_STATE = """() => {
  const shown = el => {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || s.contentVisibility === 'hidden') return false;
    }
    return el.getClientRects().length > 0;
  };
  const describe = el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`;
  const article = document.querySelector('article.bd-article');
  return {
    titles: [...document.querySelectorAll('h1')].filter(shown).map(h => h.textContent.replace('#', '').trim()),
    cut: [...document.querySelectorAll('pre')].filter(shown).filter(p => p.scrollWidth > p.clientWidth + 1)
      .map(p => `${p.scrollWidth} > ${p.clientWidth}: ${p.textContent.slice(0, 60)}`),
    empty: [...document.querySelectorAll('pre, div.highlight, div.cell_input, details.hide')].filter(shown)
      .filter(p => p.innerText.trim() === '').map(describe),
    // a part of a code cell kept on one page would, when it does not fit, jump to the next and leave its frame empty
    unbreakable: [...document.querySelectorAll('div.cell_input, div.cell_input div, div.highlight, div[class*="highlight-"], pre')].filter(shown)
      .filter(e => getComputedStyle(e).breakInside.startsWith('avoid') || ['auto', 'scroll'].includes(getComputedStyle(e).overflowY)
              || ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(describe),
    chrome: [...document.querySelectorAll(
        '.ce-interactive .ce-controls, .ce-interactive input, button, .toggle-button, details > summary, '
        + '#pst-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .prev-next-area, '
        + '#pst-back-to-top, .headerlink, .skip-link')]
      .filter(shown).map(e => `${describe(e)} "${e.textContent.trim().slice(0, 40)}"`),
    figures: [...article.querySelectorAll('figure img, img')].map(img => [img.getAttribute('src'), shown(img), img.naturalWidth]),
    interactive: article.querySelectorAll('.ce-interactive').length,
    pageWidth: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


# Chromium lays a printed page out at the paper's width: A4 (794 CSS px) less its default margins (0.4 in each)
PAPER_WIDTH = 717


def _printed(browser, url):
    ctx, page = _open(browser, url, viewport={"width": PAPER_WIDTH, "height": 1123})
    page.emulate_media(media="print")
    # what the browser does before it prints (sphinx-togglebutton then opens every solution)
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return ctx, page


@pytest.mark.parametrize("rel", PRINTED)
def test_a_printed_page_keeps_its_chapter_number_wraps_its_code_and_shows_no_controls(site, browser, rel):
    """On paper: the title as the book numbers it, every code block and BibTeX entry wrapped at the margin (not
    cut off), no empty code frame, and none of the screen's controls: sliders, toggle buttons and "Show code
    cell source", the header, the sidebars, the previous/next buttons. Figures are printed."""
    origin, _ = site
    ctx, page = _printed(browser, f"{origin}/{rel}")
    state = page.evaluate(PRINT_STATE)
    ctx.close()
    number = PRINTED[rel]
    assert len(state["titles"]) == 1, f"{rel} prints {len(state['titles'])} titles: {state['titles']}"
    if number:
        assert state["titles"][0].startswith(number), f"{rel} prints its title as {state['titles'][0]!r}, not {number} ..."
    assert not state["cut"], f"{rel}: code cut at the margin: {state['cut'][:5]}"
    assert not state["empty"], f"{rel}: empty code frames printed: {state['empty'][:5]}"
    assert not state["unbreakable"], f"{rel}: code kept whole on one page (its frame may print empty): {state['unbreakable'][:5]}"
    assert not state["chrome"], f"{rel}: screen controls printed: {state['chrome'][:8]}"
    hidden = [src for src, shown, _ in state["figures"] if not shown]
    assert not hidden, f"{rel}: figures not printed: {hidden}"
    assert all(width > 0 for _, _, width in state["figures"]), f"{rel}: a figure did not load: {state['figures']}"
    assert state["pageWidth"] <= 0, f"{rel}: the printed page is {state['pageWidth']}px too wide"


def test_the_interactive_figure_prints_as_its_static_figure(site, browser):
    """The softmax chapter's interactive figure has no slider on paper, and its static figure is printed."""
    origin, _ = site
    ctx, page = _printed(browser, f"{origin}/book/part1/softmax.html")
    state = page.evaluate(PRINT_STATE)
    controls = page.evaluate(
        "() => [...document.querySelectorAll('.ce-interactive .ce-controls')].map(c => getComputedStyle(c).display)"
    )
    ctx.close()
    assert state["interactive"] >= 1 and controls and set(controls) == {"none"}, controls
    assert any(shown and src.endswith(".svg") for src, shown, _ in state["figures"]), state["figures"]


def test_the_printed_ledger_shows_every_chapters_table(site, browser):
    """On paper the ledger's blocks cannot be opened, so every chapter's table is printed, closed or not."""
    from book_sources import ROOT, ledger_rows

    origin, _ = site
    ctx, page = _printed(browser, f"{origin}/book/verification_ledger.html")
    rows = page.evaluate(
        """() => [...document.querySelectorAll('.verification-ledger details:not([open]) tbody tr')]
                   .filter(r => r.getBoundingClientRect().height > 0).length"""
    )
    ctx.close()
    assert rows == len(ledger_rows(ROOT)), f"{rows} rows of the ledger printed, of {len(ledger_rows(ROOT))}"


def test_a_chapter_prints_to_a_pdf(site, browser):
    """Chromium's own "Save as PDF" of a chapter: a PDF of several A4 pages."""
    origin, _ = site
    ctx, page = _printed(browser, f"{origin}/book/part3/numerical_stability.html")
    pdf = page.pdf(format="A4", print_background=False)
    ctx.close()
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages >= 3, f"the printed chapter has {pages} pages"


# every table, and every table a notebook printed (a cell's text output), of the two pages with wide tables
WIDE = """() => [...document.querySelectorAll('article.bd-article table, article.bd-article .cell_output pre')]
  .filter(el => el.getClientRects().length > 0)
  .map(el => {
    let box = null;  // the box that scrolls sideways to show it: itself or one of its ancestors
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.clientWidth > 0) { box = e; break; }
    }
    const article = document.querySelector('article.bd-article').getBoundingClientRect();
    const r = (box || el).getBoundingClientRect();
    return {what: el.tagName + ': ' + el.textContent.trim().slice(0, 50), width: el.scrollWidth,
            fits: el.scrollWidth <= el.clientWidth + 1, scrolls: box !== null,
            inside: r.left >= article.left - 1 && r.right <= article.right + 1};
  })"""


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("rel", WIDE_TABLES)
def test_every_table_fits_its_column_or_scrolls_in_its_own_box(site, browser, rel, width):
    """At a phone's 390 px and a desktop's 1280 px, every table (the ledger's, with every chapter's block open)
    and every table a cell prints either fits or scrolls inside a box of its own within the column, and the
    page never scrolls sideways. At 1280 px (a 688 px column) the tables that matter fit outright."""
    origin, _ = site
    ctx, page = _open(browser, f"{origin}/{rel}", viewport={"width": width, "height": 900})
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    tables = page.evaluate(WIDE)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    ctx.close()
    assert tables, f"{rel}: no table found"
    assert overflow <= 0, f"{rel} at {width}px: the page scrolls sideways by {overflow}px"
    loose = [t["what"] for t in tables if not t["fits"] and not t["scrolls"]]
    assert not loose, f"{rel} at {width}px: too wide, in no box that scrolls: {loose}"
    outside = [t["what"] for t in tables if not t["inside"]]
    assert not outside, f"{rel} at {width}px: boxes wider than the column: {outside}"
    if rel == "book/verification_ledger.html" or width == 1280:
        wide = [f"{t['what']} ({t['width']}px)" for t in tables if not t["fits"]]
        assert not wide, f"{rel} at {width}px: tables wider than their column: {wide}"


def test_the_ledger_is_short_with_its_blocks_closed_and_says_what_each_holds(site, browser):
    """The ledger at 1280 px, every chapter's block closed: the explanation above the blocks under 2 000 px, and
    each chapter's block at most two lines (72 px from one block's top to the next's; three lines take 88), so the page grows by no more
    than that with each chapter; each block's summary names its chapter and counts its equations, and the counts add
    up to the totals at the top."""
    from book_sources import ROOT, ledger_rows

    origin, _ = site
    ctx, page = _open(browser, f"{origin}/book/verification_ledger.html", viewport={"width": 1280, "height": 900})
    state = page.evaluate(
        """() => ({
          height: document.documentElement.scrollHeight,
          open: document.querySelectorAll('details[open]').length,
          tops: [...document.querySelectorAll('.verification-ledger details')].map(d => d.getBoundingClientRect().top + window.scrollY),
          bottom: (d => d.getBoundingClientRect().bottom + window.scrollY)([...document.querySelectorAll('.verification-ledger details')].pop()),
          summaries: [...document.querySelectorAll('.verification-ledger details > summary')].map(s => s.textContent.trim()),
        })"""
    )
    ctx.close()
    assert state["open"] == 0, state
    tops = state["tops"]
    assert tops[0] < 2000, f"the explanation above the ledger's blocks is {tops[0]:.0f}px tall at 1280 px"
    pitches = [after - before for before, after in zip(tops, tops[1:] + [state["bottom"]])]
    assert max(pitches) <= 72, f"a closed chapter block takes {max(pitches):.0f}px at 1280 px, more than two lines"
    chapters = {path for path, *_ in ledger_rows(ROOT)}
    assert len(state["summaries"]) == len(chapters), state["summaries"]
    total = 0
    for summary in state["summaries"]:
        found = re.fullmatch(r"Chapter \d+ .+ — (\d+) equations?: (.+)", summary)
        assert found, summary
        counts = [int(n) for n in re.findall(r"(?:^|, )(\d+) ", found.group(2))]
        assert sum(counts) == int(found.group(1)), summary
        total += int(found.group(1))
    assert total == len(ledger_rows(ROOT))
