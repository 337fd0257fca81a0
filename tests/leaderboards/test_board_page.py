"""The board page: a picker of the boards the viewer may see (spaces, their courses, their
teams) per period, and "my rank and my neighbours" beside the podium, without hidden people."""

from __future__ import annotations

import re

import pytest

from hub.accounts.models import Role
from leaderboards import services
from leaderboards.models import Reason
from tests.classrooms.conftest import build_course
from tests.factories import SpaceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def section(html: str, testid: str) -> str:
    """The inner HTML of the element with ``data-testid`` (first of its tag name)."""
    m = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>', html)
    assert m, testid
    tag = m.group(1)
    end = html.index(f"</{tag}>", m.end())
    return html[m.end() : end]


def pay(user, space, amount: int, *, source=None, course=None) -> None:
    services.points_award(
        user=user,
        reason=Reason.MANUAL,
        source=source or user,
        space=space,
        course=course,
        amount=amount,
    )


def test_the_picker_offers_my_space_courses_and_teams(
    client, learner, manager, space, course_setup, trainer
):
    other = build_course(trainer=trainer, space=space, title="Not mine").course
    elsewhere = SpaceFactory()
    TeamFactory(name="Other team", space=elsewhere)
    team = learner.teams.get()
    course = course_setup.course
    client.force_login(learner)
    html = client.get("/leaderboards/?window=month").content.decode()
    picker = section(html, "board-picker")
    assert f'href="?board=space-{space.pk}&amp;window=month"' in picker
    assert f'href="?board=course-{course.pk}&amp;window=month"' in picker and course.title in picker
    assert f'href="?board=team-{team.pk}&amp;window=month"' in picker and team.name in picker
    assert other.title not in picker and "Other team" not in picker
    # The space's board is the one shown, and marked so.
    assert re.search(rf'data-board="space-{space.pk}" aria-current="page"', picker)
    # A trainer is offered the courses they teach; a manager the team they manage.
    client.force_login(trainer)
    assert f"?board=course-{other.pk}&amp;" in section(
        client.get("/leaderboards/").content.decode(), "board-picker"
    )
    client.force_login(manager)
    assert f"?board=team-{team.pk}&amp;" in section(
        client.get("/leaderboards/").content.decode(), "board-picker"
    )


def test_a_course_board_with_its_periods(client, learner, learner2, space, course_setup, commit):
    course = course_setup.course
    pay(learner, space, 50, source=course_setup.lesson, course=course)
    pay(learner2, space, 70)  # not in the course
    commit()
    client.force_login(learner)
    r = client.get(f"/leaderboards/?board=course-{course.pk}&window=all")
    assert r.status_code == 200
    html = r.content.decode()
    assert section(html, "board-title") == course.title
    assert learner.name in section(html, "podium") and learner2.name not in html
    assert "Your rank: 1 (50 points)" in html
    # The periods keep the board; the board links keep the period.
    for window in ("week", "month", "all"):
        assert f'href="?board=course-{course.pk}&amp;window={window}"' in html
    assert f'href="?board=space-{space.pk}&amp;window=all"' in section(html, "board-picker")
    assert f"course-{course.pk}-all" in html  # the live topic and REST URL of this board


def test_my_rank_and_my_neighbours_beside_the_podium(client, learner, space, commit):
    people = [UserFactory(username=f"p{i}", spaces=[space]) for i in range(6)]
    for i, person in enumerate(people):
        pay(person, space, 100 - i * 10)  # ranks 1..6: 100, 90, ..., 50
    pay(learner, space, 65)  # rank 5, between p3 (70) and p4 (60)
    commit()
    client.force_login(learner)
    html = client.get("/leaderboards/?window=all").content.decode()
    assert "Your rank: 5 (65 points)" in html
    neighbours = section(html, "neighbours")
    ranks = re.findall(
        r'<span class="rank">(\d+)</span> <span class="name">([^<]+)</span>', neighbours
    )
    assert ranks == [("3", "P2"), ("4", "P3"), ("5", learner.name), ("6", "P4"), ("7", "P5")]
    assert 'class="mine" aria-current="true"' in neighbours
    assert "P0" not in neighbours and "P0" in section(html, "podium")


def test_hidden_learners_appear_nowhere_on_the_page(client, learner, learner2, space, commit):
    bystander = UserFactory(username="bystander", spaces=[space])
    pay(learner, space, 30)
    pay(learner2, space, 20)
    pay(bystander, space, 10)
    services.ranking_hide(user=learner2)
    commit()
    client.force_login(bystander)
    html = client.get("/leaderboards/?window=all").content.decode()
    for part in ("podium", "neighbours", "board-list"):
        assert learner2.name not in section(html, part), part
    assert "Your rank: 2 (10 points)" in html
    # The hidden learner sees their points, and no neighbours.
    client.force_login(learner2)
    html = client.get("/leaderboards/?window=all").content.decode()
    assert "hidden from public rankings" in html and "Your points: 20" in html
    assert section(html, "neighbours").strip() == ""


def test_boards_out_of_reach_are_refused(client, learner, space, course_setup):
    elsewhere = SpaceFactory()
    stranger = UserFactory(roles=[Role.TRAINER], spaces=[elsewhere])
    foreign = build_course(trainer=stranger, space=elsewhere, title="Foreign").course
    team = TeamFactory(space=elsewhere)
    client.force_login(learner)
    assert client.get(f"/leaderboards/?board=course-{foreign.pk}").status_code == 403
    assert client.get(f"/leaderboards/?board=team-{team.pk}").status_code == 403
    assert client.get(f"/leaderboards/?board=space-{elsewhere.pk}").status_code == 403
    # Nonsense falls back to the space's board; older ?key= links still work.
    assert client.get("/leaderboards/?board=galaxy-1").status_code == 200
    r = client.get(f"/leaderboards/?key=course-{course_setup.course.pk}-all")
    assert r.status_code == 200 and course_setup.course.title in section(
        r.content.decode(), "board-title"
    )
