"""``manage.py import_indicators``: indicator values per area from a CSV or Excel table."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from planning_areas.imports.indicators import IndicatorImportError, import_indicators


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"“{value}” is not a date in the form YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = (
        "Import indicator values per area from a CSV or Excel file (one row per area, one "
        "column per indicator). A mapping (TOML) describes the indicators; without one, columns "
        "named like existing indicators are imported. A dry run unless --commit; all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV (UTF-8) or Excel (.xlsx) file")
        parser.add_argument("--layer", required=True, help="slug of the layer the codes are on")
        parser.add_argument("--code-field", required=True, help="column with the area code")
        parser.add_argument("--mapping", help="TOML file describing the indicators and columns")
        parser.add_argument("--period", type=_date, help="date the values describe (YYYY-MM-DD)")
        parser.add_argument("--commit", action="store_true", help="write the values")

    def handle(self, *args, **options):
        try:
            report = import_indicators(
                options["path"],
                layer=options["layer"],
                code_field=options["code_field"],
                mapping=options["mapping"],
                period=options["period"],
                commit=options["commit"],
            )
        except IndicatorImportError as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"Nothing imported: {len(exc.errors)} error(s).") from exc
        self.stdout.write(str(report))
        if report.ignored_columns:
            self.stdout.write("Ignored columns: " + ", ".join(report.ignored_columns[:40]))
        if report.committed:
            self.stdout.write(self.style.SUCCESS("Committed."))
        else:
            self.stdout.write("Dry run: nothing written (pass --commit to write).")
