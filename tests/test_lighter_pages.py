"""The page-lightening step of the build (book/_ext/lighter_pages.py), without building the book."""

from __future__ import annotations

import re

import book_sources  # noqa: F401  (puts book/_ext on the path)
from lighter_pages import plain_token_classes, unwrap_plain_tokens

_CSS = """
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="light"] .highlight .n { color: #080808 }
html[data-theme="dark"] .highlight .n { color: #f8f8f2 }
html[data-theme="light"] .highlight .o { color: #00622F }
html[data-theme="dark"] .highlight .o { color: #ABE338 }
html[data-theme="light"] .highlight .k { color: #080808; font-weight: bold }
html[data-theme="dark"] .highlight .k { color: #F8F8F2; font-weight: bold }
html[data-theme="light"] .highlight .nx { color: #080808 }
html[data-theme="light"] .highlight .p { color: #080808 }
html[data-theme="dark"] .highlight .p { color: #F8F8F2 }
"""


def test_only_classes_drawn_in_the_blocks_own_colour_in_every_theme_are_plain():
    # .o has its own colour, .k is bold, .nx is styled for the light theme only: none of them may go
    assert plain_token_classes(_CSS) == {"n", "p"}


def test_a_stylesheet_without_themed_blocks_makes_nothing_plain():
    assert plain_token_classes(".highlight .n { color: #080808 }") == set()


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_plain_spans_are_unwrapped_inside_code_blocks_only():
    page = (
        '<p><span class="n">prose</span></p>'
        '<div class="highlight"><pre><span></span><span class="n">x</span><span class="w"> </span>'
        '<span class="o">=</span><span class="w"> </span><span class="n">f</span><span class="p">(</span>'
        '<span class="mi">1</span><span class="p">)</span>\n</pre></div>'
    )
    lighter = unwrap_plain_tokens(page, {"n", "p", "w"})
    assert lighter == (
        '<p><span class="n">prose</span></p>'
        '<div class="highlight"><pre><span></span>x <span class="o">=</span> f(<span class="mi">1</span>)\n</pre></div>'
    )
    assert _text(lighter) == _text(page)
    assert unwrap_plain_tokens(page, set()) == page
