"""``manage.py import_areas``: bring a layer of planning areas in line with a file."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from planning_areas.imports.areas import AreaImportOptions, import_area_file
from planning_areas.imports.reading import ImportFileError


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"“{value}” is not a date in the form YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = (
        "Import planning areas from a Shapefile (also zipped), GeoPackage or GeoJSON into a "
        "layer. A dry run that reports new, changed and removed areas unless --commit is given; "
        "with --commit all or nothing, and every location's stored areas are recomputed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Shapefile (.shp or .zip), GeoPackage or GeoJSON")
        parser.add_argument("--layer", required=True, help="slug of the layer to import into")
        parser.add_argument("--code-field", required=True, help="attribute with the area code")
        parser.add_argument("--name-field", required=True, help="attribute with the area name")
        parser.add_argument("--layer-name", help="name of the layer, to create a new one")
        parser.add_argument("--level", type=int, help="level of a new layer (1 = coarsest)")
        parser.add_argument("--parent-layer", help="slug of the parent layer")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--parent-code-field", help="attribute with the parent area's code")
        group.add_argument(
            "--parent-code-prefix",
            type=int,
            help="the parent's code is this many leading characters of the code",
        )
        parser.add_argument("--valid-from", type=_date, help="first day of this edition")
        parser.add_argument("--valid-until", type=_date, help="last day of this edition")
        parser.add_argument("--srid", type=int, help="EPSG code, for files without a CRS")
        parser.add_argument("--encoding", help="attribute encoding, for Shapefiles without .cpg")
        parser.add_argument("--source-layer", help="layer inside a GeoPackage with several")
        parser.add_argument("--source", help="where the data comes from (stored on the layer)")
        parser.add_argument("--licence", help="licence of the data (stored on the layer)")
        parser.add_argument("--commit", action="store_true", help="write the changes")

    def handle(self, *args, **options):
        import_options = AreaImportOptions(
            layer=options["layer"],
            code_field=options["code_field"],
            name_field=options["name_field"],
            layer_name=options["layer_name"],
            level=options["level"],
            parent_layer=options["parent_layer"],
            parent_code_field=options["parent_code_field"],
            parent_code_prefix=options["parent_code_prefix"],
            valid_from=options["valid_from"],
            valid_until=options["valid_until"],
            srid=options["srid"],
            encoding=options["encoding"],
            source_layer=options["source_layer"],
            source=options["source"],
            licence=options["licence"],
            commit=options["commit"],
        )
        bar = tqdm(
            desc=f"{options['layer']}: saving areas",
            unit=" areas",
            disable=None if options["verbosity"] < 2 else False,
            file=self.stderr._out,
        )
        try:
            report = import_area_file(
                options["path"], import_options, progress=lambda done: bar.update(1)
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        for line in report.summary_lines():
            self.stdout.write(line)
