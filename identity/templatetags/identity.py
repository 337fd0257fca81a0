"""``{% sso_login_choices request as sso %}``: the identity providers the login page offers
(the space named by ``?space=<slug>``, else the default space) and whether its members sign
in only through them."""

from __future__ import annotations

from typing import Any

from django import template

from hub.accounts.models import Space
from identity.models import SpaceIdentity
from identity.sso import providers_for

register = template.Library()


@register.simple_tag
def sso_login_choices(request: Any) -> dict[str, Any]:
    slug = request.GET.get("space", "") if request is not None else ""
    space = None
    if isinstance(slug, str) and slug and len(slug) <= 50:
        space = Space.objects.filter(slug=slug).first()
    if space is None:
        space = Space.objects.filter(is_default=True).first()
    if space is None:
        return {"space": None, "providers": [], "sso_only": False, "show_password": True}
    providers = list(providers_for(space))
    sso_only = bool(providers and SpaceIdentity.objects.filter(space=space, sso_only=True).exists())
    return {
        "space": space,
        "providers": providers,
        "sso_only": sso_only,
        "show_password": not sso_only or request.GET.get("password") == "1",
    }
