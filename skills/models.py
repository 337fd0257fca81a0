"""Skills: a framework per space (groups, skills, named levels), skills linked to what proves
them (courses, activities, sessions, badges), each person's evidence and assessments, and the
levels a team or a role is expected to reach (data only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Role, Space

MAX_LEVELS = 10


class Framework(models.Model):
    """One per space: its skills and the default scale of levels."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, related_name="skill_framework")
    name = models.CharField(_("name"), max_length=120, default="Skills")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class SkillGroup(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "name"], name="skill_group_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="skills")
    group = models.ForeignKey(SkillGroup, on_delete=models.PROTECT, related_name="skills")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)  # plain text
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["group__position", "group__name", "position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "name"], name="skill_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class Level(models.Model):
    """A named rung of a scale: the framework's (``skill`` empty) or one skill's own, which
    then replaces the framework's for that skill. Ranks run 1..n; 0 means "none"."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="levels")
    skill = models.ForeignKey(
        Skill, on_delete=models.CASCADE, null=True, blank=True, related_name="own_levels"
    )
    rank = models.PositiveSmallIntegerField()
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "rank"],
                condition=Q(skill__isnull=True),
                name="framework_level_rank_once",
            ),
            models.UniqueConstraint(
                fields=["skill", "rank"],
                condition=Q(skill__isnull=False),
                name="skill_level_rank_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rank} {self.name}"


class SkillLink(models.Model):
    """Completing this course or activity, attending this session or earning this badge
    evidences ``skill`` at ``level`` (one target per link)."""

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="links")
    level = models.PositiveSmallIntegerField()
    course = models.ForeignKey(
        "classrooms.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    activity = models.ForeignKey(
        "classrooms.Activity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    session = models.ForeignKey(
        "training_sessions.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    badge = models.ForeignKey(
        "leaderboards.BadgeDefinition",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(course__isnull=False, activity__isnull=True, session__isnull=True)
                    & Q(badge__isnull=True)
                )
                | (
                    Q(course__isnull=True, activity__isnull=False, session__isnull=True)
                    & Q(badge__isnull=True)
                )
                | (
                    Q(course__isnull=True, activity__isnull=True, session__isnull=False)
                    & Q(badge__isnull=True)
                )
                | (
                    Q(course__isnull=True, activity__isnull=True, session__isnull=True)
                    & Q(badge__isnull=False)
                ),
                name="skill_link_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill_id} at {self.level}"


class Evidence(models.Model):
    """What raised a person's evidenced level, and when. Kept when the link goes (its label
    is a snapshot), never updated."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_evidence"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="evidence")
    link = models.ForeignKey(
        SkillLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="evidence"
    )
    level = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20)  # course, activity, session, badge
    label = models.CharField(max_length=250)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "link"], name="evidence_once_per_link")
        ]
        indexes = [models.Index(fields=["user", "skill"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id} at {self.level}"


class PersonSkill(models.Model):
    """A person's current levels in one skill (0 / empty: none), kept in step with the
    evidence and the assessments so that a matrix reads one row per cell."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_levels"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="person_levels")
    evidenced = models.PositiveSmallIntegerField(default=0)
    evidenced_at = models.DateTimeField(null=True, blank=True)
    self_level = models.PositiveSmallIntegerField(null=True, blank=True)
    manager_level = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="person_skill_once")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id}"


class AssessmentKind(models.TextChoices):
    SELF = "self", _("Self assessment")
    MANAGER = "manager", _("Manager assessment")


class Assessment(models.Model):
    """One assessment, kept: the latest of each kind is the person's current one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_assessments"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="assessments")
    kind = models.CharField(max_length=10, choices=AssessmentKind.choices)
    level = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=1000, blank=True)  # plain text
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "skill"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id}: {self.skill_id} at {self.level}"


class Target(models.Model):
    """The level a team's members (set by its manager) or everyone with a role is expected
    to reach in a skill. A person's target is the highest that applies to them."""

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="targets")
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    level = models.PositiveSmallIntegerField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(team__isnull=False) & Q(role=""))
                | (Q(team__isnull=True) & ~Q(role="")),
                name="skill_target_team_xor_role",
            ),
            models.UniqueConstraint(
                fields=["skill", "team"], condition=Q(team__isnull=False), name="team_target_once"
            ),
            models.UniqueConstraint(
                fields=["skill", "role"], condition=~Q(role=""), name="role_target_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill_id} ≥ {self.level}"
