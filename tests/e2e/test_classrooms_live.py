"""The learner completes a lesson; the trainer's progress grid, open in another browser
context, updates without a reload. And the editor's markdown preview is live and safe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e

COURSE = "Workplace safety"
LESSON = "First aid in five minutes"


def open_course(page: Page) -> None:
    page.goto("/courses/")
    page.get_by_role("link", name=COURSE).first.click()
    expect(page.locator("main h1")).to_have_text(COURSE)


def test_trainer_grid_updates_live_when_learner_completes_a_lesson(login) -> None:
    trainer = login("trainer")
    learner = login("learner")

    open_course(trainer)
    trainer.click("[data-testid=progress-link]")
    expect(trainer).to_have_url(re.compile(r"/courses/\d+/progress/$"))
    subscribed(trainer)
    trainer.evaluate("() => { window.__sameDocument = true; }")
    grid = trainer.locator("[data-testid=progress-grid]")
    row = grid.locator("tr[data-user]", has_text="Leo Learner")
    headers = grid.locator("thead th")
    titles = [headers.nth(i).get_attribute("title") for i in range(headers.count())]
    column = titles.index(LESSON)
    cell = row.locator("td, th").nth(column)
    expect(cell).not_to_have_class(re.compile(r"\bdone\b"))
    before = row.locator("td.pct").text_content()

    open_course(learner)
    learner.get_by_role("link", name=LESSON).click()
    expect(learner.locator("[data-testid=activity-done]")).to_be_visible()

    expect(cell).to_have_class(re.compile(r"\bdone\b"))
    expect(row.locator("td.pct")).not_to_have_text(before or "")
    expect(row.locator("td.pct")).to_have_text("60 %")
    assert trainer.evaluate("() => window.__sameDocument === true")


def test_editor_preview_renders_sanitised_markdown(login) -> None:
    trainer = login("trainer")
    open_course(trainer)
    trainer.get_by_role("link", name="Edit course").click()
    trainer.get_by_role("link", name="Welcome to the course").click()
    body = trainer.locator("#id_body")
    body.fill('## Fresh title\n\n**bold** <img src=x onerror="window.__pwned=1">')
    preview = trainer.locator("[data-preview-for=id_body]")
    expect(preview.locator("h2")).to_have_text("Fresh title")
    expect(preview.locator("strong")).to_have_text("bold")
    assert "onerror" not in (preview.inner_html() or "")
    assert trainer.evaluate("() => window.__pwned === undefined")


def test_editor_preview_says_when_the_text_is_too_long(login) -> None:
    """It showed the preview of a text cut at 100,000 characters, as if nothing were wrong."""
    trainer = login("trainer")
    open_course(trainer)
    trainer.get_by_role("link", name="Edit course").click()
    trainer.get_by_role("link", name="Welcome to the course").click()
    preview = trainer.locator("[data-preview-for=id_body]")
    trainer.locator("#id_body").fill("**fits**")
    expect(preview.locator("strong")).to_have_text("fits")
    trainer.locator("#id_body").fill("x" * 100_001)
    expect(preview).to_have_text("This text is too long (100000 characters at most).")


def test_manager_team_view_updates_live(login) -> None:
    manager = login("manager")
    learner = login("learner")
    manager.goto("/team/progress/")
    subscribed(manager)
    row = manager.locator("[data-testid=team-table] tr", has_text="Leo Learner").filter(
        has_text="Consultative selling"
    )
    expect(row.locator("td.pct span")).to_have_text("20 %")

    learner.goto("/courses/")
    learner.get_by_role("link", name="Consultative selling").first.click()
    learner.get_by_role("link", name="Handling objections").click()
    expect(learner.locator("[data-testid=activity-done]")).to_be_visible()

    expect(row.locator("td.pct span")).to_have_text("40 %")


def test_grid_gains_a_row_live_when_someone_is_enrolled(login) -> None:
    watching = login("trainer")
    acting = login("trainer")
    for page in (watching, acting):
        page.goto("/courses/")
        page.get_by_role("link", name="Consultative selling").first.click()
        page.click("[data-testid=progress-link]")
    subscribed(watching)
    rows = watching.locator("[data-testid=progress-grid] tbody tr")
    before = rows.count()
    acting.select_option("#enrol-user", label="Colette Coordinator")
    acting.get_by_role("button", name="Enrol").click()
    expect(rows).to_have_count(before + 1)
    expect(watching.locator("[data-testid=progress-grid] tbody")).to_contain_text(
        "Colette Coordinator"
    )


def _right_answers(questions: list[dict], bank: dict[int, dict]) -> dict[str, object]:
    answers: dict[str, object] = {}
    for q in questions:
        full = bank[q["id"]]
        if full["kind"] == "numeric":
            answers[str(q["id"])] = full["numeric_answer"]
        else:
            answers[str(q["id"])] = [c["id"] for c in full["choices"] if c["is_correct"]]
    return answers


def test_grid_quiz_cell_shows_the_passing_score_live(login, lyceum_server) -> None:
    """A failed attempt's score is on the grid; the pass replaces it at once (it used to
    read "✔ 0 %" until a reload)."""
    import uuid

    from tests.live_server import api, api_token

    url = lyceum_server.url
    token = api_token(url, "trainer")
    _status, courses = api(url, "GET", "/api/v1/courses/", token=token)
    course = next(c for c in courses if c["title"] == "Consultative selling")
    _status, detail = api(url, "GET", f"/api/v1/courses/{course['id']}/", token=token)
    title = f"Check {uuid.uuid4().hex[:6]}"
    status, quiz = api(
        url,
        "POST",
        f"/api/v1/modules/{detail['modules'][-1]['id']}/activities/",
        token=token,
        body={"title": title, "kind": "quiz", "required": False, "pass_mark": 50},
    )
    assert status == 201, quiz
    _status, bank = api(url, "GET", f"/api/v1/courses/{course['id']}/questions/", token=token)
    bank_by_id = {q["id"]: q for q in bank}
    lina = api_token(url, "learner2")
    status, attempt = api(url, "POST", f"/api/v1/activities/{quiz['id']}/attempts/", token=lina)
    assert status == 201, attempt
    status, failed = api(
        url, "POST", f"/api/v1/attempts/{attempt['id']}/submit/", token=lina, body={"answers": {}}
    )
    assert status == 200 and failed["passed"] is False, failed

    trainer = login("trainer")
    trainer.goto(f"/courses/{course['id']}/progress/")
    subscribed(trainer)
    grid = trainer.locator("[data-testid=progress-grid]")
    headers = grid.locator("thead th")
    titles = [headers.nth(i).get_attribute("title") for i in range(headers.count())]
    cell = grid.locator("tr[data-user]", has_text="Lina Learner").locator("td, th")
    cell = cell.nth(titles.index(title))
    expect(cell).to_have_text("0 %")

    status, attempt = api(url, "POST", f"/api/v1/activities/{quiz['id']}/attempts/", token=lina)
    assert status == 201, attempt
    answers = _right_answers(attempt["questions"], bank_by_id)
    status, passed = api(
        url,
        "POST",
        f"/api/v1/attempts/{attempt['id']}/submit/",
        token=lina,
        body={"answers": answers},
    )
    assert status == 200 and passed["score"] == 100, passed
    expect(cell).to_have_class(re.compile(r"\bdone\b"))
    expect(cell).to_have_text("✔ 100 %")
