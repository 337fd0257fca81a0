"""The real-time gateway (ARCHITECTURE §3).

Apps use: ``publish`` (from services, on commit), ``topic`` / ``action`` / ``Topic`` /
``Event`` (in their ``realtime.py``), ``hold_topic_order`` (before creating a durable event's
row), ``revoke`` (someone lost the right to a topic), ``disconnect_user`` (close every socket of
someone, on every process: deactivation), ``presence``, and ``Encoded`` (an event's data
encoded once, for its frame and the acting socket's reply).
"""

from hub.realtime.errors import GatewayError
from hub.realtime.ordering import hold_topic_order, topic_lock_key
from hub.realtime.publishing import Encoded, apublish, disconnect_user, publish, revoke
from hub.realtime.registry import Event, Topic, action, topic

__all__ = [
    "Encoded",
    "Event",
    "GatewayError",
    "Topic",
    "action",
    "apublish",
    "disconnect_user",
    "hold_topic_order",
    "publish",
    "revoke",
    "topic",
    "topic_lock_key",
]
