"""Domain events of classrooms that owe a score to a platform (grade passback).

Each handler runs in the request that completed something: it only looks whether the
person came through LTI at all (one indexed query) and enqueues a job; the job finds the
links and calls the platform.
"""

from __future__ import annotations

from typing import Any

from lti.models import LtiIdentity, TargetKind


def _came_through_lti(user: Any) -> bool:
    return LtiIdentity.objects.filter(user_id=user.pk).exists()


def _enqueue(user: Any, kind: str, ident: int, score: float | None, completed: bool) -> None:
    from lti.tasks import lti_outcome_job

    lti_outcome_job.enqueue(user.pk, kind, ident, score, completed)


def on_activity_completed(*, user: Any, activity: Any, **_: Any) -> None:
    if _came_through_lti(user) and activity.kind != "quiz":  # a quiz sends its score
        _enqueue(user, TargetKind.ACTIVITY, activity.pk, None, True)


def on_quiz_submitted(*, user: Any, activity: Any, attempt: Any, **_: Any) -> None:
    if _came_through_lti(user):
        _enqueue(user, TargetKind.ACTIVITY, activity.pk, float(attempt.score), bool(attempt.passed))


def on_course_completed(*, user: Any, course: Any, **_: Any) -> None:
    if _came_through_lti(user):
        _enqueue(user, TargetKind.COURSE, course.pk, None, True)


def forget_frame_origins(*, instance: Any, **_: Any) -> None:
    """A platform was saved or deleted: the cached framing origins of its space are stale."""
    from lti.framing import forget_origins

    forget_origins(space_id=instance.space_id, platform_id=instance.pk)
