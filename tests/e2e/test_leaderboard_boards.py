"""The board page in Chromium: switch from the space's board to a course's and a team's,
change the period on the way, and see my rank with my neighbours beside the podium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_learner_switches_boards_and_periods(login) -> None:
    page = login("learner")
    page.goto("/leaderboards/")
    picker = page.locator("[data-testid=board-picker]")
    expect(picker.locator("[data-testid=boards-space] [aria-current=page]")).to_have_count(1)
    # The demo learner scored in the space (lessons, a quiz): their rank and neighbours show.
    page.locator("[data-testid=window-all]").click()
    expect(page).to_have_url(re.compile(r"board=space-\d+&window=all"))
    expect(page.locator("[data-testid=my-rank]")).to_contain_text("Your rank")
    expect(page.locator("[data-testid=neighbours] li.mine")).to_have_count(1)

    course = picker.locator("[data-testid=boards-course] [data-testid=board-choice]").first
    name = course.inner_text()
    course.click()
    expect(page).to_have_url(re.compile(r"board=course-\d+&window=all"))
    expect(page.locator("[data-testid=board-title]")).to_have_text(name)
    expect(
        page.locator("[data-testid=boards-course] [aria-current=page]")
    ).to_have_text(name)  # fmt: skip

    page.locator("[data-testid=window-month]").click()
    expect(page).to_have_url(re.compile(r"board=course-\d+&window=month"))
    expect(page.locator("[data-testid=board-title]")).to_have_text(name)

    page.locator(
        "[data-testid=boards-team] [data-testid=board-choice]", has_text="Sales team"
    ).click()
    expect(page).to_have_url(re.compile(r"board=team-\d+&window=month"))
    expect(page.locator("[data-testid=board-title]")).to_have_text("Sales team")
    expect(page.locator("[data-testid=leaderboard]")).to_have_attribute(
        "data-key", re.compile(r"^team-\d+-month-")
    )
