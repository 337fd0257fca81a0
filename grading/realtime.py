"""``grading.course.<id>``: a course's grading, for its editors (trainers, coordinators of its
space, admins). Ephemeral events: ``queue.count`` (``{"course", "pending"}``: submissions
waiting for a grade) and ``grade.saved`` (``{"course", "user", "activity", "percent",
"passed"}``: the gradebook's cell). A learner hears of their own grade as a notification on
``hub.user.<id>``; nobody else's ever reaches them.
"""

from __future__ import annotations

from typing import Any

from classrooms.models import Course
from classrooms.selectors import can_edit_course
from hub import realtime
from hub.params import parse_id


@realtime.topic("grading.course")
class CourseGradingTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        course_id = parse_id(key)
        if course_id is None:
            return False
        course = Course.objects.filter(pk=course_id).first()
        return course is not None and can_edit_course(user=user, course=course)
