"""Start a Janus WebRTC Server with the configuration kept in ``deploy/janus`` (tests, bench).

Production runs Janus as a service with that folder (``janus -F deploy/janus``); tests and
the benchmark start their own on free ports: the folder is copied to a scratch directory,
the two API ports rewritten, and the process waits until its WebSocket API answers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

JANUS = shutil.which("janus") or "/usr/bin/janus"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "deploy" / "janus"


def janus_missing() -> str | None:
    """Why Janus cannot be started here, or None."""
    if not os.access(JANUS, os.X_OK):
        return f"{JANUS} is missing: install Debian's janus package (.ci/run does)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JanusProcess:
    """A running Janus: its API URL (``ws://``), admin URL, process and log file."""

    process: subprocess.Popen
    url: str
    admin_url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        """Die like a crashed server: no goodbye to anyone."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def _die_with_parent() -> None:
    """Linux: Janus gets SIGTERM when the test or bench process that started it dies, even
    without a teardown (a crashed test run must not leave Janus servers behind)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_janus(workdir: Path, *, rtp_ports: tuple[int, int] | None = None) -> JanusProcess:
    """Start Janus with ``deploy/janus`` on free ports; returns once its API answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    ws_port, admin_port = free_port(), free_port()
    for source in CONFIG_DIR.glob("*.jcfg"):
        text = source.read_text()
        text = re.sub(r"\bws_port = \d+", f"ws_port = {ws_port}", text)
        text = re.sub(r"\badmin_ws_port = \d+", f"admin_ws_port = {admin_port}", text)
        (workdir / source.name).write_text(text)
    log = workdir / "janus.log"
    command = [JANUS, "-F", str(workdir), "-C", str(workdir / "janus.jcfg"), "-o", "-L", str(log)]
    command += ["-N"]  # the log file only: a test's output stays readable
    if rtp_ports:
        command += ["-r", f"{rtp_ports[0]}-{rtp_ports[1]}"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    janus = JanusProcess(
        process=process,
        url=f"ws://127.0.0.1:{ws_port}",
        admin_url=f"ws://127.0.0.1:{admin_port}",
        log=log,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"janus exited with {process.returncode}:\n{tail}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", ws_port)) == 0:
                return janus
        time.sleep(0.05)
    janus.stop()
    raise RuntimeError("janus did not open its API port within 20 s")
