"""The live class room in two browser contexts: the trainer starts a class from the course
page, a learner joins; the learner's raised hand appears for the trainer; the trainer's poll
is answered by the learner and the trainer sees the result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def connected(page: Page) -> None:
    """The room has joined and follows its topic."""
    expect(page.locator("[data-testid=liveclass][data-joined=true]")).to_have_count(1)


def start_class(trainer: Page) -> str:
    trainer.goto("/courses/")
    trainer.get_by_role("link", name="Workplace safety").first.click()
    trainer.locator("[data-testid=liveclass-start]").click()
    expect(trainer).to_have_url(re.compile(r"/liveclass/\d+/$"))
    connected(trainer)
    expect(trainer.locator("[data-testid=lc-status]")).to_have_text("Live")
    return trainer.url


def test_hand_and_poll_between_trainer_and_learner(login) -> None:
    trainer = login("trainer")
    room_url = start_class(trainer)
    learner = login("learner")
    learner.goto(room_url)
    connected(learner)
    people = trainer.locator("[data-testid=lc-people]")
    expect(people).to_contain_text("Leo Learner")

    # A raised hand reaches the trainer's queue.
    learner.locator("[data-testid=lc-hand]").click()
    expect(trainer.locator("[data-testid=lc-hands] li", has_text="Leo Learner")).to_have_count(1)
    expect(learner.locator("[data-testid=lc-hand]")).to_have_attribute("aria-pressed", "true")

    # The trainer asks; the learner answers; the trainer sees the result live.
    trainer.fill("#lc-poll-question", "Where is the assembly point?")
    trainer.fill("#lc-poll-choices", "Car park\nRoof")
    trainer.locator("[data-testid=lc-poll-ask]").click()
    poll = learner.locator("[data-testid=lc-poll]", has_text="Where is the assembly point?")
    expect(poll).to_have_count(1)
    poll.get_by_role("button", name="Car park").click()
    expect(poll.get_by_role("button", name="Car park")).to_have_attribute("aria-pressed", "true")
    trainer_poll = trainer.locator("[data-testid=lc-poll]", has_text="Where is the assembly point?")
    expect(trainer_poll.locator("[data-testid=lc-result]").first).to_have_text("1")

    # The trainer closes the class; the learner's page says so.
    trainer.on("dialog", lambda dialog: dialog.accept())
    trainer.locator("[data-testid=lc-end]").click()
    expect(learner.locator("[data-testid=lc-status]")).to_have_text("Ended")
    # The trainer's page reloads once the class has ended: let it settle before teardown.
    expect(trainer.locator("[data-testid=lc-status]")).to_have_text("Ended")
    trainer.wait_for_load_state()


def test_a_coordinator_in_the_room_is_shown_as_coordinator_not_trainer(login) -> None:
    trainer = login("trainer")
    room_url = start_class(trainer)
    coordinator = login("coordinator")
    coordinator.goto(room_url)
    connected(coordinator)
    people = trainer.locator("[data-testid=lc-people] li")
    colette = people.filter(has_text="Colette Coordinator")
    expect(colette.locator(".tag")).to_have_text("Coordinator")
    expect(people.filter(has_text="Theo Trainer").locator(".tag")).to_have_text("Trainer")
    trainer.on("dialog", lambda dialog: dialog.accept())
    trainer.locator("[data-testid=lc-end]").click()
    expect(trainer.locator("[data-testid=lc-status]")).to_have_text("Ended")
    trainer.wait_for_load_state()
