"""The new-session form (issue 15): grouped steps, the space's default time zone, only
trainers in the trainer picker."""

from __future__ import annotations

import re

import pytest

from hub.accounts.models import Role
from tests.factories import UserFactory
from tests.frontend.pages import find

pytestmark = pytest.mark.django_db


def test_the_form_is_in_five_steps(client, coordinator):
    client.force_login(coordinator)
    html = client.get("/sessions/new/").content
    for step in ("what", "when", "where", "who", "registration"):
        assert find(html, data_testid=f"step-{step}")["tag"] == "fieldset"


def test_the_time_zone_starts_as_the_spaces_and_is_a_list(client, coordinator, space):
    space.time_zone = "America/New_York"
    space.save()
    client.force_login(coordinator)
    html = client.get("/sessions/new/").content.decode()
    assert find(html, id="id_time_zone")["tag"] == "select"
    picker = html[html.index('id="id_time_zone"') :]
    selected = re.search(r'<option value="([^"]+)"[^>]*selected', picker)
    assert selected and selected.group(1) == "America/New_York"
    assert '"America/New_York"' in find(html, id="space-zones")["text"]


def test_only_trainers_are_offered_as_trainers(client, coordinator, trainer, learner, space):
    client.force_login(coordinator)
    html = client.get("/sessions/new/").content.decode()
    picker = html[html.index('id="id_trainers"') :]
    picker = picker[: picker.index("</select>")]
    assert trainer.name in picker
    assert learner.name not in picker and coordinator.name not in picker


def test_a_trainer_already_on_a_session_stays_listed_when_editing(
    client, coordinator, space, learner
):
    from tests.sessions.conftest import make_session

    former = UserFactory(roles=[Role.LEARNER], spaces=[space])  # no longer a trainer
    session = make_session(coordinator, space, trainers=[former])
    client.force_login(coordinator)
    html = client.get(f"/sessions/{session.pk}/edit/").content.decode()
    picker = html[html.index('id="id_trainers"') :]
    assert former.name in picker[: picker.index("</select>")]


def test_a_space_zone_must_be_a_real_zone(space):
    from django.core.exceptions import ValidationError

    space.time_zone = "Moon/Base"
    with pytest.raises(ValidationError):
        space.full_clean()
