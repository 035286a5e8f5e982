"""A figure opens full size when tapped: each figure image of a page links to its own file.

On a phone a 6.4-inch figure is drawn about 360 px wide, too small for its tick labels. The
figures are SVG (``ce_lib.style``), so opened on their own they can be zoomed without blur.
Only images inside a ``<figure>`` and not already in a link are wrapped; the link's name is
the image's alt text, which every figure has (tests/test_reader.py).
"""

from __future__ import annotations

import re

_FIGURE = re.compile(r"<figure\b.*?</figure>", re.S)
_IMG = re.compile(r'<img\b[^>]*\bsrc="([^"]*_images/[^"]+)"[^>]*>')


def _link_images(match: re.Match[str]) -> str:
    figure = match.group(0)
    if "<a " in figure.split("<figcaption", 1)[0]:
        return figure
    return _IMG.sub(
        lambda img: f'<a class="ce-figure-full" href="{img.group(1)}" title="Open the figure full size">{img.group(0)}</a>',
        figure,
    )


def _rewrite(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and "<figure" in body:
        context["body"] = _FIGURE.sub(_link_images, body)


def setup(app):
    app.connect("html-page-context", _rewrite)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
