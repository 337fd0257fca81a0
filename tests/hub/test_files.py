"""Uploaded files (hub/files.py): each kind is read only by who may read it, under an
unguessable name, with headers that keep a user's file from ever acting as a page of the
app; images within a pixel limit everywhere they are accepted."""

from __future__ import annotations

import io
import re
import struct
import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from classrooms import services as classrooms
from classrooms.models import ActivityKind, MediaKind, Submission
from forums import services as forums
from forums.models import Forum, LibraryItem
from hub.accounts.models import Role, SpaceMembership
from messaging import services as messaging
from messaging.models import Attachment
from tests.factories import UserFactory, build_live_class

pytestmark = [
    pytest.mark.django_db,
    # The test client reads the file's asynchronous stream synchronously (and says so).
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume"),
]

HTML = b"<!doctype html><html><body><script>fetch('/api/v1/me/')</script></body></html>"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LYCEUM_FILE_ACCEL = ""


def png(width: int = 2, height: int = 2) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 12_000) -> bytes:
    """A valid PNG of side x side 1-bit pixels (144 megapixels): about 18 KB on disk."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    data = zlib.compress(row * side, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def client_for(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def body(response: Any) -> bytes:
    return b"".join(response) if response.streaming else response.content


def assert_user_file_headers(response: Any) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp


# -- chat ------------------------------------------------------------------------------------
def _send_file(sender, conversation, name: str, content: bytes, content_type: str) -> Attachment:
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    attachment = messaging.attachment_upload(
        uploader=sender, conversation=conversation, file=upload
    )
    messaging.message_send(
        sender=sender, conversation=conversation, body="see", attachments=[attachment.pk]
    )
    attachment.refresh_from_db()
    return attachment


def test_chat_attachment_is_read_by_its_conversation_only(trainer, learner, learner2, outsider):
    group = messaging.conversation_group_create(
        creator=trainer, title="Study group", members=[learner, learner2]
    )
    attachment = _send_file(learner, group, "notes.txt", b"my notes\n", "text/plain")
    url = attachment.file.url
    ok = client_for(learner2).get(url)
    assert ok.status_code == 200 and body(ok) == b"my notes\n"
    assert client_for(outsider).get(url).status_code == 404
    assert client_for().get(url).status_code == 404
    # Removed from the group: the file goes with the conversation.
    messaging.member_remove(actor=trainer, conversation=group, user=learner2)
    assert client_for(learner2).get(url).status_code == 404
    assert client_for(trainer).get(url).status_code == 200


def test_an_unsent_attachment_is_its_uploaders_only(learner, learner2):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    upload = SimpleUploadedFile("draft.txt", b"draft", content_type="text/plain")
    attachment = messaging.attachment_upload(uploader=learner, conversation=direct, file=upload)
    assert client_for(learner).get(attachment.file.url).status_code == 200
    assert client_for(learner2).get(attachment.file.url).status_code == 404


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("page.html", "image/png"), ("page.html", "text/plain"), ("logo.svg", "image/svg+xml")],
)
def test_chat_upload_is_typed_by_its_bytes_and_never_served_as_a_page(
    api_client_for, learner, learner2, name, content_type
):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    upload = SimpleUploadedFile(name, HTML, content_type=content_type)
    r = api_client_for(learner).post(
        f"/api/v1/conversations/{direct.pk}/attachments/", {"file": upload}, format="multipart"
    )
    assert r.status_code == 201, r.json()
    attachment = Attachment.objects.get(pk=r.json()["id"])
    assert attachment.content_type == "text/plain"  # sniffed, not the client's word
    # Unguessable stored name; the original one only for display.
    assert re.fullmatch(r"chat/[\w-]{24}\.txt", attachment.file.name)
    assert attachment.name == name
    response = client_for(learner).get(attachment.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert_user_file_headers(response)


def test_rows_stored_before_sniffing_are_served_by_their_bytes(learner, learner2):
    """An attachment uploaded before this fix kept the client's type: its bytes decide."""
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "x.png", png(), "image/png")
    with default_storage.open(attachment.file.name, "wb") as handle:
        handle.write(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    response = client_for(learner2).get(attachment.file.url)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert_user_file_headers(response)


def test_a_chat_image_is_shown_inline(learner, learner2):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "dot.png", png(), "application/octet-stream")
    response = client_for(learner2).get(attachment.file.url)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="dot.png"'
    assert_user_file_headers(response)


