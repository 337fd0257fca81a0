"""Running Lyceum: refused requests log one line, `make reset` starts over."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
