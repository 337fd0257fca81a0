"""A lesson is completed by its own page, never by a GET: an image in a chat message that
points at the lesson's URL, shown in another learner's browser, completes nothing; opening
the lesson page does (the page's script POSTs once it is shown)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"


def _lesson_state(url: str, token: str, course_id: int, activity_id: int) -> tuple[bool, int]:
    """(lesson completed?, progress) for the token's owner."""
    status, body = api(url, "GET", f"/api/v1/courses/{course_id}/", token=token)
    assert status == 200, body
    done = {a["id"]: a["completed"] for m in body["modules"] for a in m["activities"]}
    return done[activity_id], body["enrolment"]["progress"]


def test_a_lesson_url_in_a_chat_image_completes_nothing_the_lesson_page_does(
    login, lyceum_server
) -> None:
    url = lyceum_server.url
    trainer = api_token(url, "trainer")
    status, courses = api(url, "GET", "/api/v1/courses/", token=trainer)
    course = next(c for c in courses if c["title"] == COURSE)
    status, detail = api(url, "GET", f"/api/v1/courses/{course['id']}/", token=trainer)
    module = detail["modules"][0]["id"]
    # Optional: the other tests' percentages of this course stay as they are.
    status, lesson = api(
        url,
        "POST",
        f"/api/v1/modules/{module}/activities/",
        token=trainer,
        body={"title": f"Lesson {uuid.uuid4().hex[:6]}", "kind": "lesson", "required": False},
    )
    assert status == 201, lesson
    lina_token = api_token(url, "learner2")
    assert _lesson_state(url, lina_token, course["id"], lesson["id"])[0] is False

    # Leo sends Lina an image whose address is the lesson's page.
    leo = login("learner")
    lina = login("learner2")
    leo.goto("/chat/")
    leo.locator("[data-testid=conversation-list] a", has_text="Lina Learner").click()
    expect(leo).to_have_url(re.compile(r"/chat/\d+/$"))
    leo.wait_for_function("() => window.Lyceum && window.Lyceum.realtime.connected === true")
    marker = uuid.uuid4().hex[:8]
    leo.fill("#composer-body", f"look {marker} ![x](/activities/{lesson['id']}/)")
    leo.press("#composer-body", "Enter")

    lina.goto("/chat/")
    lina.locator("[data-testid=conversation-list] a", has_text="Leo Learner").click()
    message = lina.locator("[data-testid=message]", has_text=marker)
    expect(message).to_have_count(1)
    # Whatever the message renders to, the browser fetches the lesson's URL as an image
    # would (with Lina's cookies), and every image of the message has loaded or failed.
    lina.evaluate(
        """([box, src]) => Promise.all([...box.querySelectorAll("img")].map(img =>
            img.complete || new Promise(done => { img.onload = img.onerror = done; }))
          .concat([new Promise(done => { const img = new Image();
            img.onload = img.onerror = done; img.src = src; })]))""",
        [message.element_handle(), f"/activities/{lesson['id']}/"],
    )
    assert _lesson_state(url, lina_token, course["id"], lesson["id"])[0] is False

    # Lina opens the lesson itself: the page reports it seen, and it is done.
    lina.goto(f"/activities/{lesson['id']}/")
    expect(lina.locator("[data-testid=activity-done]")).to_be_visible()
    assert _lesson_state(url, lina_token, course["id"], lesson["id"])[0] is True
