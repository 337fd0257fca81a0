"""Recertification cycle after cycle, with a controlled clock over years: each window opens a
fresh cycle of the recertification path (progress 0 even though its activities were done
before), the past cycles kept with their dates; doing the activities again renews the award
(a new number, a new certificate, 24 months from that day), and the next window starts
again. An expired person who recertifies late, a revoked award in between, two passes at
once, and the pass's queries that do not grow with the batch (enrolments included)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from notifications.models import Notification

from certifications import services
from certifications.models import Award, AwardEvent, Certificate, State
from classrooms import services as classrooms_services
from classrooms.models import Completion, Enrolment
from paths import services as paths_services
from paths.models import PathAssignment, PathCycle
from tests.certifications.test_nightly import issue, people, same_cost

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """``clock.now`` is what ``timezone.now()`` answers everywhere; move it by hand."""
    from datetime import UTC

    state = SimpleNamespace(now=datetime(2026, 1, 31, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


def kinds(award):
    events = AwardEvent.objects.filter(award=award).order_by("id")
    return list(events.values_list("kind", flat=True))


def view(person, activity):
    classrooms_services.activity_complete(user=person, activity=activity, source="viewed")


def test_cycle_after_cycle(f, clock, commit, run_tasks, learner, client):
    """Certify, window (cycle 1, reminder), redo, renewed; next window: a FRESH cycle 2 at
    0 % though the refresher was done before; its reminder; redone; renewed again."""
    view(learner, f.lesson)
    commit()
    leo = Award.objects.get(user=learner)
    first_expiry = leo.expires_at
    # Leo already took the refresher course before any window: it must not count later.
    refresher = f.recert.items.get().course
    classrooms_services.enrolment_create(
        actor=refresher.trainers.first(), user=learner, course=refresher
    )
    view(learner, f.refresher_lesson)
    commit()
    assert Award.objects.get(pk=leo.pk).state == State.CERTIFIED  # not in a window: nothing

    # -- window 1: a fresh cycle (the earlier refresher does not count), a reminder.
    clock.now = first_expiry - timedelta(days=45)
    assert services.sweep(now=clock.now) == {"expiring": 1, "expired": 0}
    commit()
    a = PathAssignment.objects.get(user=learner, path=f.recert)
    assert (a.progress, a.completed_at, a.due_at) == (0, None, first_expiry)
    assert a.cycle_started_at == clock.now
    assert Award.objects.get(pk=leo.pk).state == State.RECERTIFYING
    clock.now += timedelta(days=40)  # a week before the due date: the path's reminder
    assert paths_services.sweep(now=clock.now)["reminded"] == 1
    # Done again: renewed from that day, a new number and its certificate.
    clock.now += timedelta(days=1)
    view(learner, f.refresher_lesson)
    commit()
    leo.refresh_from_db()
    a.refresh_from_db()
    assert a.progress == 100 and a.completed_at == clock.now
    assert leo.state == State.CERTIFIED
    assert leo.expires_at == services.add_months(clock.now, 24)
    assert kinds(leo) == ["issued", "expiring", "renewed"]
    renewed_once = leo.number
    second_expiry = leo.expires_at
    while run_tasks():  # its certificate (the PDF job)
        pass

    # -- window 2, two years on: cycle 2 starts at 0 % although everything was done before.
    clock.now = second_expiry - timedelta(days=30)
    assert services.sweep(now=clock.now) == {"expiring": 1, "expired": 0}
    commit()
    a.refresh_from_db()
    assert (a.cycle, a.progress, a.completed_at) == (2, 0, None)
    assert a.due_at == second_expiry and a.reminded_at is None
    (past,) = PathCycle.objects.filter(assignment=a)
    assert (past.number, past.progress, past.reason) == (1, 100, "recertification")
    assert past.started_at == first_expiry - timedelta(days=45)
    assert past.completed_at is not None and past.due_at == first_expiry
    assert Award.objects.get(pk=leo.pk).state == State.RECERTIFYING
    # Nothing done in this cycle: the refresher reads not done, on the page and the API.
    client.force_login(learner)
    page = client.get(reverse("paths-mine")).content.decode()
    assert 'data-testid="path-cycle"' in page and 'data-testid="path-cycle-row"' in page
    assert 'data-state="done"' not in page
    api = client.get(f"/api/v1/paths/{f.recert.pk}/").json()
    assert [i["done"] for i in api["items"]] == [False]
    mine = client.get("/api/v1/paths/mine/").json()
    assert mine[0]["cycle"] == 2 and mine[0]["progress"] == 0
    clock.now += timedelta(days=24)
    assert paths_services.sweep(now=clock.now)["reminded"] == 1  # reminded again, this cycle
    # Redone: renewed again.
    clock.now += timedelta(days=1)
    view(learner, f.refresher_lesson)
    commit()
    leo.refresh_from_db()
    a.refresh_from_db()
    assert a.progress == 100 and leo.state == State.CERTIFIED
    assert leo.number not in (renewed_once,) and leo.expires_at == services.add_months(
        clock.now, 24
    )
    assert kinds(leo) == ["issued", "expiring", "renewed", "expiring", "renewed"]
    completion = Completion.objects.get(user=learner, activity=f.refresher_lesson)
    assert completion.times == 3 and completion.last_completed_at == clock.now
    # The grid's completion keeps its first date; the course stays completed.
    assert completion.completed_at < completion.last_completed_at
    # Each renewal made its certificate, numbered as the award was then.
    while run_tasks():
        pass
    numbers = set(Certificate.objects.filter(award=leo).values_list("number", flat=True))
    assert {renewed_once, leo.number} <= numbers
    # Told each time a window opened.
    assert Notification.objects.filter(recipient=learner, verb__contains="recertify").count() == 2


def test_expired_then_late_and_then_a_new_cycle(f, clock, commit, learner2):
    """Lina lets it expire, recertifies months late (her open cycle counts), then her next
    window opens a fresh cycle again."""
    view(learner2, f.lesson)
    commit()
    lina = Award.objects.get(user=learner2)
    clock.now = lina.expires_at - timedelta(days=50)
    services.sweep(now=clock.now)
    clock.now = lina.expires_at + timedelta(days=1)
    assert services.sweep(now=clock.now) == {"expiring": 0, "expired": 1}
    assert Award.objects.get(pk=lina.pk).state == State.EXPIRED
    clock.now += timedelta(days=120)
    view(learner2, f.refresher_lesson)  # enrolled by the pass when her window opened
    commit()
    lina.refresh_from_db()
    assert lina.state == State.CERTIFIED
    assert lina.expires_at == services.add_months(clock.now, 24)
    assert kinds(lina) == ["issued", "expiring", "expired", "renewed"]
    clock.now = lina.expires_at - timedelta(days=10)
    assert services.sweep(now=clock.now) == {"expiring": 1, "expired": 0}
    a = PathAssignment.objects.get(user=learner2, path=f.recert)
    assert (a.cycle, a.progress) == (2, 0)
    assert PathCycle.objects.get(assignment=a).completed_at is not None


def test_revoked_in_between_is_not_renewed(f, clock, commit, coordinator, learner):
    view(learner, f.lesson)
    commit()
    leo = Award.objects.get(user=learner)
    clock.now = leo.expires_at - timedelta(days=30)
    services.sweep(now=clock.now)
    services.bulk_apply(
        actor=coordinator, certification=f.cert, action="revoke", usernames=[learner.username]
    )
    clock.now += timedelta(days=5)
    view(learner, f.refresher_lesson)  # the cycle completes, the award stays revoked
    commit()
    assert PathAssignment.objects.get(user=learner).completed_at is not None
    leo.refresh_from_db()
    assert leo.state == State.REVOKED
    clock.now = leo.expires_at + timedelta(days=400)
    assert services.sweep(now=clock.now) == {"expiring": 0, "expired": 0}
    assert kinds(leo) == ["issued", "expiring", "revoked"]


def test_window_with_a_path_is_set_based(f, coordinator, space, trainer, commit):
    """Opening windows with a recertification path (fresh cycles, the path's course
    enrolments, the notices): the same queries for 10 or 150 awards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ContentType.objects.get_for_model(f.cert)
    refresher = f.recert.items.get().course
    # The course channel exists once anyone is enrolled: made before, not by the pass.
    classrooms_services.enrolment_create(actor=trainer, user=trainer, course=refresher)
    first = people(space, 10)
    issue(coordinator, f.cert, first)
    in_window = Award.objects.first().expires_at - timedelta(days=30)
    with CaptureQueriesContext(connection) as few:
        assert services.sweep(now=in_window) == {"expiring": 10, "expired": 0}
    second = people(space, 150)
    issue(coordinator, f.cert, second)
    in_window = Award.objects.filter(state=State.CERTIFIED).first().expires_at - timedelta(days=30)
    with CaptureQueriesContext(connection) as many:
        assert services.sweep(now=in_window) == {"expiring": 150, "expired": 0}
    # The window's own queries, then the path's fresh cycles and enrolments (per course of
    # the path, not per person): 26 whatever the batch's size. (SQLite splits the wide
    # inserts of 150 rows in a few more statements: its 999 parameters.)
    same_cost(few, many, limit=28, slack=8)
    commit()  # the course channel's bulk join runs on commit
    assert Enrolment.objects.filter(course=refresher, user__in=second).count() == 150
    assert PathAssignment.objects.filter(path=f.recert, user__in=second, progress=0).count() == 150
    assert (
        Notification.objects.filter(recipient__in=second, verb__contains="recertify").count() == 150
    )
    # The course channel has them (in bulk, no notice each).
    from messaging.models import Conversation, Membership

    channel = Conversation.objects.get(kind=Conversation.Kind.COURSE, course_id=refresher.pk)
    assert Membership.objects.filter(conversation=channel, user__in=second).count() == 150


