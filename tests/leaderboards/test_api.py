"""REST: my points, my visibility, my badges, a board (top, me, neighbours), the schema."""

from __future__ import annotations

import pytest

from leaderboards import ranks, services
from leaderboards.models import BadgeDefinition, Reason

pytestmark = pytest.mark.django_db


def test_my_points_and_board(api_client_for, learner, learner2, space, commit):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    services.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    client = api_client_for(learner2)
    me = client.get(f"/api/v1/leaderboards/me/points/?space={space.pk}").json()
    assert (me["all"], me["week"], me["month"], me["hidden"]) == (10, 10, 10, False)
    assert [a["reason"] for a in me["awards"]] == ["lesson_done"]
    key = ranks.board_key("space", space.pk, "week")
    board = client.get(f"/api/v1/leaderboards/boards/{key}/?n=1&around=1").json()
    assert [e["user"]["id"] for e in board["top"]] == [learner.pk]
    assert board["me"] == {"rank": 2, "score": 10, "hidden": False}
    assert [e["rank"] for e in board["neighbours"]] == [1, 2]
    assert board["topic"] == f"leaderboards.board.{key}"


def test_hiding_through_the_api(api_client_for, learner, learner2, space, commit):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    commit()
    client = api_client_for(learner)
    r = client.post("/api/v1/leaderboards/me/visibility/", {"hidden": True}, format="json")
    assert r.status_code == 200
    commit()
    key = ranks.board_key("space", space.pk, "all")
    seen_by_peer = api_client_for(learner2).get(f"/api/v1/leaderboards/boards/{key}/").json()
    assert seen_by_peer["top"] == []
    mine = client.get(f"/api/v1/leaderboards/boards/{key}/").json()
    assert mine["me"] == {"rank": None, "score": 20, "hidden": True}


def test_board_of_another_space_is_forbidden(api_client_for, outsider, space):
    key = ranks.board_key("space", space.pk, "all")
    r = api_client_for(outsider).get(f"/api/v1/leaderboards/boards/{key}/")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = api_client_for(outsider).get("/api/v1/leaderboards/boards/nonsense/")
    assert r.status_code == 404


def test_manual_badge_and_my_badges(api_client_for, trainer, learner, space):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    r = api_client_for(trainer).post(
        f"/api/v1/leaderboards/badges/{badge.pk}/awards/", {"user": learner.pk}, format="json"
    )
    assert r.status_code == 201, r.json()
    r = api_client_for(learner).post(
        f"/api/v1/leaderboards/badges/{badge.pk}/awards/", {"user": learner.pk}, format="json"
    )
    assert r.status_code == 403
    mine = api_client_for(learner).get("/api/v1/leaderboards/me/badges/").json()
    assert [b["badge"]["name"] for b in mine] == ["Helper"]
    assert mine[0]["assertion"].endswith("/assertion/")


def test_endpoints_in_openapi_schema(api_client_for, learner):
    r = api_client_for(learner).get("/api/schema/?format=json")
    paths = r.json()["paths"]
    for p in (
        "/api/v1/leaderboards/me/points/",
        "/api/v1/leaderboards/me/badges/",
        "/api/v1/leaderboards/boards/{key}/",
        "/api/v1/leaderboards/badge-awards/{id}/assertion/",
    ):
        assert p in paths
