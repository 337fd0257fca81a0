"""Learning paths: ordered or free sets of courses and activities (sessions, live classes,
anything of a course), prerequisites between them, assignments with due dates (data only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space


class Path(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="paths")
    title = models.CharField(_("title"), max_length=200)
    description_html = models.TextField(blank=True)  # hub/sanitize.py
    # Ordered: each item unlocks once the one before it is done. Free: any order, except
    # for the items' own prerequisites.
    ordered = models.BooleanField(_("in order"), default=True)
    # Due: a fixed date, or a number of days after the assignment (one or none).
    due_date = models.DateTimeField(_("due on"), null=True, blank=True)
    due_days = models.PositiveSmallIntegerField(_("due after (days)"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class PathItem(models.Model):
    """A course, or one activity of a course (a session, a live class, ...)."""

    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="items")
    course = models.ForeignKey(
        "classrooms.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    activity = models.ForeignKey(
        "classrooms.Activity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    required = models.BooleanField(default=True)
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(course__isnull=False, activity__isnull=True)
                    | models.Q(course__isnull=True, activity__isnull=False)
                ),
                name="path_item_course_xor_activity",
            ),
            models.UniqueConstraint(
                fields=["path", "course"],
                condition=models.Q(course__isnull=False),
                name="path_item_course_once",
            ),
            models.UniqueConstraint(
                fields=["path", "activity"],
                condition=models.Q(activity__isnull=False),
                name="path_item_activity_once",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.position} of {self.path_id}"


class Audience(models.TextChoices):
    PERSON = "person", _("Person")
    TEAM = "team", _("Team")
    SPACE = "space", _("Space")


class CycleReason(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    RECERTIFICATION = "recertification", _("Recertification")
    REASSIGNED = "reassigned", _("Assigned again")


class PathAssignment(models.Model):
    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="path_assignments"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assigned_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # The current cycle (1, 2, ...): a recertification window or an admin's "assign again"
    # starts a new one; the ones before are kept as ``PathCycle`` rows. ``cycle_started_at``
    # null: the first cycle of an ordinary assignment, which counts what was done before it
    # too; set: only what was done (or done again) since that moment counts.
    cycle = models.PositiveIntegerField(default=1)
    cycle_started_at = models.DateTimeField(null=True, blank=True)
    cycle_reason = models.CharField(
        max_length=20, choices=CycleReason.choices, default=CycleReason.ASSIGNED
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "user"], name="one_assignment_per_path")
        ]
        indexes = [models.Index(fields=["due_at", "completed_at"])]

    def __str__(self) -> str:
        return f"{self.path_id} for {self.user_id}"


class PathCycle(models.Model):
    """A past cycle of an assignment, as it stood when the next one began (written once,
    never updated): the history an auditor reads. The current cycle lives on the
    assignment itself."""

    assignment = models.ForeignKey(PathAssignment, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=CycleReason.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["assignment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "number"], name="one_row_per_cycle")
        ]

    def __str__(self) -> str:
        return f"cycle {self.number} of {self.assignment_id}"
