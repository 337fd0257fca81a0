"""Rubrics, criteria and grades of assignments (data only).

An assignment is a ``classrooms.Activity`` of kind ``assignment``; what a learner hands in
is a ``classrooms.Submission`` (numbered: a resubmission is the next number). This app
grades them: classrooms never imports it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Resubmission(models.TextChoices):
    NEVER = "never", _("Never")
    IF_FAILED = "if_failed", _("After a grade that does not pass")


class Rubric(models.Model):
    activity = models.OneToOneField(
        "classrooms.Activity", on_delete=models.CASCADE, related_name="rubric"
    )
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=50, validators=[MaxValueValidator(100)]
    )
    resubmission = models.CharField(
        _("resubmission"),
        max_length=20,
        choices=Resubmission.choices,
        default=Resubmission.IF_FAILED,
    )
    max_submissions = models.PositiveSmallIntegerField(
        _("submissions allowed (0 = unlimited)"), default=3, validators=[MaxValueValidator(50)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rubric")
        verbose_name_plural = _("rubrics")

    def __str__(self) -> str:
        return f"rubric of {self.activity_id}"


class Criterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    title = models.CharField(_("title"), max_length=200)
    description_html = models.TextField(blank=True)  # hub/sanitize.py
    max_points = models.PositiveSmallIntegerField(
        _("points"), validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Grade(models.Model):
    """The grade of one submission. ``scores`` is a snapshot of the rubric as graded:
    ``[{"criterion": id, "title": str, "max": int, "points": int, "comment": str}]``, so a
    rubric edited later leaves past grades as they were."""

    submission = models.OneToOneField(
        "classrooms.Submission", on_delete=models.CASCADE, related_name="grade"
    )
    # Repeated from the submission: the gradebook reads a course's grades without joins.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(
        "classrooms.Activity", on_delete=models.CASCADE, related_name="grades"
    )
    grader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    points = models.PositiveIntegerField()
    max_points = models.PositiveIntegerField()
    percent = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    passed = models.BooleanField()
    scores = models.JSONField(default=list)
    feedback_html = models.TextField(blank=True)  # hub/sanitize.py
    graded_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["activity", "user"])]

    def __str__(self) -> str:
        return f"{self.percent} % for submission {self.submission_id}"
