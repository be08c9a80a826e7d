"""``manage.py import_addresses PATH ... [--commit]``: load official addresses into the index."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from planning_areas.address_import import (
    AddressImportError,
    import_addresses,
    read_address_file,
)
from planning_areas.models import Layer


class Command(BaseCommand):
    help = (
        "Import addresses from CSV (.csv, .csv.gz) or GeoJSON (WGS84 points). Rows carry a "
        "position, or the official area code on --layer. Dry run unless --commit is given; "
        "all files are written in one transaction or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--layer",
            help="Slug of the layer the official area codes refer to (e.g. planungsraeume-2021).",
        )
        for name in ("street", "number", "suffix", "postcode", "district", "code"):
            parser.add_argument(
                f"--{name}-field",
                help=f"Source field with the {name} (guessed from known names if omitted).",
            )
        parser.add_argument(
            "--commit", action="store_true", help="Write the addresses (default: dry run)."
        )

    def handle(self, *args, paths, layer, commit, **options):
        from django.db import transaction

        layer_obj = None
        if layer:
            layer_obj = Layer.objects.filter(slug=layer).first()
            if layer_obj is None:
                known = ", ".join(Layer.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"Layer “{layer}” does not exist (known layers: {known}).")
        fields = {
            name: options.get(f"{name}_field")
            for name in ("street", "number", "suffix", "postcode", "district", "code")
        }
        try:
            with transaction.atomic():
                for path in paths:
                    frame = read_address_file(path, fields)
                    report = import_addresses(frame, layer=layer_obj, source=path.name, commit=True)
                    self.stdout.write(f"{path.name}: {report}")
                if not commit:
                    transaction.set_rollback(True)
        except AddressImportError as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        if commit:
            self.stdout.write(self.style.SUCCESS("Addresses written."))
        else:
            self.stdout.write(
                self.style.WARNING("Dry run: nothing was written. Add --commit to write.")
            )
