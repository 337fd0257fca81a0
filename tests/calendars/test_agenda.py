"""The agenda page (month, week, list) and its REST twin, per role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import SessionPart
from sessions.services import registration_cancel, registration_register
from tests.calendars.conftest import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(coordinator, space, learner, trainer):
    """Three sessions on the same day next week: one the learner is registered for, one
    trained by the trainer, one for nobody in particular."""
    start = (timezone.now() + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    mine = make_session(coordinator, space, title="Mine", starts_at=start)
    registration_register(actor=learner, session=mine)
    trained = make_session(
        coordinator,
        space,
        title="Trained",
        starts_at=start + timedelta(hours=4),
        trainers=[trainer],
    )
    other = make_session(coordinator, space, title="Someone else's", starts_at=start)
    return {"day": timezone.localdate(start), "mine": mine, "trained": trained, "other": other}


def items_of(response) -> list:
    return [item for day in response.context["days"] for item in day["items"]]


def titles(response) -> list[str]:
    return [item.session.title for item in items_of(response)]


def agenda(client, user, view: str, day) -> object:
    client.force_login(user)
    response = client.get(f"/calendars/?view={view}&date={day:%Y-%m-%d}")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_learner_sees_their_sessions_in_every_view(client, learner, week, view):
    response = agenda(client, learner, view, week["day"])
    assert titles(response) == ["Mine"]
    html = response.content.decode()
    assert f'href="/sessions/{week["mine"].pk}/"' in html
    assert "Someone else" not in html
    assert 'data-testid="agenda-item"' in html


def test_week_and_list_views_link_each_session_ics(client, learner, week):
    for view in ("week", "list"):
        html = agenda(client, learner, view, week["day"]).content.decode()
        assert f'href="/calendars/session/{week["mine"].pk}.ics"' in html


def test_trainer_sees_what_they_train(client, trainer, week):
    assert titles(agenda(client, trainer, "week", week["day"])) == ["Trained"]


def test_coordinator_sees_every_session_of_their_space(client, coordinator, week):
    response = agenda(client, coordinator, "week", week["day"])
    assert sorted(titles(response)) == ["Mine", "Someone else's", "Trained"]
    assert response.context["coordinates"] is True


def test_outsider_sees_nothing_of_another_space(client, outsider, week):
    assert titles(agenda(client, outsider, "month", week["day"])) == []


def test_cancelled_registration_stays_visible_and_marked(client, learner, week):
    registration = week["mine"].registrations.get(user=learner)
    registration_cancel(actor=learner, registration=registration)
    html = agenda(client, learner, "list", week["day"]).content.decode()
    assert "is-cancelled" in html and "Mine" in html


def test_month_grid_runs_monday_to_sunday_and_covers_the_month(client, learner, week):
    response = agenda(client, learner, "month", week["day"])
    days = response.context["days"]
    assert days[0]["date"].weekday() == 0 and days[-1]["date"].weekday() == 6
    inside = [d["date"] for d in days if not d["outside"]]
    assert inside[0].day == 1 and (inside[-1] + timedelta(days=1)).day == 1
    assert all(len(w) == 7 for w in response.context["weeks"])


def test_parts_appear_on_their_own_days(client, learner, week):
    part = SessionPart.objects.create(
        session=week["mine"],
        starts_at=week["mine"].starts_at + timedelta(days=1),
        ends_at=week["mine"].ends_at + timedelta(days=1),
    )
    part_day = timezone.localdate(part.starts_at)
    # Opened at the part's own day: it may fall in the week or month after the session's.
    for view in ("month", "week", "list"):
        response = agenda(client, learner, view, part_day)
        placed = [
            (d["date"], i.part, i.parts) for d in response.context["days"] for i in d["items"]
        ]
        assert (part_day, 2, 2) in placed


def test_page_offers_the_feed_links_and_the_reset(client, learner, week):
    html = agenda(client, learner, "month", week["day"]).content.decode()
    learner.refresh_from_db()
    assert f"webcal://127.0.0.1:8000/calendars/feed/{learner.feed_token}.ics" in html
    assert f"http://127.0.0.1:8000/calendars/feed/{learner.feed_token}.ics" in html
    assert 'action="/calendars/feed/reset/"' in html


def test_default_view_is_this_month(client, learner):
    client.force_login(learner)
    response = client.get("/calendars/")
    assert response.status_code == 200
    assert response.context["view"] == "month"
    assert response.context["day"] == timezone.localdate()


@pytest.mark.parametrize(
    "query", ["view=year", "date=2026-13-01", "date=tomorrow", "view=<script>"]
)
def test_bad_view_or_date_is_400(client, learner, query):
    client.force_login(learner)
    assert client.get(f"/calendars/?{query}").status_code == 400


def test_agenda_needs_a_login(client):
    response = client.get("/calendars/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_nav_has_the_agenda(client, learner):
    client.force_login(learner)
    assert 'data-nav="agenda"' in client.get("/calendars/").content.decode()


# -- REST ---------------------------------------------------------------------------------------
def api_range(day) -> str:
    return f"/api/v1/calendars/agenda/?start={day:%Y-%m-%d}&end={day + timedelta(days=1):%Y-%m-%d}"


def test_api_agenda_lists_occurrences_in_the_range(api_client_for, learner, week):
    response = api_client_for(learner).get(api_range(week["day"]))
    assert response.status_code == 200
    (item,) = response.json()
    mine = week["mine"]
    assert item == {
        "session": mine.pk,
        "title": "Mine",
        "kind": "face_to_face",
        "status": "scheduled",
        "my_status": "confirmed",
        "starts_at": mine.starts_at.isoformat(),
        "ends_at": mine.ends_at.isoformat(),
        "time_zone": "Europe/Paris",
        "location": "Lyon office, room 2",
        "part": 1,
        "parts": 1,
        "url": f"/sessions/{mine.pk}/",
        "ics_url": f"/calendars/session/{mine.pk}.ics",
        "live_class": False,
    }


def test_api_agenda_per_role(api_client_for, coordinator, trainer, outsider, week):
    def listed(user) -> list[str]:
        return sorted(i["title"] for i in api_client_for(user).get(api_range(week["day"])).json())

    assert listed(coordinator) == ["Mine", "Someone else's", "Trained"]
    assert listed(trainer) == ["Trained"]
    assert listed(outsider) == []


def test_api_agenda_outside_the_range_is_empty(api_client_for, learner, week):
    day = week["day"] + timedelta(days=2)
    assert api_client_for(learner).get(api_range(day)).json() == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "start=2030-01-10",
        "start=2030-01-10&end=2030-01-10",
        "start=2030-01-10&end=2030-01-01",
        "start=2030-01-01&end=2031-01-01",
        "start=yesterday&end=today",
    ],
)
def test_api_agenda_bad_range_is_400(api_client_for, learner, query):
    response = api_client_for(learner).get(f"/api/v1/calendars/agenda/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_api_agenda_needs_authentication(client):
    assert client.get("/api/v1/calendars/agenda/?start=2030-01-01&end=2030-01-02").status_code in (
        401,
        403,
    )


def test_openapi_schema_documents_the_calendar_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/calendars/agenda/",
        "/api/v1/calendars/feed/",
        "/api/v1/calendars/feed/reset/",
    ):
        assert path in schema["paths"], path
    parameters = {
        p["name"] for p in schema["paths"]["/api/v1/calendars/agenda/"]["get"]["parameters"]
    }
    assert {"start", "end"} <= parameters


def test_page_links_the_feeds_of_published_courses(client, learner, coordinator, space):
    from classrooms.models import Course

    published = Course.objects.create(space=space, title="Safety basics", published=True)
    draft = Course.objects.create(space=space, title="Draft course", published=False)
    for course in (published, draft):
        registration_register(
            actor=learner, session=make_session(coordinator, space, course=course)
        )
    client.force_login(learner)
    day = timezone.localdate(timezone.now() + timedelta(days=7))
    html = client.get(f"/calendars/?view=week&date={day:%Y-%m-%d}").content.decode()
    learner.refresh_from_db()
    token = learner.feed_token
    assert f"/calendars/feed/{token}/course/{published.pk}.ics" in html
    assert f"/course/{draft.pk}.ics" not in html
    assert f"/calendars/course/{published.pk}.ics" not in html  # not the signed-in address
