"""``manage.py export_data``: services, organisations, locations or contacts as a file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from providers.exports import FORMATS, export
from providers.models import Contact, Location, Organization, Service

MODELS = {
    "services": Service,
    "organizations": Organization,
    "locations": Location,
    "contacts": Contact,
}


class Command(BaseCommand):
    help = (
        "Export services, organizations, locations or contacts as CSV, Excel or GeoJSON. "
        "Contacts are exported public only unless --include-internal is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=sorted(MODELS))
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")
        parser.add_argument(
            "--published-only", action="store_true", help="services: only published ones"
        )
        parser.add_argument(
            "--include-internal",
            action="store_true",
            help="contacts: include internal contacts and internal phone numbers",
        )

    def handle(self, *args, what, **options):
        queryset = MODELS[what].objects.all()
        if options["published_only"]:
            if what != "services":
                raise CommandError("--published-only applies to services only.")
            queryset = queryset.published()
        content = export(queryset, options["format"], internal=options["include_internal"])
        if options["output"]:
            with open(options["output"], "wb") as handle:
                handle.write(content)
            self.stderr.write(f"{queryset.count()} {what} written to {options['output']}")
        elif options["format"] == "xlsx":
            raise CommandError("Excel files need --output.")
        else:
            self.stdout.write(content.decode("utf-8"), ending="")
