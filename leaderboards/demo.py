"""Demo data: badges of the space, points for what the demo learners already did, a manual
badge, one finished quiz duel (so ratings, a duel win and the Duellist badge show), and so
a live board for the wall screen. Idempotent (the ledger pays once per source; badges are
looked up by name; the duel is played once)."""

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
    if learner is not None and users.get("learner2") is not None:
        _finished_duel(learner, users["learner2"], space)


def _finished_duel(learner: Any, learner2: Any, space: Any) -> None:
    """One asynchronous duel played to its end through the services: the learner wins."""
    from django.db.models import Q

    from classrooms.models import Question
    from leaderboards import duel_selectors, duel_services
    from leaderboards.models import Duel, DuelStatus

    if Duel.objects.filter(
        Q(challenger=learner, opponent=learner2) | Q(challenger=learner2, opponent=learner),
        course__space=space,
        status=DuelStatus.FINISHED,
    ).exists():
        return
    courses = [
        c
        for c in duel_selectors.duel_courses(user=learner)
        if c.space_id == space.pk and duel_selectors.can_duel_in(user=learner2, course=c)
    ]
    if not courses:
        return
    duel = duel_services.duel_challenge(challenger=learner, opponent=learner2, course=courses[0])
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    if duel.mode != "async":  # somebody is online right now: leave it to them
        return
    for player, right_every in ((learner, 1), (learner2, 2)):
        for index in range(duel.question_count):
            duel = duel_services.duel_ready(user=player, duel=duel)
            question = Question.objects.prefetch_related("choices").get(pk=duel.question_ids[index])
            good = index % right_every == 0
            duel_services.duel_answer(
                user=player, duel=duel, index=index, answer=_an_answer(question, good)
            )


def _an_answer(question: Any, right: bool) -> Any:
    if question.kind == "numeric":
        return (question.numeric_answer or 0) + (0 if right else 1000)
    choices = list(question.choices.all())
    if right:
        return sorted(c.pk for c in choices if c.is_correct)
    return [next((c.pk for c in choices if not c.is_correct), choices[0].pk)]
