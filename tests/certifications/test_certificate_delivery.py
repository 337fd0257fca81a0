"""Certificates leave Lyceum: e-mailed to the holder with the PDF attached (once), signed with
the space's signature image (checked, re-encoded), announced to webhook subscribers as
``certificate.issued`` (checked by the Standard Webhooks library in a real receiver); the
template and certification pages for coordinators only."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfReader

from certifications import certificates, services
from certifications.models import Award, Certificate, CertificateTemplate, Certification
from hub.accounts.models import Role
from tests.factories import SpaceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def issue(coordinator, cert, *people):
    services.bulk_apply(
        actor=coordinator,
        certification=cert,
        action="issue",
        usernames=[p.username for p in people],
    )


def run_all(run_tasks):
    """Jobs that enqueue jobs (a PDF made, then its webhook fan-out, then its delivery)."""
    while run_tasks():
        pass


def png(color=(20, 20, 160), size=(120, 40), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def certificate_mails():
    return [m for m in mail.outbox if m.subject.startswith("Your certificate")]


def test_the_holder_gets_the_pdf_by_email_once(f, coordinator, learner, learner2, run_tasks):
    learner.email = "leo@example.test"
    learner.save()
    learner2.email = ""
    learner2.save()
    issue(coordinator, f.cert, learner, learner2)
    run_all(run_tasks)
    (sent,) = certificate_mails()  # Lina has no address: nothing for her
    assert sent.to == ["leo@example.test"]
    certificate = Certificate.objects.get(award__user=learner)
    ((name, content, mimetype),) = sent.attachments
    assert name == f"certificate-{certificate.number}.pdf" and mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert certificate.number in text and learner.name in text
    assert f"/verify/{certificate.number}/" in sent.body
    assert certificate.emailed_at is not None
    # The job again (a retry, a second worker): not sent twice.
    certificates.certificate_make(award_id=certificate.award_id)
    assert len(certificate_mails()) == 1


def test_a_failed_send_is_tried_again(f, coordinator, learner, run_tasks, monkeypatch):
    from django.core.mail import EmailMessage

    learner.email = "leo@example.test"
    learner.save()
    real_send = EmailMessage.send

    def down(self, *a, **kw):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", down)
    issue(coordinator, f.cert, learner)
    run_all(run_tasks)
    certificate = Certificate.objects.get()
    assert certificate.pdf and certificate.emailed_at is None
    monkeypatch.setattr(EmailMessage, "send", real_send)
    certificates.certificate_make(award_id=certificate.award_id)
    assert len(certificate_mails()) == 1


def test_signature_image_and_brand_on_the_pdf(f, coordinator, learner, space, run_tasks):
    certificates.template_save(
        space=space,
        body="<h1>Certificate</h1><p>{name}</p><p>{number}</p>",
        signed_by="Ada Chief",
        brand_color="#aa0000",
        signature=SimpleUploadedFile("sig.jpg", png(fmt="JPEG"), content_type="image/jpeg"),
    )
    template = CertificateTemplate.objects.get()
    with template.signature.open("rb") as stored:
        assert stored.read(8) == b"\x89PNG\r\n\x1a\n"  # re-encoded as PNG
    issue(coordinator, f.cert, learner)
    run_all(run_tasks)
    page = PdfReader(io.BytesIO(Certificate.objects.get().pdf.read())).pages[0]
    assert "Ada Chief" in page.extract_text()
    assert len(page.images) >= 1  # the signature (the QR code is vector)
    assert "#aa0000" in certificates._css(space, template)


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        (
            "sig.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "image/svg+xml",
        ),
        ("sig.png", b"<html><script>alert(1)</script></html>", "image/png"),
        ("sig.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),
    ],
)
def test_a_signature_that_is_not_a_raster_image_is_refused(space, name, data, content_type):
    with pytest.raises(ValidationError) as refused:
        certificates.template_save(
            space=space, body="x", signature=SimpleUploadedFile(name, data, content_type)
        )
    assert "signature" in refused.value.message_dict
    assert not CertificateTemplate.objects.exists()


def test_a_brand_that_is_not_a_colour_is_refused(space):
    with pytest.raises(ValidationError):
        certificates.template_save(space=space, body="x", brand_color="red; } body { x")


def test_template_page(client, coordinator, learner, space, trainer):
    client.force_login(coordinator)
    page = client.get("/certifications/template/")
    assert page.status_code == 200 and "template-form" in page.content.decode()
    saved = client.post(
        "/certifications/template/",
        {
            "body": "<h1 onclick='x()'>Well done</h1><script>alert(1)</script><p>{name}</p>",
            "signed_by": "<b>Ada</b>",
            "brand_color": "#123456",
            "signature": SimpleUploadedFile("s.png", png(), content_type="image/png"),
        },
    )
    assert saved.status_code == 302
    template = CertificateTemplate.objects.get(space=space)
    assert "<script" not in template.body_html and "onclick" not in template.body_html
    assert template.signed_by == "Ada" and template.brand_color == "#123456"
    page = client.get("/certifications/template/").content.decode()
    assert "<script>alert" not in page and "signature-preview" in page
    signature_url = template.signature.url
    assert client.get(signature_url).status_code == 200
    bad = client.post(
        "/certifications/template/",
        {"body": "x", "signature": SimpleUploadedFile("s.png", b"GIF89a nope", "image/png")},
    )
    assert bad.status_code == 400
    assert CertificateTemplate.objects.get(space=space).body_html == template.body_html
    for other in (learner, trainer):
        client.force_login(other)
        assert client.get("/certifications/template/").status_code == 403
        assert client.post("/certifications/template/", {"body": "x"}).status_code == 403
        assert client.get(signature_url).status_code in (403, 404)


def test_certification_page(client, coordinator, learner, space, f):
    client.force_login(coordinator)
    assert client.get("/certifications/new/").status_code == 200
    made = client.post(
        "/certifications/new/",
        {
            "title": "Crane <script>x</script>",
            "course": f.course.pk,
            "validity_months": "36",
            "window_days": "90",
            "recert_path": f.recert.pk,
        },
    )
    cert = Certification.objects.get(title__startswith="Crane")
    assert made.status_code == 302 and made["Location"] == f"/certifications/{cert.pk}/"
    assert "<script" not in cert.title
    assert (cert.validity_months, cert.window_days, cert.recert_path) == (36, 90, f.recert)
    # Another space's course, both a course and a path, nonsense numbers: 400, nothing made.
    from tests.certifications.conftest import one_lesson_course

    elsewhere = SpaceFactory()
    stranger = UserFactory(roles=[Role.TRAINER], spaces=[elsewhere])
    foreign, _lesson = one_lesson_course(stranger, elsewhere, "Foreign")
    for bad in (
        {"title": "A", "course": foreign.pk},
        {"title": "B", "course": f.course.pk, "path": f.recert.pk},
        {"title": "C", "course": f.course.pk, "validity_months": "x"},
        {"title": "D", "course": f.course.pk, "validity_months": "999"},
        {"title": "", "course": f.course.pk},
    ):
        assert client.post("/certifications/new/", bad).status_code == 400
    assert Certification.objects.count() == 2
    client.force_login(learner)
    assert client.get("/certifications/new/").status_code == 403


def test_a_manager_reads_their_reports_certificates_only(
    f, coordinator, learner, learner2, manager, space, client, run_tasks
):
    other_boss = UserFactory(roles=[Role.MANAGER], spaces=[space])
    TeamFactory(space=space, manager=other_boss, members=[learner2])
    issue(coordinator, f.cert, learner)
    run_all(run_tasks)
    url = Certificate.objects.get().pdf.url
    client.force_login(manager)
    assert client.get(url).status_code == 200
    client.force_login(other_boss)
    assert client.get(url).status_code in (403, 404)


def test_certificate_issued_reaches_webhook_subscribers(
    f,
    coordinator,
    learner,
    space,
    receiver,
    run_tasks,
    settings,
):
    from integrations import services as integrations

    endpoint = integrations.endpoint_create(
        actor=coordinator, space=space, url=receiver.url, event_types=["certificate.issued"]
    )
    receiver.secret = endpoint.secret
    issue(coordinator, f.cert, learner)
    run_all(run_tasks)
    assert not receiver.rejected
    assert receiver.types() == ["certificate.issued"]
    data = receiver.received[0]["data"]["data"]
    certificate = Certificate.objects.get()
    assert data["user"]["id"] == learner.pk
    assert data["certification"] == {"id": f.cert.pk, "title": f.cert.title}
    assert data["certificate"]["number"] == certificate.number
    assert data["certificate"]["verify_url"].endswith(f"/verify/{certificate.number}/")


def test_open_badges_export_carries_the_certification(f, coordinator, learner, client):
    """A verifier follows assertion -> BadgeClass -> Issuer anonymously; the assertion
    carries the certification's expiry, its public check as evidence, and revocation."""
    from urllib.parse import urlsplit

    from rest_framework.test import APIClient

    def fetch(url):
        parts = urlsplit(url)
        assert parts.netloc == "testserver", url
        return APIClient().get(parts.path)

    learner.email = "Leo@example.test"
    learner.save()
    issue(coordinator, f.cert, learner)
    award = Award.objects.get()
    a = fetch(f"http://testserver/api/v1/certifications/assertions/{award.number}/").json()
    assert a["@context"] == "https://w3id.org/openbadges/v2" and a["type"] == "Assertion"
    assert a["expires"] == award.expires_at.isoformat()
    assert a["recipient"]["hashed"] and "Leo" not in str(a)
    assert a["evidence"]["id"].endswith(f"/verify/{award.number}/")
    assert "revoked" not in a
    badge = fetch(a["badge"]).json()
    assert badge["type"] == "BadgeClass" and badge["name"] == f.cert.title
    assert badge["image"].startswith("data:image/svg+xml;base64,")
    assert "Forklift" in badge["criteria"]["narrative"]
    issuer = fetch(badge["issuer"]).json()
    assert issuer["type"] == "Issuer" and issuer["id"] == badge["issuer"]
    services.bulk_apply(
        actor=coordinator, certification=f.cert, action="revoke", usernames=[learner.username]
    )
    a = fetch(a["id"]).json()
    assert a["revoked"] is True
    # Unknown numbers, certifications nobody holds, spaces that certified nobody: 404.
    assert APIClient().get("/api/v1/certifications/assertions/LY-0000/").status_code == 404
    nobody = services.certification_create(
        user=coordinator, space=f.cert.space, title="Unheld", course=f.course
    )
    assert APIClient().get(f"/api/v1/certifications/{nobody.pk}/badge-class/").status_code == 404
    assert (
        APIClient().get(f"/api/v1/certifications/spaces/{SpaceFactory().pk}/issuer/").status_code
        == 404
    )
