"""hub/events.py: handlers run after commit, each isolated, never for rolled-back work."""

from __future__ import annotations

import pytest
from django.db import transaction

from hub import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def handled():
    calls: list[dict] = []

    def record(**payload):
        calls.append(payload)

    def broken(**payload):
        raise RuntimeError("handler bug")

    events.subscribe("testing.happened", broken)
    events.subscribe("testing.happened", record)
    events.subscribe("testing.happened", record)  # registering twice keeps one
    yield calls
    events.unsubscribe("testing.happened", broken)
    events.unsubscribe("testing.happened", record)


def test_handlers_run_after_commit_and_a_broken_one_does_not_stop_others(handled, commit, caplog):
    with transaction.atomic():
        events.emit("testing.happened", n=1)
        assert handled == []  # not before commit
    commit()
    assert handled == [{"n": 1}]
    assert "handler bug" in caplog.text or "failed" in caplog.text


def test_rolled_back_work_emits_nothing(handled, commit):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("testing.happened", n=2)
        raise RuntimeError("rollback")
    commit()
    assert handled == []


def test_event_without_handlers_is_fine(commit):
    events.emit("testing.nobody_listens", x=1)
    commit()
