"""Lyceum as an LTI 1.3 tool, driven in Chromium from a platform none of us wrote
(``lti1p3platform`` from PyPI, run by tests/peers/lti_platform.py): an instructor deep-links
a lesson (the platform checks our signed response against our JWKS), a learner launched
from the platform lands on it logged in and enrolled, opening it completes it and the
score reaches the platform's line item (AGS); the roster button pulls the context's
members (NRPS) into enrolments."""

from __future__ import annotations

import json
import os
import re
import uuid
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import close_context
from tests.e2e.lti_setup import register_peer, remove_platform
from tests.live_server import new_activity, wait_for
from tests.peers import lti_platform, peer_json

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"
PEOPLE = {
    "t-1": {"name": "Tess Teacher", "email": "tess@peer.test", "role": "instructor"},
    "s-1": {"name": "Sam Student", "email": "sam@peer.test", "role": "learner"},
}


def _run_jobs(live_env) -> None:
    """Services mode: the server runs no jobs (the embedded server's worker does)."""
    if os.environ.get("DATABASE_URL"):
        live_env.manage("db_worker", "--batch", "--interval", "0")


def test_deep_link_launch_grade_passback_and_roster_with_a_real_platform(
    browser, lyceum_server, live_env, login
) -> None:
    url = lyceum_server.url
    title = f"LTI lesson {uuid.uuid4().hex[:6]}"
    lesson = new_activity(url, COURSE, title)

    with lti_platform(people=PEOPLE, context={"id": "ctx-e2e", "title": "Peer course"}) as peer:
        platform = register_peer(url, peer, name="Peer LMS")
        contexts = []
        try:
            # 1. The platform's instructor picks the lesson (Deep Linking).
            teacher = browser.new_context()
            contexts.append(teacher)
            page = teacher.new_page()
            page.goto(f"{peer}/start?" + urlencode({"user": "t-1", "deep_link": "1"}))
            expect(page.get_by_test_id("lti-picker")).to_be_visible()
            page.locator(f"[data-testid=lti-pick][data-target='activity:{lesson['id']}']").check()
            page.get_by_test_id("lti-pick-submit").click()
            expect(page.get_by_test_id("linked")).to_have_text(title)
            [linked] = peer_json(f"{peer}/_state")["deep_links"][-1]["items"]
            assert linked["type"] == "ltiResourceLink"
            assert linked["custom"] == {"lyceum_target": f"activity:{lesson['id']}"}
            assert linked["url"].startswith(f"{url}/lti/demo/launch/?target=activity")

            # 2. A learner opens that link in the platform: logged in, on the lesson.
            learner = browser.new_context()
            contexts.append(learner)
            page = learner.new_page()
            query = {
                "user": "s-1",
                "resource_link": f"rl-{uuid.uuid4().hex[:6]}",
                "custom": json.dumps(linked["custom"]),
            }
            page.goto(f"{peer}/start?" + urlencode(query))
            expect(page).to_have_url(re.compile(re.escape(f"{url}/activities/{lesson['id']}/")))
            expect(page.locator("#activity-title")).to_have_text(title)
            expect(page.locator("[data-testid=bell]")).to_be_visible()

            # 3. Opening the lesson completed it: the score reaches the line item (AGS).
            def scored() -> dict | None:
                _run_jobs(live_env)
                for score in peer_json(f"{peer}/_state")["scores"]:
                    if score["lineitem"] == query["resource_link"]:
                        return score
                return None

            score = wait_for(scored, timeout=60, what="the AGS score at the platform")
            assert score["userId"] == "s-1"
            assert score["scoreGiven"] == 100
            assert score["activityProgress"] == "Completed"

            # 4. The admin pulls the roster (NRPS): both people become members.
            page = login("admin")
            page.goto("/lti/demo/settings/")
            expect(page.get_by_test_id("lti-jwks-url")).to_have_text(f"{url}/lti/demo/jwks/")
            row = page.get_by_test_id("lti-context").filter(has_text="Peer course")
            row.get_by_test_id("lti-roster-pull").click()

            def pulled() -> bool:
                _run_jobs(live_env)
                page.goto("/lti/demo/settings/")
                result = page.get_by_test_id("lti-context").filter(has_text="Peer course")
                text = result.get_by_test_id("lti-roster-result").all_text_contents()
                return bool(text) and text[0].startswith("2 members")

            wait_for(pulled, timeout=60, what="the roster pulled from the platform", interval=1)
            assert peer_json(f"{peer}/_state")["tokens"] >= 2  # AGS and NRPS tokens
        finally:
            for context in contexts:
                close_context(context)
            remove_platform(url, platform)
