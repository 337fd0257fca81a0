"""The live games' answer path at scale (games/book.py): every answer counted exactly once
under concurrent duplicates, nothing lost when the flush never ran (a process that died),
the tally equal to the written answers, no database work per answer, floods refused."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.exceptions import Throttled

from classrooms.models import Question
from classrooms.services import Conflict
from games import book as book_module
from games import selectors as sel
from games import services, timers
from games.book import CONFLICT, MAX_ATTEMPTS, OK, book
from games.models import Game, GameAnswer, GamePlayer, GameStatus
from hub.accounts.models import Role
from tests.factories import UserFactory
from tests.games.conftest import right, wrong

PLAYERS = 6


def current_question(game: Game) -> Question:
    game.refresh_from_db()
    return Question.objects.prefetch_related("choices").get(
        pk=game.question_ids[game.current_index]
    )


def _players(space, n: int) -> list:
    return [
        UserFactory(username=f"player{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(n)
    ]


def _open_game(trainer, course, users, **kw) -> Game:
    game = services.game_create(host=trainer, course=course, **kw)
    for user in users:
        services.game_join(user=user, game=game)
    services.game_next(user=trainer, game=game)
    return game


def _counts(answers) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in answers:
        for v in value if isinstance(value, list) else [value]:
            counts[str(v)] = counts.get(str(v), 0) + 1
    return counts


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"].upper()]


def test_the_book_records_a_player_once_under_concurrent_duplicates(db):
    """Twenty threads send the same player's answer at once: one is recorded, the others
    are conflicts; the tally counts it once (Redis script or in-memory lock)."""
    b = book()
    b.open(987_654, 0, deadline_ms=2**50)
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def send(choice: int) -> None:
        start.wait()
        outcomes.append(b.record(987_654, 0, 7, choice, 1000))

    threads = [threading.Thread(target=send, args=(i % 3,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Only MAX_ATTEMPTS attempts are looked at; the rest are refused as a flood.
    assert outcomes.count(OK) == 1
    assert outcomes.count(CONFLICT) == MAX_ATTEMPTS - 1
    tally = b.tally(987_654, 0)
    assert tally is not None and tally.answered == 1 and sum(tally.counts.values()) == 1
    assert list(b.close(987_654, 0, deadline_ms=0)) == [7]


def test_no_database_work_per_answer_and_one_insert_per_batch(
    course_setup, trainer, learner, learner2, coordinator, space, clock, published, monkeypatch
):
    """Once the process knows the player and the question, an answer makes no query; the
    flush writes a batch with one INSERT whatever its size, and the close is a fixed
    number of statements (set-based scoring)."""
    users = [learner, learner2, coordinator, *_players(space, 3)]
    game = _open_game(trainer, course_setup.course, users, questions=2)
    published()  # the commit: the book learns of the open question
    q = current_question(game)
    flushes: list[int] = []
    monkeypatch.setattr(timers, "answers_changed", flushes.append)
    for user in users:
        sel.player_id_of(user=user, game_id=game.pk)  # remembered since the join
    sel.question_ids_of(game.pk)
    sel.question(q.pk)
    with CaptureQueriesContext(connection) as queries:
        services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    assert _statements(queries) == []
    published()  # the flush is armed once the caller's transaction commits
    assert flushes == [game.pk]

    with CaptureQueriesContext(connection) as one:
        services.game_flush(game_id=game.pk)
    for user in users[1:4]:
        services.game_answer(user=user, game_id=game.pk, index=0, answer=wrong(q))
    with CaptureQueriesContext(connection) as three:
        services.game_flush(game_id=game.pk)
    inserts = [s for s in _statements(three) if s.startswith("INSERT")]
    assert len(inserts) == 1 and "games_gameanswer" in inserts[0]
    assert len(_statements(one)) == len(_statements(three))  # a batch costs the same
    assert GameAnswer.objects.filter(game=game).count() == 4

    services.game_answer(user=users[4], game_id=game.pk, index=0, answer=right(q))
    with CaptureQueriesContext(connection) as small:
        services.game_close(user=trainer, game=game)
    services.game_next(user=trainer, game=game)
    q2 = current_question(game)
    for user in users:
        services.game_answer(user=user, game_id=game.pk, index=1, answer=right(q2))
    with CaptureQueriesContext(connection) as large:
        services.game_close(user=trainer, game=game)
    # Scoring is set-based: six players' close costs what one's costs.
    assert len(_statements(large)) == len(_statements(small))


def test_nothing_acknowledged_is_lost_when_no_flush_ran(
    course_setup, trainer, learner, learner2, coordinator, clock, published, monkeypatch
):
    """The process that acknowledged the answers died before its flush: the close (any
    process's, or the backstop job's) writes every answer the book holds, once."""
    users = [learner, learner2, coordinator]
    game = _open_game(trainer, course_setup.course, users, questions=1)
    q = current_question(game)
    monkeypatch.setattr(timers, "answers_changed", lambda game_id: None)  # never flushed
    clock.advance(2)
    services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    services.game_answer(user=learner2, game_id=game.pk, index=0, answer=wrong(q))
    assert not GameAnswer.objects.exists()
    assert sel.game_state(game.pk, viewer=learner)["current"]["my_answer"] is not None
    assert sel.game_state(game.pk, viewer=trainer)["distribution"]["answered"] == 2
    clock.advance(30)  # past the deadline: the backstop's refresh closes it
    services.game_refresh(game_id=game.pk)
    game.refresh_from_db()
    assert game.status == GameStatus.REVEAL
    rows = GameAnswer.objects.filter(game=game, index=0)
    assert sorted(rows.values_list("player__user_id", flat=True)) == sorted(
        [learner.pk, learner2.pk]
    )
    me = rows.get(player__user=learner)
    assert me.correct and me.points == 950 and abs(me.ms - 2000) <= 1  # 1000 x (1 - 0.1 / 2)
    closed = [e for e in published(game.topic) if e.type == "question.closed"][-1]
    results = [e for e in published(game.host_topic) if e.type == "question.results"][-1]
    # [points, total, streak, answered, correct, rank]: learner first, then in join order.
    assert results.data["results"][str(learner.pk)] == [950, 950, 1, 1, 1, 1]
    assert results.data["results"][str(coordinator.pk)] == [0, 0, 0, 0, 0, 3]
    # The tally the host saw equals the written answers.
    assert closed.data["distribution"] == {**sel.distribution(game, 0)}
    assert closed.data["distribution"]["answered"] == 2
    tally = book().tally(game.pk, 0)
    assert tally is not None and tally.answered == rows.count()
    assert tally.counts == _counts(rows.values_list("answer", flat=True))


def test_a_book_that_lost_the_question_is_rebuilt_from_the_database(
    course_setup, trainer, learner, learner2, coordinator, clock, commit
):
    """Redis restarted mid-question (or the opening had not committed): the next answer
    opens the question from the database with the answers already written, which stay
    counted once."""
    game = _open_game(trainer, course_setup.course, [learner, learner2, coordinator])
    q = current_question(game)
    services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    commit()  # flushed: written
    assert GameAnswer.objects.count() == 1
    book().reset()
    with pytest.raises(Conflict):
        services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    services.game_answer(user=learner2, game_id=game.pk, index=0, answer=wrong(q))
    tally = book().tally(game.pk, 0)
    assert tally is not None and tally.answered == 2
    commit()
    assert GameAnswer.objects.count() == 2


def test_floods_others_games_and_late_answers_are_refused(
    course_setup, trainer, learner, learner2, clock
):
    game = _open_game(trainer, course_setup.course, [learner])
    other = _open_game(trainer, course_setup.course, [learner2])
    q = current_question(game)
    # Someone else's game: learner2 does not play it, whatever the question.
    with pytest.raises(PermissionDenied):
        services.game_answer(user=learner2, game_id=game.pk, index=0, answer=right(q))
    with pytest.raises(PermissionDenied):
        services.game_answer(user=learner, game_id=other.pk, index=0, answer=right(q))
    clock.advance(21)
    with pytest.raises(ValidationError):  # late
        services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    for _attempt in range(MAX_ATTEMPTS - 1):
        with pytest.raises(ValidationError):
            services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    with pytest.raises(Throttled):  # a flood: refused before anything else
        services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    assert not GameAnswer.objects.exists()
    assert GamePlayer.objects.get(game=game, user=learner).score == 0


@pytest.mark.django_db(transaction=True)
async def test_concurrent_duplicate_answers_over_sockets_are_counted_once(
    communicator_for, course_setup, trainer, space
):
    """Players each send their answer three times at once without waiting for a
    reply, and a flood: exactly one ``ok`` per player, the repeats are ``conflict``, a
    flood is ``rate_limited``; the reveal's distribution equals the written answers."""
    users = await database_sync_to_async(_players)(space, PLAYERS)
    game = await database_sync_to_async(services.game_create)(
        host=trainer, course=course_setup.course, questions=1
    )
    host = await communicator_for(trainer)
    assert (await host.call("sub", topic=game.host_topic))["op"] == "ok"
    assert (await host.call("sub", topic=game.topic))["op"] == "ok"
    sockets = []
    for user in users:
        ws = await communicator_for(user)
        assert (await ws.call("sub", topic=game.topic, timeout=30))["op"] == "ok"
        joined = await ws.call("act", topic=game.topic, action="join", data={}, timeout=30)
        assert joined["op"] == "ok"
        sockets.append(ws)
    started = await host.call("act", topic=game.host_topic, action="next", data={}, timeout=30)
    assert started["op"] == "ok"
    opened = [await ws.next_event(type="question.opened", timeout=30) for ws in sockets]
    question = await database_sync_to_async(
        lambda: Question.objects.prefetch_related("choices").get(
            pk=opened[0]["data"]["question"]["id"]
        )
    )()
    choices = await database_sync_to_async(lambda: [right(question), wrong(question)])()

    async def answer_thrice(i: int, ws) -> list[str]:
        frames = [
            {
                "op": "act",
                "ref": f"a{k}",
                "topic": game.topic,
                "action": "answer",
                "data": {"index": 0, "answer": choices[i % len(choices)]},
            }
            for k in range(3)
        ]
        await asyncio.gather(*(ws.send(f) for f in frames))
        replies: list[str] = []
        while len(replies) < 3:
            frame = await ws.receive(30)
            if frame.get("ref") in {"a0", "a1", "a2"}:
                replies.append(frame["op"] if frame["op"] == "ok" else frame["code"])
            elif frame.get("op") == "event":
                ws.events.append(frame)
        return replies

    # All but the last player answer: the question stays open.
    results = await asyncio.gather(*(answer_thrice(i, ws) for i, ws in enumerate(sockets[:-1])))
    for replies in results:
        assert sorted(replies) == ["conflict", "conflict", "ok"], replies
    flood = sockets[0]
    codes = []
    for _attempt in range(MAX_ATTEMPTS):
        reply = await flood.call(
            "act",
            topic=game.topic,
            action="answer",
            data={"index": 0, "answer": choices[0]},
            timeout=30,
        )
        codes.append(reply["code"])
    assert codes[-1] == "rate_limited" and set(codes[:-1]) <= {"conflict", "rate_limited"}
    count = await host.next_event(type="answers.count", timeout=30)
    while count["data"]["answered"] < PLAYERS - 1:
        count = await host.next_event(type="answers.count", timeout=30)
    assert count["data"]["players"] == PLAYERS
    last = sockets[-1]
    ack = await last.call(
        "act",
        topic=game.topic,
        action="answer",
        data={"index": 0, "answer": choices[0]},
        timeout=30,
    )
    assert ack["op"] == "ok"
    results = await host.next_event(type="question.results", timeout=30)
    closed = await host.next_event(type="question.closed", timeout=30)
    written = await database_sync_to_async(
        lambda: list(GameAnswer.objects.filter(game=game).values_list("answer", flat=True))
    )()
    assert len(written) == PLAYERS
    assert closed["data"]["distribution"]["answered"] == PLAYERS
    assert closed["data"]["distribution"]["counts"] == _counts(written)
    assert "results" not in closed["data"]  # live, each player's result is their own
    assert sum(r[3] for r in results["data"]["results"].values()) == PLAYERS
    assert book_module.book().tally(game.pk, 0).answered == PLAYERS
