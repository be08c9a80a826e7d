"""``manage.py store_exports``: write the complete service exports' files for the current
data version, so that the first visitor after a change gets a file instead of a 2 s stream
(run it after imports, or every few minutes from cron). Changes no data."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from providers.export_files import store_all
from providers.models import Service

MESSAGES = {
    "stored": "stored",
    "present": "already stored for this data version",
    "busy": "another process is writing it",
    "failed": "not stored (see the log)",
}


class Command(BaseCommand):
    help = "Write the files of the complete service exports for the current data version."

    def handle(self, *args, **options):
        results = store_all(Service.objects.published())
        for filename, result in results.items():
            self.stdout.write(f"{filename}: {MESSAGES[result]}")
        if "failed" in results.values():
            raise CommandError("Not every export could be stored.")
