"""Demo: the sales course's "Your pitch" assignment is graded with a rubric (passed when
graded, one resubmission after a grade that does not pass); Lina has handed hers in."""

from __future__ import annotations

from classrooms import services as classrooms_services
from classrooms.models import Activity, ActivityKind, CompletionRule, Submission
from grading import services
from grading.models import Rubric
from hub.accounts.models import Space, User


def seed(*, users: dict[str, User], space: Space) -> None:
    pitch = Activity.objects.filter(
        course__space=space, kind=ActivityKind.ASSIGNMENT, title="Your pitch"
    ).first()
    if pitch is None or Rubric.objects.filter(activity=pitch).exists():
        return
    trainer = users["trainer"]
    if pitch.completion_rule != CompletionRule.GRADED:
        pitch = classrooms_services.activity_update(
            user=trainer, activity=pitch, completion_rule=CompletionRule.GRADED
        )
    services.rubric_save(
        user=trainer,
        activity=pitch,
        criteria=[
            {"title": "Opening", "max_points": 10, "description": "Catches the buyer's *need*."},
            {"title": "Clarity", "max_points": 10, "description": "Short sentences, no jargon."},
        ],
        pass_mark=60,
        max_submissions=2,
    )
    if not Submission.objects.filter(user=users["learner2"], activity=pitch).exists():
        classrooms_services.submission_create(
            user=users["learner2"],
            activity=pitch,
            text="Hello, I noticed your team spends hours on reports...",
        )
