"""``manage.py build_crosswalk``: how the residents of one layer's areas spread over another's."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from planning_areas.crosswalks import CrosswalkError, build_crosswalk
from planning_areas.models import Layer


class Command(BaseCommand):
    help = (
        "Build the crosswalk from one layer to another that does not nest in it: per pair of "
        "overlapping areas, the share of the source area's residents in the target area, from "
        "addresses (codes or points) where the atlas has them, else by area. A dry run that "
        "reports the method and the share of residents placed unless --commit is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="slug of the source")
        parser.add_argument("--to", dest="target", required=True, help="slug of the target")
        parser.add_argument("--commit", action="store_true", help="store the crosswalk")

    def handle(self, *args, **options):
        layers = {}
        for key in ("source", "target"):
            layers[key] = Layer.objects.filter(slug=options[key]).first()
            if layers[key] is None:
                raise CommandError(f"The layer “{options[key]}” does not exist.")
        started = time.monotonic()
        try:
            report = build_crosswalk(layers["source"], layers["target"], commit=options["commit"])
        except CrosswalkError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary_lines():
            self.stdout.write(line)
        self.stdout.write(f"{time.monotonic() - started:.1f} s")
