"""Lighter pages: no 1.5 MB icon script, and only the MathJax components the book uses.

pydata-sphinx-theme draws its Font Awesome icons twice over: with the web fonts and
classes of its stylesheet, and again with ``fontawesome.js`` (1.49 MB), which it
loads "so that users can add custom icons". The book adds none, so after the build
the script tag is removed from every page and the script from ``_static``; the
stylesheet's icons remain (the reader tests check one renders).

The theme also loads the search index (about 0.1 MB, growing with the book) and
Sphinx's search code on every page, for its search-as-you-type option; that option is
off (the theme's default), and the search box sends the reader to ``search.html``,
which loads them itself. So every other page drops the three script tags.

The icons themselves come from Font Awesome's solid web font (``fa-solid-900.woff2``, 156 kB,
about 1 400 icons), of which the pages use some thirty: the font is cut down to the icons
the built pages and the theme's scripts name (``fa-*`` classes) and those its stylesheets
draw themselves (``--pst-icon-*``, ``content: "\\f..."``). fontTools does the subsetting
(Brotli writes WOFF2); the reader tests check that every icon a page shows is in the font.

Jupyter Book also loads sphinx-design's stylesheet and tab script (62 kB) on every page; a
page that uses none of its components (no ``sd-`` class) drops both.

Pygments wraps every token of a code block in a span, names and punctuation included, though
the book's style draws those in the code block's own colour: on a chapter with long checks that
is two fifths of the page (145 kB of 371 kB on the variational-inference chapter). Spans whose
class ``pygments.css`` styles with nothing but the block's colour, in the light and the dark
theme alike, are unwrapped inside code blocks (``custom.css`` lets ``pre`` take the block's
colour, which the theme would otherwise override); the reader tests check the colours still
match in both themes.
"""

from __future__ import annotations

import re
from pathlib import Path

_SCRIPT_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
_FILES = ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt")
_DESIGN_TAGS = re.compile(
    r'\s*<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-design\.min\.css[^"]*" />'
    r'|\s*<script [^>]*src="[^"]*_static/design-tabs\.js[^"]*"></script>'
)
_DESIGN_USED = re.compile(r'class="[^"]*\bsd-')
_SEARCH_TAGS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)


def _drop_icon_script(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    sheet = out / "_static" / "pygments.css"
    plain = plain_token_classes(sheet.read_text(encoding="utf-8")) if sheet.is_file() else set()
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = _SCRIPT_TAG.sub("", text)
        if page.name != "search.html" and not app.config.html_theme_options.get("search_as_you_type"):
            lighter = _SEARCH_TAGS.sub("", lighter)
        if not _DESIGN_USED.search(lighter):
            lighter = _DESIGN_TAGS.sub("", lighter)
        lighter = unwrap_plain_tokens(lighter, plain)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
    for name in _FILES:
        (out / "_static" / "scripts" / name).unlink(missing_ok=True)
    _subset_icon_font(out / "_static", list(out.rglob("*.html")))


# html[data-theme="light"] .highlight .n { color: #080808 }
_THEMED_RULE = re.compile(r'html\[data-theme="(\w+)"\] \.highlight(?: \.([\w-]+))? \{([^}]*)\}')
_CODE_BLOCK = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', re.S)
_TOKEN_SPAN = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')


def plain_token_classes(pygments_css: str) -> set[str]:
    """The token classes drawn exactly as the code block's own text, in every theme.

    A class qualifies when, in each theme that ``pygments_css`` styles, its rule is only
    ``color: X`` with X the colour of ``.highlight`` itself (background and weight untouched).
    """
    block: dict[str, str] = {}
    rules: dict[str, dict[str, str]] = {}
    for theme, token, body in _THEMED_RULE.findall(pygments_css):
        declarations = {k.strip(): v.strip() for k, _, v in (d.partition(":") for d in body.split(";")) if k.strip()}
        if not token:
            block[theme] = declarations.get("color", "")
        else:
            rules.setdefault(token, {})[theme] = "" if set(declarations) != {"color"} else declarations["color"]
    if not block:
        return set()
    return {
        token
        for token, by_theme in rules.items()
        if set(by_theme) == set(block) and all(by_theme[t] and by_theme[t].lower() == block[t].lower() for t in block)
    }


def unwrap_plain_tokens(html: str, plain: set[str]) -> str:
    """``html`` with the spans of the classes in ``plain`` replaced by their text, inside code blocks only."""
    if not plain:
        return html

    def unwrap(block: re.Match) -> str:
        body = _TOKEN_SPAN.sub(lambda m: m.group(2) if m.group(1) in plain else m.group(0), block.group(2))
        return block.group(1) + body + block.group(3)

    return _CODE_BLOCK.sub(unwrap, html)


_FA_CLASS = re.compile(r"\bfa-([a-z0-9]+(?:-[a-z0-9]+)*)")
# the stylesheet's icon list: ".fa-bars:before,.fa-navicon:before{content:"\f0c9"}"
_FA_RULE = re.compile(r'([^{}]*\.fa-[^{}]*)\{content:"\\([0-9a-f]{4,5})"\}')
_FA_SELECTOR = re.compile(r"\.fa-([a-z0-9-]+):+before")
# icons a stylesheet draws itself: an escape ("\f058") or the character itself, from the private use area
_ICON_CHAR = re.compile(r'"\\([ef][0-9a-f]{3})"|([\ue000-\uf8ff])')
SOLID_FONT = "vendor/fontawesome/webfonts/fa-solid-900.woff2"


def used_icon_codepoints(static: Path, pages: list[Path]) -> set[int]:
    """The code points of the icons the pages and the theme can show."""
    by_name: dict[str, int] = {}
    for sheet in static.rglob("*.css"):
        for selectors, code in _FA_RULE.findall(sheet.read_text(encoding="utf-8", errors="replace")):
            by_name.update((name, int(code, 16)) for name in _FA_SELECTOR.findall(selectors))
    names: set[str] = set()
    for path in [*pages, *static.rglob("*.js")]:
        names.update(_FA_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    used = {by_name[name] for name in names if name in by_name}
    for sheet in static.rglob("*.css"):  # icons a stylesheet draws itself, outside the fa-* class list
        text = _FA_RULE.sub("", sheet.read_text(encoding="utf-8", errors="replace"))
        used.update(int(code, 16) if code else ord(char) for code, char in _ICON_CHAR.findall(text))
    return used


def _subset_icon_font(static: Path, pages: list[Path]) -> None:
    from fontTools import subset

    font_path = static / SOLID_FONT
    if not font_path.is_file():
        return
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    font = subset.load_font(str(font_path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(used_icon_codepoints(static, pages)))
    subsetter.subset(font)
    subset.save_font(font, str(font_path), options)


def _load_only_needed_mathjax(app, config):
    config.mathjax_path = "mathjax/startup.js"  # sphinx-mathjax-offline sets tex-chtml.js in its setup()


def setup(app):
    # after pydata-sphinx-theme's own build-finished handler (priority 500), which rewrites pygments.css
    # with the light and dark themes' rules that plain_token_classes reads
    app.connect("build-finished", _drop_icon_script, priority=600)
    app.connect("config-inited", _load_only_needed_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
