"""The one HTML/markdown sanitising policy of Lyceum (bleach allow-list).

Every app stores user rich text through ``markdown`` (markdown source) or ``html`` (HTML
from an editor). The result is safe to render with ``|safe``; nothing else is.

Markdown is CommonMark (markdown-it-py) with tables and hard line breaks. Its parser is
linear in the length of the text, whatever the text (Python-Markdown, used before, was about
quadratic on runs of ``[``: 10,000 of them took 15 s of CPU), and nesting deeper than
``MAX_NESTING`` levels is not parsed further. Rendering is CPU work only: callers render
before they open a transaction or take a lock, never inside one.
"""

from __future__ import annotations

import html as html_lib
import re
import threading
from typing import Any

import bleach
from bleach import html5lib_shim
from bleach.css_sanitizer import CSSSanitizer
from bleach.linkifier import DEFAULT_CALLBACKS
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "hr",
        "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel", "target"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "span": ["style"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan"],
    "code": ["class"],
}
# No `data:` or `javascript:`: links and images must be ordinary web addresses.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
CSS = CSSSanitizer(allowed_css_properties=["color", "background-color", "text-align"])
# Quotes, lists and brackets nested deeper than this are left as text (a real post nests a
# few levels; the limit bounds the parser's recursion on hostile input).
MAX_NESTING = 20


def _safe_links(attrs: dict, new: bool = False) -> dict:
    """External links open safely: no referrer, no access to window.opener."""
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


# bleach's Cleaner keeps parser state between calls, so it is not safe to share between threads
# (gateway actions and ASGI requests run on a pool): each thread builds its own once and reuses
# it, and its markdown renderer likewise (its rule chains are compiled lazily, on first use;
# building a renderer per call would cost a good part of a chat message's CPU).
_per_thread = threading.local()


_EtreeWalker: Any = html5lib_shim.getTreeWalker("etree")


class _LinearWalker(_EtreeWalker):
    """bleach's tree walker, made linear on wide trees.

    Climbing back from an element to its parent, html5lib's etree walker finds the parent's
    place among its siblings with ``list(grandparent).index(parent)`` (after an assert that
    counts it): quadratic in the number of siblings. Rendered markdown has wide elements (a
    table of 6,700 rows, a paragraph of 10,000 line breaks), which took seconds to clean. Here
    each element's children are indexed once per walk.
    """

    def __init__(self, tree: Any) -> None:
        super().__init__(tree)
        self._positions: dict[int, dict[int, int]] = {}

    def getParentNode(self, node: Any) -> Any:
        if not isinstance(node, tuple):
            return None
        element, key, parents, flag = node
        if flag == "text":
            return (element, key, parents, None) if parents else element
        parent = parents.pop()
        if not parents:
            return parent
        siblings = parents[-1]
        positions = self._positions.get(id(siblings))
        if positions is None:  # the tree outlives the walk, so ids stay unique meanwhile
            positions = {id(child): i for i, child in enumerate(siblings)}
            self._positions[id(siblings)] = positions
        return parent, positions[id(parent)], parents, None


def _cleaner() -> bleach.Cleaner:
    cleaner = getattr(_per_thread, "cleaner", None)
    if cleaner is None:
        cleaner = _per_thread.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            css_sanitizer=CSS,
            strip=True,
            strip_comments=True,
            filters=[
                lambda source: bleach.linkifier.LinkifyFilter(
                    source, callbacks=[*DEFAULT_CALLBACKS, _safe_links], skip_tags={"pre", "code"}
                )
            ],
        )
        cleaner.walker = _LinearWalker
    return cleaner


def _markdown() -> MarkdownIt:
    renderer = getattr(_per_thread, "markdown", None)
    if renderer is None:
        # Raw HTML in the source is kept for bleach to clean (the one policy decides, as for
        # ``html``); "breaks": a new line in a paragraph is a line break, as people type chat.
        renderer = _per_thread.markdown = MarkdownIt(
            "commonmark", {"html": True, "breaks": True, "maxNesting": MAX_NESTING}
        ).enable("table")
    return renderer


def _text_cleaner() -> bleach.Cleaner:
    cleaner = getattr(_per_thread, "text_cleaner", None)
    if cleaner is None:
        cleaner = _per_thread.text_cleaner = bleach.Cleaner(tags=set(), strip=True)
        cleaner.walker = _LinearWalker
    return cleaner


def html(text: str) -> str:
    """Clean HTML to the allow-list."""
    return _cleaner().clean(text or "")


def markdown(text: str, *, max_chars: int | None = None, field: str = "text") -> str:
    """Render markdown and clean the result (raw HTML in the source meets the allow-list).

    With ``max_chars``, a longer text is refused before it is rendered: a ValidationError on
    ``field`` (services pass the limit their REST serializers and forms state).
    """
    if max_chars is not None and len(text or "") > max_chars:
        raise ValidationError(
            {field: _("This text is too long (%(max)d characters at most).") % {"max": max_chars}}
        )
    if _PLAIN_TEXT.fullmatch(text or ""):
        # Most chat messages are a line of words: the full path would render them as one
        # paragraph that the cleaner leaves as it is (tests/hub/test_sanitize.py proves it).
        return f"<p>{text}</p>"
    return _render(text)


def _render(text: str) -> str:
    """The full path: markdown-it, then the cleaner."""
    return html(_markdown().render(text or "").rstrip("\n"))


# One line of letters, digits, spaces and , ? ! ' (neither first nor last a space): nothing
# markdown, HTML or the linkifier acts on, no character to escape. Such a text renders as
# ``<p>text</p>``; anything else takes the full path.
_WORD = r"[^\W_]|[,?!']"
_PLAIN_TEXT = re.compile(rf"(?:{_WORD})(?:(?:{_WORD}| )*(?:{_WORD}))?")


def plain(text: str) -> str:
    """Text with every tag removed (titles, reasons, e-mail bodies, notification previews).

    The result is text, not HTML: entities are decoded (``a &amp; b`` -> ``a & b``) because
    templates and page scripts escape it on output; it must never be rendered with ``|safe``.
    """
    return html_lib.unescape(_text_cleaner().clean(text or ""))
