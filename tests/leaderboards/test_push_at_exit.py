"""A short process that awards points (seed_demo, a sweep) exits with coalesced board pushes
pending: they go out before the process stops, instead of an ERROR traceback at exit
("cannot schedule new futures after interpreter shutdown") and a lost push."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import atexit, os, time
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django
    django.setup()
    from django.conf import settings
    from hub.realtime import publishing
    from leaderboards import push

    settings.LEADERBOARD_PUSH_INTERVAL = 0.05
    real_send = publishing.send_to_layer

    def send(topic, text, id):
        real_send(topic, text, id)
        print("sent", topic, flush=True)

    publishing.send_to_layer = send
    # The exit takes a while after the main code ends (closing connections, flushing
    # logs): the push's timer comes due meanwhile.
    atexit.register(time.sleep, 0.3)
    push.boards_changed({"space.1.all": [7]})
    print("done", flush=True)
    """
)


def test_a_pending_board_push_goes_out_when_the_process_exits(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**os.environ, "LYCEUM_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.splitlines() == ["done", "sent leaderboards.board.space.1.all"]
