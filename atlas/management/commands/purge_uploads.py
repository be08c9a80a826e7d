"""``manage.py purge_uploads``: remove import uploads whose preview was never confirmed."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from atlas.core import uploads


class Command(BaseCommand):
    help = (
        "List (or with --commit remove) uploaded import files older than "
        "ATLAS_UPLOAD_MAX_AGE_SECONDS under MEDIA_ROOT/imports. Every new upload does the same; "
        "run this from cron where uploads are rare."
    )

    def add_arguments(self, parser):
        parser.add_argument("--commit", action="store_true", help="remove the files")

    def handle(self, *args, **options):
        expired = uploads.purge_expired() if options["commit"] else uploads.expired_folders()
        for entry in expired:
            self.stdout.write(str(entry))
        age = settings.ATLAS_UPLOAD_MAX_AGE_SECONDS
        if options["commit"]:
            self.stdout.write(f"{len(expired)} uploads older than {age} s removed.")
        else:
            self.stdout.write(
                f"{len(expired)} uploads older than {age} s; dry run, pass --commit to remove them."
            )
