"""Two browser contexts play a live quiz duel to its result: challenge from the lobby,
accept, both arenas get each question at the same moment, reveal, result, rematch button.

The live server plays short duels (3 questions of 8 s) through the LYCEUM_DUEL_*
environment, which it inherits from this process; the product plays 7 of 10 s.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e

# Set at import (collection), before the session's live server starts.
os.environ.setdefault("LYCEUM_DUEL_QUESTIONS", "3")
os.environ.setdefault("LYCEUM_DUEL_SECONDS", "8")
os.environ.setdefault("LYCEUM_DUEL_START_SECONDS", "1")
os.environ.setdefault("LYCEUM_DUEL_REVEAL_SECONDS", "1")


def connected(page: Page) -> None:
    subscribed(page)


def answer(page: Page, number: int, count: int) -> None:
    """Answer question ``number`` with its first choice (or a number), once it is open."""
    expect(page.locator("[data-testid=question-number]")).to_have_text(
        f"Question {number} of {count}"
    )
    # The number shows while the question counts down (question.upcoming); its text and
    # answer controls come when it opens (question.opened).
    page.wait_for_function(
        """(label) => {
            const number = document.querySelector("[data-testid=question-number]");
            const text = document.querySelector("[data-testid=question-text]");
            const numeric = document.querySelector(".arena-numeric");
            return number.textContent.trim() === label && text.textContent.trim() !== ""
                && (document.querySelector("[data-testid=choice]") !== null || !numeric.hidden);
        }""",
        arg=f"Question {number} of {count}",
    )
    if page.locator(".arena-numeric").is_visible():
        page.fill("[data-testid=numeric-answer]", "1")
        page.locator(".arena-numeric button").click()
        return
    first = page.locator("[data-testid=choice]").first
    expect(first).to_be_enabled()
    first.click()
    submit = page.locator(".arena-submit-multi")
    if submit.is_visible():
        submit.click()


def test_two_learners_play_a_live_duel_to_its_result(login) -> None:
    leo = login("learner")
    lina = login("learner2", viewport={"width": 390, "height": 844})  # a phone
    for page in (lina, leo):
        page.goto("/leaderboards/duels/")
        expect(page.locator("[data-testid=duel-lobby]")).to_be_visible()
        connected(page)
    # Both look at the same course (the lobby opens on the first of theirs).
    course = leo.locator("#duel-course").input_value()
    if lina.locator("#duel-course").input_value() != course:
        lina.goto(f"/leaderboards/duels/?course={course}")
        connected(lina)
    # Pending challenges from earlier runs against the same live server are cleared.
    for stale in leo.locator("[data-testid=outgoing] [data-testid=cancel]").all():
        stale.click()
    leo.select_option("[data-testid=duel-opponent]", label="Lina Learner")
    leo.click("[data-testid=challenge]")
    incoming = lina.locator("[data-testid=incoming] li", has_text="Leo Learner")
    incoming.locator("[data-testid=accept]").first.click()

    # Both online: a live duel, and both arenas open on it.
    for page in (leo, lina):
        expect(page.locator("[data-testid=duel-arena]")).to_be_visible()
    assert leo.url == lina.url
    for page in (leo, lina):
        connected(page)
    for number in (1, 2, 3):
        for page in (lina, leo):
            answer(page, number, 3)
        if number < 3:  # after the last one the result screen takes over
            for page in (leo, lina):
                expect(page.locator("[data-testid=reveal]")).to_be_visible()
    outcomes = []
    for page in (leo, lina):
        result = page.locator("[data-testid=result]")
        expect(result).to_be_visible()
        expect(page.locator("[data-testid=rating-change]")).to_contain_text("Rating:")
        expect(page.locator("[data-testid=rematch]")).to_be_visible()
        outcomes.append(page.locator("[data-testid=outcome]").text_content())
    assert sorted(outcomes) in (["Draw!", "Draw!"], ["You lost.", "You won!"])


def play_my_run(page: Page, count: int, *, last: bool = False) -> None:
    """Asynchronous: open each of my questions, answer it, see its reveal at once. The
    ``last`` to play gets the result screen instead of the final reveal."""
    for number in range(1, count + 1):
        page.click("[data-testid=next]")
        answer(page, number, count)
        if number < count or not last:
            expect(page.locator("[data-testid=reveal]")).to_be_visible()
    if not last:
        expect(page.locator("[data-testid=duel-status]")).to_contain_text("Your run is done")


def test_an_away_challenger_makes_it_asynchronous_and_the_wall_follows(login) -> None:
    leo = login("learner")
    leo.goto("/leaderboards/duels/")
    connected(leo)
    course = leo.locator("#duel-course").input_value()
    for stale in leo.locator("[data-testid=outgoing] [data-testid=cancel]").all():
        stale.click()
    leo.select_option("[data-testid=duel-opponent]", label="Lina Learner")
    leo.click("[data-testid=challenge]")
    expect(leo.locator("[data-testid=outgoing] li", has_text="Lina Learner")).to_have_count(1)
    leo.goto("/")  # Leo leaves: he is no longer online for a live duel

    boss = login("manager")
    boss.goto("/leaderboards/wall/?window=all")
    expect(boss.locator("[data-testid=wall-list]")).to_be_visible()
    connected(boss)

    lina = login("learner2")
    lina.goto(f"/leaderboards/duels/?course={course}")
    connected(lina)
    lina.locator("[data-testid=incoming] [data-testid=accept]").first.click()
    expect(lina.locator("[data-testid=duel-status]")).to_contain_text("Your opponent is away")
    play_my_run(lina, 3)

    leo.goto(lina.url)  # from his notification or the lobby, later
    connected(leo)
    play_my_run(leo, 3, last=True)
    # Both have played: the result goes out, to Lina's open arena too.
    for page in (leo, lina):
        expect(page.locator("[data-testid=result]")).to_be_visible()
    outcome = leo.locator("[data-testid=outcome]").text_content()
    if outcome != "Draw!":  # the winner's points move the space board on the wall
        boss.wait_for_function(
            "() => Number(document.getElementById('wall').dataset.refreshed || 0) > 0"
        )


FINISHED_DUEL = """
import datetime as dt
from hub.accounts.models import User
from leaderboards import duel_selectors
from leaderboards.models import Duel
leo, lina = User.objects.get(username="learner"), User.objects.get(username="learner2")
course = next(c for c in duel_selectors.duel_courses(user=leo)
              if c in duel_selectors.duel_courses(user=lina))
