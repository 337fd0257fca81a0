"""Health endpoint, deploy checks and the two run modes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_names_what_is_down(client, monkeypatch):
    from hub import views

    async def broken() -> None:
        raise ConnectionError("layer gone")

    monkeypatch.setattr(views, "_check_channel_layer", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert response.json()["channel_layer"].startswith("down")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "PYTEST_VERSION"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-production-secret-" + "x" * 50,
        ALLOWED_HOSTS="lyceum.example.org",
        LYCEUM_HTTPS="1",
        LYCEUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_key_is_required_against_a_real_database(tmp_path):
    result = _manage(
        "check", DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", LYCEUM_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_weak_secret_key_refuses_to_start_against_a_real_database(tmp_path):
    result = _manage(
        "check",
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        SECRET_KEY="hello",
        LYCEUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak" in result.stderr
    assert "it has 5 characters, at least 32 are needed" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # how to make a good one


def test_a_strong_secret_key_starts_against_a_real_database(tmp_path):
    ci_key = "ci-only-" + secrets.token_hex(24)  # as .ci/run makes it
    result = _manage(
        "check",
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        SECRET_KEY=ci_key,
        LYCEUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "ci-only-" + "0123456789abcdef" * 3,  # .ci/run's shape
        "dev-only-0123456789abcdef0123456789abcdef",  # the developers' services-mode key
        "lyceum-live-tests-" + "x" * 40,  # tests/live_server.py
        "lyceum-rush-test-" + "x" * 40,  # tests/sessions/test_http_rush.py
        "q3V7mZ_t0p9LwR2xYk8sN4bD6hJ1cF5gA-uE",  # token_urlsafe's alphabet, 36 characters
    ],
)
def test_strong_secret_keys_are_accepted(key):
    from hub.settings import secret_key_weakness

    assert secret_key_weakness(key) is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("dev-only", "8 characters"),
        ("x" * 31 + "y", None),  # long enough, but two different characters
        ("0123456789abcdefghijklmnopqrstu", "31 characters"),
        ("ab" * 40, "only 2 different characters"),
        ("django-insecure-q3V7mZ_t0p9LwR2xYk8sN4bD6hJ1cF5gA-uE", "development key"),
    ],
)
def test_weak_secret_keys_are_refused(key, reason):
    from hub.settings import secret_key_weakness

    weakness = secret_key_weakness(key)
    assert weakness is not None
    assert reason is None or reason in weakness


def test_embedded_mode_writes_e_mails_under_var_not_to_the_console(tmp_path):
    """`make run`'s console keeps its banner: the demo's e-mails go to files in var/mail/."""
    result = _manage(
        "shell",
        "-c",
        "from django.core.mail import send_mail; "
        "send_mail('Welcome to Lyceum', 'Hello', 'lyceum@localhost', ['leo@example.com'])",
        LYCEUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "Welcome to Lyceum" not in result.stdout + result.stderr
    (written,) = (tmp_path / "mail").iterdir()
    assert "Subject: Welcome to Lyceum" in written.read_text()


def test_debug_is_off_unless_asked():
    from django.conf import settings

    assert "DEBUG" in os.environ or settings.DEBUG is False


def test_mode_follows_the_environment():
    from django.conf import settings

    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
        assert (
            settings.CHANNEL_LAYERS["default"]["BACKEND"]
            == "channels_redis.pubsub.RedisPubSubChannelLayer"
        )
    else:
        assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        assert (
            settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        )
