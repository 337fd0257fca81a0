"""Lyceum's own statements resource (for cmi5 content): stores, then forwards to Ralph."""

from __future__ import annotations

import pytest

from integrations import xapi
from integrations.models import Statement, StatementSource

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]
URL = "/api/v1/xapi/statements"
V = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}


def statement(user, **over):
    return {
        "actor": xapi.actor(user),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/progressed"},
        "object": {"objectType": "Activity", "id": "https://content.test/au/1"},
        "result": {"extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 50}},
        **over,
    }


def test_content_statements_are_stored_and_forwarded(
    api_client_for, learner, space, lrs, ralph, run_tasks
):
    client = api_client_for(learner)
    fixed = "5e8a2f8e-3b7f-4d4c-9a55-1f0c2b3d4e5f"
    response = client.post(
        f"{URL}?space={space.pk}",
        [statement(learner), statement(learner, id=fixed)],
        format="json",
        **V,
    )
    assert response.status_code == 200, response.content
    ids = response.json()
    assert len(ids) == 2 and ids[1] == fixed
    assert Statement.objects.filter(source=StatementSource.CONTENT).count() == 2
    run_tasks()
    assert {s["id"] for s in ralph.statements()} == set(ids)


@pytest.mark.parametrize(
    "case",
    ["no-version", "forged-actor", "too-many", "not-a-statement", "bad-verb", "no-space"],
)
def test_bad_statements_change_nothing(api_client_for, learner, learner2, space, case):
    client = api_client_for(learner)
    body: object = [statement(learner)]
    headers = dict(V)
    url = f"{URL}?space={space.pk}"
    expected = 400
    if case == "no-version":
        headers = {}
    elif case == "forged-actor":
        body = [statement(learner), statement(learner2)]
        expected = 403
    elif case == "too-many":
        body = [statement(learner)] * 101
    elif case == "not-a-statement":
        body = ["hello"]
    elif case == "bad-verb":
        body = [statement(learner, verb={"id": "progressed"})]
    elif case == "no-space":
        url = URL
    response = client.post(url, body, format="json", **headers)
    assert response.status_code == expected, response.content
    assert "error" in response.json()
    assert not Statement.objects.exists()


def test_not_a_member_of_the_space(api_client_for, outsider, space):
    response = api_client_for(outsider).post(
        f"{URL}?space={space.pk}", [statement(outsider)], format="json", **V
    )
    assert response.status_code == 403
    assert not Statement.objects.exists()
