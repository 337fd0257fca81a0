"""Demo chat: a course channel, a group and a direct conversation, each with history."""

from __future__ import annotations

from django.apps import apps

from hub.accounts.models import Space, User
from messaging import services
from messaging.models import Conversation, Membership


def _history(conversation: Conversation, lines: list[tuple[User, str]]) -> None:
    if conversation.messages.exists():
        return
    previous = None
    for sender, body in lines:
        previous = services.message_send(
            sender=sender,
            conversation=conversation,
            body=body,
            reply_to=previous.id if previous and body.startswith("↪") else None,
        )


def _course_channel(users: dict[str, User], space: Space) -> Conversation:
    try:
        course_model = apps.get_model("classrooms", "Course")
    except LookupError:
        course_model = None
    course = course_model.objects.filter(space=space).first() if course_model else None
    if course is not None:
        for name in ("trainer", "learner", "learner2"):
            services.on_enrolled(user=users[name], course=course)
        return Conversation.objects.get(kind=Conversation.Kind.COURSE, course_id=course.pk)
    conversation, _ = Conversation.objects.get_or_create(
        kind=Conversation.Kind.COURSE,
        title="Onboarding course",
        course_id=None,
        defaults={"space": space},
    )
    for name, role in (("trainer", "admin"), ("learner", "member"), ("learner2", "member")):
        Membership.objects.get_or_create(
            conversation=conversation, user=users[name], defaults={"role": role}
        )
    return conversation


def seed(*, users: dict[str, User], space: Space) -> None:
    trainer, learner, learner2 = users["trainer"], users["learner"], users["learner2"]
    channel = _course_channel(users, space)
    _history(
        channel,
        [
            (trainer, "Welcome to the course channel! Ask anything here. **Be kind.**"),
            (learner, "Hi all, is the first live class recorded?"),
            (trainer, "↪ Yes, the recording appears under the activity the next day."),
            (learner2, "Thanks @trainer, see you on Monday."),
        ],
    )
    group = Conversation.objects.filter(kind=Conversation.Kind.GROUP, title="Study group").first()
    if group is None:
        group = services.conversation_group_create(
            creator=learner, title="Study group", members=[learner2, trainer]
        )
    _history(
        group,
        [
            (learner, "Shall we revise chapter 2 together on Thursday?"),
            (learner2, "↪ Works for me, 5 pm?"),
            (trainer, "I can join for the last 15 minutes to answer questions."),
        ],
    )
    direct = services.conversation_direct_open(user=learner, other=learner2)
    _history(
        direct,
        [
            (learner2, "Did you finish the quiz?"),
            (learner, "↪ Almost, question 4 is tricky: see https://docs.python.org/3/"),
            (learner2, "Good luck!"),
        ],
    )
