"""``manage.py import_addresses PATH ... [--commit]``: load official addresses into the index."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from planning_areas.imports.addresses import (
    LOGICAL_FIELDS,
    import_addresses,
    read_address_file,
)
from planning_areas.imports.reading import ImportFileError
from planning_areas.models import Layer


def _layer(slug: str | None) -> Layer | None:
    if not slug:
        return None
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        known = ", ".join(Layer.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"Layer “{slug}” does not exist (known layers: {known}).")
    return layer


class Command(BaseCommand):
    help = (
        "Import addresses from CSV (.csv, .csv.gz), GeoJSON, GeoPackage or Shapefile, each also "
        "zipped. Rows carry a position, or the official area code on --layer. Field names are "
        "matched without regard to case. Repeated addresses and street-only rows are skipped and "
        "reported (--strict refuses the file instead). Dry run unless --commit is given; all "
        "files are written in one transaction or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--layer",
            help="Slug of the layer the official area codes refer to (e.g. planungsraeume-2021).",
        )
        parser.add_argument(
            "--district-layer",
            help="Slug of a layer whose area names become each positioned address's district.",
        )
        for name in LOGICAL_FIELDS:
            parser.add_argument(
                f"--{name}-field",
                help=f"Source field with the {name} (guessed from known names if omitted).",
            )
        parser.add_argument(
            "--srid", type=int, help="EPSG code of x/y fields, or of a file without a CRS."
        )
        parser.add_argument("--encoding", help="encoding of a CSV or Shapefile (default UTF-8)")
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Refuse a file with repeated addresses or street-only rows instead of skipping.",
        )
        parser.add_argument(
            "--commit", action="store_true", help="Write the addresses (default: dry run)."
        )

    def handle(self, *args, paths, layer, district_layer, commit, strict, **options):
        layer_obj, district_obj = _layer(layer), _layer(district_layer)
        fields = {name: options.get(f"{name}_field") for name in LOGICAL_FIELDS}
        try:
            with transaction.atomic():
                for path in paths:
                    frame = read_address_file(
                        path, fields, srid=options["srid"], encoding=options["encoding"]
                    )
                    report = import_addresses(
                        frame,
                        layer=layer_obj,
                        district_layer=district_obj,
                        source=path.name,
                        strict=strict,
                        commit=True,
                    )
                    self.stdout.write(f"{path.name}: {report}")
                if not commit:
                    transaction.set_rollback(True)
        except ImportFileError as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        if commit:
            self.stdout.write(self.style.SUCCESS("Addresses written."))
        else:
            self.stdout.write(
                self.style.WARNING("Dry run: nothing was written. Add --commit to write.")
            )
