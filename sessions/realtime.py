"""``sessions.session.<id>``: seats left and waiting-list length (ephemeral ``session.seats``)
and the registration log (durable: ``SessionEvent`` ids, replayed after a reconnect).

``session.changed`` (dates, parts, status, iCal sequence) and ``attendance.summary`` are
ephemeral. A learner's own waiting-list position arrives on ``hub.user.<id>``
(``sessions.position``).
"""

from __future__ import annotations

from typing import Any

from hub import realtime
from sessions.models import Session
from sessions.selectors import can_manage_session, can_view_session, session_events_after


@realtime.topic("sessions.session")
class SessionTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        if not key.isdigit():
            return False
        session = Session.objects.filter(pk=int(key)).first()
        return session is not None and can_view_session(user=user, session=session)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event(e.type, e.data, id=e.pk)
            for e in session_events_after(session_id=int(key), after_id=since, limit=limit)
        ]


@realtime.topic("sessions.session.attendance")
class AttendanceTopic(realtime.Topic):
    """``sessions.session.<id>.attendance``: each mark of the sign-in sheet, for the session's
    trainers and coordinators only (the session topic carries the counts, no names)."""

    def authorize(self, user: Any, key: str) -> bool:
        if not key.isdigit():
            return False
        session = Session.objects.filter(pk=int(key)).first()
        return session is not None and can_manage_session(user=user, session=session)
