"""Points from other apps' domain events (forums.answer_accepted, sessions.attended) and
team boards following team membership."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from forums.models import Forum
from forums.services import post_create, thread_accept_answer, thread_create
from hub import events
from leaderboards import ranks, services
from leaderboards.models import PointAward, Reason
from tests.factories import TeamFactory, UserFactory
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db


def test_accepted_answer_pays_its_author_once(space, learner, learner2, commit):
    forum = Forum.objects.create(space=space, title="Community")
    age(learner)
    age(learner2)
    question = thread_create(
        author=learner, forum=forum, title="How?", body="How does it work?", kind="question"
    )
    answer = post_create(author=learner2, thread=question, body="Like this.")
    thread_accept_answer(user=learner, thread=question, post=answer)
    commit()
    award = PointAward.objects.get(user=learner2, reason=Reason.ANSWER_ACCEPTED)
    assert (award.amount, award.space_id, award.source_id) == (15, space.pk, answer.pk)
    # Accepted again (cleared and re-accepted): still paid once.
    thread_accept_answer(user=learner, thread=question, post=None)
    thread_accept_answer(user=learner, thread=question, post=answer)
    commit()
    assert PointAward.objects.filter(reason=Reason.ANSWER_ACCEPTED).count() == 1
    # Accepting one's own post pays nothing.
    own = post_create(author=learner, thread=question, body="Or like that.")
    thread_accept_answer(user=learner, thread=question, post=own)
    commit()
    assert not PointAward.objects.filter(user=learner, reason=Reason.ANSWER_ACCEPTED).exists()


def test_attendance_pays_once_per_session(space, learner, commit, course_setup):
    from classrooms.models import Course

    course = Course.objects.get(pk=course_setup.course.pk)
    # A stand-in with the fields the handler reads (a real Session comes from sessions/).
    session = SimpleNamespace(pk=course.pk, activity_id=None, space=space, course=course)
    session._meta = Course._meta  # the ledger keys on the source's content type
    for _ in range(2):
        events.emit("sessions.attended", user=learner, session=session)
        commit()
    award = PointAward.objects.get(user=learner, reason=Reason.ATTENDANCE)
    assert award.amount == 15 and award.course_id == course.pk
    # A session that completes an activity is paid by that completion, not twice.
    with_activity = SimpleNamespace(pk=course.pk + 1, activity_id=1, space=space, course=course)
    events.emit("sessions.attended", user=learner, session=with_activity)
    commit()
    assert PointAward.objects.filter(reason=Reason.ATTENDANCE).count() == 1


def test_team_board_follows_membership(space, learner, learner2, manager, published, store):
    team = manager.managed_teams.get()
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    key = ranks.board_key("team", team.pk, "all")
    published()
    assert [e.user_id for e in store.top(key, 10)] == [learner.pk]
    team.members.remove(learner)
    assert [e.data["users"] for e in published(f"leaderboards.board.{key}")][-1] == [learner.pk]
    assert store.top(key, 10) == []
    team.members.add(learner)
    published()
    assert [(e.user_id, e.score) for e in store.top(key, 10)] == [(learner.pk, 20)]
    # From the user's side, and clearing.
    learner.teams.remove(team)
    published()
    assert store.top(key, 10) == []
    learner.teams.add(team)
    team.members.clear()
    published()
    assert store.top(key, 10) == []


def test_a_new_team_member_brings_their_points(space, learner, published, store):
    boss = UserFactory(spaces=[space])
    other_team = TeamFactory(name="B", space=space, manager=boss, members=[])
    services.points_award(user=learner, reason=Reason.LESSON_DONE, source=space, space=space)
    published()
    other_team.members.add(learner)
    published()
    key = ranks.board_key("team", other_team.pk, "week")
    assert [(e.user_id, e.score) for e in store.top(key, 10)] == [(learner.pk, 10)]
