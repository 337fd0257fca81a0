"""One-to-one coaching: a trainer or a manager publishes slots, a learner books one (both
get the iTIP invitation), cancelling frees the slot and sends CANCEL to both; the pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from calendars.ics import session_uid
from sessions import services
from sessions.models import Booking, CoachingSlot, Registration, RegistrationStatus
from tests.calendars.conftest import calendar_parts
from tests.calendars.parsers import read_all

pytestmark = pytest.mark.django_db


def settle(run_tasks: Any) -> None:
    for _ in range(5):
        if not run_tasks():
            return


def publish(coach, space, *, count=3, minutes=30, days=3, **more):
    start = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return services.coaching_slots_publish(
        actor=coach,
        space=space,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes * count),
        slot_minutes=minutes,
        **more,
    )


@pytest.fixture
def emails(trainer, learner, learner2):
    for user, address in (
        (trainer, "coach@example.org"),
        (learner, "ada@example.org"),
        (learner2, "bob@example.org"),
    ):
        user.email = address
        user.save(update_fields=["email"])


def itip_of(mailoutbox, address):
    """(method, events read by the three parsers) of each calendar mailed to ``address``."""
    return [
        (method, read_all(text))
        for m in mailoutbox
        if address in m.to
        for method, text, _part in calendar_parts(m)
    ]


def test_publish_back_to_back_slots(trainer, space):
    slots = publish(trainer, space, count=4, minutes=30, title="Career talk")
    assert len(slots) == 4
    assert all(s.kind == "coaching" and s.capacity == 1 for s in slots)
    assert [s.starts_at for s in slots[1:]] == [s.ends_at for s in slots[:-1]]
    assert list(slots[0].trainers.all()) == [trainer]
    assert CoachingSlot.objects.filter(coach=trainer, audience="space").count() == 4
    # The coach is booked for each slot: a session or time off over it is a conflict.
    assert Booking.objects.filter(resource=f"trainer:{trainer.pk}").count() == 4
    with pytest.raises(services.BookingConflict):
        publish(trainer, space, count=1, minutes=60)


def test_who_publishes_and_bad_input(learner, trainer, space):
    with pytest.raises(PermissionDenied):
        publish(learner, space)
    start = timezone.now() + timedelta(days=1)
    for args in [
        {"starts_at": start, "ends_at": start + timedelta(hours=1), "slot_minutes": 5},
        {"starts_at": start, "ends_at": start - timedelta(hours=1), "slot_minutes": 30},
        {"starts_at": start - timedelta(days=2), "ends_at": start, "slot_minutes": 30},
        {"starts_at": start, "ends_at": start + timedelta(hours=30), "slot_minutes": 30},
    ]:
        with pytest.raises(ValidationError):
            services.coaching_slots_publish(actor=trainer, space=space, **args)
    assert not CoachingSlot.objects.exists()


def test_book_invites_both_and_cancel_sends_cancel_to_both(
    trainer, space, learner, learner2, emails, run_tasks, mailoutbox
):
    [slot] = publish(trainer, space, count=1)
    registration = services.coaching_book(actor=learner, session=slot)
    assert registration.status == RegistrationStatus.CONFIRMED
    settle(run_tasks)
    uid = session_uid(slot.pk)
    [(method, ada)] = itip_of(mailoutbox, "ada@example.org")
    [(coach_method, coach)] = itip_of(mailoutbox, "coach@example.org")
    assert method == coach_method == "REQUEST"
    assert ada[uid].start == coach[uid].start == slot.starts_at
    assert ada[uid].sequence == coach[uid].sequence
    # Taken: the second learner gets a conflict, and nothing changes.
    with pytest.raises(services.SeatConflict):
        services.coaching_book(actor=learner2, session=slot)
    # Not through the usual registration either (no waiting list for a slot).
    with pytest.raises(ValidationError):
        services.registration_register(actor=learner2, session=slot)
    assert Registration.objects.filter(session=slot).count() == 1
    # The learner cancels: both get the CANCEL, the slot is free for someone else.
    services.coaching_cancel(actor=learner, session=slot)
    settle(run_tasks)
    (m1, a1) = itip_of(mailoutbox, "ada@example.org")[-1]
    (m2, c1) = itip_of(mailoutbox, "coach@example.org")[-1]
    assert m1 == m2 == "CANCEL"
    assert a1[uid].status == c1[uid].status == "CANCELLED"
    assert c1[uid].sequence > coach[uid].sequence
    services.coaching_book(actor=learner2, session=slot)
    settle(run_tasks)
    (m3, c2) = itip_of(mailoutbox, "coach@example.org")[-1]
    assert m3 == "REQUEST" and c2[uid].sequence > c1[uid].sequence
    [(m4, _b)] = itip_of(mailoutbox, "bob@example.org")
    assert m4 == "REQUEST"


def test_coach_cancels_and_who_may_cancel(trainer, space, learner, learner2, outsider):
    [slot] = publish(trainer, space, count=1)
    with pytest.raises(ValidationError):
        services.coaching_cancel(actor=trainer, session=slot)  # nobody booked
    services.coaching_book(actor=learner, session=slot)
    with pytest.raises(PermissionDenied):
        services.coaching_cancel(actor=learner2, session=slot)
    with pytest.raises(PermissionDenied):
        services.coaching_book(actor=trainer, session=slot)  # one's own slot
    services.coaching_cancel(actor=trainer, session=slot)
    assert not Registration.objects.filter(session=slot, status="confirmed").exists()


def test_a_managers_slots_are_for_their_team(manager, space, learner, crowd):
    [slot] = publish(manager, space, count=1)
    assert CoachingSlot.objects.get().audience == "team"
    with pytest.raises(PermissionDenied):
        services.coaching_book(actor=crowd[0], session=slot)
    services.coaching_book(actor=learner, session=slot)


def test_started_slot_cannot_be_booked(trainer, space, learner, clock):
    [slot] = publish(trainer, space, count=1)
    clock.now = slot.starts_at
    with pytest.raises(ValidationError):
        services.coaching_book(actor=learner, session=slot)


def test_slots_are_published_live(trainer, space, learner, published):
    [slot] = publish(trainer, space, count=1)
    services.coaching_book(actor=learner, session=slot)
    services.coaching_cancel(actor=learner, session=slot)
    events = published(f"sessions.coaching.{space.pk}")
    assert [e.data["taken"] for e in events] == [False, True, False]


def test_rest(api_client_for, trainer, space, learner, learner2):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    coach = api_client_for(trainer)
    body = {
        "space": space.pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "slot_minutes": 30,
    }
    r = coach.post("/api/v1/sessions/coaching/slots/", body, format="json")
    assert r.status_code == 201, r.content
    first = r.json()[0]["id"]
    assert coach.post("/api/v1/sessions/coaching/slots/", body, format="json").status_code == 409
    assert (
        coach.post("/api/v1/sessions/coaching/slots/", {"space": "x"}, format="json").status_code
        == 400
    )
    ada, bob = api_client_for(learner), api_client_for(learner2)
    slots = ada.get("/api/v1/sessions/coaching/slots/").json()
    assert [s["taken"] for s in slots] == [False, False]
    assert ada.post(f"/api/v1/sessions/{first}/coaching/book/").status_code == 201
    r = bob.post(f"/api/v1/sessions/{first}/coaching/book/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert [s["taken"] for s in bob.get("/api/v1/sessions/coaching/slots/").json()] == [True, False]
    mine = coach.get("/api/v1/sessions/coaching/slots/?mine=1").json()
    assert mine[0]["booked_by"]["id"] == learner.pk and mine[1]["booked_by"] is None
    assert bob.post(f"/api/v1/sessions/{first}/coaching/cancel/").status_code == 403
    assert ada.post(f"/api/v1/sessions/{first}/coaching/cancel/").status_code == 200


def test_pages(client, trainer, space, learner):
    client.force_login(trainer)
    page = client.get("/sessions/coaching/")
    assert page.status_code == 200 and b'data-testid="publish-form"' in page.content
    start = timezone.localtime(timezone.now() + timedelta(days=2)).replace(
        minute=0, second=0, microsecond=0
    )
    r = client.post(
        "/sessions/coaching/",
        {
            "space": space.pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "slot_minutes": "30",
        },
    )
    assert r.status_code == 302
    slots = list(CoachingSlot.objects.order_by("session__starts_at"))
    assert len(slots) == 2
    client.force_login(learner)
    page = client.get("/sessions/coaching/")
    assert page.content.count(b'data-testid="book-slot"') == 2
    assert client.get(f"/sessions/coaching/{slots[0].session_id}/book/").status_code == 405
    client.post(f"/sessions/coaching/{slots[0].session_id}/book/")
    page = client.get("/sessions/coaching/")
    assert b'data-testid="my-coaching"' in page.content
    # Slots stay off the sessions list (they are on the coaching page).
    assert b"Coaching with" not in client.get("/sessions/").content
    client.post(f"/sessions/coaching/{slots[0].session_id}/cancel/")
    assert not Registration.objects.filter(status="confirmed").exists()
    assert client.post(f"/sessions/coaching/{slots[0].session_id}/nonsense/").status_code == 404
