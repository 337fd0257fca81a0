"""A trainer sets an activity's due date from its edit page (not over REST) in a browser:
the form keeps the day, the success message shows, the course's outline tags the activity
as due; a bad number of days is refused beside its field."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e

COURSE = "Workplace safety"


def test_trainer_sets_an_activity_due_date_on_its_page(login, lyceum_server) -> None:
    url = lyceum_server.url
    token = api_token(url, "trainer")
    _, courses = api(url, "GET", "/api/v1/courses/", token=token)
    course = next(c for c in courses if c["title"] == COURSE)
    _, detail = api(url, "GET", f"/api/v1/courses/{course['id']}/", token=token)
    activity = detail["modules"][0]["activities"][0]
    day = (dt.date.today() + dt.timedelta(days=12)).isoformat()

    page = login("trainer")
    try:
        page.goto(f"/courses/{course['id']}/edit/")
        page.locator(f"#activity-{activity['id']} a").first.click()
        form = page.get_by_test_id("due-form")
        expect(form).to_be_visible()
        # Refused first: days out of range, the error beside the field, nothing saved.
        form.get_by_label("A number of days after enrolment").check()
        form.get_by_label("Days after enrolment", exact=True).fill("0")
        form.get_by_role("button", name="Save the due date").click()
        expect(page.get_by_test_id("due-form").locator(".field.has-error")).to_contain_text(
            "greater than or equal to 1"
        )
        # Then a date: saved, shown back and on the outline.
        form = page.get_by_test_id("due-form")
        form.get_by_label("On a date", exact=True).check()
        form.get_by_label("Due on", exact=True).fill(day)
        form.get_by_role("button", name="Save the due date").click()
        expect(page.get_by_text("Due date saved.")).to_be_visible()
        expect(page.get_by_test_id("due-form").get_by_label("Due on", exact=True)).to_have_value(
            day
        )
        expect(
            page.get_by_test_id("due-form").get_by_label("On a date", exact=True)
        ).to_be_checked()
        page.goto(f"/courses/{course['id']}/edit/")
        tag = page.locator(f"#activity-{activity['id']}").get_by_test_id("activity-due")
        expect(tag).to_be_visible()
    finally:  # the demo course is shared by other browser tests: leave it without a date
        api(
            url,
            "PUT",
            f"/api/v1/activities/{activity['id']}/due/",
            token=token,
            body={"due_date": None, "due_days": None},
        )
