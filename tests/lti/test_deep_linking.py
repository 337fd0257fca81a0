"""The Deep Linking picker: only a platform's instructor opens it, only this space's content
can be picked, and the response is signed with the space's key (verified with joserfc
against our JWKS, as a platform would)."""

from __future__ import annotations

import re

from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import KeySet

from lti.tool import space_jwks
from tests.lti.conftest import CLAIM

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
INSTRUCTOR = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]


def _deep_link_launch(launcher, roles=INSTRUCTOR, accept=("ltiResourceLink",)):
    return launcher.launch(
        **{
            CLAIM + "message_type": "LtiDeepLinkingRequest",
            CLAIM + "resource_link": None,
            CLAIM + "roles": roles,
            DL + "deep_linking_settings": {
                "deep_link_return_url": "https://lms.example.test/dl-return",
                "accept_types": list(accept),
                "accept_presentation_document_targets": ["window"],
                "accept_multiple": True,
                "data": "opaque-42",
            },
        }
    )


def test_instructor_picks_an_activity_and_gets_a_signed_response(launcher, course, space, client):
    response = _deep_link_launch(launcher)
    assert response.status_code == 302
    picker = client.get(response["Location"])
    assert picker.status_code == 200
    html = picker.content.decode()
    assert f'data-target="activity:{course.quiz.pk}"' in html
    launch_id = re.search(r'name="launch" value="([^"]+)"', html).group(1)
    url = reverse("lti-deep-link", args=[space.slug])
    done = client.post(url, {"launch": launch_id, "target": f"activity:{course.quiz.pk}"})
    assert done.status_code == 200
    body = done.content.decode()
    assert 'action="https://lms.example.test/dl-return"' in body
    assert "form-action 'self' https://lms.example.test" in done["Content-Security-Policy"]
    token = re.search(r'name="JWT" value="([^"]+)"', body).group(1)
    claims = jwt.decode(token, KeySet.import_key_set(space_jwks(space))).claims
    assert claims["iss"] == launcher.platform.client_id
    assert claims["aud"] == [launcher.platform.issuer]
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[DL + "data"] == "opaque-42"
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["custom"] == {"lyceum_target": f"activity:{course.quiz.pk}"}
    # A quiz is gradable: the platform is asked for a gradebook column (AGS line item).
    assert item["lineItem"] == {
        "scoreMaximum": 100,
        "label": course.quiz.title,
        "resourceId": f"activity:{course.quiz.pk}",
        "tag": "lyceum",
    }
    # The picker is spent: posting again is refused.
    again = client.post(url, {"launch": launch_id, "target": f"activity:{course.quiz.pk}"})
    assert again.status_code == 403


def test_picking_something_of_another_space_builds_nothing(launcher, course, space, client):
    response = _deep_link_launch(launcher)
    html = client.get(response["Location"]).content.decode()
    launch_id = re.search(r'name="launch" value="([^"]+)"', html).group(1)
    url = reverse("lti-deep-link", args=[space.slug])
    refused = client.post(url, {"launch": launch_id, "target": "activity:999999"})
    assert refused.status_code == 302  # back to the picker with an error
    assert client.post(url, {"launch": launch_id}).status_code == 302
    assert b"JWT" not in client.get(refused["Location"]).content


def test_learners_cannot_open_the_picker(launcher, course):
    from lti.models import LtiIdentity

    response = _deep_link_launch(
        launcher, roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    )
    assert response.status_code == 403
    assert LtiIdentity.objects.count() == 0


def test_platform_not_accepting_links_is_refused(launcher, course):
    from lti.models import LtiIdentity

    assert _deep_link_launch(launcher, accept=("file",)).status_code == 400
    assert LtiIdentity.objects.count() == 0