def test_a_pixel_bomb_is_refused_as_a_chat_image(api_client_for, learner, learner2):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    bomb = SimpleUploadedFile("bomb.png", bomb_png(), content_type="image/png")
    r = api_client_for(learner).post(
        f"/api/v1/conversations/{direct.pk}/attachments/", {"file": bomb}, format="multipart"
    )
    assert r.status_code == 400
    assert "megapixels" in str(r.json()["error"]["details"])
    assert not Attachment.objects.exists()


# -- forums ----------------------------------------------------------------------------------
@pytest.fixture
def old_learner(learner):
    from tests.forums.conftest import age

    age(learner)
    return learner


def test_forum_attachment_follows_the_thread(old_learner, learner2, trainer, outsider):
    forum = Forum.objects.create(space=old_learner.spaces.first(), title="C", kind="community")
    thread = forums.thread_create(author=old_learner, forum=forum, title="Hi", body="First")
    post = forums.post_create(
        author=old_learner,
        thread=thread,
        body="see",
        files=[SimpleUploadedFile("dot.png", png(), content_type="image/png")],
    )
    attachment = post.attachments.get()
    assert re.fullmatch(r"forums/[\w-]{24}\.png", attachment.file.name)
    url = attachment.file.url
    response = client_for(learner2).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert_user_file_headers(response)
    assert client_for(outsider).get(url).status_code == 404
    assert client_for().get(url).status_code == 404
    # A moderator hides the post: its files go with its text (the moderator still sees them).
    forums.post_hide(moderator=trainer, post=post, reason="spam")
    assert client_for(learner2).get(url).status_code == 404
    assert client_for(trainer).get(url).status_code == 200
    # Out of the space: out of its forums' files.
    forums.post_restore(moderator=trainer, post=post)
    SpaceMembership.objects.filter(user=learner2).delete()
    assert client_for(learner2).get(url).status_code == 404


def test_a_pixel_bomb_is_refused_as_a_forum_image(api_client_for, old_learner):
    forum = Forum.objects.create(space=old_learner.spaces.first(), title="C", kind="community")
    thread = forums.thread_create(author=old_learner, forum=forum, title="Hi", body="First")
    bomb = SimpleUploadedFile("bomb.png", bomb_png(), content_type="image/png")
    r = api_client_for(old_learner).post(
        f"/api/v1/forums/threads/{thread.pk}/posts/",
        {"body": "look", "files": [bomb]},
        format="multipart",
    )
    assert r.status_code == 400
    assert "megapixels" in str(r.json()["error"]["details"])


def test_a_forum_file_must_be_what_its_name_says(api_client_for, old_learner):
    forum = Forum.objects.create(space=old_learner.spaces.first(), title="C", kind="community")
    thread = forums.thread_create(author=old_learner, forum=forum, title="Hi", body="First")
    fake = SimpleUploadedFile("cat.png", HTML, content_type="image/png")
    r = api_client_for(old_learner).post(
        f"/api/v1/forums/threads/{thread.pk}/posts/",
        {"body": "look", "files": [fake]},
        format="multipart",
    )
    assert r.status_code == 400


def test_library_file_follows_the_item(space, learner, learner2, trainer, outsider):
    item = forums.library_item_submit(
        author=learner,
        space=space,
        kind=LibraryItem.Kind.FILE,
        title="My notes",
        file=SimpleUploadedFile("notes.pdf", b"%PDF-1.4 notes", content_type="application/pdf"),
    )
    url = item.file.url
    assert "notes" not in item.file.name
    assert client_for(learner).get(url).status_code == 200  # the author, while in review
    assert client_for(learner2).get(url).status_code == 404  # not approved yet
    forums.library_item_review(reviewer=trainer, item=item, approve=True)
    response = client_for(learner2).get(url)
    assert response.status_code == 200
    # A PDF is a download: the browser's viewer cannot run in a sandboxed document.
    assert response["Content-Disposition"] == 'attachment; filename="My_notes.pdf"'
    assert client_for(outsider).get(url).status_code == 404


# -- classrooms ------------------------------------------------------------------------------
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40


