"""``manage.py export_mapping``: the mapping CSV of a composed layer, to edit and load again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from planning_areas.composition import export_mapping
from planning_areas.models import Composition


class Command(BaseCommand):
    help = (
        "Print the mapping (base_code, code, name) of a composed layer as CSV; edit it and "
        "load it with manage.py compose_layer --mapping."
    )

    def add_arguments(self, parser):
        parser.add_argument("--layer", required=True, help="slug of the composed layer")

    def handle(self, *args, **options):
        composition = Composition.objects.filter(layer__slug=options["layer"]).first()
        if composition is None:
            raise CommandError(f"“{options['layer']}” is not a composed layer.")
        self.stdout.write(export_mapping(composition), ending="")
