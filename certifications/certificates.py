"""Certificates: the PDF of an award (WeasyPrint, in a background job) and its public
verification (a QR code on the PDF leads to /verify/<number>/: valid, expired or revoked,
and nothing more)."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from certifications.models import (
    DEFAULT_TEMPLATE,
    Award,
    Certificate,
    CertificateTemplate,
    State,
)
from hub import events, sanitize


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
.signature { max-width: 60mm; max-height: 22mm; }
"""


BRAND = re.compile(r"#[0-9a-fA-F]{6}")


def _css(space: Any, template: CertificateTemplate | None = None) -> str:
    chosen = (template.brand_color if template else "") or getattr(space, "brand_color", "") or ""
    return PDF_CSS.replace("BRAND", chosen if BRAND.fullmatch(chosen) else "#1f5fbf")


MAX_SIGNATURE_BYTES = 2 * 1024 * 1024


def _signature_png(upload: Any) -> ContentFile:
    """A raster image (PNG, JPEG, GIF, WebP, checked by ``hub.files.check_image``) re-encoded
    as a small PNG: whatever else the file carried (metadata, trailing bytes) is dropped."""
    from PIL import Image

    from hub.files import check_image

    if getattr(upload, "size", 0) > MAX_SIGNATURE_BYTES:
        raise ValidationError({"signature": _("At most 2 MB.")})
    check_image(upload, field="signature")
    with Image.open(upload) as picture:
        picture.thumbnail((800, 300))
        out = io.BytesIO()
        picture.convert("RGBA").save(out, format="PNG")
    return ContentFile(out.getvalue(), name="signature.png")


def template_save(
    *,
    space: Any,
    body: str,
    signed_by: str = "",
    brand_color: str | None = None,
    signature: Any = None,
    remove_signature: bool = False,
) -> CertificateTemplate:
    """A space's template, sanitised (script and handlers stripped), its brand colour a
    ``#rrggbb`` (or empty: the space's), its signature image checked and re-encoded."""
    body_html = sanitize.html(body or "")[:20000] or DEFAULT_TEMPLATE
    defaults: dict[str, Any] = {
        "body_html": body_html,
        "signed_by": sanitize.plain(signed_by or "").strip()[:200],
    }
    if brand_color is not None:
        brand_color = brand_color.strip()
        if brand_color and not BRAND.fullmatch(brand_color):
            raise ValidationError({"brand_color": _("A colour as #rrggbb.")})
        defaults["brand_color"] = brand_color
    png = _signature_png(signature) if signature else None
    template, _created = CertificateTemplate.objects.update_or_create(
        space=space, defaults=defaults
    )
    if png is not None or (remove_signature and template.signature):
        if template.signature:
            template.signature.delete(save=False)
        if png is not None:
            template.signature.save("signature.png", png, save=False)
        template.save(update_fields=["signature"])
    return template


def signature_data_uri(template: CertificateTemplate | None) -> str:
    if template is None or not template.signature:
        return ""
    with template.signature.open("rb") as stored:
        return "data:image/png;base64," + base64.b64encode(stored.read()).decode()


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
            "signature": signature_data_uri(template),
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
        certificate_email(certificate=existing)  # a send that failed last time
        return existing
    html = render_html(award, award.number)
    # No base URL and no fetcher of remote resources: a template's <img src="http://..."> is
    # not fetched (the QR code is a data URI).
    fetcher = URLFetcher(allowed_protocols=["data"], timeout=2)
    template = CertificateTemplate.objects.filter(space_id=award.certification.space_id).first()
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=_css(award.certification.space, template))]
    )
    with transaction.atomic():
        cert, _created = Certificate.objects.get_or_create(
            number=award.number, defaults={"award": award, "expires_at": award.expires_at}
        )
        if not cert.pdf:
            cert.pdf.save(f"{award.number}.pdf", ContentFile(pdf), save=False)
            cert.made_at = timezone.now()
            cert.save()
            # Outbound webhooks (integrations/) and whoever else listens.
            events.emit(
                "certifications.certificate_issued",
                user=award.user,
                certification=award.certification,
                certificate=cert,
            )
    certificate_email(certificate=cert)
    return cert


def certificate_email(*, certificate: Certificate) -> bool:
    """E-mail the holder their certificate, the PDF attached; once (``emailed_at`` is
    claimed first, so two workers send it once). Nothing for a holder without an address."""
    from django.core.mail import EmailMessage

    award = certificate.award
    user = award.user
    if not user.email or not certificate.pdf:
        return False
    if not Certificate.objects.filter(pk=certificate.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    ):
        return False
    context = {
        "user": user,
        "certification": award.certification,
        "certificate": certificate,
        "verify_url": verify_url(certificate.number),
        "site_url": settings.SITE_URL,
    }
    message = EmailMessage(
        subject=_("Your certificate: %(title)s") % {"title": award.certification.title},
        body=render_to_string("certifications/email/certificate.txt", context),
        to=[user.email],
    )
    with certificate.pdf.open("rb") as stored:
        message.attach(f"certificate-{certificate.number}.pdf", stored.read(), "application/pdf")
    try:
        message.send()
    except Exception:
        # Tried again by the next run of the job (made PDFs are not made again).
        Certificate.objects.filter(pk=certificate.pk).update(emailed_at=None)
        raise
    return True


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


def signature_file_name(user: Any, name: str) -> str | None:
    """Who may read a space's signature image (hub/files.py): its coordinators and admins."""
    from certifications.selectors import can_manage

    template = CertificateTemplate.objects.filter(signature=name).first()
    if template is None or not can_manage(user=user, space_id=template.space_id):
        return None
    return "signature.png"


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
