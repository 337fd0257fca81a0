"""Demo data: badges of the space, points for what the demo learners already did, a manual
badge. Idempotent (the ledger pays once per source; badges are looked up by name)."""

from __future__ import annotations

from typing import Any

from leaderboards import services
from leaderboards.models import BadgeCriterion, BadgeDefinition, Reason

BADGES = [
    ("First steps", "Earned your first points.", BadgeCriterion.POINTS, 10, ""),
    ("Quiz whiz", "Passed three quizzes.", BadgeCriterion.EVENTS, 3, Reason.QUIZ_PASSED),
    ("Finisher", "Completed a course.", BadgeCriterion.COURSE, 1, ""),
    ("Three-day streak", "Active three days in a row.", BadgeCriterion.STREAK, 3, ""),
    ("Duellist", "Won a quiz duel.", BadgeCriterion.DUEL_WINS, 1, ""),
    ("Helping hand", "Helped the group (awarded by a trainer).", BadgeCriterion.MANUAL, 1, ""),
]


def seed(*, users: dict[str, Any], space: Any) -> None:
    from classrooms.models import Completion, Enrolment, EnrolmentStatus

    badges = {}
    for name, description, criterion, threshold, reason in BADGES:
        badges[name], _ = BadgeDefinition.objects.get_or_create(
            space=space,
            name=name,
            defaults={
                "description": description,
                "criterion": criterion,
                "threshold": threshold,
                "reason": reason,
            },
        )
    completions = Completion.objects.filter(course__space=space).select_related(
        "user", "activity__course__space"
    )
    for completion in completions.order_by("id"):
        services.on_activity_completed(user=completion.user, activity=completion.activity)
    done = Enrolment.objects.filter(
        course__space=space, status=EnrolmentStatus.COMPLETED
    ).select_related("user", "course__space")
    for enrolment in done:
        services.on_course_completed(user=enrolment.user, course=enrolment.course)
    trainer, learner = users.get("trainer"), users.get("learner")
    if trainer is not None and learner is not None:
        services.badge_award_manual(
            actor=trainer, user=learner, badge=badges["Helping hand"], evidence="Demo"
        )
