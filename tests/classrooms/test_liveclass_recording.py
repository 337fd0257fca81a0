"""A class's recording people can watch: who may watch and download it (the class's people:
its trainers, the course's learners, its invitees; nobody else), the playback page with the
chat and chapters at their times, seeking (range requests), and the retention job."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from classrooms import selectors
from classrooms import services as classrooms
from classrooms.models import LiveClass, LiveClassEvent
from tests.conftest import skip_or_fail
from tests.factories import UserFactory, build_live_class

pytestmark = pytest.mark.django_db


def client_for(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def make_webm(path: Path, seconds: int = 2) -> Path:
    """A small real WebM (VP8 + Opus) made by ffmpeg."""
    if shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg is missing: install Debian's ffmpeg")
    video = f"testsrc=size=160x120:rate=10:duration={seconds}"
    audio = f"sine=frequency=440:duration={seconds}"
    encode = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]
    inputs = ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio]
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            *inputs,
            *encode,
            "-f",
            "webm",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture
def recorded(space, trainer, learner, tmp_path):
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    start = timezone.now() - timedelta(minutes=5)
    live_class = classrooms.liveclass_attach_recording(
        live_class=built.live_class,
        path=make_webm(tmp_path / "room.webm"),
        started_at=start.timestamp(),
    )
    return live_class


def test_the_class_people_watch_and_download_it_others_get_404(
    recorded, trainer, learner, learner2, space
) -> None:
    invitee = UserFactory(username="guest")
    recorded.invitees.add(invitee)
    page = f"/liveclass/{recorded.pk}/recording/"
    url = recorded.recording.url
    for person in (trainer, learner, invitee):
        response = client_for(person).get(page)
        assert response.status_code == 200
        assert url in response.content.decode()
        assert client_for(person).get(url).status_code == 200
    # In the space but not in the class; nobody logged in.
    assert client_for(learner2).get(page).status_code == 404
    assert client_for(learner2).get(url).status_code == 404
    assert client_for().get(page).status_code == 302  # to the login page
    assert client_for().get(url).status_code == 404
    # Removed by a trainer: no longer.
    classrooms.liveclass_join(user=learner, live_class=recorded)
    classrooms.liveclass_remove(actor=trainer, live_class=recorded, user=learner)
    assert client_for(learner).get(page).status_code == 404
    assert client_for(learner).get(url).status_code == 404


def test_a_class_without_a_recording_has_no_playback_page(space, trainer, learner) -> None:
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    assert client_for(learner).get(f"/liveclass/{built.live_class.pk}/recording/").status_code == (
        404
    )


def test_the_video_answers_range_requests_so_players_seek(recorded, learner) -> None:
    size = recorded.recording.size
    response = client_for(learner).get(recorded.recording.url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{size}"
    assert response["Content-Type"].startswith("video/webm")
    content = b"".join(response) if response.streaming else response.content
    assert len(content) == 100
    past = client_for(learner).get(recorded.recording.url, HTTP_RANGE=f"bytes={size + 10}-")
    assert past.status_code == 416


def test_chapters_are_placed_at_their_second_in_the_recording(recorded, trainer, learner) -> None:
    start = recorded.recording_started_at
    for question in ("Before?", "Ready?"):
        classrooms.poll_create(
            actor=trainer, live_class=recorded, question=question, choices=["Yes", "No"],
            anonymous=False,
        )  # fmt: skip
    classrooms.breakout_open(actor=trainer, live_class=recorded, count=1)
    events = list(
        LiveClassEvent.objects.filter(
            live_class=recorded, room=0, type__in=["poll.opened", "breakout.opened"]
        ).order_by("id")
    )
    # Put them at known times: one before the recording, then 12.5 s and 30 s into it.
    for event, at in zip(events, (-10, 12.5, 30), strict=True):
        LiveClassEvent.objects.filter(pk=event.pk).update(created_at=start + timedelta(seconds=at))
    assert selectors.recording_chapters(recorded) == [
        {"at": 0.0, "title": "Start"},
        {"at": 12.5, "title": "Poll: Ready?"},
        {"at": 30.0, "title": "Breakout rooms"},
    ]
    html = client_for(learner).get(f"/liveclass/{recorded.pk}/recording/").content.decode()
    assert 'data-at="12.50"' in html and "Poll: Ready?" in html
    assert "Before?" not in html
    assert f'data-chat-key="{recorded.topic}"' in html


def test_a_new_recording_replaces_the_old_file(
    recorded, tmp_path, django_capture_on_commit_callbacks
) -> None:
    old = recorded.recording.name
    storage = recorded.recording.storage
    with django_capture_on_commit_callbacks(execute=True):
        again = classrooms.liveclass_attach_recording(
            live_class=recorded, path=make_webm(tmp_path / "again.webm", seconds=1)
        )
    assert again.recording.name != old
    assert not storage.exists(old)


def test_retention_deletes_recordings_older_than_the_setting(
    recorded, space, trainer, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    name, storage = recorded.recording.name, recorded.recording.storage
    fresh = build_live_class(trainer=trainer, space=space).live_class
    fresh = classrooms.liveclass_attach_recording(
        live_class=fresh, path=make_webm(tmp_path / "fresh.webm", seconds=1)
    )
    LiveClass.objects.filter(pk=recorded.pk).update(
        recording_saved_at=timezone.now() - timedelta(days=31)
    )
    settings.LYCEUM_RECORDING_RETENTION_DAYS = 0  # kept forever
    assert classrooms.recordings_expire() == 0
    settings.LYCEUM_RECORDING_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        assert classrooms.recordings_expire() == 1
    assert classrooms.recordings_expire() == 0  # idempotent
    recorded.refresh_from_db()
    assert not recorded.recording and recorded.recording_started_at is None
    assert not storage.exists(name)
    fresh.refresh_from_db()
    assert fresh.recording and storage.exists(fresh.recording.name)


# -- composition by a background job (Janus) ------------------------------------------------
def test_while_the_job_composes_the_page_says_it_is_being_prepared(
    space, trainer, learner, learner2
) -> None:
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    LiveClass.objects.filter(pk=built.live_class.pk).update(
        recording_preparing_since=timezone.now()
    )
    page = f"/liveclass/{built.live_class.pk}/recording/"
    response = client_for(learner).get(page)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="rec-preparing"' in body and "rec-video" not in body
    assert f'data-topic="{built.live_class.topic}"' in body
    assert client_for(learner2).get(page).status_code == 404


def test_the_job_composes_janus_tracks_attaches_the_file_and_tells_the_page(
    janus_server, space, trainer, learner, tmp_path, run_tasks, published
) -> None:
    """A room recorded by a real Janus, stopped without composing; the queued job runs
    janus-pp-rec and ffmpeg, attaches the WebM, and the class's topic hears
    ``recording.preparing`` then ``recording.saved`` (the page reloads on it)."""
    import asyncio

    from bench.liveclass_peers import CounterVideoTrack, Peer, ToneAudioTrack, wait_until
    from classrooms.janus import JanusBackend
    from tests.classrooms.test_media_janus import direct

    for tool in ("janus-pp-rec", "ffmpeg"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is missing: install Debian's janus-tools and ffmpeg")
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    live_class = built.live_class
    target = tmp_path / "rec" / "class.webm"

    async def record() -> tuple[Path, Path] | None:
        janus = JanusBackend([janus_server.url])
        room = "63"
        trainer_peer = Peer(direct(janus, 1, room))
        watcher = Peer(direct(janus, 2, room))
        try:
            await janus.start_recording(room=room, participant=1, path=target)
            await trainer_peer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
            received = await watcher.subscribe(1)
            await wait_until(lambda: received.video_frames >= 20, timeout=15, what="frames")
            return await janus.stop_recording_tracks(room=room)
        finally:
            await trainer_peer.close()
            await watcher.close()
            await janus.close_room(room=room)
            await janus.close()

    tracks = asyncio.run(record())
    assert tracks is not None and not target.exists()  # nothing composed yet
    classrooms.liveclass_queue_composition(live_class=live_class, folder=tracks[0], path=tracks[1])
    live_class.refresh_from_db()
    assert live_class.recording_preparing_since is not None and not live_class.recording
    assert run_tasks() == 1
    live_class.refresh_from_db()
    assert live_class.recording and live_class.recording_preparing_since is None
    assert live_class.recording_started_at is not None
    assert live_class.recording.size > 0 and not target.exists()
    assert [e.type for e in published(live_class.topic) if e.type.startswith("recording.")] == [
        "recording.preparing",
        "recording.saved",
    ]
    body = client_for(learner).get(f"/liveclass/{live_class.pk}/recording/").content.decode()
    assert "rec-preparing" not in body and live_class.recording.url in body


def test_a_job_with_nothing_recorded_ends_the_preparing_state(
    space, trainer, learner, tmp_path, run_tasks, published
) -> None:
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    folder = tmp_path / "class-tracks"
    folder.mkdir()
    classrooms.liveclass_queue_composition(
        live_class=built.live_class, folder=folder, path=tmp_path / "class.webm"
    )
    assert run_tasks() == 1
    built.live_class.refresh_from_db()
    assert built.live_class.recording_preparing_since is None and not built.live_class.recording
    assert published(built.live_class.topic)[-1].type == "recording.failed"
    assert client_for(learner).get(f"/liveclass/{built.live_class.pk}/recording/").status_code == (
        404
    )
