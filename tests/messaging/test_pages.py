"""The chat page and the navigation badge."""

from __future__ import annotations

import json
import re

import pytest

from messaging import services

pytestmark = pytest.mark.django_db


def state_of(response) -> dict:
    match = re.search(
        r'<script id="chat-state" type="application/json">(.*?)</script>', response.text, re.S
    )
    return json.loads(match.group(1))


def test_nav_shows_the_unread_total(client, direct, group, learner, learner2):
    services.message_send(sender=learner, conversation=direct, body="a")
    services.message_send(sender=learner, conversation=group, body="b")
    client.force_login(learner2)
    page = client.get("/")
    assert 'data-testid="nav-chat"' in page.text
    assert re.search(r'id="chat-unread"[^>]*>2</span>', page.text)


def test_chat_page_lists_conversations_and_opens_one_at_the_first_unread(
    client, direct, learner, learner2
):
    first = services.message_send(
        sender=learner, conversation=direct, body="<b>hi</b> <script>x</script>"
    )
    client.force_login(learner2)
    response = client.get(f"/chat/{direct.pk}/")
    assert response.status_code == 200
    state = state_of(response)
    assert state["current"]["first_unread_id"] == first.id
    assert [m["id"] for m in state["messages"]] == [first.id]
    assert "<script>x</script>" not in response.text  # json_script escapes, sanitiser strips


def test_outsider_gets_404(client, direct, manager):
    client.force_login(manager)
    assert client.get(f"/chat/{direct.pk}/").status_code == 404


def test_open_direct_from_a_form_post(client, learner, learner2):
    client.force_login(learner)
    response = client.post(f"/chat/direct/{learner2.pk}/")
    assert response.status_code == 302 and response.url.startswith("/chat/")


def test_chat_page_needs_login(client):
    assert client.get("/chat/").status_code == 302
