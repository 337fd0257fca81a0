"""``manage.py webpush_keys``: make this installation's VAPID key pair (once) and print
its public key. Run at deployment; the first push or subscription makes it otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub import webpush


class Command(BaseCommand):
    help = "Create the Web Push (VAPID) key pair if missing and print its public key."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(webpush.public_key())
