"""Deactivation closes the person's open WebSockets at once (hub.realtime.disconnect_user,
through the channel layer: Redis in services mode, so every process), and no one else's."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from hub.accounts import lifecycle
from hub.accounts.models import Role
from hub.realtime.writers import CLOSE_UNAUTHENTICATED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def close_code(ws) -> int | None:
    """Read frames until the socket closes; its close code."""
    for _ in range(20):
        message = await ws.ws.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return message.get("code")
    return None


async def test_deactivation_closes_every_socket_of_the_person(
    communicator_for, space, learner, learner2
):
    admin = await database_sync_to_async(UserFactory)(
        username="admin1", roles=[Role.ADMIN], spaces=[space]
    )
    first = await communicator_for(learner)
    second = await communicator_for(learner)
    other = await communicator_for(learner2)
    for ws in (first, second):
        await ws.call("sub", topic=f"hub.user.{learner.pk}")
    assert (await other.call("ping"))["op"] == "ok"

    await database_sync_to_async(lifecycle.user_deactivate)(actor=admin, user=learner)

    assert await close_code(first) == CLOSE_UNAUTHENTICATED
    assert await close_code(second) == CLOSE_UNAUTHENTICATED
    assert (await other.call("ping"))["op"] == "ok"  # someone else's socket stays


async def test_sign_out_everywhere_closes_sockets(communicator_for, learner):
    ws = await communicator_for(learner)
    assert (await ws.call("sub", topic=f"hub.user.{learner.pk}"))["op"] == "ok"
    await database_sync_to_async(lifecycle.sign_out_everywhere)(user=learner)
    assert await close_code(ws) == CLOSE_UNAUTHENTICATED
