"""Lyceum launched inside a platform's iframe, on another site: the peer platform
(lti1p3platform, tests/peers/lti_platform.py) on 127.0.0.1 embeds the tool served as
``localhost``, so the frame is cross-site and Chromium keeps only partitioned cookies there.
The learner sees the activity signed in inside the frame, completes it, and the score
reaches a line item Lyceum made on the platform (the link gave no line item); the state
went through LTI Platform Storage. An unregistered origin cannot frame us; a replayed or
forged launch in the frame is refused."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import close_context
from tests.e2e.lti_setup import register_peer, remove_platform
from tests.live_server import new_activity, wait_for
from tests.peers import lti_platform, peer_json

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"
PEOPLE = {"s-1": {"name": "Fran Framed", "email": "fran@peer.test", "role": "learner"}}


@contextlib.contextmanager
def _framing_page(body: str) -> Iterator[str]:
    """A page served on a loopback origin no platform is registered with."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            raw = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _frame_state(page, tool: str) -> str:
    """Where the tool's frame is and what it says (a failed launch explains itself)."""
    frames = [f for f in page.frames if f.url.startswith(tool)]
    if not frames:
        return f"no frame of the tool; frames: {[f.url for f in page.frames]}"
    text = frames[0].locator("body").inner_text(timeout=5_000)
    return f"{frames[0].url}: {' '.join(text.split())[:500]!r}"


def _run_jobs(live_env) -> None:
    if os.environ.get("DATABASE_URL"):
        live_env.manage("db_worker", "--batch", "--interval", "0")


def test_framed_launch_on_another_site_signs_in_completes_and_scores(
    browser, lyceum_server, live_env, request
) -> None:
    url = lyceum_server.url
    tool = url.replace("127.0.0.1", "localhost")  # another site than the platform's
    title = f"Framed lesson {uuid.uuid4().hex[:6]}"
    lesson = new_activity(url, COURSE, title)

    with lti_platform(people=PEOPLE, context={"id": "ctx-frame", "title": "Framed"}) as peer:
        platform = register_peer(url, peer, name="Framing LMS", tool=tool)
        client_id = platform["client_id"]
        request.addfinalizer(lambda: remove_platform(url, platform))
        context = browser.new_context()
        try:
            page = context.new_page()
            launches: list[dict] = []
            page.on(
                "request",
                lambda r: (
                    launches.append(r.post_data_json or {})
                    if r.method == "POST" and r.url == f"{tool}/lti/demo/launch/"
                    else None
                ),
            )
            link = f"rl-{uuid.uuid4().hex[:6]}"
            query = {
                "user": "s-1",
                "resource_link": link,
                "title": title,
                "custom": json.dumps({"lyceum_target": f"activity:{lesson['id']}"}),
                "no_lineitem": "1",
                "storage": "_parent",
            }
            # 1. The LMS course page frames the link: Lyceum's activity, signed in, inside.
            page.goto(f"{peer}/embed?" + urlencode(query))
            frame = page.frame_locator("#tool")
            try:
                expect(frame.locator("#activity-title")).to_have_text(title, timeout=30_000)
            except AssertionError as exc:
                raise AssertionError(f"the frame stopped at {_frame_state(page, tool)}") from exc
            expect(frame.locator("[data-testid=bell]")).to_be_visible()
            # The state went through the platform's storage (put at login, read at launch).
            expect(page.locator("body")).to_have_attribute("data-puts", "1")
            expect(page.locator("body")).to_have_attribute("data-gets", "1")
            tool_frame = next(f for f in page.frames if f.url.startswith(tool))
            assert tool_frame.url.startswith(f"{tool}/activities/{lesson['id']}/")
            cookies = {c["name"]: c for c in context.cookies(tool)}
            assert cookies["sessionid"]["sameSite"] == "None"
            assert cookies["sessionid"]["secure"] is True
            assert cookies["sessionid"].get("partitionKey")

            # The same link without platform storage: the state in a partitioned cookie,
            # after the page that checks the frame keeps cookies.
            second = context.new_page()
            plain = {k: v for k, v in query.items() if k != "storage"}
            second.goto(f"{peer}/embed?" + urlencode(plain))
            expect(second.frame_locator("#tool").locator("#activity-title")).to_have_text(title)
            expect(second.locator("body")).not_to_have_attribute("data-puts", "1")
            second.close()

            # 2. Opening it completed it: Lyceum made its line item, the score went there.
            def scored() -> dict | None:
                _run_jobs(live_env)
                state = peer_json(f"{peer}/_state")
                items = [i for i in state["lineitems"] if i.get("resourceLinkId") == link]
                if not items:
                    return None
                lineitem_id = items[0]["id"].rsplit("/", 1)[1]
                for score in state["scores"]:
                    if score["lineitem"] == lineitem_id:
                        return {"item": items[0], "score": score}
                return None

            found = wait_for(scored, timeout=60, what="the score on Lyceum's line item")
            assert found["item"]["tag"] == "lyceum"
            assert found["item"]["label"] == title
            assert found["score"]["userId"] == "s-1"
            assert found["score"]["scoreGiven"] == 100

            # 3. The same launch posted again in a frame (replay), and a forged one: 400.
            assert launches, "the launch post was not seen"
            posted = {k: v for k, v in launches[0].items() if k in ("id_token", "state")}
            for body in (posted, {"id_token": "e30.e30.sig", "state": posted["state"]}):
                replay = page.context.new_page()
                replay.set_content(
                    '<iframe name="t"></iframe><form id="f" method="post" target="t" action="'
                    + f'{tool}/lti/demo/launch/">'
                    + "".join(
                        f'<input type="hidden" name="{k}" value="{v}">' for k, v in body.items()
                    )
                    + "</form>"
                )
                with replay.expect_response(f"{tool}/lti/demo/launch/") as answer:
                    replay.evaluate("document.getElementById('f').submit()")
                assert answer.value.status == 400
                replay.close()
        finally:
            close_context(context)

        # 4. A page on an origin no platform of the space has (another loopback port):
        # Chromium refuses the frame (CSP frame-ancestors).
        src = f"{tool}/lti/demo/login/?" + urlencode({"iss": peer, "client_id": client_id})
        other = browser.new_context()
        with _framing_page(f'<iframe id="t" src="{src}"></iframe>') as origin:
            page = other.new_page()
            blocked: list[str] = []
            page.on(
                "requestfailed",
                lambda r: blocked.append(r.failure or "") if r.url.startswith(tool) else None,
            )
            try:
                with page.expect_console_message(
                    lambda m: "frame-ancestors" in m.text, timeout=15_000
                ) as refusal:
                    page.goto(f"{origin}/embed")
                assert f"frame-ancestors 'self' {peer}" in refusal.value.text
                # (page.title() is a round trip: it lets Playwright take in frame events.)
                wait_for(
                    lambda: (
                        page.title() is not None
                        and [f for f in page.frames if f.url.startswith("chrome-error:")]
                    ),
                    timeout=15,
                    what="Chromium's error page in place of the refused frame",
                )
                assert "net::ERR_BLOCKED_BY_RESPONSE" in blocked
            finally:
                close_context(other)
