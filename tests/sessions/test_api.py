"""REST: sessions, register, cancel — the response shape and every bad input as a 4xx."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sessions.models import Registration, Session
from sessions.services import session_cancel
from tests.sessions.conftest import make_session


def test_register_confirmed_then_waitlisted(api_client_for, training, crowd):
    answers = [
        api_client_for(u).post(f"/api/v1/sessions/{training.pk}/register/", {}, format="json")
        for u in crowd[:3]
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [(a.json()["status"], a.json()["position"]) for a in answers] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
    ]


def test_pending_when_approval_is_required(api_client_for, coordinator, space, learner):
    session = make_session(coordinator, space, approval="coordinator")
    reply = api_client_for(learner).post(f"/api/v1/sessions/{session.pk}/register/")
    assert reply.status_code == 201
    assert reply.json()["status"] == "pending" and reply.json()["position"] is None


def test_cancel_own_seat_and_the_next_is_promoted(api_client_for, training, crowd):
    for u in crowd[:3]:
        api_client_for(u).post(f"/api/v1/sessions/{training.pk}/register/")
    reply = api_client_for(crowd[0]).post(f"/api/v1/sessions/{training.pk}/cancel/")
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    detail = api_client_for(crowd[2]).get(f"/api/v1/sessions/{training.pk}/").json()
    assert detail["my_registration"]["status"] == "confirmed"
    assert detail["seats_left"] == 0 and detail["waitlist_length"] == 0


def test_list_and_detail_are_for_members_of_the_space(api_client_for, training, learner, outsider):
    assert [s["id"] for s in api_client_for(learner).get("/api/v1/sessions/").json()] == [
        training.pk
    ]
    assert api_client_for(outsider).get("/api/v1/sessions/").json() == []
    assert api_client_for(outsider).get(f"/api/v1/sessions/{training.pk}/").status_code == 404
    reply = api_client_for(outsider).post(f"/api/v1/sessions/{training.pk}/register/")
    assert reply.status_code == 404


def test_coordinator_creates_and_raises_capacity(api_client_for, coordinator, space, crowd):
    start = timezone.now() + timedelta(days=3)
    reply = api_client_for(coordinator).post(
        "/api/v1/sessions/",
        {
            "space": space.pk,
            "kind": "virtual",
            "title": "Webinar",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 1,
            "join_url": "https://meet.example.com/x",
        },
        format="json",
    )
    assert reply.status_code == 201, reply.json()
    pk = reply.json()["id"]
    for u in crowd[:3]:
        api_client_for(u).post(f"/api/v1/sessions/{pk}/register/")
    reply = api_client_for(coordinator).patch(
        f"/api/v1/sessions/{pk}/", {"capacity": 3}, format="json"
    )
    assert reply.status_code == 200
    assert reply.json()["seats_left"] == 0 and reply.json()["waitlist_length"] == 0


def test_learner_cannot_create(api_client_for, learner, space):
    start = timezone.now() + timedelta(days=3)
    reply = api_client_for(learner).post(
        "/api/v1/sessions/",
        {
            "space": space.pk,
            "kind": "virtual",
            "title": "Mine",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 3,
        },
        format="json",
    )
    assert reply.status_code == 403
    assert not Session.objects.exists()


# -- bad input: a clear 4xx, nothing changed --------------------------------------------------
def test_registering_twice(api_client_for, training, learner):
    client = api_client_for(learner)
    client.post(f"/api/v1/sessions/{training.pk}/register/")
    reply = client.post(f"/api/v1/sessions/{training.pk}/register/")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid"
    assert Registration.objects.count() == 1


def test_registering_after_registration_closes(api_client_for, coordinator, space, learner):
    session = make_session(
        coordinator, space, registration_closes_at=timezone.now() - timedelta(hours=1)
    )
    reply = api_client_for(learner).post(f"/api/v1/sessions/{session.pk}/register/")
    assert reply.status_code == 400
    assert not Registration.objects.exists()


def test_registering_to_a_cancelled_session(api_client_for, training, coordinator, learner):
    session_cancel(actor=coordinator, session=training)
    reply = api_client_for(learner).post(f"/api/v1/sessions/{training.pk}/register/")
    assert reply.status_code == 400
    assert not Registration.objects.exists()


def test_cancelling_someone_elses_seat(api_client_for, training, learner, learner2):
    reply = api_client_for(learner).post(f"/api/v1/sessions/{training.pk}/register/")
    reg = reply.json()["registration"]
    reply = api_client_for(learner2).post(
        f"/api/v1/sessions/{training.pk}/cancel/", {"registration": reg}, format="json"
    )
    assert reply.status_code == 403
    assert Registration.objects.get(pk=reg).status == "confirmed"


def test_cancelling_without_a_registration(api_client_for, training, learner):
    assert (
        api_client_for(learner).post(f"/api/v1/sessions/{training.pk}/cancel/").status_code == 404
    )


def test_negative_capacity(api_client_for, training, coordinator):
    reply = api_client_for(coordinator).patch(
        f"/api/v1/sessions/{training.pk}/", {"capacity": -1}, format="json"
    )
    assert reply.status_code == 400
    assert "capacity" in reply.json()["error"]["details"]
    training.refresh_from_db()
    assert training.capacity == 2


def test_end_before_start(api_client_for, coordinator, space):
    start = timezone.now() + timedelta(days=3)
    reply = api_client_for(coordinator).post(
        "/api/v1/sessions/",
        {
            "space": space.pk,
            "kind": "coaching",
            "title": "Backwards",
            "starts_at": start.isoformat(),
            "ends_at": (start - timedelta(hours=1)).isoformat(),
            "capacity": 3,
        },
        format="json",
    )
    assert reply.status_code == 400
    assert "ends_at" in reply.json()["error"]["details"]
    assert not Session.objects.exists()


def test_endpoints_are_in_the_openapi_schema(api_client_for, learner):
    schema = api_client_for(learner).get("/api/schema/", {"format": "json"}).content.decode()
    for path in ("/api/v1/sessions/{id}/register/", "/api/v1/sessions/{id}/cancel/"):
        assert path in schema


def test_unknown_kind(api_client_for, coordinator, space):
    start = timezone.now() + timedelta(days=3)
    reply = api_client_for(coordinator).post(
        "/api/v1/sessions/",
        {
            "space": space.pk,
            "kind": "picnic",
            "title": "?",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 3,
        },
        format="json",
    )
    assert reply.status_code == 400 and "kind" in reply.json()["error"]["details"]
    assert not Session.objects.exists()


def test_an_end_before_the_start_on_update_is_refused_and_nothing_changes(
    api_client_for, training, coordinator, published
):
    from sessions.models import SessionEvent

    before = Session.objects.values_list("starts_at", "ends_at", "title", "sequence").get(
        pk=training.pk
    )
    published()
    seen = len(published())
    for change in (
        {"ends_at": (training.starts_at - timedelta(minutes=1)).isoformat()},
        {"ends_at": training.starts_at.isoformat()},  # ending as it starts is no session
        {"starts_at": (training.ends_at + timedelta(hours=1)).isoformat(), "title": "Moved"},
    ):
        reply = api_client_for(coordinator).patch(
            f"/api/v1/sessions/{training.pk}/", change, format="json"
        )
        assert reply.status_code == 400, change
        assert "ends_at" in reply.json()["error"]["details"], change
    after = Session.objects.values_list("starts_at", "ends_at", "title", "sequence").get(
        pk=training.pk
    )
    assert after == before
    assert published()[seen:] == []
    assert not SessionEvent.objects.filter(session=training).exists()


def test_the_list_costs_the_same_queries_for_3_or_30_sessions(
    api_client_for, coordinator, trainer, space, crowd, django_assert_max_num_queries
):
    """Trainers, parts, seats and my registration are read for the whole list at once."""
    from sessions.services import part_add, registration_register

    client = api_client_for(crowd[0])

    def add(n: int) -> None:
        for _ in range(n):
            session = make_session(
                coordinator, space, trainers=[trainer], join_url="https://x.test/j"
            )
            start = session.starts_at + timedelta(days=1)
            part_add(
                actor=coordinator,
                session=session,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
            )
            registration_register(actor=crowd[0], session=session)

    add(3)
    with django_assert_max_num_queries(12) as few:
        body = client.get("/api/v1/sessions/").json()
    assert len(body) == 3
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/api/v1/sessions/").json()
    assert len(body) == 30
    first = body[0]
    assert first["trainers"] == [trainer.pk] and len(first["parts"]) == 1
    assert first["my_registration"]["status"] == "confirmed" and first["seats_left"] == 1
    assert first["join_url"] == "https://x.test/j"  # a confirmed attendee may join
