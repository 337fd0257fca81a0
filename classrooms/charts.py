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


def line_chart(points: Sequence[tuple[date, int]], *, label: str) -> str:
    """A cumulative line (e.g. completions over time): ``points`` = (day, total)."""
    if not points:
        return ""
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
        f' font-size="11" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>'
        f'<text x="{PAD}" y="{H - 8}">{first}</text>'
        f'<text x="{W - PAD}" y="{H - 8}" text-anchor="end">{last}</text>'
        f'<polyline points="{path}" {LINE}/>{dots}</svg>'
    )


def histogram(scores: Sequence[int], *, label: str, buckets: int = 10) -> str:
    """Score distribution in ``buckets`` bins of 0-100 %."""
    if not scores:
        return ""
    counts = [0] * buckets
    for s in scores:
        counts[min(int(s) * buckets // 100, buckets - 1)] += 1
    top = max(counts) or 1
    width = (W - 2 * PAD) / buckets
    bars = []
    for i, count in enumerate(counts):
        h = (count / top) * (H - 2 * PAD)
        x, y = PAD + i * width, H - PAD - h
        low, high = i * 100 // buckets, (i + 1) * 100 // buckets
        bars.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{width - 4:.1f}" height="{h:.1f}"'
            ' class="bar" fill="currentColor">'
            f"<title>{low}–{high} %: {count}</title></rect>"
            f'<text x="{x + width / 2:.1f}" y="{H - 12}" text-anchor="middle">{low}</text>'
        )
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" width="100%"'
        f' font-size="11" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" {AXIS}/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{top}</text>{"".join(bars)}</svg>'
    )
