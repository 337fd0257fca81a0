"""The baseline: a bare ``websockets`` broadcast server speaking just enough of the
gateway's protocol for the same clients and driver.

``sub`` adds the socket to the audience (answered ``ok``); ``act`` turns its ``data`` into
one ``event`` frame, encoded once and handed to every subscribed socket with
``websockets.broadcast``. No auth, no database, no channel layer: the floor that the
gateway's fan-out is measured against.

Run: ``python -m bench.baseline_server --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

import websockets
from websockets.asyncio.server import ServerConnection, serve

SEPARATORS = (",", ":")


class Broadcaster:
    """Every socket that sent ``sub``, and the broadcast of what ``act`` sends."""

    def __init__(self) -> None:
        self.audience: set[ServerConnection] = set()

    async def handle(self, ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                op = frame.get("op")
                ref = frame.get("ref")
                if op == "sub":
                    self.audience.add(ws)
                    await ws.send(
                        json.dumps({"op": "ok", "ref": ref, "data": {"topic": frame.get("topic")}})
                    )
                elif op == "act":
                    event = {
                        "op": "event",
                        "topic": frame.get("topic"),
                        "type": "tick",
                        "data": frame.get("data", {}),
                    }
                    websockets.broadcast(self.audience, json.dumps(event, separators=SEPARATORS))
                    await ws.send(json.dumps({"op": "ok", "ref": ref, "data": {}}))
                else:
                    await ws.send(json.dumps({"op": "ok", "ref": ref, "data": {}}))
        finally:
            self.audience.discard(ws)


async def run(host: str, port: int) -> None:
    broadcaster = Broadcaster()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # No compression: daphne does not negotiate permessage-deflate either.
    async with serve(broadcaster.handle, host, port, compression=None, max_queue=None):
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(run(args.host, args.port))


if __name__ == "__main__":
    main()
