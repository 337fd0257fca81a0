"""A cmi5 package played in Chromium: the trainer uploads it on the add-activity page, the
learner opens it, the AU (tests/integrations/scorm_builders.py, written as an AU is: it
reads the launch query, POSTs to the fetch URL, GETs LMS.LaunchData and sends its
statements with the token from its sandboxed frame, across origins) is initialized, then
completed and passed; the trainer's progress grid shows the activity done without a reload.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_packages_play import grid_cell, new_course, open_player, upload
from tests.integrations.scorm_builders import CMI5_AU_SCRIPT, cmi5_package

pytestmark = pytest.mark.e2e


def test_cmi5_au_fetches_its_token_reports_and_completes_live(login, live_env) -> None:
    course = new_course(live_env, "Ladders (cmi5)")
    trainer = login("trainer")
    activity_url = upload(trainer, course, "Ladder quiz", cmi5_package(CMI5_AU_SCRIPT))
    cell, row = grid_cell(trainer, course, "Ladder quiz")
    expect(cell).not_to_have_class(re.compile(r"\bdone\b"))

    learner = login("learner")
    with learner.expect_request(re.compile(r"/api/v1/cmi5/fetch/")) as fetched:
        open_player(learner, activity_url)
    assert "cookie" not in fetched.value.all_headers()  # the frame sends no session
    au = learner.frame_locator("[data-testid=package-frame]")
    expect(au.locator("#state")).to_have_text("initialized")
    expect(au.locator("#launch")).to_have_text("CompletedAndPassed Normal")
    au.locator("#pass").click()
    expect(au.locator("#state")).to_have_text("terminated")
    expect(cell).to_have_class(re.compile(r"\bdone\b"))  # live, no reload
    expect(row.locator("td.pct")).to_have_text("100 %")
