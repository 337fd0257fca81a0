"""Web Push (hub/webpush.py): a local push service started here receives each push, which
is decrypted with the subscription's keys made here (http_ece, RFC 8291) and checked; the
"not while looking" rule; push services that answer 404/410 or hang; hostile input."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import http_ece
import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from hub import notify, webpush
from hub.models import Delivery, PushSubscription
from hub.realtime import presence

pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A push service on 127.0.0.1: records what it is sent; the path picks the answer
    (``/gone`` 410, ``/missing`` 404, ``/hang`` never answers until the test ends)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.release = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.received.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                if self.path.startswith("/hang"):
                    service.release.wait(20)
                    return
                code = {"/gone": 410, "/missing": 404, "/broken": 500}.get(self.path, 201)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Device:
    """A browser's side of a subscription: its own key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self) -> dict:
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict:
        text = http_ece.decrypt(
            body, private_key=self.private, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(text)


@pytest.fixture
def push_service(settings):
    service = PushService()
    settings.LYCEUM_WEBPUSH_HOSTS = ["http://127.0.0.1"]
    settings.LYCEUM_WEBPUSH_TIMEOUT = 0.5
    yield service
    service.stop()


def subscribe(api_client_for, user, device: Device):
    response = api_client_for(user).post(
        "/api/v1/push/subscriptions/", device.subscription(), format="json"
    )
    assert response.status_code == 201, response.content
    return response


def test_push_reaches_the_device_encrypted_and_signed(
    learner, trainer, push_service, api_client_for, run_tasks
):
    device = Device(f"{push_service.origin}/device/1")
    subscribe(api_client_for, learner, device)
    state = api_client_for(learner).get("/api/v1/push/").json()
    assert state["devices"] == 1
    (n,) = notify.notify(
        recipients=[learner],
        kind="announcement",
        verb="Fire drill at 10:00",
        description="Meet in the car park.",
        actor=trainer,
        url="/announcements/7/",
    )
    assert push_service.received == []  # from a job, after commit, not in the request
    assert run_tasks() >= 1
    (request,) = push_service.to("/device/1")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    assert b"Fire drill" not in request["body"]  # encrypted
    payload = device.decrypt(request["body"])
    assert payload["title"] == "Fire drill at 10:00"
    assert payload["body"] == "Meet in the car park."
    assert payload["url"] == "/announcements/7/"  # what a click opens
    assert payload["id"] == n.id and payload["kind"] == "announcement"
    # VAPID (RFC 8292): signed by this installation's key, for this push service's origin.
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert parts["k"] == state["public_key"]
    assert Vapid02.verify(headers["authorization"])
    claims = json.loads(b64url_decode(parts["t"].split(".")[1]))
    assert claims["aud"] == push_service.origin and claims["exp"] > time.time()
    assert claims["sub"].startswith("mailto:")


def test_not_pushed_while_looking_at_it(
    learner, learner2, trainer, push_service, api_client_for, run_tasks
):
    """The chat's rule for in-app notices: a socket on the thing's topic means looking."""
    looking, away = (
        Device(f"{push_service.origin}/d/looking"),
        Device(f"{push_service.origin}/d/away"),
    )
    subscribe(api_client_for, learner, looking)
    subscribe(api_client_for, learner2, away)
    topic = "messaging.conversation.999"
    store = presence.store()
    async_to_sync(store.join)(topic, learner.pk, "socket-1", {"id": learner.pk})
    try:
        notify.notify(
            recipients=[learner, learner2],
            kind="chat_message",
            verb="New message",
            actor=trainer,
            url="/chat/999/",
            topic=topic,
        )
        run_tasks()
    finally:
        async_to_sync(store.leave)(topic, learner.pk, "socket-1")
    assert push_service.to("/d/looking") == []
    assert len(push_service.to("/d/away")) == 1
    # Gone from the page: the next notice is pushed.
    notify.notify(
        recipients=[learner], kind="chat_message", verb="Again", actor=trainer, topic=topic
    )
    run_tasks()
    assert [away.decrypt(r["body"])["title"] for r in push_service.to("/d/away")] == ["New message"]
    assert looking.decrypt(push_service.to("/d/looking")[0]["body"])["title"] == "Again"


def test_push_preference_per_kind(learner, trainer, push_service, api_client_for, run_tasks):
    subscribe(api_client_for, learner, Device(f"{push_service.origin}/p"))
    client = api_client_for(learner)
    kinds = {k["kind"]: k["push"] for k in client.get("/api/v1/push/").json()["kinds"]}
    assert kinds["announcement"] and kinds["session_reminder"] and kinds["leaderboards.duel"]
    assert not kinds["forums.reply"]  # pushed only on request
    response = client.put("/api/v1/push/", {"kind": "announcement", "push": False}, format="json")
    assert response.status_code == 200
    notify.notify(recipients=[learner], kind="announcement", verb="Quiet", actor=trainer)
    # A kind switched off altogether is not pushed either.
    client.put("/api/v1/push/", {"kind": "forums.reply", "push": True}, format="json")
    notify.preference_set(user=learner, kind="forums.reply", delivery=Delivery.OFF)
    notify.notify(recipients=[learner], kind="forums.reply", verb="Off", actor=trainer)
    run_tasks()
    assert push_service.received == []
    assert (
        client.put("/api/v1/push/", {"kind": "nope", "push": True}, format="json").status_code
        == 400
    )


def test_gone_subscriptions_are_deleted_and_a_hang_is_bounded(
    learner, trainer, push_service, api_client_for, run_tasks
):
    for path in ("/gone", "/missing", "/hang", "/broken", "/fine"):
        subscribe(api_client_for, learner, Device(push_service.origin + path))
    started = time.monotonic()
    notify.notify(recipients=[learner], kind="announcement", verb="Hi", actor=trainer)
    assert run_tasks() >= 1
    elapsed = time.monotonic() - started
    assert elapsed < 5  # the hanging service cost one timeout (0.5 s), not the job
    assert len(push_service.to("/fine")) == 1  # the others did not stop it
    left = {urlsplit(s.endpoint).path: s.failures for s in PushSubscription.objects.all()}
    assert left == {"/hang": 1, "/broken": 1, "/fine": 0}  # 404/410 forgotten, failures counted
    # Failing MAX_FAILURES times in a row drops a subscription too.
    PushSubscription.objects.filter(endpoint__endswith="/broken").update(
        failures=webpush.MAX_FAILURES - 1
    )
    notify.notify(recipients=[learner], kind="announcement", verb="Again", actor=trainer)
    run_tasks()
    assert not PushSubscription.objects.filter(endpoint__endswith="/broken").exists()


def test_hostile_subscriptions_are_refused(learner, learner2, push_service, api_client_for):
    client = api_client_for(learner)
    device = Device("http://10.0.0.5/internal")  # not a push service: never posted to
    assert (
        client.post("/api/v1/push/subscriptions/", device.subscription(), format="json").status_code
        == 400
    )
    device = Device("https://fcm.googleapis.com.evil.example/x")
    assert (
        client.post("/api/v1/push/subscriptions/", device.subscription(), format="json").status_code
        == 400
    )
    bad_keys = Device(f"{push_service.origin}/k").subscription()
    bad_keys["keys"]["p256dh"] = b64url(b"\x04" + b"\x01" * 64)  # not a point on the curve
    assert client.post("/api/v1/push/subscriptions/", bad_keys, format="json").status_code == 400
    bad_keys["keys"] = {"p256dh": "", "auth": "x"}
    assert client.post("/api/v1/push/subscriptions/", bad_keys, format="json").status_code == 400
    assert not PushSubscription.objects.exists()
    # Someone else's device cannot be unsubscribed.
    mine = Device(f"{push_service.origin}/mine")
    subscribe(api_client_for, learner2, mine)
    response = client.delete(
        "/api/v1/push/subscriptions/", {"endpoint": mine.endpoint}, format="json"
    )
    assert response.status_code == 204
    assert PushSubscription.objects.filter(user=learner2).count() == 1
    response = api_client_for(learner2).delete(
        "/api/v1/push/subscriptions/", {"endpoint": mine.endpoint}, format="json"
    )
    assert response.status_code == 204 and not PushSubscription.objects.exists()


def test_service_worker_renews_a_subscription(learner, push_service, api_client_for):
    from rest_framework.test import APIClient

    old, new = Device(f"{push_service.origin}/old"), Device(f"{push_service.origin}/new")
    subscribe(api_client_for, learner, old)
    anonymous = APIClient(enforce_csrf_checks=True)
    forged = {
        "old_endpoint": old.endpoint,
        "old_auth": b64url(os.urandom(16)),
        "subscription": new.subscription(),
    }
    assert (
        anonymous.post("/api/v1/push/subscriptions/renew/", forged, format="json").status_code
        == 403
    )
    proven = dict(forged, old_auth=b64url(old.auth))
    response = anonymous.post("/api/v1/push/subscriptions/renew/", proven, format="json")
    assert response.status_code == 201, response.content
    (row,) = PushSubscription.objects.all()
    assert row.endpoint == new.endpoint and row.user == learner
    # Replayed: the old one is gone, nothing doubled.
    assert (
        anonymous.post("/api/v1/push/subscriptions/renew/", proven, format="json").status_code
        == 403
    )
    assert PushSubscription.objects.count() == 1


def test_keys_are_made_once(db):
    from django.core.management import call_command

    first = webpush.public_key()
    call_command("webpush_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert webpush.public_key() == first
    assert len(b64url_decode(first)) == 65  # an uncompressed P-256 point


def test_settings_page_sets_push_per_kind(learner, client):
    client.force_login(learner)
    page = client.get("/notifications/settings/")
    assert b'name="push-announcement"' in page.content and b"data-push-on" in page.content
    form = {f"kind-{kind}": "in_app" for kind in notify.KINDS}
    form["push-forums.reply"] = "on"  # every other box left unticked
    assert client.post("/notifications/settings/", form).status_code == 302
    choices = webpush.push_choices_for(user=learner)
    assert choices["forums.reply"] and not choices["announcement"]


def test_deactivated_people_are_not_pushed(
    learner, trainer, push_service, api_client_for, run_tasks
):
    subscribe(api_client_for, learner, Device(f"{push_service.origin}/inactive"))
    notify.notify(recipients=[learner], kind="announcement", verb="Hi", actor=trainer)
    type(learner).objects.filter(pk=learner.pk).update(is_active=False)
    run_tasks()
    assert push_service.received == []


def test_a_live_class_starting_reaches_the_phones_of_those_it_is_for(
    space, learner, learner2, trainer, push_service, api_client_for, run_tasks
):
    """The trainer starts the class: its learners who are not in the lobby get the notice,
    pushed by default and opening the room; one waiting in the lobby, one removed by the
    trainer, one who opened the room before the job ran, and people it is not for get
    nothing."""
    from classrooms import services as classrooms_services
    from classrooms.models import LiveClassParticipant
    from hub.notify import Notification
    from tests.factories import UserFactory, build_live_class

    lobby, removed, opened = (UserFactory(spaces=[space]) for _ in range(3))
    outsider = UserFactory(spaces=[space])  # a member, not enrolled
    built = build_live_class(
        trainer=trainer, space=space, learners=[learner, lobby, removed, opened], start=False
    )
    room = built.live_class
    devices = {}
    for user in (learner, learner2, lobby, removed, opened, outsider):
        devices[user.pk] = Device(f"{push_service.origin}/lc/{user.pk}")
        subscribe(api_client_for, user, devices[user.pk])
    LiveClassParticipant.objects.create(live_class=room, user=removed, removed=True)
    store = presence.store()
    async_to_sync(store.join)(room.topic, lobby.pk, "lobby-socket", {"id": lobby.pk})
    try:
        classrooms_services.liveclass_start(actor=trainer, live_class=room)
        # Opened the room after the start, before the push job: looking at it.
        async_to_sync(store.join)(room.topic, opened.pk, "late-socket", {"id": opened.pk})
        run_tasks()
    finally:
        async_to_sync(store.leave)(room.topic, lobby.pk, "lobby-socket")
        async_to_sync(store.leave)(room.topic, opened.pk, "late-socket")

    told = set(
        Notification.objects.filter(verb__contains="started the live class").values_list(
            "recipient_id", flat=True
        )
    )
    assert told == {learner.pk, opened.pk}  # in the app: the lobby was there already
    pushed = {int(r["path"].rsplit("/", 1)[1]) for r in push_service.received}
    assert pushed == {learner.pk}
    (request,) = push_service.to(f"/lc/{learner.pk}")
    payload = devices[learner.pk].decrypt(request["body"])
    assert payload["kind"] == "liveclass_started"
    assert payload["url"] == room.get_absolute_url()
    assert "Conversation class" in payload["title"]
    # Starting again (already live) tells nobody twice.
    classrooms_services.liveclass_start(actor=trainer, live_class=room)
    assert Notification.objects.filter(verb__contains="started the live class").count() == 2
