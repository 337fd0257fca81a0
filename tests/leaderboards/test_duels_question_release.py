"""A live question's text stays on the server until its clock starts.

``question.upcoming`` (index and timing) goes out when a question is announced, at the end
of the start countdown or of the previous question's reveal; ``question.opened`` (the text)
goes out once, when the duel is advanced at or after ``opens_at``. Before that no event,
payload, REST answer or backlog replay carries the text. Fake clock, no timer threads."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import transaction

from leaderboards import duel_selectors, duel_services, timers
from leaderboards.models import Duel, DuelEvent
from leaderboards.realtime import DuelTopic

API = "/api/v1/leaderboards/duels/"


@pytest.fixture(autouse=True)
def two_questions(settings, monkeypatch):
    """2 questions in bank order; 3 s start countdown, 2 s reveal (the package defaults
    of these tests)."""
    settings.DUEL_QUESTIONS = 2
    monkeypatch.setattr(
        duel_services,
        "_pick_questions",
        lambda course, count: list(
            duel_selectors.bank_of(course).order_by("id").values_list("id", flat=True)[:count]
        ),
    )


@pytest.fixture
def armed(monkeypatch) -> list[tuple[int, object]]:
    """Every (duel id, time) a service arms a timer for."""
    calls: list[tuple[int, object]] = []
    real = timers.schedule

    def record(duel_id, at):
        calls.append((duel_id, at))
        real(duel_id, at)

    monkeypatch.setattr(timers, "schedule", record)
    return calls


def texts_of(course_setup) -> list[str]:
    """Every question and choice text of the bank: none may leak before its time."""
    out = []
    for question in course_setup.questions:
        out.append(question.text)
        out += [c.text for c in question.choices.all()]
    return out


def leaks(course_setup, *things) -> list[str]:
    blob = json.dumps(things, default=str)
    return [text for text in texts_of(course_setup) if text in blob]


def ready_live(course_setup, learner, learner2, online) -> Duel:
    """Both players in the arena: question 0 is announced, opening in 3 s."""
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel_services.duel_accept(user=learner2, duel=duel)
    duel_services.duel_ready(user=learner, duel=duel)
    return duel_services.duel_ready(user=learner2, duel=duel)


def events(duel, type=None) -> list[DuelEvent]:
    qs = DuelEvent.objects.filter(duel=duel)
    return list(qs.filter(type=type) if type else qs)


def backlog(user, duel) -> list:
    return [(e.type, e.data) for e in DuelTopic().backlog(user, str(duel.pk), 0, 100)]


@pytest.mark.django_db
def test_the_text_waits_for_opens_at_then_goes_out_once(
    api_client_for, course_setup, learner, learner2, online, clock, published, armed
):
    duel = ready_live(course_setup, learner, learner2, online)
    upcoming = events(duel, "question.upcoming")
    assert [e.data["index"] for e in upcoming] == [0]
    opens_at = clock.now + dt.timedelta(seconds=3)
    assert upcoming[0].data["opens_at"] == opens_at.isoformat()
    assert set(upcoming[0].data) == {
        "duel",
        "index",
        "count",
        "opens_at",
        "deadline",
        "seconds",
        "server_now",
    }
    assert (duel.pk, opens_at) in armed  # a timer publishes it when its clock starts

    clock.advance(2.9)  # still counting down
    rest = api_client_for(learner).get(f"{API}{duel.pk}/")
    assert rest.status_code == 200 and "question" not in rest.json()["current"]
    states = [duel_selectors.duel_state(duel.pk, viewer=u) for u in (learner, learner2)]
    with pytest.raises(ValidationError):  # and answering early stays refused
        duel_services.duel_answer(user=learner, duel=duel, index=0, answer=1)
    duel_services.duels_sweep()
    assert not events(duel, "question.opened")
    frames = [(e.type, e.data) for e in published(duel.topic)]
    assert [t for t, _ in frames][-1] == "question.upcoming"
    assert leaks(course_setup, frames, rest.json(), states, backlog(learner, duel)) == []

    clock.advance(0.1)  # opens_at: the timer's refresh publishes the text
    duel_services.duel_refresh(duel_id=duel.pk)
    opened = events(duel, "question.opened")
    assert len(opened) == 1 and opened[0].data["question"]["id"] == duel.question_ids[0]
    assert "is_correct" not in str(opened[0].data)
    state = api_client_for(learner2).get(f"{API}{duel.pk}/").json()
    assert state["current"]["question"]["id"] == duel.question_ids[0]
    # Every later path (reads, sweep, another timer) publishes nothing more.
    clock.advance(1)
    duel_services.duel_refresh(duel_id=duel.pk)
    assert duel_services.duels_sweep() == 0
    assert len(events(duel, "question.opened")) == 1
    assert [e.type for e in published(duel.topic)].count("question.opened") == 1
    assert [t for t, _ in backlog(learner, duel)][-1] == "question.opened"


@pytest.mark.django_db
def test_two_advances_racing_at_opens_at_publish_once(
    course_setup, learner, learner2, online, clock, published
):
    """Two paths (a timer and a read, say) loaded the duel before either published: the
    conditional UPDATE of ``opened_index`` lets one of them publish."""
    duel = ready_live(course_setup, learner, learner2, online)
    clock.advance(3)
    first, second = Duel.objects.get(pk=duel.pk), Duel.objects.get(pk=duel.pk)
    assert first.opened_index == second.opened_index == -1
    for racer in (first, second):
        with transaction.atomic():
            duel_services._advance(racer, clock.now)
    assert len(events(duel, "question.opened")) == 1
    assert [e.type for e in published(duel.topic)].count("question.opened") == 1
    assert Duel.objects.get(pk=duel.pk).opened_index == 0
    assert second.opened_index == 0  # the loser sees the winner's claim


@pytest.mark.django_db
def test_the_sweep_publishes_a_question_whose_timer_died(
    course_setup, learner, learner2, online, clock
):
    duel = ready_live(course_setup, learner, learner2, online)
    clock.advance(3.5)
    assert duel_services.duels_sweep() == 1
    assert len(events(duel, "question.opened")) == 1
    assert duel_services.duels_sweep() == 0


@pytest.mark.django_db
def test_the_next_question_waits_for_the_reveal_pause(
    api_client_for, course_setup, learner, learner2, online, clock
):
    duel = ready_live(course_setup, learner, learner2, online)
    clock.advance(4)
    first = course_setup.questions[0]
    choice = first.choices.first().pk
    for user in (learner, learner2):
        duel_services.duel_answer(user=user, duel=duel, index=0, answer=choice)
    duel = Duel.objects.get(pk=duel.pk)
    assert (duel.closed_index, duel.current_index, duel.opened_index) == (0, 1, 0)
    state = api_client_for(learner).get(f"{API}{duel.pk}/").json()
    assert state["current"]["index"] == 1 and "question" not in state["current"]
    second = course_setup.questions[1]
    assert second.text not in json.dumps(state)
    assert second.text not in json.dumps(backlog(learner2, duel))
    clock.advance(2)
    state = api_client_for(learner).get(f"{API}{duel.pk}/").json()
    assert state["current"]["question"]["text"] == second.text
    assert [e.data["index"] for e in events(duel, "question.opened")] == [0, 1]


@pytest.mark.django_db(transaction=True)
async def test_a_reconnect_before_opens_at_replays_no_text(
    communicator_for, course_setup, learner, learner2, clock
):
    """The backlog a reconnecting arena replays holds the announcement, not the text."""
    ws = await communicator_for(learner)
    other = await communicator_for(learner2)
    for sock, user in ((ws, learner), (other, learner2)):
        assert (await sock.call("sub", topic=f"leaderboards.lobby.{user.pk}"))["op"] == "ok"
    duel = await database_sync_to_async(duel_services.duel_challenge)(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    await database_sync_to_async(duel_services.duel_accept)(user=learner2, duel=duel)
    topic = f"leaderboards.duel.{duel.pk}"
    for sock in (ws, other):
        assert (await sock.call("act", topic=topic, action="ready"))["op"] == "ok"
    again = await communicator_for(learner)
    assert (await again.call("sub", topic=topic, since=0))["op"] == "ok"
    upcoming = await again.next_event(type="question.upcoming")
    assert upcoming["data"]["index"] == 0 and "question" not in upcoming["data"]
    state = await again.call("act", topic=topic, action="state")
    assert "question" not in state["data"]["current"]
    replay = [f for f in again.events if f.get("type") == "question.opened"]
    assert replay == []
    texts = await database_sync_to_async(texts_of)(course_setup)
    assert not [t for t in texts if t in json.dumps([*again.events, state])]
    clock.advance(3)
    state = await again.call("act", topic=topic, action="state")  # a read at opens_at
    opened = await again.next_event(type="question.opened", topic=topic)
    assert opened["data"]["question"]["id"] == state["data"]["current"]["question"]["id"]
