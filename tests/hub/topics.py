"""A topic kind used only by the gateway tests (registered on import)."""

from __future__ import annotations

import threading
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import serializers
from rest_framework.exceptions import Throttled

from hub import realtime


class EchoSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=50)


@realtime.topic("testing.room")
class RoomTopic(realtime.Topic):
    """``testing.room.<n>``: open to everyone but key ``closed``; ids 1..n in the backlog."""

    backlog_size = 0

    def authorize(self, user: Any, key: str) -> bool:
        return key != "closed"

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        ids = range(since + 1, self.backlog_size + 1)
        return [realtime.Event("item", {"n": i}, id=i) for i in ids][:limit]

    @realtime.action("echo", serializer=EchoSerializer)
    def echo(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["text"], "user": user.pk}

    @realtime.action("shout")
    def shout(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        realtime.publish(f"testing.room.{key}", "shout", {"text": data.get("text", "")})
        return {}

    @realtime.action("forbidden")
    def forbidden(self, user: Any, key: str, data: dict[str, Any]) -> None:
        raise PermissionDenied("no")

    @realtime.action("invalid")
    def invalid(self, user: Any, key: str, data: dict[str, Any]) -> None:
        raise ValidationError("bad value")

    @realtime.action("throttled")
    def throttled(self, user: Any, key: str, data: dict[str, Any]) -> None:
        raise Throttled(detail="slow down")

    @realtime.action("crash")
    def crash(self, user: Any, key: str, data: dict[str, Any]) -> None:
        raise RuntimeError("a bug")


@realtime.topic("testing.lobby")
class LobbyTopic(RoomTopic):
    """``testing.lobby.<n>``: a room that tracks who is there."""

    presence = True
    left: list[tuple[int, str]] = []  # (user id, key) of every presence_left call
    heard = threading.Event()

    def presence_left(self, user: Any, key: str) -> None:
        self.left.append((user.pk, key))
        self.heard.set()


@realtime.topic("testing.gate")
class GateTopic(RoomTopic):
    """``testing.gate.<n>``: ``authorize`` holds its thread until ``opened`` is set, so that
    a test can fill the process's queue of database work (hub/realtime/admission.py)."""

    opened = threading.Event()
    holding = threading.Semaphore(0)  # released once per authorize that is holding

    def authorize(self, user: Any, key: str) -> bool:
        self.holding.release()
        if not self.opened.wait(timeout=30):
            raise RuntimeError("the test never opened the gate")
        return True

    @realtime.action("pool_timeout")
    def pool_timeout(self, user: Any, key: str, data: dict[str, Any]) -> None:
        from psycopg_pool import PoolTimeout

        raise PoolTimeout("couldn't get a connection after 30.00 sec")
