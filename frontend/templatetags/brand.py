"""Brand colours that stay readable: WCAG 2 relative luminance and contrast.

A space may pick any brand colour; text drawn on it (the header, primary buttons) must
still be legible, and the colour used for links on the light page must keep 4.5:1.

    {% load brand %}
    {{ space.brand_color|brand_color }}   -> "#1f5f8b" (validated, or the default)
    {{ space.brand_color|on_brand }}      -> "#ffffff" or "#000000", whichever reads better
    {{ space.brand_color|brand_ink }}     -> the brand, darkened until it reads on the page
    {{ space.brand_color|brand_ink_dark }} -> the brand, lightened until it reads on the dark
                                             page (prefers-color-scheme: dark)
"""

from __future__ import annotations

import re

from django import template

register = template.Library()

DEFAULT_BRAND = "#1f5f8b"
BLACK = "#000000"
WHITE = "#ffffff"
# The lightest surface text sits on (the page wash in lyceum.css, --wash).
PAGE_WASH = "#f4f6f8"
# The lightest dark surface text sits on in dark mode (--surface-2 in lyceum.css).
DARK_SURFACE = "#232b34"
AA_NORMAL_TEXT = 4.5
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_hex(color: str) -> tuple[int, int, int]:
    """``"#1f5f8b"`` -> ``(31, 95, 139)``; ValueError for anything else."""
    if not isinstance(color, str) or not _HEX.match(color):
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour, 0 (black) to 1 (white)."""
    r, g, b = parse_hex(color)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours, 1 to 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    light, dark = max(la, lb), min(la, lb)
    return (light + 0.05) / (dark + 0.05)


@register.filter
def brand_color(value: object) -> str:
    """The colour if it is a well-formed ``#rrggbb``, else the default brand colour.

    Values end up in a ``<style>`` block and ``style`` attributes: nothing else gets there.
    """
    return value.lower() if isinstance(value, str) and _HEX.match(value) else DEFAULT_BRAND


@register.filter
def on_brand(value: object) -> str:
    """Black or white, whichever contrasts more with the brand colour.

    The better of the two always reaches at least 4.58:1, so text on any brand colour
    passes WCAG AA for normal text.
    """
    background = brand_color(value)
    if contrast_ratio(background, WHITE) >= contrast_ratio(background, BLACK):
        return WHITE
    return BLACK


@register.filter
def brand_ink(value: object) -> str:
    """The brand colour for text and links on the light page: darkened until 4.5:1."""
    color = brand_color(value)
    r, g, b = parse_hex(color)
    step = 0
    while contrast_ratio(color, PAGE_WASH) < AA_NORMAL_TEXT:
        step += 1  # mix 5 % more black each time; black itself passes, so this ends
        keep = max(0.0, 1 - step * 0.05)
        color = to_hex((round(r * keep), round(g * keep), round(b * keep)))
    return color


@register.filter
def brand_ink_dark(value: object) -> str:
    """The brand colour for links on the dark page: lightened until 4.5:1."""
    color = brand_color(value)
    r, g, b = parse_hex(color)
    step = 0
    while contrast_ratio(color, DARK_SURFACE) < AA_NORMAL_TEXT:
        step += 1  # mix 5 % more white each time; white itself passes, so this ends
        mix = min(1.0, step * 0.05)
        color = to_hex(tuple(round(c + (255 - c) * mix) for c in (r, g, b)))  # type: ignore[arg-type]
    return color
