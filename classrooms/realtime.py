"""``classrooms.course.<id>.progress``: each learner's progress in a course, live.

Subscribers: the course's trainers (and editors), and managers of enrolled reports.
Durable: every ``progress.updated`` carries the completion's id.
"""

from __future__ import annotations

from typing import Any

from classrooms.models import Course
from classrooms.selectors import can_watch_progress, progress_after, progress_event_payload
from hub import realtime


@realtime.topic("classrooms.course.progress")
class CourseProgressTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        if not key.isdigit():
            return False
        course = Course.objects.filter(pk=int(key)).first()
        return course is not None and can_watch_progress(user=user, course=course)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        from classrooms.models import Enrolment

        completions = list(progress_after(course_id=int(key), after_id=since, limit=limit))
        enrolments = {
            e.user_id: e
            for e in Enrolment.objects.filter(
                course_id=int(key), user_id__in={c.user_id for c in completions}
            )
        }
        events = []
        for c in completions:
            enrolment = enrolments.get(c.user_id)
            if enrolment is None:  # unenrolled since
                continue
            events.append(
                realtime.Event(
                    "progress.updated",
                    progress_event_payload(completion=c, enrolment=enrolment, user=c.user),
                    id=c.pk,
                )
            )
        return events
