"""Live games over /ws/ (host and player topics) and REST, with the same services."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from classrooms.models import Question
from games import services
from games.models import Game, GameAnswer
from tests.games.conftest import right


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
    assert closed["data"]["results"][str(learner.pk)][4] == 1
    assert closed["id"] > opened["id"]
    # A screen that reconnects replays what it missed, in order.
    late = await communicator_for(learner)
    await late.call("sub", topic=game.topic, since=opened["id"] - 1)
    replay = [
        await late.next_event(type="question.opened"),
        await late.next_event(type="question.closed"),
    ]
    assert [e["id"] for e in replay] == [opened["id"], closed["id"]]
    assert await database_sync_to_async(GameAnswer.objects.count)() == 1


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
