"""Send again to the learning record stores the statements stored in a period.

    manage.py xapi_replay --since 2026-01-01 --until 2026-02-01 [--store 3 --store 4] [--now]

Without ``--now`` a background job sends them (the task worker must run); with it they are
sent by this command. Stores de-duplicate on the statement id, so a replay is harmless.
"""

from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"not a date or date-time: {value!r}")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Queue the xAPI statements stored in [since, until) again for the record stores."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", required=True)
        parser.add_argument("--until", default=None)
        parser.add_argument("--store", type=int, action="append", dest="stores")
        parser.add_argument("--now", action="store_true", help="send now, in this process")

    def handle(self, *args, **options) -> None:
        from integrations.models import LearningRecordStore
        from integrations.xapi import statements_replay, xapi_send

        since = _moment(options["since"])
        until = _moment(options["until"]) if options["until"] else timezone.now()
        if until <= since:
            raise CommandError("--until must come after --since")
        stores = options["stores"] or None
        if stores and LearningRecordStore.objects.filter(pk__in=stores).count() != len(stores):
            raise CommandError("unknown store id")
        queued = statements_replay(since=since, until=until, store_ids=stores)
        self.stdout.write(f"{queued} statement(s) queued")
        if options["now"]:
            ids = stores or list(
                LearningRecordStore.objects.filter(is_active=True).values_list("pk", flat=True)
            )
            sent = sum(xapi_send(store_id=i) for i in ids)
            self.stdout.write(f"{sent} statement(s) sent")
