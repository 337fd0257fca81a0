"""The Open Badges 2.0 export of certifications: each award is a hosted Assertion (its
``expires``, and ``revoked`` once revoked), naming the certification's BadgeClass by URL,
which names the space's Issuer by URL; the evidence is the certificate's public check. The
shapes and the recipient's hashed e-mail are the badges' own (``leaderboards.selectors``),
so a backpack or verifier reads both alike."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from certifications.models import Award, Certification, State
from leaderboards.selectors import OPEN_BADGES_CONTEXT, email_identity, issuer_profile


def assertion(award: Award, *, base_url: str) -> dict[str, Any]:
    """The hosted Assertion of an award (its current number)."""
    cert = award.certification
    salt = hashlib.sha256(f"lyceum-certification-{award.pk}".encode()).hexdigest()[:16]
    if award.user.email:
        recipient: dict[str, Any] = {
            "type": "email",
            "hashed": True,
            "salt": salt,
            "identity": email_identity(award.user.email, salt),
        }
    else:
        recipient = {
            "type": "url",
            "hashed": False,
            "identity": f"{base_url}/users/{award.user_id}",
        }
    verify = base_url + reverse("certifications-verify", args=[award.number])
    data: dict[str, Any] = {
        "@context": OPEN_BADGES_CONTEXT,
        "type": "Assertion",
        "id": base_url + reverse("api-certification-assertion", args=[award.number]),
        "recipient": recipient,
        "badge": base_url + reverse("api-certification-badge-class", args=[cert.pk]),
        "issuedOn": award.issued_at.isoformat(),
        "expires": award.expires_at.isoformat(),
        "verification": {"type": "hosted"},
        "evidence": {
            "type": "Evidence",
            "id": verify,
            "narrative": _("Certificate %(number)s: checked at %(url)s")
            % {"number": award.number, "url": verify},
        },
    }
    if award.state == State.REVOKED:
        data["revoked"] = True
        data["revocationReason"] = _("Revoked by the issuer.")
    return data


def badge_image(cert: Certification) -> str:
    """A drawn SVG (data URI): a BadgeClass needs an image."""
    title = escape(cert.title[:40])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
        '<circle cx="120" cy="120" r="112" fill="#1f5fbf"/>'
        '<circle cx="120" cy="120" r="96" fill="none" stroke="#fff" stroke-width="4"/>'
        f'<text x="120" y="128" font-family="sans-serif" font-size="16" fill="#fff" '
        f'text-anchor="middle">{title}</text></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def badge_class(cert: Certification, *, base_url: str) -> dict[str, Any]:
    if cert.course_id:
        narrative = _("Complete the course %(title)s.") % {"title": cert.course.title}
    else:
        narrative = _("Complete the learning path %(title)s.") % {"title": cert.path.title}
    narrative += " " + _("Valid %(n)s months; renewed by recertification.") % {
        "n": cert.validity_months
    }
    return {
        "@context": OPEN_BADGES_CONTEXT,
        "type": "BadgeClass",
        "id": base_url + reverse("api-certification-badge-class", args=[cert.pk]),
        "name": cert.title,
        "description": cert.title,
        "image": badge_image(cert),
        "criteria": {"narrative": narrative},
        "issuer": base_url + reverse("api-certification-issuer", args=[cert.space_id]),
        "tags": ["certification"],
    }


def issuer(space: Any, *, base_url: str) -> dict[str, Any]:
    profile = issuer_profile(space, base_url=base_url)
    profile["id"] = base_url + reverse("api-certification-issuer", args=[space.pk])
    return profile
