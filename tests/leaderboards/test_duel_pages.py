"""Pages: the duel lobby, the arena (players only, no answers in its initial state), the
wall screen (space and a manager's team boards; members only)."""

from __future__ import annotations

import json

import pytest

from leaderboards import duel_services, ranks, services
from leaderboards.models import Reason
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_lobby_lists_colleagues_and_rating(client, course_setup, learner, learner2):
    client.force_login(learner)
    page = client.get("/leaderboards/duels/").content.decode()
    assert 'data-testid="duel-lobby"' in page
    assert learner2.name in page and 'data-testid="my-rating">1200<' in page
    assert client.get("/leaderboards/duels/?course=999999").status_code == 404


def test_lobby_without_a_course(client, outsider):
    client.force_login(outsider)
    page = client.get("/leaderboards/duels/").content.decode()
    assert 'data-testid="no-duel-course"' in page


def test_lobby_of_a_course_i_am_not_in(client, course_setup, space):
    stranger = UserFactory(spaces=[space])
    client.force_login(stranger)
    assert client.get(f"/leaderboards/duels/?course={course_setup.course.pk}").status_code == 403


def test_arena_for_players_only(client, course_setup, learner, learner2, space, clock):
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel_services.duel_accept(user=learner2, duel=duel)  # nobody online: asynchronous
    duel_services.duel_ready(user=learner, duel=duel)
    client.force_login(learner)
    page = client.get(f"/leaderboards/duels/{duel.pk}/").content.decode()
    start = page.index('id="duel-state"')
    state = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert state["current"]["index"] == 0
    assert "is_correct" not in json.dumps(state) and "numeric_answer" not in json.dumps(state)
    client.force_login(UserFactory(spaces=[space]))
    assert client.get(f"/leaderboards/duels/{duel.pk}/").status_code == 403
    assert client.get("/leaderboards/duels/424242/").status_code == 404


def test_wall_screen_space_and_team(client, space, learner, learner2, manager, published):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    published()
    client.force_login(manager)
    page = client.get("/leaderboards/wall/").content.decode()
    assert 'data-testid="wall"' in page and learner.name in page
    team = manager.managed_teams.get()
    team_key = ranks.board_key("team", team.pk, "week")
    assert f"?key={team_key}" in page  # the manager's team board is offered
    page = client.get(f"/leaderboards/wall/?key={team_key}").content.decode()
    assert team.name in page and learner.name in page
    assert client.get("/leaderboards/wall/?key=nonsense").status_code == 404
    client.force_login(UserFactory(spaces=[space]))
    assert client.get(f"/leaderboards/wall/?key={team_key}").status_code == 403


def test_board_links_to_wall_and_duels(client, learner):
    client.force_login(learner)
    page = client.get("/leaderboards/").content.decode()
    assert 'data-testid="wall-link"' in page and 'data-testid="duels-link"' in page


def finished_duel(course, winner, loser, *, high=1400, low=800, forfeit=False, draw=False):
    """A finished duel of ``course``: ``loser`` challenged, ``winner`` won ``high``-``low``."""
    import datetime as dt

    from leaderboards.models import Duel

    return Duel.objects.create(
        course=course,
        challenger=loser,
        opponent=winner,
        status="finished",
        mode="live",
        created_at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC),
        challenger_score=high if draw else low,
        opponent_score=high,
        winner=None if draw else winner,
        forfeit=forfeit,
    )


def test_duel_results_are_worded_for_the_reader(client, course_setup, learner, learner2, space):
    """Leo beat Lina 1400-800: Leo reads "You won 1400–800 against Lina", Lina reads "You lost
    800–1400 against Leo" (the lobby said "Lina Learner won 1400-800" on Leo's page)."""
    from leaderboards import duel_selectors

    duel = finished_duel(course_setup.course, winner=learner, loser=learner2)
    won = f"You won 1400–800 against {learner2.name}"
    lost = f"You lost 800–1400 against {learner.name}"
    for reader, line in ((learner, won), (learner2, lost)):
        client.force_login(reader)
        page = client.get("/leaderboards/duels/").content.decode()
        assert f">{line}</a>" in page
        # The list the page's script keeps live says the same.
        rows = client.get(f"/api/v1/leaderboards/duels/?course={course_setup.course.pk}").json()
        assert [r["result_text"] for r in rows] == [line]
    someone = UserFactory(spaces=[space])
    assert (
        duel_selectors.result_line(duel, viewer=someone)
        == f"{learner.name} won 1400–800 against {learner2.name}"
    )


def test_draws_forfeits_and_lapsed_duels_in_the_reader_s_words(course_setup, learner, learner2):
    from leaderboards import duel_selectors

    course = course_setup.course
    draw = finished_duel(course, winner=learner, loser=learner2, draw=True, high=900)
    assert duel_selectors.result_line(draw, viewer=learner) == (
        f"Draw 900–900 with {learner2.name}"
    )
    forfeit = finished_duel(course, winner=learner2, loser=learner, high=300, low=0, forfeit=True)
    assert duel_selectors.result_line(forfeit, viewer=learner) == (
        f"You lost 0–300 against {learner2.name} · by forfeit"
    )
    forfeit.status = "expired"
    assert duel_selectors.result_line(forfeit, viewer=learner2) == (
        f"Your duel with {learner.name} expired"
    )
