"""The icons copied from the Lucide npm package (frontend/vendor/copy_icons.py)."""

from __future__ import annotations

from frontend.templatetags.ui import ICON_DIR


def used_icons() -> list[str]:
    """Names of the icons served from frontend/static/icons, sorted."""
    return sorted(p.stem for p in ICON_DIR.glob("*.svg") if p.stem != "sprite")
