"""A live duel over the gateway: lobby presence decides live mode, both players get each
question at once, the server's timer closes a question nobody finished, errors are frames."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from leaderboards import duel_selectors, duel_services
from leaderboards.models import Duel, DuelTurn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick(settings, monkeypatch):
    settings.DUEL_QUESTIONS = 2
    settings.DUEL_SECONDS = 1
    settings.DUEL_START_SECONDS = 0
    settings.DUEL_REVEAL_SECONDS = 0
    settings.DUEL_TIMERS = True  # the real in-process timer closes questions here
    monkeypatch.setattr(
        duel_services,
        "_pick_questions",
        lambda course, count: list(
            duel_selectors.bank_of(course).order_by("id").values_list("id", flat=True)[:count]
        ),
    )


def _answer_key(course_setup) -> dict[int, list[int]]:
    return {
        q.pk: sorted(c.pk for c in q.choices.all() if c.is_correct) for q in course_setup.questions
    }


async def test_live_duel_over_the_gateway(communicator_for, course_setup, learner, learner2, quick):
    key = await database_sync_to_async(_answer_key)(course_setup)
    one, two = await communicator_for(learner), await communicator_for(learner2)
    for ws, user in ((one, learner), (two, learner2)):
        reply = await ws.call("sub", topic=f"leaderboards.lobby.{user.pk}")
        assert reply["op"] == "ok", reply
    duel = await database_sync_to_async(duel_services.duel_challenge)(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    received = await two.next_event(type="challenge.received")
    assert received["data"]["id"] == duel.pk
    duel = await database_sync_to_async(duel_services.duel_accept)(user=learner2, duel=duel)
    assert duel.mode == "live"  # both were present on their lobby topics
    topic = f"leaderboards.duel.{duel.pk}"
    for ws in (one, two):
        assert (await ws.call("sub", topic=topic, since=0))["op"] == "ok"
        await ws.next_event(type="duel.started")
    assert (await one.call("act", topic=topic, action="ready"))["op"] == "ok"
    assert (await two.call("act", topic=topic, action="ready"))["op"] == "ok"
    first = [await ws.next_event(type="question.opened", topic=topic) for ws in (one, two)]
    assert (
        first[0]["id"] == first[1]["id"]
        and first[0]["data"]["deadline"] == first[1]["data"]["deadline"]
    )
    assert "is_correct" not in str(first[0]["data"])
    good = key[first[0]["data"]["question"]["id"]]

    # Bad input is an error frame and changes nothing.
    bad = await one.call("act", topic=topic, action="answer", data={"index": 0, "answer": {"x": 1}})
    assert (bad["op"], bad["code"]) == ("error", "invalid")
    bad = await one.call("act", topic=topic, action="answer", data={"index": "zero"})
    assert bad["code"] == "invalid"

    ok = await one.call("act", topic=topic, action="answer", data={"index": 0, "answer": good})
    assert ok["op"] == "ok" and ok["data"] == {"index": 0, "answered": True}
    again = await one.call("act", topic=topic, action="answer", data={"index": 0, "answer": good})
    assert again["code"] == "conflict"
    answered = await two.next_event(type="question.answered")
    assert answered["data"] == {"duel": duel.pk, "index": 0, "user": learner.pk}

    # learner2 never answers: the server's timer closes the question at its deadline.
    closed = await two.next_event(type="question.closed", timeout=5)
    assert closed["data"]["correct"] == good
    assert closed["data"]["results"][str(learner2.pk)]["answered"] is False
    score = await two.next_event(type="score")
    scores = score["data"]["scores"]
    assert scores[str(learner2.pk)] == 0 and scores[str(learner.pk)] > 100
    late = await two.call("act", topic=topic, action="answer", data={"index": 0, "answer": good})
    assert late["code"] in {"invalid", "conflict"}

    second = await one.next_event(type="question.opened", topic=topic, timeout=5)
    assert second["data"]["index"] == 1
    good = key[second["data"]["question"]["id"]]
    for ws in (one, two):
        reply = await ws.call(
            "act", topic=topic, action="answer", data={"index": 1, "answer": good}
        )
        assert reply["op"] == "ok", reply
    finished = await one.next_event(type="duel.finished", timeout=5)
    assert finished["data"]["result"]["winner"] == learner.pk
    state = await one.call("act", topic=topic, action="state")
    assert state["data"]["status"] == "finished" and len(state["data"]["closed"]) == 2
    turns = await database_sync_to_async(DuelTurn.objects.filter(duel_id=duel.pk).count)()
    assert turns == 4


async def test_reconnect_replays_the_round(
    communicator_for, course_setup, learner, learner2, quick, settings
):
    settings.DUEL_SECONDS = 30
    one, two = await communicator_for(learner), await communicator_for(learner2)
    for ws, user in ((one, learner), (two, learner2)):
        await ws.call("sub", topic=f"leaderboards.lobby.{user.pk}")
    duel = await database_sync_to_async(duel_services.duel_challenge)(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    await database_sync_to_async(duel_services.duel_accept)(user=learner2, duel=duel)
    await database_sync_to_async(duel_services.duel_ready)(user=learner, duel=duel)
    await database_sync_to_async(duel_services.duel_ready)(user=learner2, duel=duel)
    topic = f"leaderboards.duel.{duel.pk}"
    # A player whose socket dropped comes back and resumes from the backlog.
    await one.close()
    again = await communicator_for(learner)
    assert (await again.call("sub", topic=topic, since=0))["op"] == "ok"
    opened = await again.next_event(type="question.opened")
    assert opened["data"]["index"] == 0 and opened["id"]
    state = await again.call("act", topic=topic, action="state")
    assert state["data"]["current"]["index"] == 0


async def test_who_may_listen_and_act(
    communicator_for, course_setup, learner, learner2, outsider, quick
):
    duel = await database_sync_to_async(duel_services.duel_challenge)(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    ws = await communicator_for(outsider)
    for topic in (
        f"leaderboards.duel.{duel.pk}",
        "leaderboards.duel.999999",
        f"leaderboards.lobby.{learner.pk}",
    ):
        reply = await ws.call("sub", topic=topic)
        assert (reply["op"], reply["code"]) == ("error", "forbidden"), topic
    reply = await ws.call(
        "act", topic=f"leaderboards.duel.{duel.pk}", action="answer", data={"index": 0, "answer": 1}
    )
    assert reply["code"] == "forbidden"
    reply = await ws.call("act", topic=f"leaderboards.duel.{duel.pk}", action="cheat", data={})
    assert reply["code"] == "not_found"
    assert (await database_sync_to_async(Duel.objects.get)(pk=duel.pk)).status == "pending"


async def test_answering_a_challenge_from_the_arena(
    communicator_for, course_setup, learner, learner2, quick
):
    duel = await database_sync_to_async(duel_services.duel_challenge)(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    topic = f"leaderboards.duel.{duel.pk}"
    mine, theirs = await communicator_for(learner), await communicator_for(learner2)
    reply = await mine.call("act", topic=topic, action="accept")
    assert reply["code"] == "forbidden"  # the challenger does not accept
    reply = await theirs.call("act", topic=topic, action="accept")
    assert reply["op"] == "ok" and reply["data"]["status"] == "active"
    reply = await theirs.call("act", topic=topic, action="decline")
    assert reply["code"] == "conflict"  # no longer open
