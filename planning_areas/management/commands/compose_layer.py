"""``manage.py compose_layer``: build a layer from base units of another (Baukasten)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from planning_areas.composition import CompositionError, compose_layer, read_mapping
from planning_areas.models import Layer


class Command(BaseCommand):
    help = (
        "Compose a layer from the areas of another: a CSV with the columns base_code, code, "
        "name assigns each base unit to a composed area. A dry run that reports units assigned "
        "twice, units left out, unknown codes and areas of disconnected parts unless --commit "
        "is given; with --commit all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="base", required=True, help="slug of the base layer")
        parser.add_argument("--mapping", required=True, help="CSV: base_code, code, name")
        parser.add_argument("--layer", required=True, help="slug of the composed layer")
        parser.add_argument("--layer-name", help="name of the composed layer, to create it")
        parser.add_argument(
            "--draft", action="store_true", help="mark the layer as a draft to be checked"
        )
        parser.add_argument("--commit", action="store_true", help="write the composed layer")

    def handle(self, *args, **options):
        base = Layer.objects.filter(slug=options["base"]).first()
        if base is None:
            raise CommandError(f"The base layer “{options['base']}” does not exist.")
        path = Path(options["mapping"])
        if not path.is_file():
            raise CommandError(f"File not found: {path}")
        try:
            rows = read_mapping(path)
            report = compose_layer(
                base,
                rows,
                layer_slug=options["layer"],
                layer_name=options["layer_name"],
                commit=options["commit"],
                is_draft=options["draft"],
            )
        except CompositionError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary_lines():
            self.stdout.write(line)
        if report.errors:
            raise CommandError("The mapping has errors; nothing was written.")
