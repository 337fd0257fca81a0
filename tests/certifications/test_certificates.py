"""Certificates: the PDF made in the background (read back with pypdf), its download (the
holder, not another learner), the public verification page (valid, expired, revoked,
tampered), a space template with script in it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from certifications import certificates, services
from certifications.models import Award, Certificate, CertificateTemplate, State

pytestmark = pytest.mark.django_db


def issue(coordinator, cert, *people):
    services.bulk_apply(
        actor=coordinator,
        certification=cert,
        action="issue",
        usernames=[p.username for p in people],
    )


def test_pdf_made_in_the_background_and_read_back(f, coordinator, learner, space, run_tasks):
    certificates.template_save(
        space=space,
        body="<h1>Well done</h1><script>alert(1)</script><p onclick='x()'>{name} holds "
        "{certification}, number {number}</p><img src='http://example.com/x.png'>",
        signed_by="Ada <b>Chief</b>",
    )
    learner.display_name = "Léa <Zoé> Martin"
    learner.save()
    issue(coordinator, f.cert, learner)
    award = Award.objects.get(user=learner)
    assert not Certificate.objects.exists()  # not made in the request
    assert run_tasks() >= 1
    cert = Certificate.objects.get(award=award)
    assert cert.number == award.number
    text = PdfReader(io.BytesIO(cert.pdf.read())).pages[0].extract_text()
    assert "Léa <Zoé> Martin" in text
    assert award.number in text
    # The template's script and handler are gone before it is stored (their text stays inert).
    stored = CertificateTemplate.objects.get().body_html
    assert "<script" not in stored and "onclick" not in stored
    assert "Ada Chief" in text
    # Made once: the job again changes nothing.
    assert certificates.certificate_make(award_id=award.pk).pk == cert.pk


def test_download_is_the_holders(f, coordinator, learner, learner2, manager, client, run_tasks):
    issue(coordinator, f.cert, learner)
    run_tasks()
    url = Certificate.objects.get().pdf.url
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    client.force_login(manager)
    assert client.get(url).status_code == 200
    client.force_login(learner2)
    assert client.get(url).status_code in (403, 404)
    client.force_login(learner)
    page = client.get("/certifications/").content.decode()
    assert "certificate-pdf" in page


def test_verification_page(f, coordinator, learner, learner2, client, run_tasks, monkeypatch):
    issue(coordinator, f.cert, learner, learner2)
    run_tasks()
    leo = Certificate.objects.get(award__user=learner)
    lina = Certificate.objects.get(award__user=learner2)
    page = client.get(f"/verify/{leo.number}/")
    content = page.content.decode()
    assert page.status_code == 200 and 'data-state="valid"' in content
    # Nothing more: no name, no title.
    assert learner.name not in content and f.cert.title not in content
    services.bulk_apply(
        actor=coordinator, certification=f.cert, action="revoke", usernames=[learner.username]
    )
    assert 'data-state="revoked"' in client.get(f"/verify/{leo.number}/").content.decode()
    later = timezone.now() + timedelta(days=800)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert 'data-state="expired"' in client.get(f"/verify/{lina.number}/").content.decode()
    for tampered in (lina.number[:-1] + "Z", lina.number.lower() + "x", "%3Cscript%3E", "A" * 300):
        response = client.get(f"/verify/{tampered}/")
        assert response.status_code == 404 and 'data-state="unknown"' in response.content.decode()


def test_renewal_makes_a_new_certificate_and_the_old_one_expires(
    f, coordinator, learner, client, run_tasks, monkeypatch
):
    issue(coordinator, f.cert, learner)
    run_tasks()
    first = Certificate.objects.get()
    issue(coordinator, f.cert, learner)  # issued again: a renewal, a new number
    run_tasks()
    award = Award.objects.get()
    assert award.state == State.CERTIFIED and Certificate.objects.count() == 2
    assert Certificate.objects.filter(number=award.number).exists()
    later = first.expires_at + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert certificates.verification(first.number) == "expired"