@pytest.fixture
def course_with_media(space, trainer, learner):
    course = classrooms.course_create(author=trainer, space=space, title="Video course")
    module = classrooms.module_create(user=trainer, course=course, title="Week 1")
    activity = classrooms.activity_create(
        user=trainer,
        module=module,
        title="Intro video",
        kind=ActivityKind.MEDIA,
        media_kind=MediaKind.VIDEO,
        media_file=SimpleUploadedFile("intro.mp4", MP4, content_type="video/mp4"),
    )
    classrooms.enrolment_create(actor=trainer, user=learner, course=course)
    return course, activity


def test_course_media_is_for_the_courses_readers_and_seekable(
    course_with_media, learner, learner2, outsider
):
    _course, activity = course_with_media
    url = activity.media_file.url
    assert "intro" not in activity.media_file.name
    whole = client_for(learner).get(url)
    assert whole.status_code == 200 and body(whole) == MP4
    assert whole["Content-Type"] == "video/mp4" and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Disposition"].startswith("inline;")
    # Seeking: a byte range, the last bytes, an open-ended range, and one past the end.
    part = client_for(learner).get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and body(part) == MP4[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(MP4)}"
    assert part["Content-Length"] == "10"
    tail = client_for(learner).get(url, HTTP_RANGE="bytes=-5")
    assert tail.status_code == 206 and body(tail) == MP4[-5:]
    rest = client_for(learner).get(url, HTTP_RANGE=f"bytes={len(MP4) - 3}-")
    assert body(rest) == MP4[-3:]
    backwards = client_for(learner).get(url, HTTP_RANGE="bytes=9-3")  # invalid: ignored
    assert backwards.status_code == 200 and body(backwards) == MP4
    past = client_for(learner).get(url, HTTP_RANGE=f"bytes={len(MP4)}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(MP4)}"
    # Not enrolled (a space member), outside the space, anonymous.
    assert client_for(learner2).get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404
    assert client_for().get(url).status_code == 404
    # Unenrolled: the course's files go with the course.
    classrooms.enrolment_delete(actor=learner, enrolment=learner.enrolments.get())
    assert client_for(learner).get(url).status_code == 404


def test_course_cover_follows_the_courses_visibility(space, trainer, learner, outsider):
    course = classrooms.course_create(
        author=trainer,
        space=space,
        title="Private",
        cover=SimpleUploadedFile("cover.png", png(), content_type="image/png"),
    )
    url = course.cover.url
    assert client_for(trainer).get(url).status_code == 200
    assert client_for(learner).get(url).status_code == 404  # unpublished: not theirs to see
    classrooms.course_update(user=trainer, course=course, published=True, self_enrolment=True)
    assert client_for(learner).get(url).status_code == 200
    assert client_for(outsider).get(url).status_code == 404


def test_a_pixel_bomb_is_refused_as_a_course_cover(api_client_for, space, trainer):
    bomb = SimpleUploadedFile("bomb.png", bomb_png(), content_type="image/png")
    r = api_client_for(trainer).post(
        "/api/v1/courses/",
        {"space": space.pk, "title": "Bomb", "cover": bomb},
        format="multipart",
    )
    assert r.status_code == 400
    assert "megapixels" in str(r.json()["error"]["details"])


def test_a_submission_is_read_by_its_author_and_the_trainers(space, trainer, learner, learner2):
    course = classrooms.course_create(author=trainer, space=space, title="Essays")
    module = classrooms.module_create(user=trainer, course=course, title="Week 1")
    activity = classrooms.activity_create(
        user=trainer, module=module, title="Essay", kind=ActivityKind.ASSIGNMENT
    )
    for person in (learner, learner2):
        classrooms.enrolment_create(actor=trainer, user=person, course=course)
    classrooms.submission_create(
        user=learner,
        activity=activity,
        file=SimpleUploadedFile("essay.pdf", b"%PDF-1.4 essay", content_type="application/pdf"),
    )
    submission = Submission.objects.get()
    url = submission.file.url
    assert "essay" not in submission.file.name  # no longer guessable from its name
    assert client_for(learner).get(url).status_code == 200
    assert client_for(trainer).get(url).status_code == 200
    assert client_for(learner2).get(url).status_code == 404


def test_a_recording_is_for_the_class(space, trainer, learner, learner2, tmp_path):
    built = build_live_class(trainer=trainer, space=space, learners=[learner])
    source = tmp_path / "room.webm"
    source.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 100)
    live_class = classrooms.liveclass_attach_recording(live_class=built.live_class, path=source)
    url = live_class.recording.url
    assert client_for(learner).get(url).status_code == 200
    assert client_for(trainer).get(url).status_code == 200
    assert client_for(learner2).get(url).status_code == 404  # in the space, not in the class
    assert client_for().get(url).status_code == 404