def test_a_second_cycle_in_bulk_keeps_the_first(f, coordinator, space, commit, clock):
    """People already in the path (cycle 1 done) get cycle 2 in the same bulk pass."""
    found = people(space, 12)
    issue(coordinator, f.cert, found)
    clock.now = Award.objects.first().expires_at - timedelta(days=30)
    services.sweep(now=clock.now)
    clock.now += timedelta(days=1)
    for person in found:
        view(person, f.refresher_lesson)
    commit()
    assert Award.objects.filter(state=State.CERTIFIED, user__in=found).count() == 12
    clock.now = Award.objects.filter(user__in=found).first().expires_at - timedelta(days=30)
    assert services.sweep(now=clock.now) == {"expiring": 12, "expired": 0}
    rows = PathAssignment.objects.filter(path=f.recert, user__in=found)
    assert set(rows.values_list("cycle", "progress")) == {(2, 0)}
    assert PathCycle.objects.filter(assignment__in=rows, number=1, progress=100).count() == 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.SERVICES_MODE, reason="two workers at once need PostgreSQL (services mode)"
)
def test_two_passes_at_once(f, coordinator, space):
    """Two workers run the same night's pass at the same moment: each award's window opens
    once (one history row, one cycle, one notice), whoever gets there first."""
    from tests.sessions.test_concurrency import run_all

    fx = f
    found = people(space, 32)
    issue(coordinator, fx.cert, found)
    at = Award.objects.first().expires_at - timedelta(days=30)
    counts: list[dict[str, int]] = []
    errors = run_all([lambda: counts.append(services.sweep(now=at, batch=7))] * 2)
    assert not errors, errors
    assert sum(c["expiring"] for c in counts) == 32
    assert AwardEvent.objects.filter(kind="expiring").count() == 32
    assert PathAssignment.objects.filter(path=fx.recert).count() == 32
    assert not PathCycle.objects.exists()
    assert set(PathAssignment.objects.values_list("cycle", flat=True)) == {1}
    assert Notification.objects.filter(verb__contains="recertify").count() == 32
    assert Award.objects.filter(state=State.RECERTIFYING).count() == 32


