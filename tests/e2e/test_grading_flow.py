"""Grading end to end in Chromium: Leo hands in his pitch, the trainer's "to grade" count
rises live, the trainer grades it against the rubric (not passed), Leo reads the grade and
the feedback and submits again, the trainer grades the new one (passed) and the gradebook
shows it. Lina's grade is never on Leo's pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"
ASSIGNMENT = "Your pitch"


def test_grading_flow(login) -> None:
    trainer = login("trainer")
    leo = login("learner")

    trainer.goto("/grading/")
    subscribed(trainer)
    row = trainer.locator("[data-testid=queue-counts] tr[data-course]", has_text=COURSE)
    pending = row.locator(".pending")
    before = int(pending.text_content() or "0")

    leo.goto("/courses/")
    leo.get_by_role("link", name=COURSE).first.click()
    leo.get_by_role("link", name=ASSIGNMENT).click()
    leo.fill("#sub-text", "Good morning, **I noticed** your reports take hours.")
    leo.get_by_role("button", name="Submit").click()
    expect(leo.locator("[data-testid=my-grades-link]")).to_be_visible()

    # Live: the count rises without a reload.
    expect(pending).to_have_text(str(before + 1))
    expect(trainer.locator("#queue-stale")).to_be_visible()
    trainer.reload()
    trainer.locator("[data-testid=queue] tr", has_text="Leo Learner").get_by_role(
        "link", name="Leo Learner"
    ).click()
    expect(trainer.locator("[data-testid=submission-text]")).to_contain_text("I noticed")
    points = trainer.locator("[data-testid=points]")
    points.nth(0).fill("3")
    points.nth(1).fill("4")
    trainer.fill("[data-testid=feedback]", "Open with *their* problem.")
    trainer.click("[data-testid=save-grade]")
    expect(trainer).to_have_url(re.compile(r"/grading/(submissions/\d+/)?$"))

    leo.click("[data-testid=my-grades-link]")
    expect(leo.locator("[data-testid=grade-percent]")).to_have_text("35 %")
    expect(leo.locator("[data-testid=grade-feedback] em")).to_have_text("their")
    expect(leo.locator("main")).not_to_contain_text("Lina")
    leo.fill("#re-text", "Your team loses a day a week to reports: here is how to win it back.")
    leo.click("[data-testid=resubmit]")
    expect(leo.locator("[data-testid=my-submission]")).to_have_count(2)
    expect(leo.locator("[data-testid=resubmit-form]")).to_have_count(0)

    trainer.goto("/grading/")
    trainer.locator("[data-testid=queue] tr", has_text="Leo Learner").get_by_role(
        "link", name="Leo Learner"
    ).click()
    expect(trainer.locator("[data-testid=submission-text]")).to_contain_text("a day a week")
    points = trainer.locator("[data-testid=points]")
    points.nth(0).fill("9")
    points.nth(1).fill("8")
    trainer.click("[data-testid=save-grade]")

    leo.reload()
    expect(leo.locator("[data-testid=grade-percent]").last).to_have_text("85 %")
    expect(leo.locator("[data-testid=grade]").last).to_contain_text("Passed")

    trainer.goto("/grading/")
    trainer.locator("[data-testid=queue-counts] tr", has_text=COURSE).get_by_role(
        "link", name="Open"
    ).click()
    book = trainer.locator("[data-testid=gradebook]")
    expect(book.locator("tr", has_text="Leo Learner")).to_contain_text("85 %")
