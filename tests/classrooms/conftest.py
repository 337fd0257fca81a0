"""A course with two modules: a lesson, a media item, a quiz of four questions, an optional
lesson; ``trainer`` teaches it, ``learner`` and ``learner2`` are enrolled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from classrooms import services
from classrooms.models import ActivityKind, QuestionKind


def build_course(*, trainer, space, learners=(), title="Safety first"):
    course = services.course_create(
        author=trainer, space=space, title=title, summary="**Learn** safely", published=True
    )
    m1 = services.module_create(user=trainer, course=course, title="Basics")
    m2 = services.module_create(user=trainer, course=course, title="Check")
    lesson = services.activity_create(
        user=trainer, module=m1, title="Welcome", kind=ActivityKind.LESSON, body="Hello *all*"
    )
    media = services.activity_create(
        user=trainer,
        module=m1,
        title="Video",
        kind=ActivityKind.MEDIA,
        media_kind="video",
        media_url="https://example.com/v.mp4",
    )
    optional = services.activity_create(
        user=trainer, module=m1, title="Extra", kind=ActivityKind.LESSON, required=False
    )
    quiz = services.activity_create(
        user=trainer,
        module=m2,
        title="Quiz",
        kind=ActivityKind.QUIZ,
        pass_mark=75,
        attempt_limit=2,
    )
    q_single = services.question_create(
        user=trainer,
        course=course,
        kind=QuestionKind.SINGLE,
        text="Colour of a stop sign?",
        choices=[
            {"text": "Red", "is_correct": True, "feedback": "Yes"},
            {"text": "Blue", "feedback": "No, blue is for information"},
        ],
    )
    q_multi = services.question_create(
        user=trainer,
        course=course,
        kind=QuestionKind.MULTIPLE,
        text="Protective gear?",
        choices=[
            {"text": "Helmet", "is_correct": True},
            {"text": "Gloves", "is_correct": True},
            {"text": "Sandals"},
        ],
    )
    q_tf = services.question_create(
        user=trainer,
        course=course,
        kind=QuestionKind.TRUE_FALSE,
        text="Exits may be locked.",
        choices=[{"text": "True"}, {"text": "False", "is_correct": True}],
    )
    q_num = services.question_create(
        user=trainer,
        course=course,
        kind=QuestionKind.NUMERIC,
        text="Emergency number in Europe?",
        numeric_answer=112,
    )
    for learner in learners:
        services.enrolment_create(actor=trainer, user=learner, course=course)
    return SimpleNamespace(
        course=course,
        modules=[m1, m2],
        lesson=lesson,
        media=media,
        optional=optional,
        quiz=quiz,
        questions=[q_single, q_multi, q_tf, q_num],
    )


def right_answers(c) -> dict[str, object]:
    single, multi, tf, num = c.questions
    pick = lambda q: sorted(ch.pk for ch in q.choices.all() if ch.is_correct)  # noqa: E731
    return {
        str(single.pk): pick(single),
        str(multi.pk): pick(multi),
        str(tf.pk): pick(tf),
        str(num.pk): 112,
    }


@pytest.fixture
def c(trainer, space, learner, learner2, manager):
    return build_course(trainer=trainer, space=space, learners=[learner, learner2])
