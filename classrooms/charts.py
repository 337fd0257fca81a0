"""Inline SVG charts drawn on the server (no CDN, no JavaScript): numbers in, markup out.

Every value placed in the markup is a number we computed or text passed through
``escape``, so the result is safe to render with ``|safe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.html import escape

W, H, PAD = 480, 200, 32
# Presentation attributes, so a chart reads well on pages without classrooms.css too.
AXIS = 'class="axis" stroke="#6b7280"'
# currentColor = the space's brand colour: the shell's lyceum.css sets the colour and width of
# .chart on every page (no style attribute: the CSP allows none).
LINE = 'class="line" fill="none" stroke="currentColor" stroke-width="2"'


def _titles(w: int, x_title: str, y_title: str) -> str:
    """Axis titles (the home page's charts name both axes)."""
    out = ""
    if x_title:
        out += f'<text x="{w / 2:.0f}" y="{H - 2}" text-anchor="middle">{escape(x_title)}</text>'
    if y_title:
        out += (
            f'<text x="10" y="{H / 2:.0f}" text-anchor="middle"'
            f' transform="rotate(-90 10 {H / 2:.0f})">{escape(y_title)}</text>'
        )
    return out


def line_chart(
    points: Sequence[tuple[date, int]],
    *,
    label: str,
    width: int = W,
    font: int = 11,
    x_title: str = "",
    y_title: str = "",
) -> str:
    """A cumulative line (e.g. completions over time): ``points`` = (day, total).

    ``width`` is the drawing's width in its own units: a narrower one keeps ``font`` readable
    where the chart is shrunk to a phone's width. ``x_title``/``y_title`` name the axes."""
    if not points:
        return ""
    W = width  # the module's constant, per chart
    PAD = 32 if not (x_title or y_title) else 40
    top = max(v for _, v in points) or 1
    n = len(points)
    step = (W - 2 * PAD) / max(n - 1, 1)
    coords = [
        (PAD + i * step, H - PAD - (v / top) * (H - 2 * PAD)) for i, (_, v) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="currentColor">'
        f"<title>{escape(d.isoformat())}: {v}</title></circle>"
        for (x, y), (d, v) in zip(coords, points, strict=True)
    )
    first, last = points[0][0].isoformat(), points[-1][0].isoformat()
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" width="100%"'
        f' font-size="{font}" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>'
        f'<text x="{PAD - 4}" y="{H - PAD}" text-anchor="end">0</text>'
        f'<text x="{PAD}" y="{H - PAD + font + 4}">{first}</text>'
        f'<text x="{W - PAD}" y="{H - PAD + font + 4}" text-anchor="end">{last}</text>'
        f"{_titles(W, x_title, y_title)}"
        f'<polyline points="{path}" {LINE}/>{dots}</svg>'
    )


def histogram(
    scores: Sequence[int],
    *,
    label: str,
    buckets: int = 10,
    width: int = W,
    font: int = 11,
    x_title: str = "",
    y_title: str = "",
) -> str:
    """Score distribution in ``buckets`` bins of 0-100 % (``width``, ``font`` and the axis
    titles as for ``line_chart``)."""
    if not scores:
        return ""
    W = width  # the module's constant, per chart
    PAD = 32 if not (x_title or y_title) else 40
    counts = [0] * buckets
    for s in scores:
        counts[min(int(s) * buckets // 100, buckets - 1)] += 1
    top = max(counts) or 1
    bar = (W - 2 * PAD) / buckets
    bars = []
    for i, count in enumerate(counts):
        h = (count / top) * (H - 2 * PAD)
        x, y = PAD + i * bar, H - PAD - h
        low, high = i * 100 // buckets, (i + 1) * 100 // buckets
        bars.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{h:.1f}"'
            ' class="bar" fill="currentColor">'
            f"<title>{low}–{high} %: {count}</title></rect>"
            + (
                f'<text x="{x + bar / 2:.1f}" y="{H - PAD + font + 4}"'
                f' text-anchor="middle">{low}</text>'
                if bar >= font * 2 or i % 2 == 0
                else ""
            )
        )
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" width="100%"'
        f' font-size="{font}" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>'
        f"{''.join(bars)}{_titles(W, x_title, y_title)}</svg>"
    )


def bars_chart(
    rows: Sequence[tuple[str, int]],
    *,
    label: str,
    width: int = 320,
    font: int = 13,
    x_title: str = "",
    unit: str = " %",
    top: int = 100,
) -> str:
    """Horizontal bars, one per row (``(name, value)``, values 0..``top``): names above
    their bar, so they stay readable on a phone whatever their length."""
    if not rows:
        return ""
    row_h = font * 2 + 10
    height = len(rows) * row_h + (font + 14 if x_title else 6)
    inner = width - 8
    parts = []
    for i, (name, value) in enumerate(rows):
        y = i * row_h
        w = max(min(value, top), 0) / (top or 1) * (inner - 48)
        parts.append(
            f'<text x="4" y="{y + font}">{escape(name[:40])}</text>'
            f'<rect x="4" y="{y + font + 4}" width="{inner - 48:.1f}" height="{font - 2}"'
            ' class="track" fill="#6b7280" fill-opacity="0.2"/>'
            f'<rect x="4" y="{y + font + 4}" width="{w:.1f}" height="{font - 2}"'
            ' class="bar" fill="currentColor"/>'
            f'<text x="{inner}" y="{y + 2 * font + 1}" text-anchor="end">'
            f"{value}{escape(unit)}</text>"
        )
    if x_title:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height - 4}" text-anchor="middle">'
            f"{escape(x_title)}</text>"
        )
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%"'
        f' font-size="{font}" role="img" aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )
