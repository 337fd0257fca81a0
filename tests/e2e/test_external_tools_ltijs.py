"""Lyceum as an LTI 1.3 platform in Chromium, with ltijs (npm, an IMS-certified LTI tool
library none of us wrote) as the tool: an administrator registers it on the page, the
trainer picks two drills in it (Deep Linking), a learner launches one in a frame and sends
a score from it (AGS) that completes the activity in the trainer's live progress grid, and
the tool reads the course roster (NRPS)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context
from tests.live_server import DEMO_PASSWORD, LiveEnvironment, LiveServer, free_port, start_server
from tests.peers.ltijs_tool import ltijs_tool

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SETUP = """
from classrooms import services as s
from hub.accounts.models import User
trainer = User.objects.get(username="trainer")
space = trainer.spaces.get(slug="demo")
course = s.course_create(author=trainer, space=space, title="LTI lab")
module = s.module_create(user=trainer, course=course, title="Drills")
for name in ("learner", "learner2"):
    s.enrolment_create(actor=trainer, user=User.objects.get(username=name), course=course)
print(json.dumps({"space": space.pk, "course": course.pk, "module": module.pk}))
"""

CHECK = """
from externaltools.models import Score
from classrooms.models import Enrolment
e = Enrolment.objects.get(course_id={course}, user__username="learner")
scores = Score.objects.filter(user=e.user, line_item__course_id={course})
print(json.dumps({{"scores": [s.score_given for s in scores],
  "progress": e.progress}}))
"""


def _login(browser, platform: LiveServer, contexts: list, username: str):
    """A browser context signed in as ``username`` (kept in ``contexts`` to close)."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=platform.url)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    contexts.append(context)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    expect(page.locator("[data-testid=bell]")).to_be_visible()
    return page


@pytest.fixture
def platform(live_env: LiveEnvironment) -> Iterator[LiveServer]:
    """A Lyceum server whose SITE_URL (the LTI issuer) is its own address."""
    port = free_port()
    env = LiveEnvironment(
        env={**live_env.env, "SITE_URL": f"http://127.0.0.1:{port}"},
        workdir=live_env.workdir,
        services=live_env.services,
    )
    server = start_server(env, name="lti-platform", port=port)
    try:
        yield server
    finally:
        server.stop()


def test_ltijs_deep_links_launches_grades_and_reads_the_roster(
    browser, platform, live_env, artifacts
):
    from playwright.sync_api import expect

    ids = json.loads(
        live_env.manage("shell", "-c", "import json\n" + SETUP).strip().splitlines()[-1]
    )
    contexts: list = []

    def login(username: str):
        return _login(browser, platform, contexts, username)

    with ltijs_tool() as tool:
        try:
            # The administrator registers ltijs; Lyceum assigns its client id.
            admin = login("admin")
            admin.goto(f"/externaltools/spaces/{ids['space']}/")
            form = admin.locator("[data-testid=tool-form]")
            form.locator("[name=name]").fill("ltijs drills")
            form.locator("[name=login_url]").fill(f"{tool.url}/login")
            form.locator("[name=launch_url]").fill(f"{tool.url}/")
            form.locator("[name=deep_linking_url]").fill(f"{tool.url}/")
            form.locator("[name=jwks_url]").fill(f"{tool.url}/keys")
            form.locator("[name=share_email]").check()
            form.locator("button[type=submit]").click()
            # (this ltijs's row: its address, as another test may register another ltijs)
            row = admin.locator("[data-testid=tool]", has_text=f"{tool.url}/")
            client_id = row.locator("[data-testid=tool-client-id]").text_content().strip()
            tool_pk = row.get_attribute("data-tool")
            issuer = admin.locator("[data-testid=platform-issuer]").text_content().strip()
            assert issuer == platform.url
            admin.screenshot(path=artifacts / "tools.png", full_page=True)
            # ... and gives ltijs this platform's values.
            tool.register_platform(
                {
                    "url": issuer,
                    "name": "Lyceum",
                    "clientId": client_id,
                    "authenticationEndpoint": f"{issuer}/externaltools/authorize",
                    "accesstokenEndpoint": f"{issuer}/externaltools/token",
                    "authConfig": {"method": "JWK_SET", "key": f"{issuer}/externaltools/jwks"},
                }
            )

            # The trainer picks two drills in ltijs (Deep Linking).
            trainer = login("trainer")
            trainer.goto(f"/courses/{ids['course']}/edit/")
            trainer.click("[data-testid=add-external-tool]")
            trainer.click(f"[data-testid=pick-{tool_pk}-{ids['module']}]")
            expect(trainer.locator("h1")).to_have_text("Pick content")
            trainer.check("input[value=geometry]")
            trainer.click("#pick")
            done = trainer.locator("[data-testid=deep-link-done]")
            expect(done.locator("[data-testid=created-activity]")).to_have_count(2)
            expect(done).to_contain_text("Algebra drill")

            # The trainer watches the progress grid, live.
            trainer.goto(f"/courses/{ids['course']}/progress/")
            trainer.wait_for_function(
                "() => window.Lyceum && window.Lyceum.realtime.connected === true"
            )
            learner_row = trainer.locator("#grid-wrap tr", has_text="Leo Learner")
            expect(learner_row.locator("td.pct")).to_have_text("0 %")

            # The learner launches the algebra drill: ltijs in a frame of the activity page.
            leo = login("learner")
            leo.goto(f"/courses/{ids['course']}/")
            leo.get_by_role("link", name="Algebra drill").first.click()
            leo.click("[data-testid=open-external-tool]")
            frame = leo.frame_locator("[data-testid=lti-frame]")
            expect(frame.locator("#name")).to_have_text("Leo Learner")
            expect(frame.locator("#email")).to_have_text("learner@example.com")
            expect(frame.locator("#roles")).to_contain_text("membership#Learner")
            expect(frame.locator("#context")).to_have_text("LTI lab")
            expect(frame.locator("#resource")).to_have_text("Algebra drill")
            expect(frame.locator("#custom")).to_contain_text('"drill":"algebra"')
            leo.screenshot(path=artifacts / "launch.png", full_page=True)

            # ltijs posts the learner's score (AGS): the activity is done, in the grid too.
            frame.locator("input[name=score]").fill("85")
            frame.locator("#grade").click()
            expect(frame.locator("#grade-result")).to_contain_text("sent")
            expect(learner_row.locator("td.pct")).to_have_text("50 %")
            expect(learner_row).to_contain_text("✔ 85 %")
            trainer.screenshot(path=artifacts / "grid.png", full_page=True)

            # ltijs reads the roster (NRPS): the trainer and both learners, with roles.
            leo.reload()  # a new launch
            frame.locator("#roster").click()
            members = frame.locator("#members li")
            expect(members).to_have_count(3)
            expect(frame.locator("#members")).to_contain_text("Lina Learner")
            expect(frame.locator("#members")).to_contain_text("membership#Instructor")
        except BaseException:
            print(tool.log_tail())
            print(platform.log_tail())
            raise
        finally:
            for context in contexts:
                close_context(context)
    facts = json.loads(
        live_env.manage("shell", "-c", "import json\n" + CHECK.format(course=ids["course"]))
        .strip()
        .splitlines()[-1]
    )
    assert facts == {"scores": [85.0], "progress": 50}


