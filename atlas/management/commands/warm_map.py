"""``manage.py warm_map``: build the map's first view (its tiles at every zoom it opens at,
and the count) for the current data version, so that the first visitor after a change
finds them in the map cache (run it after imports, or every few minutes from cron, beside
``store_exports``). Builds only what is missing; changes no data."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from atlas.site.warm_up import warm_first_view


class Command(BaseCommand):
    help = "Build the map's first view into the map cache for the current data version."

    def handle(self, *args, **options):
        result = warm_first_view()
        built = (
            f"{result.built} cache entries built (tiles, their parts, the count)"
            if result.built
            else "all of it was cached already"
        )
        self.stdout.write(
            f"The map's first view, {result.tiles} tiles and the count: {built}; "
            f"{result.seconds:.1f} s."
        )
