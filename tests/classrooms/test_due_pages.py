"""Due dates set from the pages (the course's editor, the activity's editor, the progress
page's enrolment table), through the same services as REST: who sees the controls, who may
post, bad dates refused with the field's error and nothing changed, success saved."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from classrooms import services
from classrooms.models import ActivityDue, Course, Enrolment
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59)))


def spy(monkeypatch, name: str) -> list[dict]:
    """Record the calls the page makes to the service (it must be the REST one)."""
    calls: list[dict] = []
    real = getattr(services, name)

    def wrapped(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, name, wrapped)
    return calls


# -- the course's default -------------------------------------------------------------------
def test_course_due_form_saves_each_mode_through_the_service(client, trainer, c, monkeypatch):
    calls = spy(monkeypatch, "course_due_set")
    client.force_login(trainer)
    page = client.get(f"/courses/{c.course.pk}/edit/")
    assert page.status_code == 200
    assert f'action="/courses/{c.course.pk}/edit/due/"'.encode() in page.content
    url = f"/courses/{c.course.pk}/edit/due/"

    day = timezone.localdate() + timedelta(days=20)
    done = client.post(url, {"mode": "date", "due_date": day.isoformat()}, follow=True)
    assert done.redirect_chain[-1][0].startswith(f"/courses/{c.course.pk}/edit/")
    assert b"Due date saved." in done.content
    assert len(calls) == 1 and calls[0]["actor"] == trainer
    c.course.refresh_from_db()
    assert (c.course.due_date, c.course.due_days) == (end_of(day), None)
    # Everyone enrolled follows the course's default.
    assert set(Enrolment.objects.filter(course=c.course).values_list("due_at", flat=True)) == {
        end_of(day)
    }
    # The form shows what is saved.
    assert f'value="{day.isoformat()}"'.encode() in done.content

    client.post(url, {"mode": "days", "due_days": "14", "due_date": day.isoformat()})
    c.course.refresh_from_db()
    assert (c.course.due_date, c.course.due_days) == (None, 14)

    client.post(url, {"mode": "none", "due_days": "14"})
    c.course.refresh_from_db()
    assert (c.course.due_date, c.course.due_days) == (None, None)
    assert not Enrolment.objects.filter(course=c.course, due_at__isnull=False).exists()
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mode": "date", "due_date": "31/12/2026"}, "due_date", b"Enter a valid date."),
        ({"mode": "date", "due_date": ""}, "due_date", b"Choose the day it is due."),
        ({"mode": "date", "due_date": "2150-01-01"}, "due_date", b"Give a date between"),
        ({"mode": "date", "due_date": "0001-01-01"}, "due_date", b"Give a date between"),
        ({"mode": "days", "due_days": "0"}, "due_days", b"greater than or equal to 1"),
        ({"mode": "days", "due_days": "99999"}, "due_days", b"less than or equal to 3650"),
        ({"mode": "days", "due_days": ""}, "due_days", b"Give the number of days."),
        ({"mode": "sometime"}, "mode", b"Select a valid choice."),
    ],
)
def test_course_due_form_refuses_bad_input_and_changes_nothing(
    client, trainer, c, data, field, message
):
    services.course_due_set(actor=trainer, course=c.course, due_days=7)
    client.force_login(trainer)
    page = client.post(f"/courses/{c.course.pk}/edit/due/", data)
    assert page.status_code == 400
    assert message in page.content
    # The error is tied to its field (the design system's field marks it).
    assert b"has-error" in page.content or field == "mode"
    c.course.refresh_from_db()
    assert (c.course.due_date, c.course.due_days) == (None, 7)


def test_course_due_form_permissions(client, learner, trainer, c, outsider, space):
    url = f"/courses/{c.course.pk}/edit/due/"
    data = {"mode": "days", "due_days": "5"}
    # A learner never sees the editor nor may post.
    client.force_login(learner)
    assert client.get(f"/courses/{c.course.pk}/edit/").status_code == 403
    assert client.post(url, data).status_code == 403
    # Someone outside the course's space: it does not exist for them.
    client.force_login(outsider)
    assert client.post(url, data).status_code == 404
    # Another trainer of the space, not this course's: refused.
    other = UserFactory(username="trainer2", roles=["trainer"], spaces=[space])
    client.force_login(other)
    assert client.post(url, data).status_code in (403, 404)
    # No state change on GET; the course's trainer posts with CSRF only.
    client.force_login(trainer)
    assert client.get(url).status_code == 405
    c.course.refresh_from_db()
    assert c.course.due_days is None
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trainer)
    assert strict.post(url, data).status_code == 403
    c.course.refresh_from_db()
    assert c.course.due_days is None


# -- the activity's date --------------------------------------------------------------------
def test_activity_due_form_saves_and_refuses(client, trainer, learner, c, monkeypatch):
    calls = spy(monkeypatch, "activity_due_set")
    client.force_login(trainer)
    edit = client.get(f"/activities/{c.quiz.pk}/edit/")
    assert edit.status_code == 200 and b'data-testid="due-form"' in edit.content
    url = f"/activities/{c.quiz.pk}/edit/due/"
    day = timezone.localdate() + timedelta(days=3)
    done = client.post(url, {"mode": "date", "due_date": day.isoformat()}, follow=True)
    assert b"Due date saved." in done.content
    assert len(calls) == 1 and calls[0]["activity"].pk == c.quiz.pk
    c.quiz.refresh_from_db()
    assert c.quiz.due_date == end_of(day)
    # Everyone enrolled has the date (the service's rows).
    assert ActivityDue.objects.filter(activity=c.quiz).count() == 2
    # The outline shows it.
    outline = client.get(f"/courses/{c.course.pk}/edit/")
    assert b'data-testid="activity-due"' in outline.content

    bad = client.post(url, {"mode": "date", "due_date": "2026-02-30"})
    assert bad.status_code == 400 and b"Enter a valid date." in bad.content
    bad = client.post(url, {"mode": "days", "due_days": "-3"})
    assert bad.status_code == 400 and b"greater than or equal to 1" in bad.content
    c.quiz.refresh_from_db()
    assert c.quiz.due_date == end_of(day)

    # The box of the mode not chosen is ignored (a stale bad value blocks nothing).
    later = day + timedelta(days=1)
    ok = client.post(url, {"mode": "date", "due_date": later.isoformat(), "due_days": "0"})
    assert ok.status_code == 302
    c.quiz.refresh_from_db()
    assert (c.quiz.due_date, c.quiz.due_days) == (end_of(later), None)

    client.post(url, {"mode": "days", "due_days": "10", "due_date": "not a date"})
    c.quiz.refresh_from_db()
    assert (c.quiz.due_date, c.quiz.due_days) == (None, 10)
    client.post(url, {"mode": "none"})
    assert not ActivityDue.objects.filter(activity=c.quiz).exists()

    # A learner: no controls, no post; someone else's activity id: 404.
    client.force_login(learner)
    assert client.get(f"/activities/{c.quiz.pk}/edit/").status_code == 403
    assert client.post(url, {"mode": "days", "due_days": "2"}).status_code == 403
    other_space = SpaceFactory()
    other_trainer = UserFactory(username="t-other", roles=["trainer"], spaces=[other_space])
    client.force_login(other_trainer)
    assert client.post(url, {"mode": "days", "due_days": "2"}).status_code == 404
    c.quiz.refresh_from_db()
    assert c.quiz.due_days is None


# -- one enrolment's own date ---------------------------------------------------------------
def test_enrolment_due_override_and_clear_by_trainer_and_manager(
    client, trainer, manager, learner, learner2, c, monkeypatch
):
    calls = spy(monkeypatch, "enrolment_due_set")
    services.course_due_set(actor=trainer, course=c.course, due_days=30)
    mine = Enrolment.objects.get(user=learner, course=c.course)
    default = mine.due_at
    client.force_login(trainer)
    page = client.get(f"/courses/{c.course.pk}/progress/")
    assert page.status_code == 200
    assert f'action="/enrolments/{mine.pk}/due/"'.encode() in page.content
    url = f"/enrolments/{mine.pk}/due/"

    day = timezone.localdate() + timedelta(days=5)
    done = client.post(url, {"due_at": day.isoformat()}, follow=True)
    assert done.redirect_chain[-1][0].startswith(f"/courses/{c.course.pk}/progress/")
    assert b"due date is saved" in done.content
    assert b'data-testid="own-date"' in done.content
    mine.refresh_from_db()
    assert (mine.due_at, mine.due_overridden) == (end_of(day), True)

    # Bad dates: the row's field error, status 400, nothing changed.
    for value, message in [
        ("", b"Choose the day it is due."),
        ("tomorrow", b"Enter a valid date."),
        ("2200-01-01", b"Give a date between"),
    ]:
        bad = client.post(url, {"due_at": value})
        assert bad.status_code == 400 and message in bad.content
        assert b'id="enrolment-%d"' % mine.pk in bad.content
    mine.refresh_from_db()
    assert mine.due_at == end_of(day)

    # Cleared: back to the course's default.
    done = client.post(url, {"due_at": "", "clear": "1"}, follow=True)
    assert b"follows the course" in done.content
    mine.refresh_from_db()
    assert (mine.due_at, mine.due_overridden) == (default, False)

    # The manager sets their report's date from the same page (their reports' rows only).
    client.force_login(manager)
    page = client.get(f"/courses/{c.course.pk}/progress/")
    assert f'action="/enrolments/{mine.pk}/due/"'.encode() in page.content
    assert client.post(url, {"due_at": day.isoformat()}).status_code == 302
    mine.refresh_from_db()
    assert mine.due_overridden is True
    assert [call["actor"] for call in calls] == [trainer, trainer, manager]


def test_enrolment_due_refused_to_learners_and_strangers(
    client, trainer, learner, learner2, c, space
):
    mine = Enrolment.objects.get(user=learner, course=c.course)
    theirs = Enrolment.objects.get(user=learner2, course=c.course)
    day = (timezone.localdate() + timedelta(days=5)).isoformat()
    # A learner: not their own date, not someone else's; no progress page, no controls.
    client.force_login(learner)
    assert client.get(f"/courses/{c.course.pk}/progress/").status_code == 403
    assert client.post(f"/enrolments/{mine.pk}/due/", {"due_at": day}).status_code == 404
    assert client.post(f"/enrolments/{theirs.pk}/due/", {"due_at": day}).status_code == 404
    assert b"/due/" not in client.get(f"/courses/{c.course.pk}/").content
    # A manager of other people: someone else's enrolment is a 404.
    stranger_boss = UserFactory(username="boss2", roles=["manager"], spaces=[space])
    client.force_login(stranger_boss)
    assert client.post(f"/enrolments/{mine.pk}/due/", {"due_at": day}).status_code == 404
    # A trainer of another course: 404 too; unknown ids too.
    other = UserFactory(username="t3", roles=["trainer"], spaces=[space])
    services.course_create(author=other, space=space, title="Other", published=True)
    client.force_login(other)
    assert client.post(f"/enrolments/{mine.pk}/due/", {"due_at": day}).status_code == 404
    assert client.post("/enrolments/999999/due/", {"due_at": day}).status_code == 404
    # GET changes nothing.
    client.force_login(trainer)
    assert client.get(f"/enrolments/{mine.pk}/due/").status_code == 405
    assert not Enrolment.objects.filter(due_overridden=True).exists()
    assert Course.objects.filter(due_days__isnull=False).count() == 0
