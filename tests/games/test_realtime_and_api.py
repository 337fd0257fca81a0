"""Live games over /ws/ (host and player topics) and REST, with the same services."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from classrooms.models import Question
from games import services
from games.models import Game, GameAnswer
from tests.games.conftest import right, wrong


def _game(trainer, course, **kw):
    return services.game_create(host=trainer, course=course, **kw)


@pytest.mark.django_db(transaction=True)
async def test_host_and_player_play_over_the_socket(
    communicator_for, course_setup, trainer, learner, outsider
):
    game = await database_sync_to_async(_game)(trainer, course_setup.course, questions=2)
    host = await communicator_for(trainer)
    player = await communicator_for(learner)
    stranger = await communicator_for(outsider)

    assert (await stranger.call("sub", topic=game.topic))["code"] == "forbidden"
    assert (await player.call("sub", topic=game.host_topic))["code"] == "forbidden"
    assert (await host.call("sub", topic=game.host_topic))["op"] == "ok"
    assert (await host.call("sub", topic=game.topic))["op"] == "ok"
    assert (await player.call("sub", topic=game.topic))["op"] == "ok"
    # A player cannot run the game.
    denied = await player.call("act", topic=game.host_topic, action="next", data={})
    assert denied["code"] == "forbidden"
    joined = await player.call("act", topic=game.topic, action="join", data={})
    assert joined["op"] == "ok" and joined["data"]["me"]["score"] == 0
    assert (await host.next_event(type="player.joined"))["data"]["players"] == 1

    started = await host.call("act", topic=game.host_topic, action="next", data={})
    assert started["data"]["status"] == "question"
    opened = await player.next_event(op="event", topic=game.topic)
    assert opened["type"] == "question.opened" and "correct" not in opened["data"]
    question = await database_sync_to_async(
        lambda: Question.objects.prefetch_related("choices").get(
            pk=opened["data"]["question"]["id"]
        )
    )()
    answer = await database_sync_to_async(right)(question)
    bad = await player.call("act", topic=game.topic, action="answer", data={"index": 0})
    assert bad["code"] == "invalid"
    ack = await player.call(
        "act", topic=game.topic, action="answer", data={"index": 0, "answer": answer}
    )
    assert ack["op"] == "ok" and ack["data"] == {"index": 0, "answered": True}
    again = await player.call(
        "act", topic=game.topic, action="answer", data={"index": 0, "answer": answer}
    )
    assert again["code"] == "conflict"
    count = await host.next_event(type="answers.count")
    assert count["data"]["answered"] == 1 and "id" not in count
    # The only player answered: the question closes; everyone sees the reveal.
    closed = await player.next_event(type="question.closed", timeout=5)
    assert "results" not in closed["data"] and closed["data"]["correct"]
    assert closed["id"] > opened["id"]
    # A screen that reconnects replays what it missed, in order; its own result with it.
    late = await communicator_for(learner)
    await late.call("sub", topic=game.topic, since=opened["id"] - 1)
    replay = [
        await late.next_event(type="question.opened"),
        await late.next_event(type="question.closed"),
    ]
    assert [e["id"] for e in replay] == [opened["id"], closed["id"]]
    assert replay[1]["data"]["me"]["correct"] is True and "results" not in replay[1]["data"]
    assert await database_sync_to_async(GameAnswer.objects.count)() == 1


def _frames_about_others(frames: list[dict], me: int, others: list[int]) -> list[dict]:
    """Frames that carry another player's result: ``results``, or a ``games.result`` or a
    ``me`` that is not ``me``'s."""
    found = []
    for frame in frames:
        data = frame.get("data") or {}
        reveal = data.get("reveal") or {}  # a state reply
        for part in (data, reveal):
            if "results" in part or frame.get("topic") in {f"hub.user.{o}" for o in others}:
                found.append(frame)
        if frame.get("type") == "games.result" and frame.get("topic") != f"hub.user.{me}":
            found.append(frame)
    return found


