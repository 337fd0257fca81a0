"""The course editor in a browser: the question bank shows the fields of the chosen kind
and edits a question in place; the Markdown preview keeps inline bold inside its line."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e

COURSE = "Workplace safety"


def test_question_bank_fields_follow_the_kind_and_a_question_is_edited(
    login, lyceum_server
) -> None:
    token = api_token(lyceum_server.url, "trainer")
    _, courses = api(lyceum_server.url, "GET", "/api/v1/courses/", token=token)
    course = next(c for c in courses if c["title"] == COURSE)
    trainer = login("trainer")
    trainer.goto(f"/courses/{course['id']}/questions/")
    form = trainer.get_by_test_id("question-form")
    answers, number = form.locator("#id_choices"), form.locator("#id_numeric_answer")
    expect(answers).to_be_visible()
    expect(number).to_be_hidden()
    form.locator("#id_kind").select_option("numeric")
    expect(answers).to_be_hidden()
    expect(number).to_be_visible()
    number.fill("42")
    form.locator("#id_text").fill("How many exits has the building?")
    form.locator("button[type=submit]").click()
    expect(trainer.locator(".questions")).to_contain_text("How many exits has the building?")
    try:
        row = trainer.locator(".questions > li", has_text="How many exits has the building?")
        row.get_by_test_id("edit-question").click()
        expect(form.locator("#id_numeric_answer")).to_have_value("42.0")
        form.locator("#id_numeric_answer").fill("4")
        form.locator("button[type=submit]").click()
        edited = trainer.locator(".questions > li", has_text="How many exits")
        expect(edited).to_contain_text("= 4.0")
    finally:  # the demo course's bank is what duels draw from: leave it as it was
        _, bank = api(
            lyceum_server.url, "GET", f"/api/v1/courses/{course['id']}/questions/", token=token
        )
        for question in bank:
            if question["text"].startswith("How many exits"):
                api(
                    lyceum_server.url, "DELETE", f"/api/v1/questions/{question['id']}/", token=token
                )

    # The preview of the course's summary: bold stays inside its sentence.
    trainer.goto(f"/courses/{course['id']}/edit/")
    trainer.locator("#id_summary").fill("Keep **exits** clear at all times.")
    strong = trainer.locator(".md-preview strong")
    expect(strong).to_have_text("exits")
    assert strong.evaluate("el => getComputedStyle(el.parentElement).display") == "block"
    line = trainer.locator(".md-preview p").evaluate("p => p.getClientRects().length")
    assert line == 1
