"""Out-of-range values in a session's REST write are a clear 400 that names the field and
changes nothing: a capacity past what the column holds (10**20; 2**31 on PostgreSQL) or
the product's maximum, a time in year 1 or 9999 (date arithmetic and time-zone conversion
would overflow)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.api import MAX_CAPACITY
from sessions.models import Session

pytestmark = pytest.mark.django_db


def _create(client, space, **fields):
    start = timezone.now() + timedelta(days=3)
    body = {
        "space": space.pk,
        "kind": "face_to_face",
        "title": "Bounds",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "capacity": 3,
        **fields,
    }
    return client.post("/api/v1/sessions/", body, format="json")


def _refused(reply, field: str) -> None:
    assert reply.status_code == 400, reply.content[:300]
    assert reply["Content-Type"].startswith("application/json")
    assert field in reply.json()["error"]["details"], reply.json()


@pytest.mark.parametrize("capacity", [10**20, 2**63, 2**31, MAX_CAPACITY + 1])
def test_a_capacity_out_of_range_is_refused_on_create_and_update(
    api_client_for, coordinator, space, training, capacity
):
    client = api_client_for(coordinator)
    _refused(_create(client, space, capacity=capacity), "capacity")
    assert Session.objects.count() == 1
    _refused(
        client.patch(f"/api/v1/sessions/{training.pk}/", {"capacity": capacity}, format="json"),
        "capacity",
    )
    training.refresh_from_db()
    assert training.capacity == 2


def test_the_largest_capacity_is_taken(api_client_for, coordinator, space):
    reply = _create(api_client_for(coordinator), space, capacity=MAX_CAPACITY)
    assert reply.status_code == 201, reply.content[:300]


YEAR_1 = "0001-01-01T00:00:00"
YEAR_9999 = "9999-12-31T23:59:59"


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("starts_at", {"starts_at": YEAR_1 + "Z", "ends_at": "0001-01-01T01:00:00Z"}),
        ("starts_at", {"starts_at": YEAR_1, "ends_at": "0001-01-01T01:00:00"}),
        ("starts_at", {"starts_at": "9999-12-31T22:00:00Z", "ends_at": YEAR_9999 + "Z"}),
        ("starts_at", {"starts_at": "1969-12-31T23:00:00Z", "ends_at": "1970-01-01T01:00:00Z"}),
        ("ends_at", {"ends_at": YEAR_9999 + "Z"}),
        ("ends_at", {"ends_at": YEAR_9999 + "-12:00"}),
        ("ends_at", {"ends_at": "2100-01-01T00:00:00Z"}),
        ("registration_opens_at", {"registration_opens_at": YEAR_1 + "+14:00"}),
        ("registration_closes_at", {"registration_closes_at": "9999-12-31T23:00:00Z"}),
        ("cancellation_deadline", {"cancellation_deadline": YEAR_1 + "Z"}),
    ],
)
def test_a_time_out_of_range_is_refused_on_create_and_update(
    api_client_for, coordinator, space, training, field, fields
):
    client = api_client_for(coordinator)
    _refused(_create(client, space, **fields), field)
    _refused(_create(client, space, time_zone="Pacific/Kiritimati", **fields), field)
    assert Session.objects.count() == 1
    before = Session.objects.values().get(pk=training.pk)
    _refused(client.patch(f"/api/v1/sessions/{training.pk}/", fields, format="json"), field)
    assert Session.objects.values().get(pk=training.pk) == before


def test_a_time_at_the_edges_of_the_range_is_taken(api_client_for, coordinator, space):
    reply = _create(
        api_client_for(coordinator),
        space,
        starts_at="2099-12-31T22:00:00Z",
        ends_at="2099-12-31T23:59:59Z",
        registration_opens_at="1970-01-01T00:00:00Z",
    )
    assert reply.status_code == 201, reply.content[:300]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_part_out_of_range_is_refused(api_client_for, coordinator, training, value):
    reply = api_client_for(coordinator).post(
        f"/api/v1/sessions/{training.pk}/parts/",
        {"starts_at": value, "ends_at": value},
        format="json",
    )
    _refused(reply, "starts_at")


@pytest.mark.parametrize("field", ["reminder_hours", "claim_hours"])
def test_other_counts_out_of_range_are_refused(api_client_for, coordinator, space, field):
    _refused(_create(api_client_for(coordinator), space, **{field: 10**20}), field)
    assert not Session.objects.exists()


@pytest.mark.parametrize("field", ["count", "interval_days"])
def test_a_series_out_of_range_is_refused(api_client_for, coordinator, space, field):
    start = timezone.now() + timedelta(days=3)
    body = {
        "space": space.pk,
        "kind": "face_to_face",
        "title": "Weekly",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "capacity": 3,
        "count": 2,
        field: 10**20,
    }
    _refused(
        api_client_for(coordinator).post("/api/v1/sessions/series/", body, format="json"), field
    )
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"capacity": str(10**20)},
        {"capacity": str(2**31)},
        {"starts_at": "0001-01-01T00:00", "ends_at": "0001-01-01T01:00"},
        {"starts_at": "9999-12-31T22:00", "ends_at": "9999-12-31T23:59"},
        {"cancellation_deadline": "0001-01-01T00:00"},
    ],
)
def test_the_session_form_refuses_the_same_values_with_a_message(
    client, coordinator, space, fields
):
    client.force_login(coordinator)
    start = timezone.now() + timedelta(days=5)
    data = {
        "space": space.pk,
        "kind": "face_to_face",
        "title": "Forklift safety",
        "time_zone": "Pacific/Kiritimati",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "6",
        "approval": "none",
        "reminder_hours": "24",
        **fields,
    }
    page = client.post("/sessions/new/", data)
    assert page.status_code == 200 and b'data-testid="form-errors"' in page.content
    assert not Session.objects.exists()
