"""Open Badges 2.0 export that a hosted verifier can follow: the assertion names its
BadgeClass by URL, the BadgeClass names its Issuer by URL, each answers anonymously with
the required fields, and the badge's image is a real image (a drawn SVG without upload)."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from leaderboards import selectors, services
from leaderboards.models import BadgeDefinition

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
OB2 = "https://w3id.org/openbadges/v2"


def fetch(url: str) -> Any:
    """GET a hosted object as a verifier does: no credentials, by its absolute URL."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url
    return APIClient().get(parts.path)


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


@pytest.fixture
def awarded(trainer, learner, space):
    learner.email = "Lina@example.com"
    learner.save()
    badge = BadgeDefinition.objects.create(
        space=space, name="Quiz whiz", description="Passed quizzes.", criterion="events",
        reason="quiz_passed", threshold=3,
    )  # fmt: skip
    return services.badge_award_manual(actor=trainer, user=learner, badge=badge, evidence="Demo")


def test_a_verifier_follows_assertion_badge_class_issuer_and_image(awarded):
    url = f"http://testserver/api/v1/leaderboards/badge-awards/{awarded.pk}/assertion/"
    r = fetch(url)
    assert r.status_code == 200
    assertion = r.json()
    assert assertion["@context"] == OB2 and assertion["type"] == "Assertion"
    assert assertion["id"] == url
    assert assertion["verification"] == {"type": "hosted"}
    dt.datetime.fromisoformat(assertion["issuedOn"])
    assert assertion["evidence"] == {"type": "Evidence", "narrative": "Demo"}
    recipient = assertion["recipient"]
    assert recipient["type"] == "email" and recipient["hashed"] is True
    assert recipient["identity"] == selectors.email_identity("lina@example.com", recipient["salt"])
    assert "example.com" not in recipient["identity"]

    # The BadgeClass: a URL of its own, not a fragment of the assertion.
    assert is_iri(assertion["badge"]) and "#" not in assertion["badge"]
    r = fetch(assertion["badge"])
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    badge = r.json()
    assert badge["@context"] == OB2 and badge["type"] == "BadgeClass"
    assert badge["id"] == assertion["badge"]
    assert badge["name"] == "Quiz whiz" and badge["description"] == "Passed quizzes."
    assert isinstance(badge["criteria"]["narrative"], str) and "3" in badge["criteria"]["narrative"]
    assert is_iri(badge["image"]) and is_iri(badge["issuer"]) and "#" not in badge["issuer"]

    r = fetch(badge["issuer"])
    assert r.status_code == 200
    issuer = r.json()
    assert issuer["@context"] == OB2 and issuer["type"] in ("Issuer", "Profile")
    assert issuer["id"] == badge["issuer"]
    assert issuer["name"] == "Test Space" and is_iri(issuer["url"])
    # Hosted verification: the assertion lives on the issuer's origin.
    assert urlsplit(assertion["id"]).netloc == urlsplit(issuer["url"]).netloc

    r = fetch(badge["image"])
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    svg = ET.fromstring(r.content)
    assert svg.tag == f"{SVG}svg"
    assert svg.find(f"{SVG}title").text == "Quiz whiz"
    assert "QW" in [t.text for t in svg.iter(f"{SVG}text")]


def test_the_drawn_image_escapes_the_badge_name(trainer, learner, space):
    badge = BadgeDefinition.objects.create(space=space, name='<script>alert("x")</script> & co')
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    r = APIClient().get(f"/api/v1/leaderboards/badges/{badge.pk}/image.svg")
    svg = ET.fromstring(r.content)  # well-formed despite the markup in the name
    assert svg.find(f"{SVG}title").text == badge.name
    assert not list(svg.iter(f"{SVG}script")) and not list(svg.iter("script"))
    assert "default-src 'none'" in r["Content-Security-Policy"]


def test_an_uploaded_image_is_the_badge_class_image(trainer, learner, space, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    data = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(data, "PNG")
    badge = BadgeDefinition.objects.create(
        space=space, name="Blue", image=SimpleUploadedFile("blue.png", data.getvalue(), "image/png")
    )
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    body = APIClient().get(f"/api/v1/leaderboards/badges/{badge.pk}/badge-class/").json()
    assert body["image"] == "http://testserver" + badge.image.url
    assert (tmp_path / badge.image.name).read_bytes().startswith(b"\x89PNG")


def test_nothing_issued_is_not_public(api_client_for, learner, outsider, trainer, space):
    """What no assertion points at stays with the space's members."""
    badge = BadgeDefinition.objects.create(space=space, name="Secret plan")
    for url in (
        f"/api/v1/leaderboards/badges/{badge.pk}/badge-class/",
        f"/api/v1/leaderboards/badges/{badge.pk}/image.svg",
        f"/api/v1/leaderboards/spaces/{space.pk}/issuer/",
    ):
        assert APIClient().get(url).status_code == 404, url
        assert api_client_for(outsider).get(url).status_code == 404, url
        assert api_client_for(learner).get(url).status_code == 200, url
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    assert (
        APIClient().get(f"/api/v1/leaderboards/badges/{badge.pk}/badge-class/").status_code == 200
    )
    assert APIClient().get("/api/v1/leaderboards/badges/999999/badge-class/").status_code == 404


def test_payloads_and_pages_show_an_image_for_every_badge(client, trainer, learner, space):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    payload = selectors.badge_payload(badge)
    assert payload["image"] == "" and payload["image_url"].endswith(f"/{badge.pk}/image.svg")
    client.force_login(learner)
    html = client.get(f"/leaderboards/badges/{learner.pk}/").content.decode()
    assert f'src="{payload["image_url"]}"' in html
