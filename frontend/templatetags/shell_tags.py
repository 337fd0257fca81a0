"""Small template helpers of the shell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

register = template.Library()


@register.filter
def max_pk(objects: Iterable[Any]) -> int:
    """The highest primary key among ``objects`` (0 when empty): where a live list resumes."""
    return max((obj.pk for obj in objects), default=0)


@register.filter
def http_url(value: Any) -> str:
    """``value`` if it is an http(s) address, else ``""``: never a ``javascript:`` link."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else ""