def test_ltijs_registers_itself_dynamically_then_a_learner_launches_it(
    browser, platform, live_env, artifacts
):
    """LTI Dynamic Registration: the administrator opens ltijs's registration URL on the
    tools page; ltijs reads our space's OpenID configuration, registers itself with our
    registration endpoint (its own DynamicRegistration service) and closes the frame; the
    tool awaits activation, the administrator activates it, and a learner launches it."""
    from playwright.sync_api import expect

    ids = json.loads(
        live_env.manage("shell", "-c", "import json\n" + SETUP).strip().splitlines()[-1]
    )
    contexts: list = []
    with ltijs_tool() as tool:
        try:
            admin = _login(browser, platform, contexts, "admin")
            admin.goto(f"/externaltools/spaces/{ids['space']}/")
            form = admin.locator("[data-testid=registration-form]")
            form.locator("[name=registration-initiation_url]").fill(f"{tool.url}/register")
            form.locator("button[type=submit]").click()
            expect(admin.locator("[data-testid=registration-frame]")).to_be_visible()
            # ltijs registers itself, then says org.imsglobal.lti.close: the page shows it.
            row = admin.locator("[data-testid=tool]", has_text=f"{tool.url}/")
            expect(row.locator("[data-testid=tool-state]")).to_contain_text("Awaiting activation")
            expect(row).to_contain_text("ltijs drills")
            tool_pk = row.get_attribute("data-tool")
            expect(admin.locator("[data-testid=registration-frame]")).to_have_count(0)
            admin.screenshot(path=artifacts / "dynreg-pending.png", full_page=True)
            row.locator("[data-testid=tool-toggle]").click()
            row = admin.locator(f"[data-testid=tool][data-tool='{tool_pk}']")
            expect(row.locator("[data-testid=tool-state]")).to_have_text("Active")

            # The trainer picks a drill in it (its deep linking came with the registration).
            trainer = _login(browser, platform, contexts, "trainer")
            trainer.goto(f"/courses/{ids['course']}/edit/")
            trainer.click("[data-testid=add-external-tool]")
            trainer.click(f"[data-testid=pick-{tool_pk}-{ids['module']}]")
            expect(trainer.locator("h1")).to_have_text("Pick content")
            trainer.click("#pick")
            done = trainer.locator("[data-testid=deep-link-done]")
            expect(done.locator("[data-testid=created-activity]")).to_have_count(1)

            # The learner launches it; ltijs gets the tool's own custom parameters too, and
            # sends a score with the scopes it was granted.
            leo = _login(browser, platform, contexts, "learner")
            leo.goto(f"/courses/{ids['course']}/")
            leo.get_by_role("link", name="Algebra drill").first.click()
            leo.click("[data-testid=open-external-tool]")
            frame = leo.frame_locator("[data-testid=lti-frame]")
            expect(frame.locator("#name")).to_have_text("Leo Learner")
            expect(frame.locator("#roles")).to_contain_text("membership#Learner")
            expect(frame.locator("#custom")).to_contain_text('"via":"dynamic-registration"')
            frame.locator("input[name=score]").fill("90")
            frame.locator("#grade").click()
            expect(frame.locator("#grade-result")).to_contain_text("sent")
            leo.screenshot(path=artifacts / "dynreg-launch.png", full_page=True)
        except BaseException:
            print(tool.log_tail())
            print(platform.log_tail())
            raise
        finally:
            for context in contexts:
                close_context(context)
    facts = json.loads(
        live_env.manage("shell", "-c", "import json\n" + CHECK.format(course=ids["course"]))
        .strip()
        .splitlines()[-1]
    )
    assert facts["scores"] == [90.0]
