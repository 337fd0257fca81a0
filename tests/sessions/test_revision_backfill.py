"""The migration that introduced ``Registration.revision`` gives existing rows the revision
their past status changes earned, so entries calendar apps ignored become updates."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from sessions.models import Registration
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db

migration = importlib.import_module("sessions.migrations.0003_registration_revision")


def test_backfill_counts_each_attendees_changes(coordinator, space, learner, learner2, crowd):
    session = make_session(coordinator, space, capacity=5)
    now = timezone.now()
    left = Registration.objects.create(
        session=session, user=learner, status="cancelled", cancelled_at=now
    )
    back = Registration.objects.create(
        session=session, user=learner, status="confirmed", promoted_at=now
    )
    plain = Registration.objects.create(session=session, user=learner2, status="confirmed")
    waiting = Registration.objects.create(
        session=session, user=crowd[0], status="waitlisted", position=1
    )
    Registration.objects.update(revision=0)
    migration.backfill(apps, None)
    revisions = {r.pk: r.revision for r in Registration.objects.all()}
    # learner: cancelled (1), registered again (2) and promoted (3), in one calendar entry.
    assert revisions[left.pk] == 1
    assert revisions[back.pk] == 3
    assert revisions[plain.pk] == 0 and revisions[waiting.pk] == 0