@pytest.mark.django_db(transaction=True)
async def test_each_player_gets_only_their_own_result_and_the_host_all(
    communicator_for, course_setup, trainer, learner, learner2
):
    """The reveal goes to every screen without anyone's result; each player's result comes
    on their own topic (before the reveal), every result on the host's topic; a screen that
    missed the reveal gets its share of it again, and so does its state."""
    game = await database_sync_to_async(_game)(trainer, course_setup.course, questions=2)
    host = await communicator_for(trainer)
    for topic in (game.topic, game.host_topic):
        assert (await host.call("sub", topic=topic))["op"] == "ok"
    players = {}
    for user in (learner, learner2):
        ws = await communicator_for(user)
        assert (await ws.call("sub", topic=game.topic))["op"] == "ok"
        assert (await ws.call("sub", topic=f"hub.user.{user.pk}"))["op"] == "ok"
        assert (await ws.call("act", topic=game.topic, action="join", data={}))["op"] == "ok"
        players[user.pk] = ws
    # Someone else's own topic stays theirs.
    assert (await players[learner.pk].call("sub", topic=f"hub.user.{learner2.pk}"))[
        "code"
    ] == "forbidden"
    await host.call("act", topic=game.host_topic, action="next", data={})
    opened = await players[learner.pk].next_event(type="question.opened")
    question = await database_sync_to_async(
        lambda: Question.objects.prefetch_related("choices").get(
            pk=opened["data"]["question"]["id"]
        )
    )()
    answers = {
        learner.pk: await database_sync_to_async(right)(question),
        learner2.pk: await database_sync_to_async(wrong)(question),
    }
    for user_id, ws in players.items():
        ack = await ws.call(
            "act", topic=game.topic, action="answer", data={"index": 0, "answer": answers[user_id]}
        )
        assert ack["op"] == "ok"
    # Both answered: the question closes.
    results = await host.next_event(type="question.results", timeout=10)
    closed = await host.next_event(type="question.closed", timeout=10)
    assert "results" not in closed["data"]
    table = results["data"]["results"]
    assert set(table) == {str(learner.pk), str(learner2.pk)}
    # [points, total, streak, answered, correct, rank]
    assert table[str(learner.pk)][3:] == [1, 1, 1] and table[str(learner.pk)][0] > 0
    assert table[str(learner2.pk)] == [0, 0, 0, 1, 0, 2]
    for user_id, ws in players.items():
        # Published before the reveal, in the same batch: a screen with the reveal has it.
        mine = await ws.next_event(type="games.result", timeout=10)
        reveal = await ws.next_event(type="question.closed", timeout=10)
        assert mine["topic"] == f"hub.user.{user_id}"
        row = table[str(user_id)]
        assert mine["data"] == {
            "game": game.pk,
            "index": 0,
            "players": 2,
            "points": row[0],
            "score": row[1],
            "streak": row[2],
            "answered": True,
            "correct": bool(row[4]),
            "rank": row[5],
        }
        assert reveal["data"] == closed["data"] and reveal["id"] == closed["id"]
        others = [u for u in players if u != user_id]
        assert not _frames_about_others([mine, reveal, *ws.events], user_id, others)
        assert not [e for e in ws.events if e["type"] == "question.results"]

    # Reconnecting after missing the reveal: each gets their share of it again.
    for user_id, expected in ((learner.pk, True), (learner2.pk, False)):
        late = await communicator_for(learner if user_id == learner.pk else learner2)
        await late.call("sub", topic=game.topic, since=opened["id"])
        replayed = await late.next_event(type="question.closed")
        assert replayed["id"] == closed["id"] and "results" not in replayed["data"]
        assert replayed["data"]["me"]["correct"] is expected
        assert replayed["data"]["me"]["rank"] == table[str(user_id)][5]
        state = await late.call("act", topic=game.topic, action="state", data={})
        assert state["data"]["reveal"]["me"] == replayed["data"]["me"]
        others = [u for u in players if u != user_id]
        assert not _frames_about_others([replayed, state, *late.events], user_id, others)
    host_late = await communicator_for(trainer)
    await host_late.call("sub", topic=game.topic, since=opened["id"])
    replayed = await host_late.next_event(type="question.closed")
    assert replayed["data"]["results"] == table and "me" not in replayed["data"]
    state = await host_late.call("act", topic=game.host_topic, action="state", data={})
    assert state["data"]["reveal"]["results"] == table


