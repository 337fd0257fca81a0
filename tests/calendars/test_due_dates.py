"""Due dates (learning paths, courses, activities: paths/due.py) in the personal iCal feed,
read by the three parsers, and on the agenda page; they move when the date changes and
leave the feed when done."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from calendars import ics
from classrooms import services as classrooms_services
from classrooms.models import ActivityDue, ActivityKind, Enrolment
from tests.calendars.parsers import read_all
from tests.calendars.test_feeds import feed_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_course(trainer, space, learner):
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
    enrolment = classrooms_services.enrolment_create(actor=trainer, user=learner, course=course)
    at = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    classrooms_services.enrolment_due_set(actor=trainer, enrolment=enrolment, due_at=at)
    classrooms_services.activity_due_set(
        actor=trainer, activity=acts[0], due_date=at - timedelta(days=2)
    )
    return course, acts, enrolment, at


def test_feed_holds_due_items_read_alike_by_three_parsers(client, learner, trainer, due_course):
    _course, acts, enrolment, at = due_course
    row = ActivityDue.objects.get(user=learner)
    body = client.get(feed_path(learner)).content
    seen = read_all(body)
    course_uid = ics.due_uid("enrolment", enrolment.pk)
    activity_uid = ics.due_uid("activity", row.pk)
    assert seen[course_uid].start == seen[course_uid].end == at.astimezone(UTC)
    assert seen[activity_uid].start == (at - timedelta(days=2)).astimezone(UTC)
    assert seen[course_uid].status == "CONFIRMED"
    assert b"Fire safety" in body and b"TRANSP:TRANSPARENT" in body
    # A new date: the same UID at the new time.
    later = at + timedelta(days=3)
    classrooms_services.enrolment_due_set(actor=trainer, enrolment=enrolment, due_at=later)
    seen = read_all(client.get(feed_path(learner)).content)
    assert seen[course_uid].start == later.astimezone(UTC)
    # Done: it leaves the feed (calendar apps remove it); the course's stays.
    classrooms_services.activity_complete(user=learner, activity=acts[0], source="viewed")
    seen = read_all(client.get(feed_path(learner)).content)
    assert activity_uid not in seen and course_uid in seen


def test_feed_shows_no_one_else_s_due_items(client, learner, learner2, due_course):
    seen = read_all(client.get(feed_path(learner2)).content)
    assert not [uid for uid in seen if uid.startswith("due-")]


def test_agenda_shows_due_items_and_late_completion(client, learner, trainer, due_course):
    _course, acts, enrolment, at = due_course
    client.force_login(learner)
    page = client.get(f"/calendars/?view=list&date={timezone.localdate(at):%Y-%m-%d}")
    assert page.status_code == 200
    dues = [d for day in page.context["days"] for d in day["due"]]
    assert {(d["kind"], d["title"]) for d in dues} == {
        ("enrolment", "Fire safety"),
        ("activity", "Lesson 0"),
    }
    html = page.content.decode()
    assert html.count('data-testid="agenda-due"') == 2
    # Done after the due date: marked late on the agenda.
    Enrolment.objects.filter(pk=enrolment.pk).update(due_at=timezone.now() - timedelta(days=1))
    ActivityDue.objects.update(due_at=timezone.now() - timedelta(hours=1))
    classrooms_services.activity_complete(user=learner, activity=acts[0], source="viewed")
    page = client.get(f"/calendars/?view=list&date={timezone.localdate():%Y-%m-%d}")
    assert "Done late" in page.content.decode()
    assert 'data-testid="agenda-due-overdue"' in page.content.decode()  # the course