# -- public brand assets, the delivery itself --------------------------------------------------
def test_space_logo_is_public_and_within_the_pixel_limit(space):
    space.logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    space.full_clean()
    space.save()
    response = client_for().get(space.logo.url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    space.logo = SimpleUploadedFile("bomb.png", bomb_png(), content_type="image/png")
    with pytest.raises(ValidationError, match="megapixels"):
        space.full_clean()


def test_files_nobody_owns_and_paths_out_of_media_are_not_served(learner, settings):
    default_storage.save("liveclass-recordings/incoming/raw.webm", io.BytesIO(b"x"))
    assert client_for(learner).get("/media/liveclass-recordings/incoming/raw.webm").status_code == (
        404
    )
    assert client_for(learner).get("/media/../hub/settings.py").status_code == 404
    assert client_for(learner).get("/media/spaces/../../db.sqlite3").status_code == 404


@pytest.mark.parametrize(
    ("accel", "header"),
    [("x-accel-redirect:/protected/", "X-Accel-Redirect"), ("x-sendfile", "X-Sendfile")],
)
def test_the_proxy_sends_the_bytes_after_the_same_check(
    settings, learner, learner2, outsider, accel, header
):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "page.html", HTML, "text/html")
    settings.LYCEUM_FILE_ACCEL = accel
    response = client_for(learner2).get(attachment.file.url)
    assert response.status_code == 200 and response.content == b""
    expected = (
        f"/protected/{attachment.file.name}"
        if header == "X-Accel-Redirect"
        else str(default_storage.path(attachment.file.name))
    )
    assert response[header] == expected
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert_user_file_headers(response)
    denied = client_for(outsider).get(attachment.file.url)
    assert denied.status_code == 404 and header not in denied


def test_an_api_token_reads_files_too(learner, learner2):
    from rest_framework.authtoken.models import Token

    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "a.txt", b"hello", "text/plain")
    token = Token.objects.create(user=learner2)
    response = Client().get(attachment.file.url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert Client().get(attachment.file.url, HTTP_AUTHORIZATION="Token nope").status_code == 404


def test_sniffing():
    from hub.files import sniff

    assert sniff(png()) == "image/png"
    assert sniff(HTML) == "text/plain"
    assert sniff(b"MZ\x90\x00") == "application/x-msdownload"
    assert sniff(b"\x00\x01binary") is None
    assert sniff(MP4) == "video/mp4"


def test_inactive_users_read_nothing(learner, learner2):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "a.txt", b"hello", "text/plain")
    client = client_for(learner2)
    type(learner2).objects.filter(pk=learner2.pk).update(is_active=False)
    assert client.get(attachment.file.url).status_code in (302, 404)


def test_non_members_of_any_space_get_404_not_500(learner, learner2):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    attachment = _send_file(learner, direct, "a.txt", b"hello", "text/plain")
    nobody = UserFactory(roles=[Role.LEARNER])
    assert client_for(nobody).get(attachment.file.url).status_code == 404


def test_saving_a_course_again_does_not_decode_its_stored_cover(space, trainer, monkeypatch):
    """The course page's form hands back the stored cover unchanged: only new uploads are
    decoded (a stored file was checked when it came in)."""
    course = classrooms.course_create(
        author=trainer,
        space=space,
        title="Covered",
        cover=SimpleUploadedFile("cover.png", png(), content_type="image/png"),
    )
    decoded: list[Any] = []
    monkeypatch.setattr(classrooms, "check_image", lambda file, **kw: decoded.append(file))
    course = classrooms.course_update(user=trainer, course=course, cover=course.cover, title="New")
    assert course.title == "New" and decoded == []
    new = SimpleUploadedFile("new.png", png(), content_type="image/png")
    classrooms.course_update(user=trainer, course=course, cover=new)
    assert decoded == [new]
