"""A live quiz game end to end: the trainer hosts in one Chromium context, two learners
play in two more (one on a phone's viewport), and plain WebSocket players (no browser)
fill the room. Every player answers every question; the host sees the count reach
everyone, the reveal and podium after each question, and the final podium."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from websockets.asyncio.client import connect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e

WS_PLAYERS = 8
QUESTIONS = 2

MAKE_PLAYERS = """
import json
from classrooms.models import Course
from hub.accounts.models import SpaceMembership, User
from rest_framework.authtoken.models import Token
course = Course.objects.filter(trainers__username="trainer", questions__isnull=False).first()
tokens = []
for i in range(%d):
    user, _ = User.objects.get_or_create(
        username=f"gameplayer{i}", defaults={"first_name": "Player", "last_name": str(i)}
    )
    SpaceMembership.objects.get_or_create(space_id=course.space_id, user=user)
    tokens.append(Token.objects.get_or_create(user=user)[0].key)
print(json.dumps(tokens))
"""


# What each browser player's screen should have said: their answers and total.
RESULTS = """
import json
from games.models import GamePlayer
out = {}
for p in GamePlayer.objects.filter(game_id=%d, user__username__in=["learner", "learner2"]):
    out[p.user.username] = {
        "score": p.score,
        "correct": {str(a.index): a.correct for a in p.answers.all()},
    }
print(json.dumps(out))
"""


def connected(page: Page) -> None:
    subscribed(page)


class SocketPlayers:
    """``WS_PLAYERS`` players on plain WebSockets in a thread of their own (sync Playwright
    owns this thread's event loop): join, answer each question as it opens, count acks."""

    def __init__(self, url: str, tokens: list[str], game_id: int) -> None:
        self.url = url.replace("http://", "ws://") + "/ws/"
        self.tokens = tokens
        self.topic = f"games.game.{game_id}"
        self.joined = threading.Event()
        self.acks: list[dict[str, Any]] = []
        self.finished = 0
        self.errors: list[Any] = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    async def play(self, token: str, ready: asyncio.Event, count: list[int]) -> None:
        async with connect(
            self.url, additional_headers={"Authorization": f"Token {token}"}, proxy=None
        ) as ws:
            ref = 0

            async def call(frame: dict[str, Any]) -> dict[str, Any]:
                nonlocal ref
                ref += 1
                await ws.send(json.dumps({**frame, "ref": str(ref)}))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("ref") == str(ref):
                        return reply
                    pending.append(reply)

            pending: list[dict[str, Any]] = []
            await call({"op": "sub", "topic": self.topic})
            joined = await call({"op": "act", "topic": self.topic, "action": "join", "data": {}})
            if joined["op"] != "ok":
                self.errors.append(joined)
            count[0] += 1
            if count[0] == len(self.tokens):
                ready.set()
            while True:
                frame = pending.pop(0) if pending else json.loads(await ws.recv())
                if frame.get("type") == "question.opened":
                    q = frame["data"]
                    choices = q["question"]["choices"]
                    answer: Any = choices[0]["id"] if choices else 1
                    if q["question"]["kind"] == "multiple":
                        answer = [answer]
                    reply = await call(
                        {
                            "op": "act",
                            "topic": self.topic,
                            "action": "answer",
                            "data": {"index": q["index"], "answer": answer},
                        }
                    )
                    (self.acks if reply["op"] == "ok" else self.errors).append(reply)
                elif frame.get("type") == "game.finished":
                    self.finished += 1
                    return

    async def main(self) -> None:
        ready = asyncio.Event()
        count = [0]
        tasks = [asyncio.create_task(self.play(t, ready, count)) for t in self.tokens]
        await ready.wait()
        self.joined.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 300)


def answer_in_browser(page: Page, number: int, pick: str = "first") -> None:
    expect(page.locator("[data-testid=question-number]")).to_have_text(
        f"Question {number} of {QUESTIONS}"
    )
    numeric = page.locator(".game-numeric")
    if numeric.is_visible():
        page.fill("[data-testid=numeric-answer]", "1" if pick == "first" else "-1")
        numeric.locator("button").click()
    else:
        choices = page.locator("[data-testid=choice]")
        (choices.first if pick == "first" else choices.last).click()
        multi = page.locator(".game-submit-multi")
        if multi.is_visible():
            multi.click()
    # Sent; the last player's answer closes the question at once, so the reveal may follow.
    expect(page.locator("[data-testid=game-status]")).to_have_text(
        re.compile("Answer sent|Next question soon|Last question done")
    )


