"""Running Lyceum: `serve` refuses to start without its static files manifest, refused
requests log one line, `make reset` starts over."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def manifest_storage(settings, tmp_path):
    """Production's static storage (whitenoise's manifest) on an empty STATIC_ROOT."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    return settings.STATIC_ROOT


def _write_manifest(root: Path, *, leave_out: int = 0) -> None:
    """A manifest as collectstatic writes it, naming every static file but ``leave_out``."""
    from django.contrib.staticfiles.finders import get_finders

    from hub.management.commands.serve import COLLECTSTATIC_IGNORED

    paths = sorted(p for f in get_finders() for p, _ in f.list(COLLECTSTATIC_IGNORED))
    kept = paths[leave_out:]
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"paths": {p: p for p in kept}, "version": "1.1", "hash": "x"}
    (root / "staticfiles.json").write_text(json.dumps(manifest))


@pytest.fixture
def no_server(monkeypatch):
    """Fail loudly instead of serving if ``serve`` got past its checks."""
    from daphne.server import Server  # serve's server is daphne's (or a subclass of it)

    def refuse(self):
        raise AssertionError("serve started the server")

    monkeypatch.setattr(Server, "run", refuse)


def test_serve_refuses_to_start_without_the_static_manifest(manifest_storage, no_server):
    from hub.management.commands.serve import static_files_problem

    problem = static_files_problem()
    assert problem is not None
    assert "staticfiles.json is missing" in problem
    assert "manage.py collectstatic --noinput" in problem
    with pytest.raises(CommandError, match="collectstatic"):
        call_command("serve", port=1, no_worker=True, quiet=True)


def test_serve_refuses_a_manifest_older_than_the_code(manifest_storage):
    from hub.management.commands.serve import static_files_problem

    _write_manifest(manifest_storage, leave_out=1)
    problem = static_files_problem()
    assert problem is not None
    assert "1 static file(s) are not in the manifest" in problem
    assert "collectstatic" in problem


def test_serve_accepts_a_complete_manifest(manifest_storage):
    from hub.management.commands.serve import static_files_problem

    _write_manifest(manifest_storage)
    assert static_files_problem() is None


def test_static_files_served_from_the_apps_need_no_manifest(settings):
    from hub.management.commands.serve import static_files_problem

    assert settings.STORAGES["staticfiles"]["BACKEND"].endswith("StaticFilesStorage")
    assert static_files_problem() is None


@pytest.mark.django_db
def test_a_routine_403_is_one_warning_line_without_a_traceback(client, learner, caplog):
    client.force_login(learner)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/announcements/new/").status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "Forbidden (Permission denied): /announcements/new/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback():
    from hub.log_filters import ClientErrorsInOneLine

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), exc_info)
    record.status_code = 500
    assert ClientErrorsInOneLine().filter(record) is True
    assert record.exc_info == exc_info


def test_make_reset_deletes_the_embedded_database_and_keeps_the_code(tmp_path):
    var = tmp_path / "var"
    (var / "media").mkdir(parents=True)
    (var / "lyceum.sqlite3").write_text("data")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        ["make", "-s", "reset", f"LYCEUM_VAR_DIR={var}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not var.exists()
    assert (ROOT / "manage.py").exists()


def test_make_reset_leaves_a_real_database_alone(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    done = subprocess.run(
        ["make", "-s", "reset", f"LYCEUM_VAR_DIR={var}"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "drop and re-create that database yourself" in done.stdout
    assert var.exists()
