"""REST endpoints of chat: the same services, the same errors."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db


def url(conversation, rest=""):
    return f"/api/v1/conversations/{conversation.pk}/{rest}"


def test_list_shows_my_conversations_with_unread_counts(
    api_client_for, direct, group, learner, learner2
):
    services.message_send(sender=learner, conversation=direct, body="hi")
    body = api_client_for(learner2).get("/api/v1/conversations/").json()
    unread = {c["id"]: c["unread"] for c in body["results"]}
    assert unread == {direct.pk: 1, group.pk: 0}
    titles = {c["id"]: c["title"] for c in body["results"]}
    assert titles[direct.pk] == learner.name


def test_open_direct_and_group(api_client_for, learner, learner2, trainer):
    client = api_client_for(learner)
    r = client.post(
        "/api/v1/conversations/", {"kind": "direct", "members": [learner2.pk]}, format="json"
    )
    assert r.status_code == 201
    again = client.post(
        "/api/v1/conversations/", {"kind": "direct", "members": [learner2.pk]}, format="json"
    )
    assert again.json()["id"] == r.json()["id"]
    g = client.post(
        "/api/v1/conversations/",
        {"kind": "group", "title": "Revision", "members": [learner2.pk, trainer.pk]},
        format="json",
    )
    assert g.status_code == 201 and g.json()["role"] == "admin"
    assert len(g.json()["members"]) == 3


def test_send_over_rest_is_idempotent_and_length_checked(api_client_for, direct, learner):
    client = api_client_for(learner)
    cid = str(uuid.uuid4())
    a = client.post(url(direct, "messages/"), {"body": "hi", "client_id": cid}, format="json")
    b = client.post(url(direct, "messages/"), {"body": "hi", "client_id": cid}, format="json")
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    too_long = client.post(url(direct, "messages/"), {"body": "x" * 10_001}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "invalid"
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"body": "x", "attachments": [10**20]},
        {"body": "x", "reply_to": 10**20},
        {"body": "x", "attachments": [2**63]},
    ],
)
def test_ids_out_of_range_are_refused_not_a_500(api_client_for, direct, learner, data):
    response = api_client_for(learner).post(url(direct, "messages/"), data, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Message.objects.exists()


def test_outsider_gets_404_reading_and_403_posting(api_client_for, direct, manager):
    client = api_client_for(manager)
    assert client.get(url(direct, "messages/")).status_code == 404
    assert client.get(url(direct)).status_code == 404
    r = client.post(url(direct, "messages/"), {"body": "hi"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_history_pages_by_id_and_jumps_to_first_unread(
    api_client_for, direct, learner, learner2, settings
):
    settings.LYCEUM_MESSAGING = {"RATE_COUNT": 1000}
    ids = [
        services.message_send(sender=learner, conversation=direct, body=f"m{i}").id
        for i in range(30)
    ]
    services.conversation_mark_read(user=learner2, conversation=direct, last_read_id=ids[19])
    client = api_client_for(learner2)
    latest = client.get(url(direct, "messages/?limit=10")).json()
    assert [m["id"] for m in latest["results"]] == ids[-10:] and latest["has_more"]
    older = client.get(url(direct, f"messages/?limit=10&before={ids[-10]}")).json()
    assert [m["id"] for m in older["results"]] == ids[10:20]
    newer = client.get(url(direct, f"messages/?limit=5&after={ids[4]}")).json()
    assert [m["id"] for m in newer["results"]] == ids[5:10]
    around = client.get(url(direct, "messages/?limit=10&around=first_unread")).json()
    assert around["first_unread_id"] == ids[20]
    assert ids[20] in [m["id"] for m in around["results"]]
    assert client.get(url(direct, "messages/?before=abc")).status_code == 400


def test_edit_delete_react_report_read(api_client_for, group, learner, learner2):
    m = services.message_send(sender=learner, conversation=group, body="helo")
    mine, theirs = api_client_for(learner), api_client_for(learner2)
    assert (
        mine.patch(url(group, f"messages/{m.id}/"), {"body": "hello"}, format="json").json()["body"]
        == "hello"
    )
    assert (
        theirs.patch(url(group, f"messages/{m.id}/"), {"body": "x"}, format="json").status_code
        == 403
    )
    r = theirs.post(url(group, f"messages/{m.id}/reactions/"), {"emoji": "🎉"}, format="json")
    assert r.json()["reactions"] == [{"emoji": "🎉", "users": [learner2.pk]}]
    assert (
        theirs.post(
            url(group, f"messages/{m.id}/report/"), {"reason": "x"}, format="json"
        ).status_code
        == 201
    )
    assert theirs.post(url(group, "read/"), {"last_read_id": m.id}, format="json").json() == {
        "last_read_id": m.id
    }
    assert mine.delete(url(group, f"messages/{m.id}/")).json()["deleted"] is True


def test_attachments_with_limits(api_client_for, direct, learner, settings):
    client = api_client_for(learner)
    pdf = SimpleUploadedFile("notes.pdf", b"%PDF-1.4 tiny", content_type="application/pdf")
    r = client.post(url(direct, "attachments/"), {"file": pdf}, format="multipart")
    assert r.status_code == 201, r.json()
    exe = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")
    assert (
        client.post(url(direct, "attachments/"), {"file": exe}, format="multipart").status_code
        == 400
    )
    settings.LYCEUM_MESSAGING = {"MAX_ATTACHMENT_BYTES": 4}
    big = SimpleUploadedFile("big.txt", b"12345", content_type="text/plain")
    assert (
        client.post(url(direct, "attachments/"), {"file": big}, format="multipart").status_code
        == 400
    )
    sent = client.post(
        url(direct, "messages/"), {"body": "", "attachments": [r.json()["id"]]}, format="json"
    )
    assert sent.status_code == 201 and sent.json()["attachments"][0]["name"] == "notes.pdf"
    reuse = client.post(
        url(direct, "messages/"), {"body": "x", "attachments": [r.json()["id"]]}, format="json"
    )
    assert reuse.status_code == 400


def test_block_and_settings(api_client_for, direct, learner, learner2):
    api_client_for(learner2).post("/api/v1/chat/blocks/", {"user": learner.pk}, format="json")
    r = api_client_for(learner).post(url(direct, "messages/"), {"body": "hi"}, format="json")
    assert r.status_code == 403
    s = api_client_for(learner).patch(
        "/api/v1/chat/settings/", {"read_receipts": False}, format="json"
    )
    assert s.json() == {"read_receipts": False, "email_digest": False}


def test_group_members_endpoint(api_client_for, group, trainer, learner, manager):
    r = api_client_for(trainer).post(
        url(group, "members/"), {"user": manager.pk, "action": "add"}, format="json"
    )
    assert manager.pk in [m["id"] for m in r.json()["members"]]
    r = api_client_for(learner).post(
        url(group, "members/"), {"user": manager.pk, "action": "remove"}, format="json"
    )
    assert r.status_code == 403


@pytest.mark.parametrize("body", ["[1, 2]", "null", "3", '"text"'])
@pytest.mark.parametrize("rest", ["messages/{id}/", "messages/{id}/reactions/"])
def test_a_body_that_is_not_an_object_is_a_400_and_changes_nothing(
    api_client_for, group, learner, body, rest
):
    m = services.message_send(sender=learner, conversation=group, body="hello")
    client = api_client_for(learner)
    path = url(group, rest.format(id=m.id))
    call = client.patch if rest == "messages/{id}/" else client.post
    response = call(path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    m.refresh_from_db()
    assert m.body == "hello" and not m.reactions.exists()
