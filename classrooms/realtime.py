"""``classrooms.course.<id>.progress``: each learner's progress in a course, live, for its editors;

and ``classrooms.team.<id>.progress``: the same events for one team's members, which is
what their manager follows (a course topic would show them every learner). Durable: every
``progress.updated`` carries the completion's id.
"""

from __future__ import annotations

from typing import Any

from classrooms.models import Course
from classrooms.selectors import (
    can_watch_course_topic,
    can_watch_team_topic,
    progress_after,
    progress_events,
    team_progress_after,
)
from hub import realtime


@realtime.topic("classrooms.course.progress")
class CourseProgressTopic(realtime.Topic):
    """Every learner of a course: the course's editors only."""

    def authorize(self, user: Any, key: str) -> bool:
        if not key.isdigit():
            return False
        course = Course.objects.filter(pk=int(key)).first()
        return course is not None and can_watch_course_topic(user=user, course=course)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return progress_events(
            list(progress_after(course_id=int(key), after_id=since, limit=limit))
        )


@realtime.topic("classrooms.team.progress")
class TeamProgressTopic(realtime.Topic):
    """``classrooms.team.<id>.progress``: a team's members, in every course, for its manager."""

    def authorize(self, user: Any, key: str) -> bool:
        return key.isdigit() and can_watch_team_topic(user=user, team_id=int(key))

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        rows = team_progress_after(team_id=int(key), after_id=since, limit=limit)
        return progress_events(list(rows))
