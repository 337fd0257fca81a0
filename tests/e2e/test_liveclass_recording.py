"""The recording's playback page in Chromium: the video plays (through the
permission-checked, seekable file delivery) and the class's chat lines appear beside it at
the second they were written; a chapter seeks back and the later lines go again; someone
outside the class gets the not-found page."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

RECORDED_CLASS = """
import datetime as dt
from classrooms import services
from hub.accounts.models import User
from messaging import selectors as chats, services as messages
from messaging.models import Message
trainer, leo = User.objects.get(username="trainer"), User.objects.get(username="learner")
space = trainer.space_memberships.first().space
room = services.liveclass_create(actor=trainer, space=space, title="Recorded French class")
room.invitees.add(leo)
services.liveclass_join(user=trainer, live_class=room)
services.liveclass_join(user=leo, live_class=room)
chat = chats.live_class_chat(key=room.topic)
start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
for body, at in (("Before the recording", -60), ("Bonjour a tous", 1.5), ("Page 12, please", 4)):
    message = messages.message_send(sender=leo, conversation=chat, body=body)
    Message.objects.filter(pk=message.pk).update(created_at=start + dt.timedelta(seconds=at))
services.liveclass_attach_recording(live_class=room, path=PATH, started_at=start.timestamp())
print(room.pk)
"""


def test_the_recording_plays_with_the_chat_at_its_times(login, live_env, tmp_path) -> None:
    if shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg is missing: install Debian's ffmpeg")
    video = tmp_path / "class.webm"
    sources = ["testsrc=size=320x180:rate=15:duration=7", "sine=frequency=440:duration=7"]
    encode = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-y", "-loglevel", "error"),
            *("-f", "lavfi", "-i", sources[0], "-f", "lavfi", "-i", sources[1]),
            *encode,
            *("-f", "webm", str(video)),
        ],
        check=True,
        capture_output=True,
    )
    code = RECORDED_CLASS.replace("PATH", repr(str(video)))
    pk = live_env.manage("shell", "-c", code).strip().splitlines()[-1]

    leo = login("learner")
    leo.goto(f"/liveclass/{pk}/recording/")
    page = leo.locator("[data-testid=recording]")
    expect(page).to_have_attribute("data-chat-loaded", "true")
    lines = leo.locator("[data-testid=rec-line]")
    expect(lines).to_have_count(2)  # the message from before the recording is left out
    expect(lines.nth(0)).to_be_hidden()
    expect(lines.nth(1)).to_be_hidden()

    player = leo.locator("[data-testid=rec-video]")
    player.evaluate("v => { v.muted = true; return v.play(); }")
    expect(lines.nth(0)).to_be_visible()
    expect(lines.nth(0)).to_contain_text("Bonjour a tous")
    at = player.evaluate("v => v.currentTime")
    assert at >= 1.5
    if at < 3.9:  # written at 4 s: not yet
        assert lines.nth(1).is_hidden()
    expect(lines.nth(1)).to_be_visible(timeout=15_000)
    expect(lines.nth(1)).to_contain_text("Page 12, please")
    assert player.evaluate("v => v.currentTime") >= 4
    assert player.evaluate("v => v.videoWidth") == 320  # frames decoded, not only audio

    # The first chapter seeks back to the start: the chat goes back with it.
    player.evaluate("v => v.pause()")
    leo.locator("[data-testid=rec-chapter]").first.click()
    player.evaluate("v => v.pause()")
    expect(lines.nth(1)).to_be_hidden()

    # Someone in the space but not in the class: the not-found page, and no file.
    lina = login("learner2")
    response = lina.goto(f"/liveclass/{pk}/recording/")
    assert response is not None and response.status == 404
    src = player.evaluate("v => v.currentSrc")
    assert lina.request.get(src).status == 404
    assert leo.request.get(src, headers={"Range": "bytes=0-99"}).status == 206


PREPARING_CLASS = """
from django.utils import timezone
from classrooms import services
from classrooms.models import LiveClass
from hub.accounts.models import User
trainer, leo = User.objects.get(username="trainer"), User.objects.get(username="learner")
space = trainer.space_memberships.first().space
room = services.liveclass_create(actor=trainer, space=space, title="Class being composed")
room.invitees.add(leo)
services.liveclass_join(user=trainer, live_class=room)
services.liveclass_join(user=leo, live_class=room)
LiveClass.objects.filter(pk=room.pk).update(recording_preparing_since=timezone.now())
print(room.pk)
"""

ATTACH = """
from classrooms import services
from classrooms.models import LiveClass
services.liveclass_attach_recording(live_class=LiveClass.objects.get(pk=PK), path=PATH)
"""


def test_the_page_being_prepared_shows_the_video_when_the_job_attaches_it(
    login, live_env, tmp_path
) -> None:
    """The playback page says "being prepared" while the job composes; when the file is
    attached the class's topic says ``recording.saved`` and the page shows the video
    without anyone reloading it. Services mode only: the file is attached from another
    process (as the job worker does there); embedded mode's channel layer is in the one
    server process, whose in-process worker a test cannot drive from outside."""
    if not live_env.services:
        pytest.skip("services mode only: the event comes from another process")
    if shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg is missing: install Debian's ffmpeg")
    video = tmp_path / "composed.webm"
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-y", "-loglevel", "error"),
            *("-f", "lavfi", "-i", "testsrc=size=320x180:rate=10:duration=2"),
            *("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"),
            *("-f", "webm", str(video)),
        ],
        check=True,
        capture_output=True,
    )
    pk = live_env.manage("shell", "-c", PREPARING_CLASS).strip().splitlines()[-1]
    leo = login("learner")
    leo.goto(f"/liveclass/{pk}/recording/")
    expect(leo.locator("[data-testid=rec-preparing]")).to_be_visible()
    expect(leo.locator("[data-testid=rec-video]")).to_have_count(0)
    # Subscribed before the file arrives (the page marks it once the server answered).
    expect(leo.locator("[data-testid=rec-preparing]")).to_have_attribute("data-subscribed", "true")
    code = ATTACH.replace("PK", pk).replace("PATH", repr(str(video)))
    live_env.manage("shell", "-c", code)
    expect(leo.locator("[data-testid=rec-video]")).to_be_visible(timeout=20_000)
    expect(leo.locator("[data-testid=rec-preparing]")).to_have_count(0)
