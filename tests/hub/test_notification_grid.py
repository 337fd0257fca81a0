"""Notification settings as a grid of kinds x channels, only the kinds a person's roles
can receive (issue 15)."""

from __future__ import annotations

import pytest

from hub import notify, webpush

pytestmark = pytest.mark.django_db

URL = "/notifications/settings/"


def rows(html: bytes) -> set[str]:
    import re

    return set(re.findall(r'<tr data-kind="([^"]+)"', html.decode()))


def test_a_learner_sees_no_kind_only_staff_receive(client, learner):
    client.force_login(learner)
    shown = rows(client.get(URL).content)
    assert "session_approval" not in shown
    assert {"announcement", "session_feedback", "course_completed", "chat_message"} <= shown


def test_a_coordinator_sees_approvals_but_not_learner_kinds(client, coordinator):
    client.force_login(coordinator)
    shown = rows(client.get(URL).content)
    assert "session_approval" in shown
    assert "session_feedback" not in shown and "leaderboards.badge" not in shown


def test_each_row_has_the_three_channels(client, learner):
    client.force_login(learner)
    html = client.get(URL).content.decode()
    for channel in ("inapp", "email", "push"):
        assert f'name="{channel}-announcement"' in html


def test_saving_the_grid_sets_each_channel(client, learner):
    client.force_login(learner)
    form = {f"inapp-{k.code}": "on" for k in notify.kinds_for(user=learner)}
    form["email-announcement"] = "on"
    del form["inapp-chat_message"]  # off
    form["push-forums.reply"] = "on"
    assert client.post(URL, form).status_code == 302
    prefs = {p["kind"]: p["delivery"] for p in notify.preferences_for(user=learner)}
    assert prefs["announcement"] == "in_app_email"
    assert prefs["chat_message"] == "off"
    assert prefs["forums.reply"] == "in_app"
    pushed = webpush.push_choices_for(user=learner)
    assert pushed["forums.reply"] and not pushed["announcement"]


def test_e_mail_alone_still_brings_the_in_app_notice(client, learner):
    client.force_login(learner)
    client.post(URL, {"email-announcement": "on"})
    prefs = {p["kind"]: p["delivery"] for p in notify.preferences_for(user=learner)}
    assert prefs["announcement"] == "in_app_email"


def test_kinds_that_do_not_apply_are_left_alone(client, learner):
    from hub.models import NotificationPreference

    client.force_login(learner)
    client.post(URL, {"email-session_approval": "on"})
    assert not NotificationPreference.objects.filter(user=learner, kind="session_approval").exists()


def test_administrators_see_every_kind(client, space):
    from hub.accounts.models import Role
    from tests.factories import UserFactory

    admin = UserFactory(roles=[Role.ADMIN], spaces=[space])
    client.force_login(admin)
    assert rows(client.get(URL).content) == set(notify.KINDS)
