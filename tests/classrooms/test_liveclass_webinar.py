"""Webinar mode: the trainer and the speakers they promote publish, everyone else watches.

A learner raises a hand, is let speak (the hand goes down, their page publishes), and is
sent back to watching (their publication ends). Only trainers switch the mode and promote;
in the class's room a watcher's offer is refused (in a breakout room everyone speaks).
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError

from classrooms import services
from classrooms.media import _participant_role
from classrooms.selectors import liveclass_payload
from hub import events
from tests.factories import build_live_class


@pytest.fixture
def room(trainer, space, learner, learner2):
    live_class = build_live_class(trainer=trainer, space=space, learners=[learner, learner2])
    live_class = live_class.live_class
    for user in (learner, learner2):
        services.liveclass_join(user=user, live_class=live_class)
    return live_class


@pytest.fixture
def captured(monkeypatch, commit):
    seen: list[tuple[str, dict]] = []
    monkeypatch.setattr(events, "_dispatch", lambda name, payload: seen.append((name, payload)))

    def select() -> list[tuple[str, dict]]:
        commit()
        return seen

    return select


def control(actor, room, action, user=None):
    return services.liveclass_control(
        actor=actor, live_class=room, action=action, user_id=getattr(user, "pk", None)
    )


@pytest.mark.django_db
def test_hand_promotion_publish_and_back_to_watching(
    room, trainer, learner, learner2, published, captured
) -> None:
    assert _participant_role(learner, str(room.pk)) == "learner"  # not a webinar yet
    control(trainer, room, "webinar_on")
    watchers = [p for name, p in captured() if name == "classrooms.liveclass_watchers"]
    assert sorted(watchers[-1]["users"]) == sorted([learner.pk, learner2.pk])
    assert _participant_role(learner, str(room.pk)) == "watcher"
    assert _participant_role(trainer, str(room.pk)) == "trainer"

    services.hand_raise(user=learner, live_class=room)
    control(trainer, room, "promote", learner)
    room.refresh_from_db()
    payload = liveclass_payload(room)
    assert payload["webinar"] is True and payload["speakers"] == [learner.pk]
    assert _participant_role(learner, str(room.pk)) == "learner"  # may publish now
    assert _participant_role(learner2, str(room.pk)) == "watcher"
    assert services.hand_lower(actor=learner2, live_class=room) == []  # the hand went down
    controls = [e.data for e in published(room.topic) if e.type == "control"]
    assert controls[-1] == {"action": "promote", "user": learner.pk}

    control(trainer, room, "demote", learner)
    assert _participant_role(learner, str(room.pk)) == "watcher"
    assert captured()[-1] == (
        "classrooms.liveclass_watchers",
        {"live_class_id": room.pk, "users": [learner.pk]},
    )
    changed = [e for e in published(room.topic) if e.type == "class.changed"]
    assert changed[-1].data["speakers"] == []

    control(trainer, room, "webinar_off")
    assert _participant_role(learner2, str(room.pk)) == "learner"


@pytest.mark.django_db
def test_only_trainers_switch_and_promote_and_bad_targets_change_nothing(
    room, trainer, learner, learner2, outsider
) -> None:
    with pytest.raises(PermissionDenied):
        control(learner, room, "webinar_on")
    with pytest.raises(services.Conflict):  # promotion only means something in a webinar
        control(trainer, room, "promote", learner)
    control(trainer, room, "webinar_on")
    with pytest.raises(PermissionDenied):
        control(learner, room, "promote", learner)
    for target in (outsider, None, trainer):
        with pytest.raises(ValidationError):
            control(trainer, room, "promote", target)
    room.refresh_from_db()
    assert liveclass_payload(room)["speakers"] == []


@pytest.mark.django_db(transaction=True)
async def test_a_watchers_offer_is_refused_in_the_classs_room(
    communicator_for, trainer, learner, space
) -> None:
    from tests.classrooms.test_media_signalling import act, offer

    @database_sync_to_async
    def webinar():
        built = build_live_class(trainer=trainer, space=space, learners=[learner])
        services.liveclass_join(user=learner, live_class=built.live_class)
        control(trainer, built.live_class, "webinar_on")
        return built.live_class

    live_class = await webinar()
    ws = await communicator_for(learner)
    reply = await act(ws, live_class.topic, "media.publish", {"sdp": await offer()})
    assert reply["op"] == "error" and reply["code"] == "forbidden", reply
    assert "let you speak" in reply["message"]
