"""The one HTML/markdown sanitising policy of Lyceum (bleach allow-list).

Every app stores user rich text through ``markdown`` (markdown source) or ``html`` (HTML
from an editor). The result is safe to render with ``|safe``; nothing else is.
"""

from __future__ import annotations

import html as html_lib
import threading

import bleach
import markdown as md
from bleach.css_sanitizer import CSSSanitizer
from bleach.linkifier import DEFAULT_CALLBACKS

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


def _safe_links(attrs: dict, new: bool = False) -> dict:
    """External links open safely: no referrer, no access to window.opener."""
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


# bleach's Cleaner and python-markdown's Markdown keep parser state between calls, so they are
# not safe to share between threads (gateway actions and ASGI requests run on a pool): each
# thread builds its own once and reuses it (building a Markdown per call cost a third of a
# chat message's CPU).
_per_thread = threading.local()


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
    return cleaner


def _markdown() -> md.Markdown:
    renderer = getattr(_per_thread, "markdown", None)
    if renderer is None:
        renderer = _per_thread.markdown = md.Markdown(
            extensions=["fenced_code", "tables", "sane_lists", "nl2br"], output_format="html"
        )
    return renderer


def _text_cleaner() -> bleach.Cleaner:
    cleaner = getattr(_per_thread, "text_cleaner", None)
    if cleaner is None:
        cleaner = _per_thread.text_cleaner = bleach.Cleaner(tags=set(), strip=True)
    return cleaner


def html(text: str) -> str:
    """Clean HTML to the allow-list."""
    return _cleaner().clean(text or "")


def markdown(text: str) -> str:
    """Render markdown and clean the result (raw HTML in the source meets the allow-list)."""
    renderer = _markdown()
    try:
        rendered = renderer.convert(text or "")
    finally:
        renderer.reset()  # the next call starts clean (footnotes, references, ...)
    return html(rendered)


def plain(text: str) -> str:
    """Text with every tag removed (titles, reasons, e-mail bodies, notification previews).

    The result is text, not HTML: entities are decoded (``a &amp; b`` -> ``a & b``) because
    templates and page scripts escape it on output; it must never be rendered with ``|safe``.
    """
    return html_lib.unescape(_text_cleaner().clean(text or ""))
