"""``python -m bench home``: each role's home page, before (a git ref) and after (this
checkout), measured in the same run.

Both builds are served side by side by ``manage.py serve`` (daphne, embedded mode), each on
its own SQLite database made by ``migrate`` + ``seed_demo`` and its own ``collectstatic``
(the "before" build is ``git archive <ref>`` unpacked in a temporary directory; both run
on this checkout's virtualenv). Headless Chromium logs in as each demo role, disables the
HTTP cache through the DevTools protocol (a cold load every time), and loads ``/`` at
1280 x 800, ``--home-loads`` times per build and role, the builds interleaved so that a
busy moment of the machine hits both alike. For each load:

* requests: the document and every resource it fetched until it was loaded and the
  network idle (Resource Timing: the WebSocket is not counted; lazy charts below the fold
  are not fetched); the service worker is blocked, so nothing comes from its cache;
* transferred: their ``transferSize`` (headers and encoded bodies);
* DOMContentLoaded: the navigation entry's ``domContentLoadedEventEnd``, in ms.

Medians are printed as a Markdown table and written to ``bench/results/home-<time>.json``.
The issue's bound: DOMContentLoaded after / before <= 1.5 for every role.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ROLES = ("learner", "trainer", "coordinator", "manager", "admin")
DEMO_PASSWORD = "lyceum"
DCL_BOUND = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home-before", default="main", help="git ref of the 'before' build")
    parser.add_argument("--home-loads", type=int, default=11, help="loads per build and role")
    parser.add_argument("--home-roles", default=",".join(ROLES), help="roles, comma-separated")
    parser.add_argument("--home-chromium", default="/usr/bin/chromium", help="the browser")


def _manage(root: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode:
        raise RuntimeError(f"{root}: manage.py {' '.join(args)}:\n{done.stderr[-3000:]}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unpack(ref: str, into: Path) -> None:
    """The tree of ``ref`` (``git archive``), without touching this checkout's worktrees."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    # The icons and axe copies are committed or vendored: reuse this checkout's node modules.
    vendor = ROOT / "frontend" / "vendor" / "node_modules"
    target = into / "frontend" / "vendor" / "node_modules"
    if vendor.exists() and not target.exists():
        target.symlink_to(vendor)


class Build:
    """One build of Lyceum served by ``manage.py serve`` on its own database."""

    def __init__(self, name: str, root: Path, scratch: Path) -> None:
        self.name, self.root = name, root
        var = scratch / f"var-{name}"
        var.mkdir(parents=True)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        self.env.update(
            LYCEUM_VAR_DIR=str(var),
            SQLITE_PATH=str(var / "lyceum.sqlite3"),
            MEDIA_ROOT=str(var / "media"),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.process: subprocess.Popen | None = None
        self.url = ""

    def prepare(self) -> None:
        for args in (("migrate", "--noinput"), ("seed_demo",), ("collectstatic", "--noinput")):
            _manage(self.root, self.env, *args)

    def start(self) -> None:
        import urllib.request

        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--quiet"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name}: the server did not come up")

    def stop(self) -> None:
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class Probe:
    """A logged-in Chromium page with the cache off, counting what each load transfers."""

    def __init__(self, browser: Any, build: Build, role: str) -> None:
        # The offline app's service worker would answer from its cache: blocked, so
        # every load goes to the server.
        self.context = browser.new_context(
            base_url=build.url, viewport={"width": 1280, "height": 800}, service_workers="block"
        )
        self.page = self.context.new_page()
        self.page.goto("/accounts/login/")
        self.page.fill("#id_username", role)
        self.page.fill("#id_password", DEMO_PASSWORD)
        self.page.click("[data-testid=login-form] button[type=submit]")
        self.page.wait_for_url(lambda url: "/accounts/login/" not in url)
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def load(self) -> dict[str, float]:
        self.page.goto("/", wait_until="load")
        # A page that keeps polling never idles: count what came within 5 s.
        with contextlib.suppress(Exception):
            self.page.wait_for_load_state("networkidle", timeout=5000)
        # Resource Timing: the document and every resource it fetched (scripts, styles, the
        # sprite, fetch() calls); transferSize = headers + encoded body. No WebSocket.
        got = self.page.evaluate(
            """() => {
              const nav = performance.getEntriesByType("navigation")[0];
              const res = performance.getEntriesByType("resource");
              return {
                requests: 1 + res.length,
                bytes: nav.transferSize + res.reduce((sum, r) => sum + r.transferSize, 0),
                dcl_ms: nav.domContentLoadedEventEnd,
              };
            }"""
        )
        return {k: float(v) for k, v in got.items()}

    def close(self) -> None:
        self.context.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    roles = [r for r in args.home_roles.split(",") if r]
    with tempfile.TemporaryDirectory(prefix="lyceum-home-bench-") as tmp:
        scratch = Path(tmp)
        before_root = scratch / "before"
        before_root.mkdir()
        _unpack(args.home_before, before_root)
        builds = [
            Build(f"before ({args.home_before})", before_root, scratch),
            Build("after (this checkout)", ROOT, scratch),
        ]
        try:
            for build in builds:
                print(f"home: preparing {build.name}", flush=True)
                build.prepare()
                build.start()
            samples: dict[tuple[str, str], list[dict[str, float]]] = {
                (b.name, r): [] for b in builds for r in roles
            }
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=args.home_chromium, args=["--no-sandbox"], headless=True
                )
                probes = {(b.name, r): Probe(browser, b, r) for b in builds for r in roles}
                for probe in probes.values():
                    probe.load()  # warm the server (templates, first queries): not counted
                for i in range(args.home_loads):
                    for role in roles:
                        order = builds if i % 2 == 0 else builds[::-1]
                        for build in order:
                            samples[(build.name, role)].append(probes[(build.name, role)].load())
                for probe in probes.values():
                    probe.close()
                browser.close()
        finally:
            for build in builds:
                build.stop()
    rows = []
    for role in roles:
        for build in builds:
            got = samples[(build.name, role)]
            rows.append(
                {
                    "role": role,
                    "build": build.name,
                    "requests": statistics.median(s["requests"] for s in got),
                    "kb": round(statistics.median(s["bytes"] for s in got) / 1024, 1),
                    "dcl_ms": round(statistics.median(s["dcl_ms"] for s in got)),
                    "loads": len(got),
                }
            )
    print("| role | build | requests | transferred | DOMContentLoaded (median) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['role']} | {row['build']} | {row['requests']:g} | {row['kb']} KB "
            f"| {row['dcl_ms']} ms |"
        )
    ratios = {
        role: rows[2 * i + 1]["dcl_ms"] / max(rows[2 * i]["dcl_ms"], 1)
        for i, role in enumerate(roles)
    }
    for role, ratio in ratios.items():
        verdict = "ok" if ratio <= DCL_BOUND else f"OVER {DCL_BOUND}x"
        print(f"home: {role}: DOMContentLoaded after/before = {ratio:.2f} ({verdict})")
    result = {"loads": args.home_loads, "before": args.home_before, "rows": rows, "ratios": ratios}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"home-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
