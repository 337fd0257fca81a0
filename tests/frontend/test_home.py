"""The home page by role (issue 15, docs/HOME.md): what each person should do now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from classrooms.models import Enrolment
from hub.accounts.models import Role
from sessions import services as sessions
from tests.classrooms.conftest import build_course
from tests.factories import UserFactory
from tests.frontend.pages import find, find_all
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def test_learner_sees_tomorrows_session_with_a_join_button_and_the_next_activity(
    client, coordinator, trainer, space, learner
):
    tomorrow = timezone.now() + timedelta(days=1)
    session = make_session(
        coordinator,
        space,
        title="Evening webinar",
        kind="virtual",
        join_url="https://meet.example.com/x",
        starts_at=tomorrow.replace(hour=9, minute=0),
    )
    sessions.registration_register(actor=learner, session=session)
    later = make_session(
        coordinator, space, title="Next month", starts_at=timezone.now() + timedelta(days=30)
    )
    sessions.registration_register(actor=learner, session=later)
    c = build_course(trainer=trainer, space=space, learners=[learner])

    html = home(client, learner)
    next_up = find(html, data_testid="next-up")
    assert "Evening webinar" in next_up["text"]
    assert "Next month" not in next_up["text"]  # beyond tomorrow
    join = find(html, data_testid="join-session")
    assert join["attrs"]["href"] == "https://meet.example.com/x"
    cont = find(html, data_testid="continue-link")
    assert cont["attrs"]["href"] == c.lesson.get_absolute_url()
    assert "Safety first" in find(html, data_testid="continue")["text"]
    assert find(html, data_testid="my-points-link")
    # A learning path due in three days is among the deadlines; one due next month is not.
    from paths import services as paths_services

    for title, days in (("Soon path", 3), ("Later path", 40)):
        path = paths_services.path_create(user=trainer, space=space, title=title)
        paths_services.path_item_add(user=trainer, path=path, course=c.course)
        paths_services.path_assign(
            actor=trainer, path=path, users=[learner], due_at=timezone.now() + timedelta(days=days)
        )
    due = find_all(home(client, learner), data_testid="path-due")
    assert [("Soon path" in d["text"], "Later path" in d["text"]) for d in due] == [(True, False)]


def test_waiting_list_position_and_a_seat_offer_with_its_countdown(
    client, coordinator, space, learner, learner2
):
    session = make_session(coordinator, space, title="Full one", capacity=1, claim_hours=4)
    first = sessions.registration_register(actor=learner, session=session)
    sessions.registration_register(actor=learner2, session=session)

    waiting = find(home(client, learner2), data_testid="waiting-position")
    assert "Full one" in waiting["text"] and "Position 1" in waiting["text"]

    sessions.registration_cancel(actor=learner, registration=first)
    html = home(client, learner2)
    offer = find(html, data_testid="seat-offer")
    assert "Full one" in offer["text"]
    countdown = find(html, data_testid="offer-countdown")
    assert "data-countdown" in countdown["attrs"]
    assert countdown["attrs"]["datetime"]
    accept = find(html, data_testid="home-offer-accept")
    assert accept["tag"] == "button"


def test_coordinator_sees_the_weeks_fill_bars_approvals_lapsing_offers_and_conflicts(
    client, coordinator, space, learner, learner2
):
    today = timezone.localtime()
    start = today + timedelta(hours=2) if today.hour < 20 else today + timedelta(minutes=30)
    session = make_session(
        coordinator, space, title="This week", capacity=2, claim_hours=2, starts_at=start
    )
    sessions.registration_register(actor=learner, session=session)
    gated = make_session(coordinator, space, title="Gated", approval="coordinator")
    sessions.registration_register(actor=learner2, session=gated)

    html = home(client, coordinator)
    row = find(html, data_testid="week-session")
    assert "This week" in row["text"] and "1 / 2 seats" in row["text"]
    bar = find(html, aria_label="Seats taken at This week")
    assert bar["tag"] == "progress"
    assert (bar["attrs"]["value"], bar["attrs"]["max"]) == ("1", "2")
    approvals = find(html, data_testid="coordinator-approvals")
    assert "Gated" in approvals["text"]
    assert "conflict" in find(html, data_testid="coordinator-conflicts")["text"].lower()
    assert find(html, data_testid="coordinator-sessions")


def test_trainer_sees_learners_behind_and_quick_actions(client, trainer, space, learner):
    c = build_course(trainer=trainer, space=space, learners=[learner])
    Enrolment.objects.filter(course=c.course).update(
        enrolled_at=timezone.now() - timedelta(days=30)
    )
    html = home(client, trainer)
    behind = find(html, data_testid="trainer-behind")
    assert learner.name in behind["text"]
    assert find(html, data_testid="trainer-actions")
    assert find(html, data_testid="moderation-queue")
    # Charts are not in the page: they load when scrolled into view.
    assert '<svg class="chart"' not in html
    assert find_all(html, data_lazy_chart=reverse("home-chart", args=["trainer-scores"]))
    # Work handed in waits in the grading queue: the card lists it with its grading page.
    from classrooms import services as classrooms_services
    from classrooms.models import ActivityKind

    module = c.course.modules.first()
    essay = classrooms_services.activity_create(
        user=trainer, module=module, title="Essay", kind=ActivityKind.ASSIGNMENT
    )
    submission = classrooms_services.submission_create(user=learner, activity=essay, text="Mine")
    card = find(home(client, trainer), data_testid="trainer-submissions")
    assert "Essay" in card["text"] and learner.name in card["text"]
    assert reverse("grading-submission", args=[submission.pk]) in home(client, trainer)


def test_manager_sees_team_progress_overdue_and_the_board(client, manager, trainer, space, learner):
    c = build_course(trainer=trainer, space=space, learners=[learner])
    Enrolment.objects.filter(course=c.course).update(
        enrolled_at=timezone.now() - timedelta(days=45)
    )
    html = home(client, manager)
    assert learner.name in find(html, data_testid="manager-overdue")["text"]
    assert 'data-testid="overdue-due"' not in html
    # A learning path past its due date heads the card.
    from paths import services as paths_services

    path = paths_services.path_create(user=trainer, space=space, title="Onboarding path")
    paths_services.path_item_add(user=trainer, path=path, course=c.course)
    paths_services.path_assign(
        actor=trainer, path=path, users=[learner], due_at=timezone.now() - timedelta(days=1)
    )
    overdue = find(home(client, manager), data_testid="overdue-due")
    assert "Onboarding path" in overdue["text"] and learner.name in overdue["text"]
    rows = find_all(html, data_testid="team-row")
    assert {learner.name in r["text"] for r in rows} == {True, False}
    assert find(html, data_testid="manager-board")


def test_admin_sees_health_people_spaces_and_jobs(client, space):
    admin = UserFactory(roles=[Role.ADMIN], spaces=[space])
    html = home(client, admin)
    for testid in ("admin-health", "admin-people", "admin-spaces", "admin-jobs"):
        assert find(html, data_testid=testid)
    assert space.name in find(html, data_testid="admin-spaces")["text"]


def test_a_person_with_several_roles_sees_each_section(client, space):
    user = UserFactory(roles=[Role.LEARNER, Role.COORDINATOR], spaces=[space])
    html = home(client, user)
    assert find(html, data_testid="panel-learner") and find(html, data_testid="panel-coordinator")


def test_section_and_chart_endpoints_answer_only_for_roles_held(client, learner, trainer):
    client.force_login(learner)
    assert client.get(reverse("home-section", args=["learner"])).status_code == 200
    assert client.get(reverse("home-section", args=["coordinator"])).status_code == 404
    assert client.get(reverse("home-chart", args=["trainer-scores"])).status_code == 404
    assert client.get(reverse("home-chart", args=["nothing"])).status_code == 404
    assert client.post(reverse("home-section", args=["learner"])).status_code == 405
    client.force_login(trainer)
    for name in ("trainer-completions", "trainer-scores"):
        response = client.get(reverse("home-chart", args=[name]))
        assert response.status_code == 200


def test_charts_name_both_axes_and_stay_readable_on_phones(
    client, manager, trainer, space, learner
):
    c = build_course(trainer=trainer, space=space, learners=[learner])
    Enrolment.objects.filter(course=c.course).update(completed_at=timezone.now(), progress=100)
    client.force_login(manager)
    svg = client.get(reverse("home-chart", args=["manager-completions"])).content.decode()
    assert "Day" in svg and "Completed" in svg
    assert 'viewBox="0 0 320 ' in svg and 'font-size="13"' in svg
    bars = client.get(reverse("home-chart", args=["manager-progress"])).content.decode()
    assert learner.name in bars and "Average progress (%)" in bars


def test_home_without_a_space_still_renders(client, db):
    user = UserFactory(roles=[Role.LEARNER], spaces=[])
    html = home(client, user)
    assert find(html, data_testid="panel-learner")


def test_manager_overdue_card_has_courses_and_activities(client, manager, trainer, space, learner):
    """Past a course's or an activity's due date (paths/due.py): beside paths, by kind."""
    from classrooms import services as classrooms_services

    c = build_course(trainer=trainer, space=space, learners=[learner])
    enrolment = Enrolment.objects.get(course=c.course, user=learner)
    classrooms_services.enrolment_due_set(
        actor=manager, enrolment=enrolment, due_at=timezone.now() - timedelta(days=2)
    )
    activity = c.course.activities.first()
    classrooms_services.activity_due_set(
        actor=trainer, activity=activity, due_date=timezone.now() - timedelta(days=1)
    )
    overdue = find(home(client, manager), data_testid="overdue-due")
    assert c.course.title in overdue["text"] and activity.title in overdue["text"]
    html = home(client, manager)
    assert find(html, data_testid="overdue-enrolment") and find(
        html, data_testid="overdue-activity"
    )
    # The learner's own home lists them as overdue too.
    assert len(find_all(home(client, learner), data_testid="course-due")) == 2
