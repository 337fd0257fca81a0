"""Announcement pages: who reads what, who may post, live list wiring, escaping."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from hub import notify
from hub.announcements.models import Announcement
from hub.announcements.services import announcement_post
from tests.factories import UserFactory
from tests.frontend.pages import find

pytestmark = pytest.mark.django_db


def test_list_shows_only_what_i_may_read(
    client, space, learner, trainer, coordinator, manager, outsider
):
    team = manager.managed_teams.get()
    in_space = announcement_post(author=trainer, title="Space news", space=space)
    to_team = announcement_post(author=coordinator, title="Team news", team=team)
    foreign_author = UserFactory(roles=["coordinator"], spaces=[outsider.spaces.get()])
    foreign = announcement_post(
        author=foreign_author, title="Foreign news", space=outsider.spaces.get()
    )

    def titles(user) -> str:
        client.force_login(user)
        return client.get(reverse("announcements")).content.decode()

    learner_page = titles(learner)
    assert "Space news" in learner_page and "Team news" in learner_page
    assert "Foreign news" not in learner_page
    trainer_page = titles(trainer)  # in the space, not in the team
    assert "Space news" in trainer_page
    assert "Team news" not in trainer_page
    outsider_page = titles(outsider)
    assert "Foreign news" in outsider_page
    assert "Space news" not in outsider_page and "Team news" not in outsider_page

    client.force_login(outsider)
    assert client.get(in_space.get_absolute_url()).status_code == 404
    assert client.get(to_team.get_absolute_url()).status_code == 404
    assert client.get(foreign.get_absolute_url()).status_code == 200


def test_list_is_wired_for_live_updates_from_the_newest_id(client, space, learner, trainer):
    first = announcement_post(author=trainer, title="One", space=space)
    second = announcement_post(author=trainer, title="Two", space=space)
    client.force_login(learner)
    html = client.get(reverse("announcements")).content.decode()
    ul = find(html, data_testid="announcement-list")
    assert ul["attrs"]["data-topic"] == f"hub.space.{space.pk}"
    assert ul["attrs"]["data-since"] == str(max(first.pk, second.pk))
    assert '<script src="/static/js/announcements.js">' in html


def test_empty_list_resumes_from_zero(client, learner, space):
    client.force_login(learner)
    ul = find(client.get(reverse("announcements")).content, data_testid="announcement-list")
    assert ul["attrs"]["data-since"] == "0"


def test_older_pages_are_not_live(client, space, learner, trainer):
    for i in range(21):
        announcement_post(author=trainer, title=f"News {i}", space=space)
    client.force_login(learner)
    first = find(client.get(reverse("announcements")).content, data_testid="announcement-list")
    assert first["attrs"]["data-since"] == str(Announcement.objects.latest("id").pk)
    older = find(
        client.get(reverse("announcements") + "?page=2").content, data_testid="announcement-list"
    )
    assert "data-topic" not in older["attrs"]


def test_new_announcement_is_forbidden_to_a_learner(client, space, learner):
    client.force_login(learner)
    assert client.get(reverse("announcement-new")).status_code == 403
    response = client.post(
        reverse("announcement-new"), {"audience": f"space:{space.pk}", "title": "Nope"}
    )
    assert response.status_code == 403
    assert not Announcement.objects.exists()


def test_trainer_posts_and_every_member_but_the_author_is_notified(
    client, space, trainer, learner, learner2, coordinator, outsider
):
    client.force_login(trainer)
    form = client.get(reverse("announcement-new"))
    assert form.status_code == 200
    assert f'value="space:{space.pk}"' in form.content.decode()

    response = client.post(
        reverse("announcement-new"),
        {"audience": f"space:{space.pk}", "title": "Room change", "body": "Room **B12**."},
    )
    announcement = Announcement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == announcement.get_absolute_url()
    assert announcement.space == space and announcement.author == trainer

    def notified(user) -> list[str]:
        return list(notify.notifications_for(user=user).values_list("verb", flat=True))

    for member in (learner, learner2, coordinator):
        assert notified(member) == ["Room change"]
        assert notify.unread_count(user=member) == 1
    assert notified(trainer) == []
    assert notified(outsider) == []

    detail = client.get(announcement.get_absolute_url()).content.decode()
    assert "<strong>B12</strong>" in detail


def test_new_announcement_form_shows_errors_accessibly(client, space, trainer):
    client.force_login(trainer)
    response = client.post(reverse("announcement-new"), {"audience": f"space:{space.pk}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'id="id_title_error"' in html
    assert not Announcement.objects.exists()


XSS_TITLE = "<script>alert(1)</script>Fire drill"
XSS_BODY = '<script>alert(2)</script>\n\n<img src=x onerror="alert(3)"> [x](javascript:alert(4))'


def test_html_in_a_posted_announcement_is_sanitised_everywhere(client, space, trainer, learner):
    client.force_login(trainer)
    response = client.post(
        reverse("announcement-new"),
        {"audience": f"space:{space.pk}", "title": XSS_TITLE, "body": XSS_BODY},
    )
    assert response.status_code == 302
    announcement = Announcement.objects.get()

    client.force_login(learner)
    for url in (
        reverse("dashboard"),
        reverse("announcements"),
        announcement.get_absolute_url(),
        reverse("notifications"),
    ):
        html = client.get(url).content.decode()
        assert "Fire drill" in html, url
        for needle in ("<script>alert", "onerror"):
            assert needle not in html, (url, needle)
        # The markdown link to javascript: is no link, only text (no attribute carries it).
        assert not re.search(r"=\s*[\"']?\s*javascript:", html, re.I), url


def test_a_title_stored_with_html_is_escaped_by_the_pages(client, space, trainer, learner):
    """Even a title that bypassed the service (admin, import) renders as text."""
    announcement = Announcement.objects.create(
        author=trainer, space=space, title=XSS_TITLE, body="", body_html=""
    )
    client.force_login(learner)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;Fire drill"
    for url in (reverse("dashboard"), reverse("announcements"), announcement.get_absolute_url()):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert escaped in html, url


def test_only_web_links_become_links(client, space, trainer, learner):
    announcement = Announcement.objects.create(
        author=trainer, space=space, title="Link", link="javascript:alert(5)"
    )
    client.force_login(learner)
    html = client.get(announcement.get_absolute_url()).content.decode()
    assert "javascript:alert(5)" not in html
    announcement.link = "https://example.org/agenda"
    announcement.save()
    html = client.get(announcement.get_absolute_url()).content.decode()
    assert 'href="https://example.org/agenda"' in html
