"""A separate process holding a view of the Redis presence store, driven over stdin.

``python -m tests.services.presence_probe <ttl>`` reads one JSON command per line and
answers one JSON line each::

    {"op": "join", "topic": "...", "user": 7, "conn": "a", "payload": {...}} -> {"first": true}
    {"op": "leave", "topic": "...", "user": 7, "conn": "a"}                   -> {"last": false}
    {"op": "present", "topic": "..."}                                         -> {"present": [...]}

It uses the application's own ``RedisPresence`` (with a short TTL so that expiry is quick to
observe) and the Redis URL and prefix the settings give every Lyceum process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def serve(ttl: int) -> None:
    from django.conf import settings

    from hub.realtime.presence import RedisPresence

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "lyceum")
    store = RedisPresence(settings.REDIS_URL, prefix, ttl)
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True, "prefix": prefix}), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command: dict[str, Any] = json.loads(line)
        op = command["op"]
        if op == "join":
            first = await store.join(
                command["topic"], command["user"], command["conn"], command["payload"]
            )
            reply: dict[str, Any] = {"first": first}
        elif op == "leave":
            reply = {"last": await store.leave(command["topic"], command["user"], command["conn"])}
        elif op == "present":
            reply = {"present": await store.present(command["topic"])}
        else:
            reply = {"error": f"unknown op {op!r}"}
        print(json.dumps(reply), flush=True)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
