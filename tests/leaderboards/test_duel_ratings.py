"""The duel rating list respects the ranking preference: a hidden learner is absent from
everyone's list (REST, the selector, the lobby page) and still sees their own rating."""

from __future__ import annotations

import pytest

from leaderboards import duel_selectors, services
from leaderboards.models import DuelRating

pytestmark = pytest.mark.django_db
RATINGS = "/api/v1/leaderboards/duels/ratings/"


@pytest.fixture
def rated(course_setup, learner, learner2):
    course = course_setup.course
    DuelRating.objects.create(course=course, user=learner, rating=1250, played=2, won=1, lost=1)
    DuelRating.objects.create(course=course, user=learner2, rating=1300, played=3, won=3)
    return course


def _top_ids(payload: dict) -> list[int]:
    return [row["user"]["id"] for row in payload["top"]]


def test_selector_leaves_hidden_learners_out_of_the_list(rated, learner, learner2, commit):
    assert _top_ids(duel_selectors.ratings_payload(user=learner, course=rated)) == [
        learner2.pk,
        learner.pk,
    ]
    services.ranking_hide(user=learner2)
    commit()
    theirs = duel_selectors.ratings_payload(user=learner, course=rated)
    assert _top_ids(theirs) == [learner.pk]
    assert theirs["me"]["hidden"] is False
    own = duel_selectors.ratings_payload(user=learner2, course=rated)
    assert learner2.pk not in _top_ids(own)  # as on the points boards: off the public list
    assert own["me"] == {
        "rating": 1300,
        "played": 3,
        "won": 3,
        "lost": 0,
        "drawn": 0,
        "hidden": True,
    }
    services.ranking_show(user=learner2)
    commit()
    assert _top_ids(duel_selectors.ratings_payload(user=learner, course=rated))[0] == learner2.pk


def test_rest_hides_them_from_others_and_shows_them_their_own(
    api_client_for, rated, learner, learner2
):
    hider, other = api_client_for(learner2), api_client_for(learner)
    assert hider.post(
        "/api/v1/leaderboards/me/visibility/", {"hidden": True}, format="json"
    ).json() == {"hidden": True}
    seen = other.get(f"{RATINGS}?course={rated.pk}")
    assert seen.status_code == 200
    assert _top_ids(seen.json()) == [learner.pk]
    # Nowhere in the rows: neither as a player nor by name (a substring test on the text
    # matched the id 125 inside a rating of 1250).
    top = seen.json()["top"]
    assert learner2.pk not in {row["user"]["id"] for row in top}
    assert learner2.name not in str(top)
    mine = hider.get(f"{RATINGS}?course={rated.pk}").json()
    assert mine["me"]["rating"] == 1300 and mine["me"]["hidden"] is True
    assert _top_ids(mine) == [learner.pk]
    # Bad input stays a clear 4xx.
    assert other.get(f"{RATINGS}?course=abc").status_code == 404
    assert other.get(RATINGS).status_code == 400


def test_lobby_page_lists_no_hidden_learner(client, rated, learner, learner2, commit):
    services.ranking_hide(user=learner2)
    commit()
    client.force_login(learner)
    page = client.get(f"/leaderboards/duels/?course={rated.pk}").content.decode()
    ratings = page.split('data-testid="duel-ratings"', 1)[1].split("</ol>", 1)[0]
    assert learner.name in ratings and learner2.name not in ratings
    client.force_login(learner2)
    page = client.get(f"/leaderboards/duels/?course={rated.pk}").content.decode()
    assert 'data-testid="my-rating">1300<' in page and 'data-testid="rating-hidden"' in page
