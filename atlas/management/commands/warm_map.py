"""``manage.py warm_map``: build the map's first view (its tiles at every zoom it opens at,
and the count) for the current data version, unfiltered and for each category alone, so
that the first visitor after a change finds them in the map cache (run it after imports,
or every few minutes from cron, beside ``store_exports``). Builds only what is missing;
changes no data. One run at a time: at a million services a run after a change takes about
40 s, and a second one started meanwhile (cron, a deployment's hook) would build the same
entries again; it stops at once instead."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import connection

from atlas.site.map_answers import InvalidFilters
from atlas.site.warm_up import (
    forget_older_warm_ups,
    opening_tiles,
    warm_first_view,
    warmed_filter_sets,
)

# The session-level advisory lock held while a run builds.
LOCK = "atlas:warm_map"


class Command(BaseCommand):
    help = (
        "Build the map's first view, unfiltered and for each category, into the map cache "
        "for the current data version."
    )

    def handle(self, *args, **options):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [LOCK])
            if not cursor.fetchone()[0]:
                self.stdout.write("Another warm_map is running: nothing done.")
                return
            try:
                self._warm(options["verbosity"])
            finally:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [LOCK])

    def _warm(self, verbosity: int) -> None:
        started = time.monotonic()
        keys = []
        filter_sets = warmed_filter_sets()
        tiles = opening_tiles()
        for filters in filter_sets:
            try:
                result = warm_first_view(filters, tiles)
            except InvalidFilters as exc:
                # A category deleted since the list was read, or a slug the filters refuse
                # (written past the admin's validation): its requests get a 400 anyway, and
                # the other filter sets are still built.
                self.stderr.write(f"  ?{filters.urlencode()}: skipped, {exc.errors}")
                continue
            keys.extend(result.keys)
            if verbosity >= 2 or (result.built and verbosity >= 1):
                self.stdout.write(
                    f"  {('?' + result.filters) if result.filters else 'unfiltered'}: "
                    f"{result.built} cache entries built; {result.seconds:.1f} s."
                )
        forgotten = forget_older_warm_ups(keys)
        summary = (
            f"{len(keys)} cache entries built (tiles, their parts, the counts)"
            if keys
            else "all of it was cached already"
        )
        if forgotten:
            summary += f", {forgotten} of an older data version deleted"
        if verbosity >= 1:
            self.stdout.write(
                f"The map's first view ({len(filter_sets)} filter sets: none and each "
                f"category alone), {len(tiles)} tiles and the count each: {summary}; "
                f"{time.monotonic() - started:.1f} s."
            )
