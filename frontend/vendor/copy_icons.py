"""Copy the Lucide icons Lyceum uses from the npm package into ``frontend/static/icons``,
and build ``sprite.svg`` (one ``<symbol>`` per icon) that ``{% icon %}`` points into.

Run by ``make vendor`` (``make install`` depends on it) after ``npm ci``. Only the icons in
``ICONS`` are copied, with the set's licence, so the page serves a handful of small files
of its own and nothing from a CDN. The copies are committed too: a checkout that has not
run npm still renders every icon (``{% icon %}`` reads them, ``tests/frontend`` checks
that every name a template uses is here).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "node_modules" / "lucide-static"
TARGET = HERE.parent / "static" / "icons"

# Every icon a template or script names; add one here, then `make vendor`.
ICONS = (
    "arrow-left",
    "bell",
    "book-open",
    "calendar-clock",
    "calendar-days",
    "chart-column",
    "check",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-alert",
    "circle-check",
    "circle-help",
    "clock",
    "door-open",
    "download",
    "ellipsis",
    "external-link",
    "file-text",
    "graduation-cap",
    "hand",
    "house",
    "image",
    "inbox",
    "info",
    "key-round",
    "languages",
    "layout-dashboard",
    "layout-grid",
    "log-out",
    "megaphone",
    "menu",
    "message-circle",
    "messages-square",
    "mic",
    "mic-off",
    "monitor-up",
    "pencil",
    "plus",
    "refresh-cw",
    "search",
    "settings",
    "shield",
    "square-user",
    "trash-2",
    "triangle-alert",
    "trophy",
    "upload",
    "user",
    "users",
    "video",
    "video-off",
    "x",
)


def clean(svg: str) -> str:
    """The icon without its licence comment and class, on one line."""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\s*class="[^"]*"', "", svg)
    return re.sub(r"\s*\n\s*", " ", svg).replace("> <", "><").strip() + "\n"


def symbol(name: str, svg: str) -> str:
    """The icon as a ``<symbol>`` of the sprite: its shapes, under its name."""
    inner = re.search(r"<svg[^>]*>(.*)</svg>", svg, flags=re.S)
    shapes = inner.group(1).strip() if inner else ""
    return f'<symbol id="{name}" viewBox="0 0 24 24">{shapes}</symbol>'


def main() -> int:
    if not SOURCE.is_dir():
        print(f"{SOURCE} is missing: run `npm ci` in {HERE}", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in ICONS:
        text = (SOURCE / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        out = TARGET / f"{name}.svg"
        if not out.exists() or out.read_text(encoding="utf-8") != clean(text):
            out.write_text(clean(text), encoding="utf-8")
    # One sprite the pages reference (<use href="sprite.svg#bell">): fetched once, cached
    # for good, instead of each icon's markup repeated in every page.
    sprite = "".join(
        symbol(name, (TARGET / f"{name}.svg").read_text(encoding="utf-8")) for name in ICONS
    )
    (TARGET / "sprite.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg">{sprite}</svg>\n', encoding="utf-8"
    )
    shutil.copyfile(SOURCE / "LICENSE", TARGET / "LICENSE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
