"""Health endpoint, deploy checks and the two run modes."""

from __future__ import annotations

import os
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
