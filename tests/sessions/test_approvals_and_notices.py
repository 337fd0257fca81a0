"""Who is asked to approve a registration, and what a learner is told when their manager
(not the organiser) cancels their seat."""

from __future__ import annotations

import pytest

from hub.accounts.models import Role
from hub.notify import notifications_for
from sessions import services
from sessions.models import NoticeSent, Registration
from tests.factories import UserFactory
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def verbs(user) -> list[str]:
    return [n.verb for n in notifications_for(user=user)]


def asked(user) -> list[str]:
    return [v for v in verbs(user) if v.startswith("Approval requested")]


def test_manager_approval_asks_the_learners_manager_only(
    coordinator, space, learner, manager, commit
):
    session = make_session(coordinator, space, approval="manager", title="Forklift")
    registration = services.registration_register(actor=learner, session=session)
    commit()
    assert registration.status == "pending"
    assert asked(manager) == ["Approval requested: Forklift"]
    assert asked(coordinator) == []
    [notice] = [n for n in notifications_for(user=manager) if n.verb.startswith("Approval")]
    assert notice.data["url"] == f"/sessions/{session.pk}/"


def test_manager_approval_without_a_manager_asks_the_coordinators(
    coordinator, space, manager, crowd, commit
):
    other_space_coordinator = UserFactory(username="elsewhere", roles=[Role.COORDINATOR])
    session = make_session(coordinator, space, approval="manager", title="Forklift")
    services.registration_register(actor=crowd[0], session=session)  # nobody manages crowd0
    commit()
    assert asked(coordinator) == ["Approval requested: Forklift"]
    assert asked(manager) == [] and asked(other_space_coordinator) == []


def test_coordinator_approval_asks_the_coordinators_not_the_manager(
    coordinator, space, learner, manager, commit
):
    session = make_session(coordinator, space, approval="coordinator", title="Forklift")
    services.registration_register(actor=learner, session=session)
    commit()
    assert asked(coordinator) == ["Approval requested: Forklift"]
    assert asked(manager) == []


def test_nobody_is_asked_when_the_approver_registers(coordinator, space, learner, manager, commit):
    session = make_session(coordinator, space, approval="manager")
    registration = services.registration_register(actor=manager, session=session, user=learner)
    commit()
    assert registration.status == "confirmed"
    assert asked(manager) == [] and asked(coordinator) == []


def test_a_manager_cancelling_a_reports_seat_is_named_not_the_organiser(
    training, learner, manager, run_tasks
):
    manager.display_name = "Morgan Lee"
    manager.save(update_fields=["display_name"])
    registration = services.registration_register(actor=learner, session=training)
    run_tasks()
    services.registration_cancel(actor=manager, registration=registration)
    run_tasks()
    run_tasks()  # a second run sends nothing more
    told = [v for v in verbs(learner) if "cancel" in v.lower()]
    assert told == ["Morgan Lee cancelled your registration: First aid"]
    [notice] = [n for n in notifications_for(user=learner) if n.verb == told[0]]
    assert notice.actor_object_id == str(manager.pk)
    assert list(NoticeSent.objects.filter(registration=registration).values_list("kind")) == [
        ("confirmed",),
        ("manager_cancelled",),
    ]


def test_the_organiser_removing_a_seat_still_says_so(training, learner, coordinator, run_tasks):
    registration = services.registration_register(actor=learner, session=training)
    services.registration_remove(actor=coordinator, registration=registration)
    run_tasks()
    assert "Cancelled by the organiser: First aid" in verbs(learner)
    assert not any("cancelled your registration" in v for v in verbs(learner))


def test_manager_cancelled_notice_is_not_sent_for_a_live_registration(training, learner, manager):
    registration = services.registration_register(actor=learner, session=training)
    assert services.notice_send(registration_id=registration.pk, kind="manager_cancelled") is False
    assert Registration.objects.get(pk=registration.pk).status == "confirmed"
