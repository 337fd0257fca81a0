"""The course foreign key migration keeps every channel's link to its course."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from classrooms.models import Course
from hub.accounts.models import Space

BEFORE = [("messaging", "0001_initial")]
AFTER = [("messaging", "0002_course_foreign_key_and_lean_message_indexes")]


@pytest.mark.django_db(transaction=True)
def test_course_ids_become_foreign_keys_and_history_counts_as_notified():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    # Only messaging went back: the other apps' tables are as their current models say.
    space = Space.objects.create(name="S", slug="s")
    course = Course.objects.create(space=space, title="C")
    Conversation = old.get_model("messaging", "Conversation")
    linked = Conversation.objects.create(kind="course", course_id=course.pk, last_event_id=7)
    orphan = Conversation.objects.create(kind="course", course_id=course.pk + 1000)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("messaging", "Conversation")
    assert new.objects.get(pk=linked.pk).course_id == course.pk
    assert new.objects.get(pk=linked.pk).notified_id == 7
    assert new.objects.get(pk=orphan.pk).course_id is None  # kept, detached

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
