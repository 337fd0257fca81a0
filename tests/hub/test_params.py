"""Integer parameters from outside: one parser, and a clear 4xx (never a 500) for
``"²"`` (which ``str.isdigit()`` accepts and ``int()`` refuses), other Unicode digits,
signs, spaces and numbers past the database's range."""

from __future__ import annotations

import pytest

from hub.params import BIGINT_MAX, INT_MAX, parse_id

pytestmark = pytest.mark.django_db

# Each of these passes `str.isdigit()` or `int()`, and none is an id.
BAD = ["²", "١٢", "9" * 20, str(BIGINT_MAX + 1), "-1", " 1", "1 ", "1_0", "+1", "1.0", "", "x"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        (str(BIGINT_MAX), BIGINT_MAX),
        (42, 42),
        *((bad, None) for bad in BAD),
        (None, None),
        (True, None),
        (-1, None),
        (BIGINT_MAX + 1, None),
        (4.0, None),
        (["1"], None),
    ],
)
def test_parse_id_takes_ascii_digits_within_the_bigint_range(value, expected):
    assert parse_id(value) == expected


def test_parse_id_honours_a_smaller_maximum():
    assert parse_id(str(INT_MAX), maximum=INT_MAX) == INT_MAX
    assert parse_id(str(INT_MAX + 1), maximum=INT_MAX) is None
    assert parse_id("4", maximum=3) is None


@pytest.fixture
def conversation(learner, learner2):
    from messaging import services

    return services.conversation_direct_open(user=learner, other=learner2)


def _details(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]["details"]


@pytest.mark.parametrize("value", BAD[:6])
def test_messages_before_that_is_not_an_id_is_a_400_naming_it(
    api_client_for, learner, conversation, value
):
    r = api_client_for(learner).get(
        f"/api/v1/conversations/{conversation.pk}/messages/", {"before": value}
    )
    assert r.status_code == 400 and "before" in _details(r)


@pytest.mark.parametrize("value", BAD[:6])
def test_forum_search_forum_that_is_not_an_id_is_a_400_naming_it(api_client_for, learner, value):
    r = api_client_for(learner).get("/api/v1/forums/search/", {"q": "x", "forum": value})
    assert r.status_code == 400 and "forum" in _details(r)


@pytest.mark.parametrize("value", BAD[:6])
def test_live_classes_course_that_is_not_an_id_is_a_400_naming_it(api_client_for, learner, value):
    r = api_client_for(learner).get("/api/v1/liveclasses/", {"course": value})
    assert r.status_code == 400 and "course" in _details(r)


@pytest.mark.parametrize("value", BAD[:6])
def test_duel_colleagues_course_that_is_not_an_id_is_a_404(api_client_for, learner, value):
    r = api_client_for(learner).get("/api/v1/leaderboards/duels/colleagues/", {"course": value})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("value", BAD[:6])
def test_space_switch_to_a_space_that_is_not_an_id_is_a_404(client, learner, space, value):
    client.force_login(learner)
    assert client.post("/spaces/switch/", {"space": value}).status_code == 404


@pytest.mark.parametrize("value", ["²", "9" * 20])
def test_leaderboard_api_space_that_is_not_an_id_is_refused(api_client_for, learner, value):
    r = api_client_for(learner).get("/api/v1/leaderboards/me/points/", {"space": value})
    assert r.status_code == 403, r.content[:200]


TOPICS = [
    "messaging.conversation.{}",
    "forums.thread.{}",
    "forums.forum.{}",
    "sessions.session.{}",
    "hub.space.{}",
    "classrooms.course.{}.progress",
    "classrooms.team.{}.progress",
    "classrooms.liveclass.{}",
    "leaderboards.duel.{}",
    "sessions.session.{}.attendance",
    "messaging.conversation.{}.unread",
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", ["9" * 20, str(BIGINT_MAX + 1)])
async def test_a_topic_id_past_the_bigint_range_is_refused_not_internal(
    communicator_for, learner, key
):
    ws = await communicator_for(learner)
    for pattern in TOPICS:
        topic = pattern.format(key)
        reply = await ws.call("sub", topic=topic)
        # Refused at the gateway's boundary, before any topic looks it up.
        assert reply["op"] == "error" and reply["code"] == "invalid", (
            topic,
            reply,
        )
