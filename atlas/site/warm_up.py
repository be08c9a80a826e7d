"""The map's first view built ahead of its first visitor (``manage.py warm_map``).

Every change to the data starts a new version of the map's cache, and the first visitor
after it waits for the tiles of the view the map opens on. At a million services that is
1.4 s when PostgreSQL has the markers in memory and 1.5-2.2 s when it has not (after a
restart, ``bench/map.py --cold-database``); later visitors get the tiles from the cache in
about 0.5-0.7 s. Building the first view's tiles (and the count) after each change, from
cron like ``store_exports``, makes that first visitor a later one.

The map opens with Leaflet's ``fitBounds`` on the atlas's bounds (``map_view``), at the
largest zoom at which they fit its container, never below ATLAS_MAP_MIN_ZOOM, and asks for
the tiles of one zoom level less, 512 px wide (``markers.js``, ``tilesInView``). Which zoom
depends on the size of the screen, so every zoom a map container from SMALLEST to LARGEST
opens at is warmed, each with every tile the LARGEST container shows there: a smaller
container at the same zoom and centre shows a part of those.

Besides the unfiltered map, each category of the filter drawer alone is warmed: picking
one is a resident's first filter, and a filtered view pays for reading its services' ids
before its first tile (at a million services, ``category=kita`` kept 102,510 of them and
its first markers took 4.0 s from a cold database; ``bench/map.py --query``). Other
filter sets (a search, several categories, target groups) are built by their first
request, as before: there are too many to build ahead.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import QueryDict

from atlas.core.maps import MAX_ZOOM
from planning_areas.map_view import MapView, map_view
from providers.models import Category

from . import queries
from .map_answers import MapAnswers, count_build, tile_build, tile_kind
from .tiles import TILE_SIZE, Tile, world_pixel

# Map containers (width, height in CSS pixels): a phone's below its header, a large
# desktop screen's.
SMALLEST = (320, 240)
LARGEST = (2560, 1600)
# The browser's tiles are drawn at twice their size (markers.js: TILE_SIZE 512).
DRAWN_TILE_SIZE = 2 * TILE_SIZE


# The map cache entry that lists what the warm-ups built: (points version, cache keys).
BUILT_KEYS = "atlas:warm-up:built"


@dataclass(frozen=True)
class WarmUp:
    filters: str  # the filter set, as the map's requests send it ("" for none)
    tiles: int  # the first view's tiles, at every zoom it opens at
    keys: tuple[str, ...]  # the cache keys of the answers it built (tiles, parts, count)
    seconds: float

    @property
    def built(self) -> int:
        return len(self.keys)


def opening_zoom(view: MapView, container: tuple[int, int], min_zoom: int) -> int:
    """The map's zoom after ``fitBounds(view)`` in a container of that size."""
    return min(max(view.zoom_to_fit(*container), min_zoom), MAX_ZOOM)


def _tile_index(pixel: float, tile_zoom: int) -> int:
    """The column (or row) of the tile drawn at ``pixel``, clamped to the world."""
    return min(max(math.floor(pixel / DRAWN_TILE_SIZE), 0), 2**tile_zoom - 1)


def first_view_tiles(view: MapView, min_zoom: int) -> list[Tile]:
    """The tiles the map asks for when it opens on ``view``, for every container size
    from SMALLEST to LARGEST."""
    west, south, east, north = view.bounds
    # A pixel of margin for Leaflet's rounding of the view's corners.
    half_width, half_height = LARGEST[0] / 2 + 1, LARGEST[1] / 2 + 1
    tiles = []
    low, high = (opening_zoom(view, size, min_zoom) for size in (SMALLEST, LARGEST))
    for zoom in range(low, high + 1):
        # fitBounds centres the bounds in projected pixels.
        (x0, y0), (x1, y1) = world_pixel(west, north, zoom), world_pixel(east, south, zoom)
        centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
        tile_zoom = max(zoom - 1, 0)
        columns = range(
            _tile_index(centre_x - half_width, tile_zoom),
            _tile_index(centre_x + half_width, tile_zoom) + 1,
        )
        rows = range(
            _tile_index(centre_y - half_height, tile_zoom),
            _tile_index(centre_y + half_height, tile_zoom) + 1,
        )
        tiles.extend(Tile(tile_zoom, x, y) for x in columns for y in rows)
    return tiles


def warmed_filter_sets() -> list[QueryDict]:
    """The unfiltered map, then each category alone, as the filter drawer's check box
    sends it (``category=<slug>``), in the categories' order."""
    filter_sets = [QueryDict()]
    for slug in Category.objects.values_list("slug", flat=True):
        filters = QueryDict(mutable=True)
        filters["category"] = slug
        filter_sets.append(filters)
    return filter_sets


def opening_tiles() -> list[Tile]:
    """``first_view_tiles`` of this atlas's view (its bounds: a setting, or two aggregates
    over the current areas)."""
    return first_view_tiles(map_view(), settings.ATLAS_MAP_MIN_ZOOM)


def warm_first_view(filters: QueryDict | None = None, tiles: list[Tile] | None = None) -> WarmUp:
    """Build the map's count and first-view tiles (``tiles``, by default
    ``opening_tiles()``) for ``filters`` (None: unfiltered) into the map cache where they
    are missing for the current data version."""
    started = time.monotonic()
    answers = MapAnswers(filters if filters is not None else QueryDict())
    tiles = opening_tiles() if tiles is None else tiles
    answers.answer("count", count_build)
    for tile in tiles:
        answers.answer(tile_kind(tile), tile_build(tile))
    return WarmUp(
        answers.params.urlencode(),
        len(tiles),
        tuple(answers.key(part) for part in answers.built),
        time.monotonic() - started,
    )


def forget_older_warm_ups(keys: list[str]) -> int:
    """Record ``keys`` as built for the current data version, and delete what earlier
    warm-ups built for an older one; return how many entries that deleted.

    Each change to the data starts a new version, and the entries of the old ones stay
    until they expire (MAP_CACHE_SECONDS, six hours). A warm-up builds some 75 entries per
    filter set (1,124 for the demo's 14 categories): about 18 changes within six hours, an
    editor's morning, would fill the database cache's 20,000 entries, which then deletes a
    third of them in key order, current entries too (Django's ``_cull``). Deleting the old
    warm-ups' entries keeps what they add to about one version's worth. Should the record
    itself be evicted, the old entries merely wait for their expiry, as before."""
    cache = caches[settings.MAP_CACHE]
    version = queries.points_version()
    earlier_version, earlier_keys = cache.get(BUILT_KEYS) or (None, [])
    deleted = 0
    if earlier_version == version:
        keys = list(dict.fromkeys([*earlier_keys, *keys]))
    elif earlier_keys:
        cache.delete_many(earlier_keys)
        deleted = len(earlier_keys)
    if keys or deleted:
        cache.set(BUILT_KEYS, (version, keys), None)
    return deleted
