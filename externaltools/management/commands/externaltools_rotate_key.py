"""``manage.py externaltools_rotate_key``: a new signing key pair for LTI id_tokens."""

from django.core.management.base import BaseCommand

from externaltools import lti


class Command(BaseCommand):
    help = "Make a new key pair that signs LTI messages; older ones stay published a while."

    def handle(self, *args, **options) -> None:
        key = lti.key_rotate()
        self.stdout.write(f"New signing key {key.kid}")
