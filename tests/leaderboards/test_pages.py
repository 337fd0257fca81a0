"""Pages: the leaderboard with its podium, my points and badges, hiding, a person's badges."""

from __future__ import annotations

import pytest

from leaderboards import services
from leaderboards.models import BadgeDefinition, Reason

pytestmark = pytest.mark.django_db


def test_board_page_shows_podium_and_my_rank(client, learner, learner2, space, commit):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    services.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    client.force_login(learner2)
    r = client.get("/leaderboards/?window=all")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="podium"' in html and learner.name in html
    assert "Your rank: 2 (10 points)" in html


def test_me_page_and_hiding(client, learner, learner2, trainer, space, commit):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    commit()
    client.force_login(learner)
    html = client.get("/leaderboards/me/").content.decode()
    assert "Helper" in html and "<strong>20</strong>" in html
    r = client.post("/leaderboards/me/visibility/", {"hidden": "1"})
    assert r.status_code == 302
    commit()
    assert "hidden from public rankings" in client.get("/leaderboards/me/").content.decode()
    client.force_login(learner2)
    html = client.get("/leaderboards/?window=all").content.decode()
    assert learner.name not in html
    assert "Helper" in client.get(f"/leaderboards/badges/{learner.pk}/").content.decode()


def test_badges_of_a_stranger_are_private(client, outsider, learner):
    client.force_login(outsider)
    assert client.get(f"/leaderboards/badges/{learner.pk}/").status_code == 403
