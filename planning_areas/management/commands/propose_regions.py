"""``manage.py propose_regions``: a first draft of Sozialräume from base units (spopt)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from planning_areas.composition import CompositionError, compose_layer
from planning_areas.models import Layer
from planning_areas.regionalisation import METHODS, RegionalisationError, propose_regions


class Command(BaseCommand):
    help = (
        "Propose contiguous regions of base units with at least a given population, similar in "
        "the chosen indicators (max-p, or SKATER with a number of regions), and save them as a "
        "draft composed layer to edit with its mapping CSV (manage.py export_mapping). "
        "A dry run that reports the regions unless --commit is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="base", required=True, help="slug of the base layer")
        parser.add_argument(
            "--indicators",
            required=True,
            help="comma-separated indicator keys the units of a region should be similar in",
        )
        parser.add_argument("--min-population", type=int, default=20_000)
        parser.add_argument("--method", choices=METHODS, default="maxp")
        parser.add_argument("--regions", type=int, help="number of regions (SKATER)")
        parser.add_argument("--iterations", type=int, default=20, help="max-p construction runs")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--layer", required=True, help="slug of the draft layer")
        parser.add_argument("--layer-name", help="name of the draft layer")
        parser.add_argument("--commit", action="store_true", help="save the draft layer")

    def handle(self, *args, **options):
        base = Layer.objects.filter(slug=options["base"]).first()
        if base is None:
            raise CommandError(f"The base layer “{options['base']}” does not exist.")
        indicators = [k.strip() for k in options["indicators"].split(",") if k.strip()]
        try:
            proposal = propose_regions(
                base,
                indicators=indicators,
                min_population=options["min_population"],
                method=options["method"],
                n_regions=options["regions"],
                iterations=options["iterations"],
                seed=options["seed"],
            )
            for line in proposal.summary_lines():
                self.stdout.write(line)
            report = compose_layer(
                base,
                proposal.rows,
                layer_slug=options["layer"],
                layer_name=options["layer_name"] or options["layer"],
                commit=options["commit"],
                is_draft=True,
                note=" ".join(proposal.summary_lines()),
            )
        except (RegionalisationError, CompositionError) as exc:
            raise CommandError(str(exc)) from exc
        for line in report.summary_lines():
            self.stdout.write(line)
