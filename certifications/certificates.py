"""Certificates: the PDF of an award (WeasyPrint, in a background job) and its public
verification (a QR code on the PDF leads to /verify/<number>/: valid, expired or revoked,
and nothing more)."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from certifications.models import (
    DEFAULT_TEMPLATE,
    Award,
    Certificate,
    CertificateTemplate,
    State,
)
from hub import sanitize


def verify_url(number: str) -> str:
    return settings.SITE_URL + reverse("certifications-verify", args=[number])


# The page of a certificate (WeasyPrint reads it; never served to a browser, so the pages'
# CSP does not apply). The brand colour is the space's validated #rrggbb.
PDF_CSS = """
@page { size: A4 landscape; margin: 18mm; }
body { font-family: sans-serif; color: #1a1a1a; text-align: center; }
.frame { border: 6px solid BRAND; padding: 14mm; min-height: 150mm; position: relative; }
.space { font-size: 14pt; color: BRAND; }
h1 { font-size: 30pt; margin: 4mm 0; } h2 { font-size: 24pt; margin: 2mm 0; }
.qr { position: absolute; right: 8mm; bottom: 8mm; width: 30mm; }
.signed { position: absolute; left: 10mm; bottom: 10mm; font-style: italic; }
"""


def _css(space: Any) -> str:
    import re

    brand = getattr(space, "brand_color", "") or ""
    return PDF_CSS.replace("BRAND", brand if re.fullmatch(r"#[0-9a-fA-F]{6}", brand) else "#1f5fbf")


def template_save(*, space: Any, body: str, signed_by: str = "") -> CertificateTemplate:
    """A space's template, sanitised (script and handlers stripped)."""
    body_html = sanitize.html(body or "")[:20000] or DEFAULT_TEMPLATE
    template, _created = CertificateTemplate.objects.update_or_create(
        space=space, defaults={"body_html": body_html, "signed_by": sanitize.plain(signed_by)[:200]}
    )
    return template


def render_html(award: Award, number: str) -> str:
    cert = award.certification
    template = CertificateTemplate.objects.filter(space_id=cert.space_id).first()
    body = template.body_html if template else DEFAULT_TEMPLATE
    values = {
        "name": escape(award.user.name),
        "certification": escape(cert.title),
        "number": escape(number),
        "issued": award.issued_at.date().isoformat(),
        "expires": award.expires_at.date().isoformat(),
    }
    for key, value in values.items():
        body = body.replace("{" + key + "}", value)
    qr = segno.make(verify_url(number), error="m").svg_data_uri(scale=4)
    return render_to_string(
        "certifications/certificate_pdf.html",
        {
            "body": body,
            "space": cert.space,
            "signed_by": template.signed_by if template else "",
            "qr": qr,
            "number": number,
        },
    )


def certificate_make(*, award_id: int) -> Certificate | None:
    """Make (once) the PDF of the award's current number. Idempotent."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    award = Award.objects.select_related("certification__space", "user").filter(pk=award_id).first()
    if award is None or award.state == State.REVOKED:
        return None
    existing = Certificate.objects.filter(number=award.number).first()
    if existing and existing.pdf:
        return existing
    html = render_html(award, award.number)
    # No base URL and no fetcher of remote resources: a template's <img src="http://..."> is
    # not fetched (the QR code is a data URI).
    fetcher = URLFetcher(allowed_protocols=["data"], timeout=2)
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=_css(award.certification.space))]
    )
    with transaction.atomic():
        cert, _created = Certificate.objects.get_or_create(
            number=award.number, defaults={"award": award, "expires_at": award.expires_at}
        )
        if not cert.pdf:
            cert.pdf.save(f"{award.number}.pdf", ContentFile(pdf), save=False)
            cert.made_at = timezone.now()
            cert.save()
    return cert


def verification(number: str) -> str | None:
    """``"valid"``, ``"expired"`` or ``"revoked"`` for a certificate number; None if unknown."""
    cert = Certificate.objects.select_related("award").filter(number=number[:40]).first()
    if cert is None:
        return None
    award = cert.award
    if award.state == State.REVOKED:
        return "revoked"
    if cert.expires_at <= timezone.now() or award.state == State.EXPIRED:
        return "expired"
    return "valid"


def file_name(user: Any, name: str) -> str | None:
    """Who may download a certificate (hub/files.py): its holder, their managers, the space's
    coordinators and admins."""
    from certifications.selectors import can_manage
    from hub.accounts.selectors import is_manager_of

    cert = (
        Certificate.objects.select_related("award__user", "award__certification")
        .filter(pdf=name)
        .first()
    )
    if cert is None:
        return None
    award = cert.award
    if (
        award.user_id == user.pk
        or is_manager_of(manager=user, user=award.user)
        or can_manage(user=user, space_id=award.certification.space_id)
    ):
        return f"certificate-{cert.number}.pdf"
    return None
