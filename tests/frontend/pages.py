"""Helpers for page tests: find elements in rendered HTML without a browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any


class _Finder(HTMLParser):
    def __init__(self, **attrs: str) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = attrs
        self.found: list[dict[str, Any]] = []
        self._open: list[tuple[str, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for _tag, el in self._open:
            el["depth"] += 1 if tag not in VOID else 0
        if all(values.get(k) == v for k, v in self.wanted.items()):
            el = {"tag": tag, "attrs": values, "text": "", "depth": 0}
            self.found.append(el)
            if tag not in VOID:
                self._open.append((tag, el))

    def handle_endtag(self, tag: str) -> None:
        for _tag, el in list(self._open):
            if el["depth"] == 0:
                self._open.remove((_tag, el))
            else:
                el["depth"] -= 1

    def handle_data(self, data: str) -> None:
        for _tag, el in self._open:
            el["text"] += data


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


def find_all(html: str | bytes, **attrs: str) -> list[dict[str, Any]]:
    """Elements whose attributes equal ``attrs`` (use ``data_testid`` for data-testid)."""
    if isinstance(html, bytes):
        html = html.decode()
    finder = _Finder(**{k.replace("_", "-"): v for k, v in attrs.items()})
    finder.feed(html)
    for el in finder.found:
        el["text"] = re.sub(r"\s+", " ", el["text"]).strip()
    return finder.found


def find(html: str | bytes, **attrs: str) -> dict[str, Any]:
    """The one element matching ``attrs``; fails when there is none or several."""
    found = find_all(html, **attrs)
    assert len(found) == 1, f"{len(found)} elements match {attrs}"
    return found[0]
