"""Demo data: a space, the six demo users (password ``lyceum``), a team, an announcement.

Safe to run again: what exists is left as it is.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from hub.accounts.models import Role, Space, Team, User
from hub.accounts.services import roles_set, space_add_member, team_create, user_create
from hub.announcements.models import Announcement
from hub.announcements.services import announcement_post

DEMO_PASSWORD = "lyceum"
DEMO_USERS = [
    ("admin", "Ada Admin", [Role.ADMIN]),
    ("coordinator", "Colette Coordinator", [Role.COORDINATOR]),
    ("trainer", "Theo Trainer", [Role.TRAINER]),
    ("manager", "Maya Manager", [Role.MANAGER]),
    ("learner", "Leo Learner", [Role.LEARNER]),
    ("learner2", "Lina Learner", [Role.LEARNER]),
]


class Command(BaseCommand):
    help = "Create the demo space, users and data (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        space, _ = Space.objects.get_or_create(
            slug="demo",
            defaults={"name": "Lyceum Demo", "brand_color": "#1f5f8b", "is_default": True},
        )
        Space.objects.get_or_create(
            slug="partners", defaults={"name": "Partner Academy", "brand_color": "#7a3e9d"}
        )
        users: dict[str, User] = {}
        for username, name, roles in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username,
                    password=DEMO_PASSWORD,
                    email=f"{username}@example.com",
                    display_name=name,
                    roles=roles,
                    is_staff=username == "admin",
                )
                if username == "admin":
                    user.is_superuser = True
                    user.save(update_fields=["is_superuser"])
            elif not user.role_grants.exists():
                roles_set(user=user, roles=roles)
            space_add_member(space=space, user=user)
            users[username] = user
        partners = Space.objects.get(slug="partners")
        for username in ("admin", "coordinator", "trainer"):
            space_add_member(space=partners, user=users[username])
        if not Team.objects.filter(manager=users["manager"]).exists():
            team_create(
                name="Sales team",
                space=space,
                manager=users["manager"],
                members=[users["learner"], users["learner2"]],
            )
        if not Announcement.objects.exists():
            announcement_post(
                author=users["coordinator"],
                space=space,
                title="Welcome to Lyceum",
                body="Your courses, live classes and sessions live here. **Have a good start!**",
            )
        # Each feature app may add its own demo data: ``<app>/demo.py`` with
        # ``seed(*, users: dict[str, User], space: Space) -> None`` (idempotent).
        for app in settings.LYCEUM_FEATURE_APPS:
            try:
                demo = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            demo.seed(users=users, space=space)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