@pytest.mark.django_db
def test_rest_create_join_answer_and_bad_input(
    api_client_for, course_setup, trainer, learner, outsider, clock, commit
):
    host = api_client_for(trainer)
    created = host.post(
        "/api/v1/games/", {"course": course_setup.course.pk, "questions": 2}, format="json"
    )
    assert created.status_code == 201, created.content
    game = created.json()
    assert (
        api_client_for(learner)
        .post("/api/v1/games/", {"course": course_setup.course.pk}, format="json")
        .status_code
        == 403
    )
    assert host.post("/api/v1/games/", {"course": "x"}, format="json").status_code == 400
    player = api_client_for(learner)
    assert player.post("/api/v1/games/join/", {"code": "abc"}, format="json").status_code == 400
    assert (
        player.post(
            "/api/v1/games/join/",
            {"code": "000000" if game["code"] != "000000" else "111111"},
            format="json",
        ).status_code
        == 404
    )
    joined = player.post("/api/v1/games/join/", {"code": game["code"]}, format="json")
    assert joined.status_code == 200 and joined.json()["me"]["streak_bonus"] is True
    assert api_client_for(outsider).get(f"/api/v1/games/{game['id']}/").status_code == 404
    assert player.post(f"/api/v1/games/{game['id']}/next/").status_code == 403
    opened = host.post(f"/api/v1/games/{game['id']}/next/")
    assert opened.status_code == 200 and opened.json()["status"] == "question"
    q = Question.objects.get(pk=Game.objects.get(pk=game["id"]).question_ids[0])
    streak = player.post(f"/api/v1/games/{game['id']}/streak/", {"enabled": False}, format="json")
    assert streak.status_code == 200 and streak.json()["streak_bonus"] is False
    url = f"/api/v1/games/{game['id']}/answer/"
    assert player.post(url, {"index": 0, "answer": None}, format="json").status_code == 400
    assert player.post(url, {"index": 0, "answer": right(q)}, format="json").status_code == 200
    assert player.post(url, {"index": 0, "answer": right(q)}, format="json").status_code == 409
    # Recorded in the answer book (the state shows it), written by the flush after commit.
    state = player.get(f"/api/v1/games/{game['id']}/")
    assert state.status_code == 200 and state.json()["current"]["my_answer"] is not None
    commit()
    assert GameAnswer.objects.count() == 1
    closed = host.post(f"/api/v1/games/{game['id']}/close/")
    assert closed.status_code in (200, 409)  # 409: the only player's answer closed it
    finished = host.post(f"/api/v1/games/{game['id']}/finish/")
    assert finished.status_code == 200 and finished.json()["status"] == "finished"


@pytest.mark.django_db
def test_pages(client, course_setup, trainer, learner, outsider):
    game = services.game_create(host=trainer, course=course_setup.course)
    client.force_login(trainer)
    page = client.get("/games/")
    assert page.status_code == 200 and b"create-game" in page.content
    assert client.get(f"/games/{game.pk}/host/").status_code == 200
    client.force_login(learner)
    assert b"create-game" not in client.get("/games/").content
    assert client.get(f"/games/{game.pk}/host/").status_code == 404
    # The play page's GET joins nobody: the page's script does, by an action.
    assert client.get(f"/games/{game.pk}/play/").status_code == 200
    assert not game.players.exists()
    wrong_code = client.post("/games/join/", {"code": "12ab"})
    assert wrong_code.status_code == 200 and not game.players.exists()
    joined = client.post("/games/join/", {"code": game.code})
    assert joined.status_code == 302 and game.players.count() == 1
    client.force_login(outsider)
    assert client.get(f"/games/{game.pk}/play/").status_code == 404
    client.force_login(trainer)
    made = client.post(
        "/games/new/",
        {"course": course_setup.course.pk, "questions": 3, "seconds": 15, "team_count": 4},
    )
    assert made.status_code == 302 and Game.objects.count() == 2
