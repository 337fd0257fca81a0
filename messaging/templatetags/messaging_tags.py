"""``{% chat_nav %}``: the navigation's chat link with its live unread badge."""

from __future__ import annotations

from typing import Any

from django import template

from messaging import selectors

register = template.Library()

# The badge listens to at most this many conversations (the gateway caps subscriptions).
NAV_CONVERSATIONS = 100


@register.inclusion_tag("messaging/_nav.html", takes_context=True)
def chat_nav(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    memberships = selectors.conversations_for(user=user)[:NAV_CONVERSATIONS]
    counts = {m.conversation_id: m.unread for m in memberships}
    match = getattr(request, "resolver_match", None)
    return {
        "show": True,
        "counts": {str(k): v for k, v in counts.items()},
        "total": sum(counts.values()),
        "current": bool(match and match.url_name in ("chat", "chat-conversation")),
    }
