"""Learning paths: items and prerequisites (circular ones refused), assignment to a person,
a team or the space (all or nothing), unlocks and progress from completions (live), due
dates with reminders and overdue notices over weeks, the manager's overdue list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from notifications.models import Notification

from classrooms import services as classrooms_services
from classrooms.models import ActivityKind, Enrolment
from hub.accounts.models import Role
from paths import selectors, services
from paths.models import PathAssignment
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def course(trainer, space, title, lessons=1):
    c = classrooms_services.course_create(author=trainer, space=space, title=title, published=True)
    m = classrooms_services.module_create(user=trainer, course=c, title="M")
    acts = [
        classrooms_services.activity_create(
            user=trainer, module=m, title=f"{title} {i}", kind=ActivityKind.LESSON
        )
        for i in range(lessons)
    ]
    return c, acts


@pytest.fixture
def p(trainer, space):
    a, a_acts = course(trainer, space, "Basics")
    b, b_acts = course(trainer, space, "Advanced")
    c, c_acts = course(trainer, space, "Expert")
    path = services.path_create(
        user=trainer, space=space, title="Safety <script>x</script>", due_days=30
    )
    items = [services.path_item_add(user=trainer, path=path, course=x) for x in (a, b, c)]
    from types import SimpleNamespace

    return SimpleNamespace(path=path, items=items, courses=(a, b, c), acts=(a_acts, b_acts, c_acts))


def complete(user, acts):
    for a in acts:
        classrooms_services.activity_complete(user=user, activity=a, source="viewed")


def test_create_is_sanitised_and_checked(p, learner, space, trainer):
    assert "<script" not in p.path.title
    with pytest.raises(PermissionDenied):
        services.path_create(user=learner, space=space, title="Mine")
    with pytest.raises(ValidationError):
        services.path_create(
            user=trainer, space=space, title="x", due_days=3, due_date=timezone.now()
        )
    # The same course twice, a course of another space: refused.
    with pytest.raises(ValidationError):
        services.path_item_add(user=trainer, path=p.path, course=p.courses[0])
    elsewhere = SpaceFactory()
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[elsewhere])
    other, _ = course(other_trainer, elsewhere, "Other")
    with pytest.raises(ValidationError):
        services.path_item_add(user=trainer, path=p.path, course=other)
    assert len(selectors.items_of(p.path)) == 3


def test_circular_prerequisites_are_refused(trainer, space):
    a, _ = course(trainer, space, "A")
    b, _ = course(trainer, space, "B")
    c, _ = course(trainer, space, "C")
    free = services.path_create(user=trainer, space=space, title="Free", ordered=False)
    ia, ib, ic = (services.path_item_add(user=trainer, path=free, course=x) for x in (a, b, c))
    services.path_item_prerequisites_set(user=trainer, item=ib, prerequisites=[ia.pk])
    services.path_item_prerequisites_set(user=trainer, item=ic, prerequisites=[ib.pk])
    with pytest.raises(ValidationError) as err:
        services.path_item_prerequisites_set(user=trainer, item=ia, prerequisites=[ic.pk])
    assert "circle" in str(err.value)
    with pytest.raises(ValidationError):
        services.path_item_prerequisites_set(user=trainer, item=ia, prerequisites=[ia.pk])
    assert list(ia.prerequisites.all()) == []
    # In an ordered path, requiring a later item is a circle too.
    ordered = services.path_create(user=trainer, space=space, title="Ordered")
    first, _second, third = (
        services.path_item_add(user=trainer, path=ordered, course=x) for x in (a, b, c)
    )
    with pytest.raises(ValidationError):
        services.path_item_prerequisites_set(user=trainer, item=first, prerequisites=[third.pk])


def test_assign_person_unlocks_and_progress_live(p, trainer, learner, commit, published):
    (assignment,) = services.path_assign(actor=trainer, path=p.path, users=[learner])
    commit()
    assert Enrolment.objects.filter(user=learner, course__in=p.courses).count() == 3
    due = assignment.due_at - assignment.assigned_at
    assert due == timedelta(days=30)
    items = selectors.items_of(p.path)
    states = selectors.item_states(path=p.path, items=items, done=set())
    assert [s["unlocked"] for s in states] == [True, False, False]
    complete(learner, p.acts[0])
    commit()
    assignment.refresh_from_db()
    assert assignment.progress == 33
    events = [e for e in published(f"hub.user.{learner.pk}") if e.type == "paths.progress"]
    assert events[-1].data["progress"] == 33
    done = selectors.done_item_ids(user_id=learner.pk, items=items)
    states = selectors.item_states(path=p.path, items=items, done=done)
    assert [s["unlocked"] for s in states] == [True, True, False]
    complete(learner, p.acts[1] + p.acts[2])
    commit()
    assignment.refresh_from_db()
    assert assignment.progress == 100 and assignment.completed_at is not None
    # Assigning again changes nothing.
    assert services.path_assign(actor=trainer, path=p.path, users=[learner]) == []


def test_team_and_space_and_all_or_nothing(p, trainer, manager, learner, learner2, space):
    from hub.accounts.models import Team

    team = Team.objects.get(manager=manager)
    created = services.path_assign(actor=manager, path=p.path, team=team)
    assert {a.user_id for a in created} == {learner.pk, learner2.pk}
    # A manager assigns only their reports, never the whole space.
    stranger = UserFactory(roles=[Role.LEARNER], spaces=[space])
    with pytest.raises(PermissionDenied):
        services.path_assign(actor=manager, path=p.path, users=[stranger])
    with pytest.raises(PermissionDenied):
        services.path_assign(actor=manager, path=p.path, space=True)
    # One person outside the space: nobody is assigned.
    outsider = UserFactory(roles=[Role.LEARNER], spaces=[SpaceFactory()])
    with pytest.raises(ValidationError):
        services.path_assign(actor=trainer, path=p.path, users=[stranger, outsider])
    assert not PathAssignment.objects.filter(user=stranger).exists()
    created = services.path_assign(actor=trainer, path=p.path, space=True)
    assert stranger.pk in {a.user_id for a in created}
    assert learner.pk not in {a.user_id for a in created}  # already assigned


def test_due_reminders_and_overdue_over_weeks(p, trainer, manager, learner, commit):
    t0 = timezone.now()
    services.path_assign(actor=trainer, path=p.path, users=[learner])
    assert services.sweep(now=t0 + timedelta(days=10)) == {"reminded": 0, "overdue": 0}
    assert services.sweep(now=t0 + timedelta(days=24)) == {"reminded": 1, "overdue": 0}
    assert services.sweep(now=t0 + timedelta(days=25)) == {"reminded": 0, "overdue": 0}
    assert services.sweep(now=t0 + timedelta(days=31)) == {"reminded": 0, "overdue": 1}
    assert services.sweep(now=t0 + timedelta(days=60)) == {"reminded": 0, "overdue": 0}
    assert Notification.objects.filter(recipient=learner, verb__contains="due on").count() == 1
    assert Notification.objects.filter(recipient=manager, verb__contains="overdue").count() == 1
    # Overdue for the manager (the due date has passed in real time too: make it so).
    PathAssignment.objects.update(due_at=timezone.now() - timedelta(days=1))
    assert [a.user_id for a in selectors.team_assignments(manager=manager, overdue_only=True)] == [
        learner.pk
    ]
    # A completed path is neither reminded nor overdue.
    complete(learner, p.acts[0] + p.acts[1] + p.acts[2])
    commit()
    assert not selectors.team_assignments(manager=manager, overdue_only=True).exists()


def test_api_and_permissions(api_client_for, p, trainer, learner, learner2, manager, outsider):
    services.path_assign(actor=trainer, path=p.path, users=[learner])
    mine = api_client_for(learner).get("/api/v1/paths/mine/").json()
    assert [m["path"] for m in mine] == [p.path.pk]
    assert api_client_for(learner2).get(f"/api/v1/paths/{p.path.pk}/").status_code == 404
    assert api_client_for(outsider).get(f"/api/v1/paths/{p.path.pk}/").status_code == 404
    detail = api_client_for(learner).get(f"/api/v1/paths/{p.path.pk}/").json()
    assert [i["unlocked"] for i in detail["items"]] == [True, False, False]
    # Circular prerequisites through REST: a clear 400, nothing changes.
    a, _b, c = p.items
    r = api_client_for(trainer).put(
        f"/api/v1/paths/items/{a.pk}/prerequisites/", {"prerequisites": [c.pk]}, format="json"
    )
    assert r.status_code == 400 and "circle" in r.json()["error"]["message"] + str(
        r.json()["error"].get("details", "")
    )
    r = api_client_for(learner).post(
        f"/api/v1/paths/{p.path.pk}/assign/", {"users": [learner2.pk]}, format="json"
    )
    assert r.status_code == 403
    r = api_client_for(manager).post(
        f"/api/v1/paths/{p.path.pk}/assign/", {"users": [learner2.pk]}, format="json"
    )
    assert r.status_code == 201
    overdue = api_client_for(manager).get("/api/v1/paths/team/overdue/")
    assert overdue.status_code == 200 and overdue.json() == []


def test_pages(client, p, trainer, learner, manager):
    services.path_assign(actor=trainer, path=p.path, users=[learner])
    client.force_login(learner)
    page = client.get("/paths/")
    assert page.status_code == 200 and "Basics" in page.content.decode()
    assert client.get("/paths/team/").status_code == 403
    client.force_login(trainer)
    assert client.get(f"/paths/{p.path.pk}/").status_code == 200
    assert client.get("/paths/new/").status_code == 200
    r = client.post(
        "/paths/new/", {"title": "Onboarding", "space": p.path.space_id, "ordered": "on"}
    )
    assert r.status_code == 302
    client.force_login(manager)
    assert client.get("/paths/team/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_team_topic_is_the_managers(communicator_for, space):
    from asgiref.sync import sync_to_async

    from hub.accounts.models import Team
    from tests.factories import TeamFactory

    boss = await sync_to_async(UserFactory)(roles=[Role.MANAGER], spaces=[space])
    pupil = await sync_to_async(UserFactory)(roles=[Role.LEARNER], spaces=[space])
    teacher = await sync_to_async(UserFactory)(roles=[Role.TRAINER], spaces=[space])
    team = await sync_to_async(TeamFactory)(space=space, manager=boss, members=[pupil])
    c, acts = await sync_to_async(course)(teacher, space, "Live")
    path = await sync_to_async(services.path_create)(user=teacher, space=space, title="P")
    await sync_to_async(services.path_item_add)(user=teacher, path=path, course=c)
    await sync_to_async(services.path_assign)(actor=teacher, path=path, users=[pupil])
    ws = await communicator_for(pupil)
    assert (await ws.call("sub", topic=f"paths.team.{team.pk}"))["code"] == "forbidden"
    ws = await communicator_for(boss)
    assert (await ws.call("sub", topic=f"paths.team.{team.pk}"))["op"] == "ok"
    await sync_to_async(complete)(pupil, acts)
    event = await ws.next_event(type="path.progress")
    assert event["data"]["progress"] == 100 and event["data"]["completed"] is True
    assert await sync_to_async(Team.objects.count)() == 1
