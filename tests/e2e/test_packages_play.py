"""SCORM packages played in Chromium through scorm-again: the trainer uploads on the
add-activity page, the learner plays in the sandboxed frame, leaves and comes back
(location and suspend data restored), finishes, and the trainer's progress grid shows the
activity done without a reload. A hostile package cannot reach the page, cookies or API.

The packages are built by tests/integrations/scorm_builders.py, shaped as authoring tools
publish them (their own API discovery wrapper, several SCOs, a 2004 sequencing manifest).
Each test makes its own course (a shell in the live server's database), so the demo course
the other browser tests count on is left as it is.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import subscribed
from tests.integrations.scorm_builders import hostile_package, scorm12_package, scorm2004_package

pytestmark = pytest.mark.e2e

NEW_COURSE = """
from classrooms import services
from classrooms.models import Course
from hub.accounts.models import User
trainer = User.objects.get(username="trainer")
learner = User.objects.get(username="learner")
space = Course.objects.get(title="Workplace safety").space
course = services.course_create(author=trainer, space=space, title=%r, published=True)
services.module_create(user=trainer, course=course, title="E-learning")
services.enrolment_create(actor=trainer, user=learner, course=course)
print(course.pk)
"""


def new_course(live_env, title: str) -> int:
    return int(live_env.manage("shell", "-c", NEW_COURSE % title).strip().splitlines()[-1])


def upload(trainer: Page, course: int, title: str, data: bytes) -> str:
    """The trainer adds the package on the course's edit page; the activity's URL."""
    trainer.goto(f"/courses/{course}/edit/")
    form = trainer.locator("[data-testid=activity-add]")
    form.locator("select[name=module]").select_option(label="E-learning")
    form.locator("select[name=kind]").select_option("package")
    form.locator("input[name=title]").fill(title)
    form.locator("input[name=package]").set_input_files(
        files=[{"name": "package.zip", "mimeType": "application/zip", "buffer": data}]
    )
    form.locator("button[type=submit]").click()
    expect(trainer.locator("[data-testid=package-open]")).to_be_visible()
    return trainer.url


def open_player(learner: Page, activity_url: str) -> None:
    if not getattr(learner, "_logs", None):  # the frames' console, shown when a test fails
        learner._logs = True
        learner.on("console", lambda message: print("console:", message.text))
    learner.goto(activity_url)
    learner.locator("[data-testid=package-open]").click()
    expect(learner.locator("[data-testid=package-player]")).to_be_visible()


def grid_cell(trainer: Page, course: int, title: str):
    trainer.goto(f"/courses/{course}/progress/")
    subscribed(trainer)
    grid = trainer.locator("[data-testid=progress-grid]")
    headers = grid.locator("thead th")
    titles = [headers.nth(i).get_attribute("title") for i in range(headers.count())]
    row = grid.locator("tr[data-user]", has_text="Leo Learner")
    return row.locator("td, th").nth(titles.index(title)), row


def test_scorm12_two_scos_resume_score_and_live_grid(login, live_env) -> None:
    course = new_course(live_env, "Fire safety (SCORM 1.2)")
    trainer = login("trainer")
    activity_url = upload(trainer, course, "Fire safety module", scorm12_package())
    cell, row = grid_cell(trainer, course, "Fire safety module")
    expect(cell).not_to_have_class(re.compile(r"\bdone\b"))

    learner = login("learner")
    open_player(learner, activity_url)
    sco = learner.frame_locator("[data-testid=package-frame]")
    expect(sco.locator("#state")).to_have_text("ready")
    expect(sco.locator("#entry")).to_have_text("ab-initio")
    sco.locator("#next").click()
    expect(sco.locator("#state")).to_have_text("committed 1")
    sco.locator("#next").click()
    expect(sco.locator("#state")).to_have_text("committed 2")

    # Leave (the page's pagehide sends the state), come back: resumed where it was left.
    learner.goto("/courses/")
    open_player(learner, activity_url)
    expect(learner.locator("[data-testid=package-player]")).to_have_attribute(
        "data-state", "resumed"
    )
    expect(sco.locator("#entry")).to_have_text("resume")
    expect(sco.locator("#location")).to_have_text("page-2")
    expect(sco.locator("#suspend")).to_have_text('{"page":2,"seen":["intro","p2"]}')

    sco.locator("#answer").click()
    expect(sco.locator("#state")).to_have_text("answered")
    sco.locator("#finish").click()
    expect(learner.locator("[data-testid=package-player]")).to_have_attribute(
        "data-state", "finished"
    )
    expect(cell).not_to_have_class(re.compile(r"\bdone\b"))  # one SCO of two

    learner.get_by_role("link", name="Part two").click()
    expect(sco.locator("h1")).to_have_text("Part two")
    expect(sco.locator("#entry")).to_have_text("ab-initio")
    sco.locator("#finish").click()
    expect(cell).to_have_class(re.compile(r"\bdone\b"))  # live, no reload
    expect(row.locator("td.pct")).to_have_text("100 %")

    # The trainer's report of the first SCO's answers.
    trainer.goto(activity_url)
    trainer.get_by_role("link", name="Interactions report").click()
    report = trainer.locator("[data-testid=package-report]")
    expect(report.locator("tr[data-question=q-exits] [data-testid=correct-rate]")).to_have_text(
        "100 %"
    )
    expect(report.locator("tr[data-question=q-ladder] [data-testid=correct-rate]")).to_have_text(
        "0 %"
    )


# Issue 18's quick return: leaving and opening the SCO again at once resumes it. (It once
# started over now and then: the second launch, in the same second as the first, had the
# same content URL and Chromium served the launch document from its cache with the first
# launch's seed. tests/integrations/test_package_activities.py covers the server side.)
def test_scorm2004_sequencing_suspend_data_interactions(login, live_env) -> None:
    course = new_course(live_env, "First aid (SCORM 2004)")
    trainer = login("trainer")
    activity_url = upload(trainer, course, "First aid module", scorm2004_package())
    cell, _row = grid_cell(trainer, course, "First aid module")

    learner = login("learner")
    open_player(learner, activity_url)
    sco = learner.frame_locator("[data-testid=package-frame]")
    expect(sco.locator("h1")).to_have_text("Learn")
    expect(sco.locator("#state")).to_have_text("ready")
    sco.locator("#next").click()
    expect(sco.locator("#state")).to_have_text("committed 1")
    learner.goto("about:blank")
    open_player(learner, activity_url)
    expect(sco.locator("#entry")).to_have_text("resume")
    expect(sco.locator("#location")).to_have_text("page-1")
    expect(sco.locator("#suspend")).to_have_text('{"page":1,"seen":["intro","p1"]}')

    # Terminate with adl.nav.request=continue: the player goes on to the next SCO.
    sco.locator("#finish").click()
    expect(sco.locator("h1")).to_have_text("Test")
    expect(sco.locator("#state")).to_have_text("ready")
    sco.locator("#answer").click()
    expect(sco.locator("#state")).to_have_text("answered")
    sco.locator("#finish").click()
    expect(cell).to_have_class(re.compile(r"\bdone\b"))

    trainer.goto(activity_url)
    trainer.get_by_role("link", name="Interactions report").click()
    report = trainer.locator("[data-testid=package-report]")
    expect(report).to_contain_text("Compressions per minute?")
    expect(report.locator('tr[data-question="urn:lyceum:q:recovery"]')).to_contain_text("0 %")


def test_a_hostile_package_reaches_neither_the_page_nor_the_api(login, live_env) -> None:
    course = new_course(live_env, "Free prizes (hostile)")
    trainer = login("trainer")
    activity_url = upload(trainer, course, "Prizes", hostile_package())
    learner = login("learner")
    learner.goto(activity_url)
    with learner.expect_request(re.compile(r"/api/v1/packages/probe-target/")) as caught:
        learner.locator("[data-testid=package-open]").click()
    probe = learner.frame_locator("[data-testid=package-frame]")
    expect(probe.locator("#parent")).to_have_text(re.compile(r"^blocked: SecurityError"))
    expect(probe.locator("#cookie")).to_have_text(re.compile(r"^(blocked: |cookie: \[\]$)"))
    expect(probe.locator("#storage")).to_have_text(re.compile(r"^blocked: "))
    expect(probe.locator("#api")).to_have_text(re.compile(r"^blocked: "))
    headers = caught.value.all_headers()
    assert "cookie" not in headers, headers  # no session went with the package's request
    assert learner.evaluate("() => document.title")  # the player page is intact