def test_window_enrolments_reach_webhooks_and_xapi_per_person(
    f, coordinator, space, trainer, commit, run_tasks, receiver
):
    """The window's bulk enrolments in the recertification path's course: each person gets
    the ``course.enrolled`` webhook and the xAPI "registered" statement a single enrolment
    sends, and the batch pays the same for them (one EXISTS and one job) at 10 or 150."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations import services as integrations_services
    from integrations.models import LearningRecordStore, Statement, WebhookDelivery

    ContentType.objects.get_for_model(f.cert)
    refresher = f.recert.items.get().course
    classrooms_services.enrolment_create(actor=trainer, user=trainer, course=refresher)
    commit()  # the set-up's events went out before anyone listened
    endpoint = integrations_services.endpoint_create(
        actor=coordinator, space=space, url=receiver.url, event_types=["course.enrolled"]
    )
    receiver.secret = endpoint.secret
    LearningRecordStore.objects.create(space=space, name="LRS", endpoint="http://127.0.0.1:9/")
    commit()
    run_tasks()
    receiver.received.clear()

    def window(found):
        issue(coordinator, f.cert, found)
        commit()
        at = Award.objects.filter(state=State.CERTIFIED).first().expires_at - timedelta(days=30)
        with CaptureQueriesContext(connection) as ctx:
            assert services.sweep(now=at)["expiring"] == len(found)
            commit()  # the events' listeners run after the batch's commit
        # The integrations' own: their EXISTS and their job (the notices have jobs too).
        return [q["sql"] for q in ctx.captured_queries if "integrations" in q["sql"]]

    first, second = people(space, 10), people(space, 150)
    few, many = window(first), window(second)
    assert len(many) == len(few) == 2, many  # the space listens: EXISTS, then one job
    run_tasks()
    assert not receiver.rejected
    enrolled = [
        m["data"]["data"]
        for m in receiver.received
        if m["data"]["type"] == "course.enrolled"
        and m["data"]["data"]["course"]["id"] == refresher.pk
    ]
    everyone = sorted(p.pk for p in first + second)
    assert sorted(d["user"]["id"] for d in enrolled) == everyone
    assert {d["space"]["slug"] for d in enrolled} == {space.slug}
    # One message each: one id per person.
    ids = [m["headers"]["webhook-id"] for m in receiver.received]
    assert len(set(ids)) == len(ids)
    registered = Statement.objects.filter(
        verb__endswith="/registered", object_id__endswith=refresher.get_absolute_url()
    )
    assert sorted(registered.values_list("user_id", flat=True)) == everyone
    statement = registered.get(user_id=second[0].pk).data
    assert statement["actor"]["account"]["name"] == str(second[0].pk)
    assert WebhookDelivery.objects.filter(event_type="course.enrolled").count() == 160


def test_a_window_pushes_the_new_cycle_to_each_person(f, clock, commit, published, learner):
    """A recertification window: ``paths.cycle`` on each person's own topic (their path page
    redraws live), for someone new to the path and someone already in it alike."""
    view(learner, f.lesson)
    commit()
    leo = Award.objects.get(user=learner)
    published()
    clock.now = leo.expires_at - timedelta(days=30)
    services.sweep(now=clock.now)
    (event,) = [e for e in published() if e.type == "paths.cycle"]
    assert event.topic == f"hub.user.{learner.pk}"
    assert (event.data["path"], event.data["progress"]) == (f.recert.pk, 0)
    assert event.data["cycle_started_at"] == clock.now.isoformat()