Duel.objects.create(course=course, challenger=lina, opponent=leo, status="finished", mode="live",
                    created_at=dt.datetime.now(dt.UTC), finished_at=dt.datetime.now(dt.UTC),
                    challenger_score=800, opponent_score=1400, winner=leo)
print(course.pk)
"""


def test_duel_results_are_worded_for_each_reader(login, live_env) -> None:
    """Leo beat Lina 1400-800. His lobby said "Lina Learner won 1400–800" (her name, then
    his outcome): each reader now reads the result from their own side, on the page and in
    the list the script redraws on every lobby event."""
    course = live_env.manage("shell", "-c", FINISHED_DUEL).strip().splitlines()[-1]
    leo, lina = login("learner"), login("learner2")
    for page in (leo, lina):
        page.goto(f"/leaderboards/duels/?course={course}")
        connected(page)
        for stale in page.locator("[data-testid=outgoing] [data-testid=cancel]").all():
            stale.click()
    won = leo.locator("[data-testid=recent] li", has_text="You won 1400–800 against Lina Learner")
    lost = lina.locator("[data-testid=recent] li", has_text="You lost 800–1400 against Leo Learner")
    expect(won).to_have_count(1)
    expect(lost).to_have_count(1)
    for page in (leo, lina):
        expect(page.locator("[data-testid=recent]")).not_to_contain_text("Learner won")

    # A lobby event redraws the lists from the script: Lina challenges, Leo declines.
    lina.select_option("[data-testid=duel-opponent]", label="Leo Learner")
    lina.click("[data-testid=challenge]")
    leo.locator("[data-testid=incoming] li", has_text="Lina Learner").locator(
        "[data-testid=decline]"
    ).click()
    declined = "Your duel with Lina Learner was declined"
    expect(leo.locator("[data-testid=recent] li").first).to_have_text(declined)
    expect(lina.locator("[data-testid=recent] li").first).to_have_text(
        "Your duel with Leo Learner was declined"
    )
    expect(won).to_have_count(1)
    expect(lost).to_have_count(1)
