"""A person in no space (just created, or removed from their last one) gets a page that
says so and what to do on every top-level page: never a 500."""

from __future__ import annotations

import pytest

from hub.accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/courses/",
    "/courses/new/",
    "/team/progress/",
    "/sessions/",
    "/sessions/manage/",
    "/sessions/new/",
    "/forums/",
    "/forums/moderation/",
    "/forums/search/?q=x",
    "/forums/library/",
    "/chat/",
    "/leaderboards/",
    "/leaderboards/me/",
    "/leaderboards/wall/",
    "/leaderboards/duels/",
    "/calendars/",
    "/notifications/",
    "/notifications/settings/",
    "/announcements/",
    "/announcements/new/",
]


@pytest.mark.parametrize("role", [Role.LEARNER, Role.TRAINER, Role.COORDINATOR, Role.MANAGER])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_a_person_in_no_space(client, space, role, path):
    nobody = UserFactory(username=f"nospace-{role}", roles=[role], spaces=[])
    client.force_login(nobody)
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code == 200:
        assert b'data-testid="no-space"' in response.content, path


@pytest.mark.parametrize("path", ["/forums/", "/forums/library/"])
def test_the_forums_say_what_to_do_to_someone_in_no_space(client, space, path):
    nobody = UserFactory(username="nospace", roles=[Role.LEARNER], spaces=[])
    client.force_login(nobody)
    page = client.get(path).content.decode()
    assert "You are not a member of any space yet." in page
    assert "Ask your coordinator or administrator to add you to a space" in page


def test_a_member_does_not_see_the_notice(client, learner):
    client.force_login(learner)
    for path in ["/", "/forums/", "/forums/library/"]:
        response = client.get(path)
        assert response.status_code == 200 and b'data-testid="no-space"' not in response.content
