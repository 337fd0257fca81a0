"""The notifications page: my notifications only, mark one read, mark all read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hub import notify
from tests.frontend.pages import find, find_all

pytestmark = pytest.mark.django_db


def send(recipient, actor, verb: str, url: str = "/announcements/"):
    [notification] = notify.notify(
        recipients=[recipient], kind="announcement", verb=verb, actor=actor, url=url
    )
    return notification


def items(html: str) -> dict[int, dict]:
    """The listed notifications by id, read or not."""
    return {
        int(el["attrs"]["data-id"]): el
        for cls in ("notification", "notification unread")
        for el in find_all(html, **{"class": cls})
    }


def test_page_lists_my_notifications_only(client, learner, learner2, trainer):
    mine = send(learner, trainer, "For learner one")
    send(learner2, trainer, "For learner two")
    client.force_login(learner)
    html = client.get(reverse("notifications")).content.decode()
    listed = items(html)
    assert set(listed) == {mine.pk}
    assert "For learner one" in listed[mine.pk]["text"]
    assert "Trainer1" in listed[mine.pk]["text"]
    assert "For learner two" not in html
    assert find(html, data_testid="bell-count")["text"] == "1"


def test_empty_page_says_so(client, learner):
    client.force_login(learner)
    html = client.get(reverse("notifications")).content.decode()
    assert find(html, id="notification-empty")["text"] == "Nothing yet."
    assert "hidden" in find(html, data_testid="bell-count")["attrs"]


def test_mark_all_read(client, learner, trainer):
    for i in range(3):
        send(learner, trainer, f"News {i}")
    client.force_login(learner)
    assert notify.unread_count(user=learner) == 3
    assert (
        len(
            find_all(
                client.get(reverse("notifications")).content, **{"class": "notification unread"}
            )
        )
        == 3
    )

    response = client.post(reverse("notifications-read-all"))
    assert response.status_code == 302
    assert notify.unread_count(user=learner) == 0
    html = client.get(reverse("notifications")).content.decode()
    assert not find_all(html, **{"class": "notification unread"})
    assert len(find_all(html, **{"class": "notification"})) == 3
    assert find(html, data_testid="bell-count")["text"] == "0"


def test_mark_all_read_leaves_other_people_alone(client, learner, learner2, trainer):
    send(learner, trainer, "Mine")
    send(learner2, trainer, "Theirs")
    client.force_login(learner)
    client.post(reverse("notifications-read-all"))
    assert notify.unread_count(user=learner2) == 1


def test_mark_one_read_with_the_form(client, learner, trainer):
    first = send(learner, trainer, "First")
    second = send(learner, trainer, "Second")
    client.force_login(learner)
    html = client.get(reverse("notifications")).content.decode()
    action = reverse("notification-read", args=[first.pk])
    assert f'action="{action}"' in html

    response = client.post(action, {"next": reverse("notifications") + "?page=1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications") + "?page=1"
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.unread
    assert second.unread
    html = client.get(reverse("notifications")).content.decode()
    assert [
        int(li["attrs"]["data-id"]) for li in find_all(html, **{"class": "notification unread"})
    ] == [second.pk]
    assert f'action="{action}"' not in html


def test_mark_one_read_refuses_someone_elses_notification(client, learner, learner2, trainer):
    theirs = send(learner2, trainer, "Theirs")
    client.force_login(learner)
    response = client.post(reverse("notification-read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.unread


def test_mark_one_read_is_a_post_and_never_redirects_off_site(client, learner, trainer):
    mine = send(learner, trainer, "Mine")
    client.force_login(learner)
    assert client.get(reverse("notification-read", args=[mine.pk])).status_code == 405
    response = client.post(
        reverse("notification-read", args=[mine.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("notifications")


def test_page_csrf_token_works_for_the_mark_read_api(learner, trainer):
    """What notifications.js does: POST the API with the page's CSRF token."""
    mine = send(learner, trainer, "Mine")
    other = send(learner, trainer, "Other")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(learner)
    page = browser.get(reverse("notifications")).content.decode()
    token = find_all(page, name="csrfmiddlewaretoken")[0]["attrs"]["value"]
    url = "/api/v1/notifications/mark-read/"

    refused = browser.post(url, {"ids": [mine.pk]}, content_type="application/json")
    assert refused.status_code == 403
    response = browser.post(
        url, {"ids": [mine.pk]}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert response.json() == {"unread_count": 1}
    mine.refresh_from_db()
    other.refresh_from_db()
    assert not mine.unread and other.unread


def test_notification_text_is_escaped(client, learner, trainer):
    send(learner, trainer, '<script>alert("verb")</script>', url="/announcements/")
    client.force_login(learner)
    html = client.get(reverse("notifications")).content.decode()
    assert '<script>alert("verb")' not in html
    assert "&lt;script&gt;alert(&quot;verb&quot;)&lt;/script&gt;" in html
