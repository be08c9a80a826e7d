"""``manage.py import_services``: services from CSV, Excel or GeoJSON through a column mapping."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from providers.imports.service_import import Mapping, ServiceImportError, import_services


class Command(BaseCommand):
    help = (
        "Import services, their organisations and locations from a CSV, Excel (.xlsx) or GeoJSON "
        "file, using a TOML column mapping (see fixtures/mappings/README.md). A dry run that "
        "lists every rejected row unless --commit is given; with --commit all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV, Excel (.xlsx) or GeoJSON file")
        parser.add_argument("--mapping", required=True, help="TOML file mapping columns to fields")
        parser.add_argument("--commit", action="store_true", help="write the changes")

    def handle(self, *args, **options):
        try:
            mapping = Mapping.load(options["mapping"])
        except ServiceImportError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(desc="rows", unit=" rows", disable=None, file=self.stderr._out)
        try:
            report = import_services(
                options["path"],
                mapping,
                commit=options["commit"],
                progress=lambda done: bar.update(1),
            )
        except ServiceImportError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        for line in report.summary_lines():
            self.stdout.write(line)
        if report.rejected:
            raise CommandError(
                f"{len(report.rejected)} rows rejected; nothing was imported (see above)."
            )
