"""``certifications.space.<id>``: awards of a space changing (``certification.changed``,
an award's payload) and bulk operations applied (``certifications.bulk``); ephemeral, for
the space's coordinators and admins. A person's own award changes come as
``certification.changed`` on ``hub.user.<id>``."""

from __future__ import annotations

from typing import Any

from certifications.selectors import can_manage
from hub import realtime
from hub.params import parse_id


@realtime.topic("certifications.space")
class SpaceCertificationsTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        space_id = parse_id(key)
        return space_id is not None and can_manage(user=user, space_id=space_id)


@realtime.topic("certifications.bulkjob")
class BulkJobTopic(realtime.Topic):
    """``certifications.bulkjob.<id>``: a background bulk operation's ``bulk.progress``
    (done, total), then ``bulk.finished`` or ``bulk.failed``; ephemeral, for the person who
    started it only."""

    def authorize(self, user: Any, key: str) -> bool:
        from certifications.models import BulkJob

        job_id = parse_id(key)
        return bool(
            job_id
            and getattr(user, "is_authenticated", False)
            and BulkJob.objects.filter(pk=job_id, created_by=user).exists()
        )
