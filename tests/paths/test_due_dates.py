"""Due dates on course enrolments and activities, beside learning paths (paths/due.py):
defaults and overrides, who may set them, late completions, the one sweep (reminders,
overdue notices to the person and their managers, live on the team topic; set-based and
idempotent) over weeks with a controlled clock, REST, the manager's overdue list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from notifications.models import Notification

from classrooms import services as classrooms_services
from classrooms.models import ActivityDue, ActivityKind, Enrolment
from hub.accounts.models import Role, Team
from paths import due, services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """``clock.now`` is what ``timezone.now()`` answers everywhere; move it by hand."""
    state = SimpleNamespace(now=T0)
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


@pytest.fixture
def c(trainer, space, clock):
    course = classrooms_services.course_create(
        author=trainer, space=space, title="Fire safety", published=True
    )
    module = classrooms_services.module_create(user=trainer, course=course, title="M")
    acts = [
        classrooms_services.activity_create(
            user=trainer, module=module, title=f"Lesson {i}", kind=ActivityKind.LESSON
        )
        for i in range(2)
    ]
    return SimpleNamespace(course=course, acts=acts)


def enrol(trainer, user, course):
    return classrooms_services.enrolment_create(actor=trainer, user=user, course=course)


def test_course_default_override_and_who_may_set_them(c, trainer, manager, learner, learner2):
    classrooms_services.course_due_set(actor=trainer, course=c.course, due_days=30)
    e1 = enrol(trainer, learner, c.course)
    assert e1.due_at == T0 + timedelta(days=30)
    e2 = enrol(trainer, learner2, c.course)
    # A fixed default moves everyone who follows the course.
    fixed = T0 + timedelta(days=10)
    classrooms_services.course_due_set(actor=trainer, course=c.course, due_date=fixed)
    assert set(Enrolment.objects.values_list("due_at", flat=True)) == {fixed}
    # The manager overrides for a report; the course's default no longer moves it.
    mine = T0 + timedelta(days=60)
    classrooms_services.enrolment_due_set(actor=manager, enrolment=e1, due_at=mine)
    classrooms_services.course_due_set(actor=trainer, course=c.course, due_days=5)
    e1.refresh_from_db()
    e2.refresh_from_db()
    assert (e1.due_at, e1.due_overridden) == (mine, True)
    assert e2.due_at == T0 + timedelta(days=5)
    # Cleared: back to the course's default.
    classrooms_services.enrolment_due_set(actor=trainer, enrolment=e1, due_at=None)
    e1.refresh_from_db()
    assert (e1.due_at, e1.due_overridden) == (T0 + timedelta(days=5), False)
    # A learner sets no due date, not even their own; a manager only their reports'.
    with pytest.raises(PermissionDenied):
        classrooms_services.enrolment_due_set(actor=learner, enrolment=e1, due_at=mine)
    with pytest.raises(PermissionDenied):
        classrooms_services.course_due_set(actor=learner, course=c.course, due_days=1)
    with pytest.raises(PermissionDenied):
        classrooms_services.activity_due_set(actor=manager, activity=c.acts[0], due_days=1)
    Team.objects.filter(manager=manager).first().members.remove(learner)
    with pytest.raises(PermissionDenied):
        classrooms_services.enrolment_due_set(actor=manager, enrolment=e1, due_at=mine)
    # Absurd values.
    with pytest.raises(ValidationError):
        classrooms_services.course_due_set(
            actor=trainer, course=c.course, due_date=fixed, due_days=3
        )
    with pytest.raises(ValidationError):
        classrooms_services.course_due_set(actor=trainer, course=c.course, due_days=99999)
    e1.refresh_from_db()
    assert e1.due_at == T0 + timedelta(days=5)


def test_activity_dues_follow_enrolments_and_late_is_recorded(c, trainer, learner, learner2, clock):
    enrol(trainer, learner, c.course)
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0], due_days=7)
    row = ActivityDue.objects.get(user=learner)
    assert row.due_at == T0 + timedelta(days=7)
    # Someone enrolled later gets theirs, counted from their own enrolment.
    clock.now = T0 + timedelta(days=3)
    enrol(trainer, learner2, c.course)
    assert ActivityDue.objects.get(user=learner2).due_at == T0 + timedelta(days=10)
    # Learner 1 completes late, learner 2 on time.
    clock.now = T0 + timedelta(days=8)
    for person in (learner, learner2):
        classrooms_services.activity_complete(user=person, activity=c.acts[0], source="viewed")
    late = dict(ActivityDue.objects.values_list("user_id", "completed_late"))
    assert late == {learner.pk: True, learner2.pk: False}
    # The course too: due yesterday, completed today: late.
    e = Enrolment.objects.get(user=learner)
    classrooms_services.enrolment_due_set(
        actor=trainer, enrolment=e, due_at=clock.now - timedelta(days=1)
    )
    classrooms_services.activity_complete(user=learner, activity=c.acts[1], source="viewed")
    e.refresh_from_db()
    assert e.completed_at and e.completed_late
    items = {(i.kind, i.user_id): i for i in due.due_items_of(user=learner)}
    assert items[("enrolment", learner.pk)].late and not items[("enrolment", learner.pk)].overdue()
    # Cleared: the rows go.
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0])
    assert not ActivityDue.objects.exists()


def test_sweep_over_weeks(c, trainer, manager, learner, learner2, clock, published):
    classrooms_services.course_due_set(actor=trainer, course=c.course, due_days=20)
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0], due_days=10)
    for person in (learner, learner2):
        enrol(trainer, person, c.course)
    team = Team.objects.get(manager=manager)

    def sweep(days):
        clock.now = T0 + timedelta(days=days)
        counts = due.sweep(now=clock.now)
        return (counts["enrolment"], counts["activity"])

    none = {"reminded": 0, "overdue": 0}
    assert sweep(1) == (none, none)
    # 7 days before the activity's date: both reminded, once.
    assert sweep(3) == (none, {"reminded": 2, "overdue": 0})
    assert sweep(4) == (none, none)
    # Learner 2 does the activity in time; learner 1 is overdue (and their manager told).
    classrooms_services.activity_complete(user=learner2, activity=c.acts[0], source="viewed")
    assert sweep(11) == ({"reminded": 0, "overdue": 0}, {"reminded": 0, "overdue": 1})
    assert sweep(12) == ({"reminded": 0, "overdue": 0}, none)
    assert sweep(13)[0] == {"reminded": 2, "overdue": 0}
    assert sweep(21) == ({"reminded": 0, "overdue": 2}, none)
    assert sweep(40) == (none, none)  # idempotent
    assert (
        Notification.objects.filter(recipient=learner, verb__contains="Lesson 0 is due").count()
        == 1
    )
    assert Notification.objects.filter(recipient=manager, verb__contains="is overdue").count() == 3
    kinds = [e.type for e in published(f"paths.team.{team.pk}")]
    assert kinds.count("activity.overdue") == 1 and kinds.count("enrolment.overdue") == 2
    # A new due date: its reminder and overdue notice come again.
    row = ActivityDue.objects.get(user=learner)
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0], due_days=45)
    row.refresh_from_db()
    assert row.reminded_at is None and row.overdue_notified_at is None
    assert sweep(40)[1] == {"reminded": 1, "overdue": 0}
    # Completed items are never overdue: after learner 1 completes, nothing is left.
    classrooms_services.activity_complete(user=learner, activity=c.acts[0], source="viewed")
    assert sweep(60)[1] == none
    overdue = due.team_overdue(manager=manager)
    assert {(i.kind, i.user_id) for i in overdue} == {
        ("enrolment", learner.pk),
        ("enrolment", learner2.pk),
    }


def test_sweep_queries_are_constant_per_batch(c, trainer, space, manager, clock):
    """Set-based: 3 people or 30 in a batch cost the same number of queries."""
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0], due_days=2)
    team = Team.objects.get(manager=manager)

    def run(n, day):
        people = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(n)]
        team.members.add(*people)
        clock.now = T0 + timedelta(days=day)
        for person in people:
            enrol(trainer, person, c.course)
        clock.now += timedelta(days=3)
        with CaptureQueriesContext(connection) as queries:
            counts = due.sweep(now=clock.now)
        assert counts["activity"]["overdue"] == n
        return len(queries)

    run(1, 0)  # warm: the first run fills caches (content types) a worker keeps
    few, many = run(3, 10), run(30, 20)
    print(f"\ndue sweep, overdue notices: 3 people {few} queries, 30 people {many} queries")
    assert few == many


def test_two_sweeps_at_once_notify_once(c, trainer, learner, clock):
    """A second worker that read the same ids finds them claimed (flags re-checked
    under the lock) and sends nothing."""
    enrol(trainer, learner, c.course)
    classrooms_services.activity_due_set(actor=trainer, activity=c.acts[0], due_days=1)
    clock.now = T0 + timedelta(days=2)
    kind = next(k for k in due.KINDS if k.name == "activity")
    ids = [ActivityDue.objects.get().pk]
    assert due._overdue(kind, ids, clock.now) == 1
    assert due._overdue(kind, ids, clock.now) == 0
    assert Notification.objects.filter(recipient=learner, verb__contains="overdue").count() == 1


def test_rest_set_list_and_permissions(
    api_client_for, c, trainer, manager, learner, learner2, outsider, clock
):
    e1 = enrol(trainer, learner, c.course)
    e2 = enrol(trainer, learner2, c.course)
    as_trainer, as_learner, as_manager = map(api_client_for, (trainer, learner, manager))
    r = as_trainer.put(f"/api/v1/courses/{c.course.pk}/due/", {"due_days": 14}, format="json")
    assert r.status_code == 200 and r.json()["due_days"] == 14
    r = as_trainer.put(
        f"/api/v1/activities/{c.acts[0].pk}/due/",
        {"due_date": "2026-03-05T17:00:00Z"},
        format="json",
    )
    assert r.status_code == 200
    # Bad input: 400 and nothing changes.
    for body in (
        {"due_date": "next tuesday"},
        {"due_date": "3026-01-01T00:00:00Z"},
        {"due_days": 0},
        {"due_days": 3, "due_date": "2026-04-01T00:00:00Z"},
    ):
        r = as_trainer.put(f"/api/v1/courses/{c.course.pk}/due/", body, format="json")
        assert r.status_code == 400, body
    r = as_manager.put(f"/api/v1/enrolments/{e1.pk}/due/", {"due_at": "1900-01-01"}, format="json")
    assert r.status_code == 400
    e1.refresh_from_db()
    assert e1.due_at == e1.enrolled_at + timedelta(days=14)
    # A learner sets nothing; someone else's enrolment does not exist for them.
    assert (
        as_learner.put(f"/api/v1/courses/{c.course.pk}/due/", {"due_days": 1}, format="json")
    ).status_code == 403
    assert (
        as_learner.put(
            f"/api/v1/enrolments/{e1.pk}/due/", {"due_at": "2026-05-01T00:00:00Z"}, format="json"
        )
    ).status_code == 403
    assert (
        as_learner.put(
            f"/api/v1/enrolments/{e2.pk}/due/", {"due_at": "2026-05-01T00:00:00Z"}, format="json"
        )
    ).status_code == 404
    assert (
        api_client_for(outsider).put(
            f"/api/v1/enrolments/{e1.pk}/due/", {"due_at": "2026-05-01T00:00:00Z"}, format="json"
        )
    ).status_code == 404
    # The manager sets their report's.
    r = as_manager.put(
        f"/api/v1/enrolments/{e1.pk}/due/", {"due_at": "2026-03-04T12:00:00Z"}, format="json"
    )
    assert r.status_code == 200 and r.json()["due_overridden"] is True
    # My due items: mine only, by date.
    mine = as_learner.get("/api/v1/due/mine/").json()
    assert [(m["kind"], m["user"]) for m in mine] == [
        ("enrolment", learner.pk),
        ("activity", learner.pk),
    ]
    assert as_learner.get("/api/v1/due/mine/?completed=maybe").status_code == 400
    # A week on: the team's overdue list has both kinds; a learner's is empty.
    clock.now = T0 + timedelta(days=7)
    rows = as_manager.get("/api/v1/paths/team/overdue/").json()
    assert {(r["kind"], r["user"]) for r in rows} == {
        ("enrolment", learner.pk),
        ("activity", learner.pk),
        ("activity", learner2.pk),
    }
    assert as_learner.get("/api/v1/paths/team/overdue/").json() == []
    # No state change on GET.
    assert not Enrolment.objects.filter(overdue_notified_at__isnull=False).exists()


def test_paths_keep_their_place_in_the_one_sweep(c, trainer, learner, clock):
    path = services.path_create(user=trainer, space=c.course.space, title="P", due_days=5)
    services.path_item_add(user=trainer, path=path, course=c.course)
    services.path_assign(actor=trainer, path=path, users=[learner])
    clock.now = T0 + timedelta(days=6)
    assert services.sweep(now=clock.now) == {"reminded": 0, "overdue": 1}
    assert [i.kind for i in due.team_overdue(manager=UserFactory(roles=[Role.ADMIN]))] == ["path"]


def test_team_page_lists_courses_and_activities_overdue(client, c, trainer, manager, learner):
    e = enrol(trainer, learner, c.course)
    classrooms_services.enrolment_due_set(actor=manager, enrolment=e, due_at=T0 - timedelta(days=1))
    client.force_login(manager)
    page = client.get("/paths/team/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-due="enrolment-{e.pk}"' in html and "Fire safety" in html
    client.force_login(learner)
    assert client.get("/paths/team/").status_code == 403


@pytest.mark.parametrize("kind", ["courses", "activities"])
def test_course_and_activity_defaults_share_one_view(api_client_for, c, trainer, learner, kind):
    """The course's and an activity's default due date are set through one view shape
    (``DueDefaultView``): the same answers, the same refusals, nothing changed on a refusal."""
    from classrooms import api

    view = {"courses": api.CourseDueView, "activities": api.ActivityDueView}[kind]
    assert issubclass(view, api.DueDefaultView) and "put" not in vars(view)
    enrol(trainer, learner, c.course)  # the learner sees the course: refused, not hidden
    obj = c.course if kind == "courses" else c.acts[0]
    url = f"/api/v1/{kind}/{obj.pk}/due/"
    as_trainer = api_client_for(trainer)
    r = as_trainer.put(url, {"due_days": 7}, format="json")
    assert r.status_code == 200 and r.json() == {"id": obj.pk, "due_date": None, "due_days": 7}
    r = as_trainer.put(url, {"due_days": 3, "due_date": "2026-04-01T00:00:00Z"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"]
    assert api_client_for(learner).put(url, {"due_days": 1}, format="json").status_code == 403
    assert (
        as_trainer.put(f"/api/v1/{kind}/999999/due/", {"due_days": 1}, format="json").status_code
        == 404
    )
    obj.refresh_from_db()
    assert (obj.due_days, obj.due_date) == (7, None)