def test_a_class_plays_a_live_game_host_two_browsers_and_socket_players(
    login, live_env, lyceum_server
) -> None:
    output = live_env.manage("shell", "-c", MAKE_PLAYERS % WS_PLAYERS)
    tokens = json.loads(output.strip().splitlines()[-1])
    host = login("trainer")
    host.goto("/games/")
    host.fill("#id_questions", str(QUESTIONS))
    host.fill("#id_seconds", "60")
    host.click("[data-testid=create-submit]")
    expect(host).to_have_url(re.compile(r"/games/\d+/host/$"))
    game_id = int(re.search(r"/games/(\d+)/host/", host.url).group(1))
    code = host.locator("[data-testid=join-code] strong").text_content().strip()
    connected(host)

    leo = login("learner")
    lina = login("learner2", viewport={"width": 360, "height": 740})  # a phone
    # Everything each player's page receives: nobody else's result may be in it.
    frames: dict[str, list[str]] = {"learner": [], "learner2": []}
    for name, page in (("learner", leo), ("learner2", lina)):
        page.on(
            "websocket",
            lambda ws, name=name: ws.on("framereceived", lambda text: frames[name].append(text)),
        )
    for page in (leo, lina):
        page.goto(f"/games/?code={code}")
        page.click("[data-testid=join-submit]")
        expect(page).to_have_url(re.compile(rf"/games/{game_id}/play/$"))
        connected(page)
        expect(page.locator("[data-testid=game-status]")).to_contain_text("You are in")

    players = SocketPlayers(lyceum_server.url, tokens, game_id)
    players.thread.start()
    assert players.joined.wait(60), players.errors
    everyone = WS_PLAYERS + 2
    expect(host.locator("[data-testid=player-count]")).to_have_text(f"{everyone} players")
    expect(host.locator("[data-testid=players] li")).to_have_count(everyone)

    shown: dict[str, dict[str, str]] = {"learner": {}, "learner2": {}}
    for number in range(1, QUESTIONS + 1):
        host.click("[data-testid=host-next]")
        expect(host.locator("[data-testid=question-number]")).to_have_text(
            f"Question {number} of {QUESTIONS}"
        )
        expect(host.locator("[data-testid=countdown]")).to_have_text(re.compile(r"\d+ s"))
        answer_in_browser(leo, number, "first")
        answer_in_browser(lina, number, "last")  # not the same answer as Leo's
        # Every answer reached the host's distribution; the last one closed the question.
        expect(host.locator("[data-testid=answered-count]")).to_have_text(
            f"{everyone} of {everyone} answered"
        )
        expect(host.locator("[data-testid=podium]")).to_be_visible()
        expect(host.locator("[data-testid=podium-row]")).to_have_count(5)
        counts = [int(c) for c in host.locator("[data-testid=dist-count]").all_text_contents()]
        assert not counts or sum(counts) >= everyone  # multiple choice counts each pick
        for name, page in (("learner", leo), ("learner2", lina)):
            expect(page.locator("[data-testid=my-result]")).to_be_visible()
            expect(page.locator("[data-testid=podium]")).to_be_visible()
            # The rank shows once the player's own result is in (from their own topic).
            expect(page.locator("[data-testid=my-rank]")).to_have_text(
                re.compile(rf"Rank \d+ of {everyone}")
            )
            shown[name][str(number - 1)] = page.locator("[data-testid=result-title]").inner_text()
        # The host has every player's total in the player list.
        expect(host.locator("[data-testid=player-result]")).to_have_count(everyone)
        expect(host.locator("[data-testid=player-result]").first).to_have_text(
            re.compile(r"\d+ points")
        )

    host.click("[data-testid=host-next]")  # the final podium
    expect(host.locator("#game-host")).to_have_attribute("data-status", "finished")
    for page in (leo, lina):
        expect(page.locator("#game-play")).to_have_attribute("data-status", "finished")
        expect(page.locator("[data-testid=podium-row]").first).to_be_visible()
    # Each screen showed that player's own result, and the right total.
    truth = json.loads(live_env.manage("shell", "-c", RESULTS % game_id).strip().splitlines()[-1])
    for name, page in (("learner", leo), ("learner2", lina)):
        expected = {
            index: "Correct!" if correct else "Not this time"
            for index, correct in truth[name]["correct"].items()
        }
        assert shown[name] == expected, (name, shown[name], truth[name])
        expect(page.locator("[data-testid=my-score]")).to_have_text(
            f"{truth[name]['score']} points"
        )
        received = frames[name]
        assert any('"games.result"' in f for f in received), name
        assert not [f for f in received if '"results":' in f or "question.results" in f], name
    players.thread.join(60)
    assert not players.errors, players.errors[:3]
    assert len(players.acks) == WS_PLAYERS * QUESTIONS
    assert players.finished == WS_PLAYERS
