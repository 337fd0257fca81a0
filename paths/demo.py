"""Demo: a "New starter" path (workplace safety, then consultative selling; due 30 days after
assignment) given to the manager's team, and a fire warden refresher Leo is late with."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from classrooms.models import Course
from hub.accounts.models import Space, Team, User
from paths import services
from paths.models import Path


def seed(*, users: dict[str, User], space: Space) -> None:
    if Path.objects.filter(space=space, title="New starter").exists():
        return
    coordinator = users["coordinator"]
    safety = Course.objects.filter(space=space, title="Workplace safety").first()
    sales = Course.objects.filter(space=space, title="Consultative selling").first()
    if safety is None or sales is None:
        return
    starter = services.path_create(
        user=coordinator,
        space=space,
        title="New starter",
        description="Your first month: **safety first**, then how we sell.",
        due_days=30,
    )
    for course in (safety, sales):
        services.path_item_add(user=coordinator, path=starter, course=course)
    team = Team.objects.filter(space=space, manager=users["manager"]).first()
    if team is not None:
        services.path_assign(actor=coordinator, path=starter, team=team)
    refresher = services.path_create(
        user=coordinator, space=space, title="Fire warden refresher", ordered=False
    )
    services.path_item_add(user=coordinator, path=refresher, course=safety)
    services.path_assign(
        actor=coordinator,
        path=refresher,
        users=[users["learner"]],
        due_at=timezone.now() - timedelta(days=2),
    )
