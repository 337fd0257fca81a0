"""Reads of the LTI tool: the values a platform's administrator needs, per space."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from hub.accounts.models import Space
from lti.models import ContextLink, Platform, ScoreSend

SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


def tool_urls(request: Any, space: Space) -> dict[str, str]:
    """Absolute URLs of the tool in ``space`` (what the platform's form asks for)."""

    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name, args=[space.slug]))

    launch = url("lti-launch")
    return {
        "login_url": url("lti-login"),
        "launch_url": launch,
        "redirect_urls": launch,
        "deep_linking_url": launch,
        "jwks_url": url("lti-jwks"),
        "registration_url": url("lti-register"),
        "domain": request.get_host(),
    }


def platforms_of(*, space: Space):
    return Platform.objects.filter(space=space).select_related("default_course")


def contexts_of(*, space: Space):
    return (
        ContextLink.objects.filter(platform__space=space)
        .select_related("platform", "course")
        .order_by("platform__name", "title")
    )


def recent_scores(*, space: Space, limit: int = 20):
    return ScoreSend.objects.filter(link__platform__space=space).select_related(
        "link", "identity__user"
    )[:limit]


def platform_payload(platform: Platform) -> dict[str, Any]:
    return {
        "id": platform.pk,
        "space": platform.space_id,
        "name": platform.name,
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "deployment_ids": list(platform.deployment_ids),
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url,
        "auth_audience": platform.auth_audience,
        "key_set_url": platform.key_set_url,
        "default_course": platform.default_course_id,
        "is_active": platform.is_active,
        "created_at": platform.created_at,
    }
