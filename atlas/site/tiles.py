"""The map's markers per web-mercator tile, clustered in PostGIS on a grid of cells.

The browser asks for the tiles it shows (``/karte/kacheln/<z>/<x>/<y>.json`` with the
filters in the query string) instead of every point, so what it downloads and draws depends
on the view, not on the number of services. It asks for tiles one zoom level above the map's,
each drawn 512 px wide, so a view of 1280 × 800 px needs 6 to 12 requests. Each tile is cut
into CELLS_PER_SIDE² square cells (64 px on screen); a cell holding one marker sends that
marker, a cell holding more sends one cluster (its count, the mean position, the bounds to
zoom to and the markers per category for the colours). From SINGLE_MARKER_ZOOM on (tile
zoom; the map's is one more) every marker is sent on its own. A marker is one
service at one location, as before: with location filters only the locations that matched.

Tiles partition the plane exactly (a point on a tile's edge belongs to the tile on its east
or south), so the counts of all tiles of a zoom level add up to the filtered total.

Below SQL_FROM_ZOOM a tile is merged from its four children (``tile_text``), each one
statement or merge of its own and cached on its own: a tile over a whole city of a million
services is not one statement over all of them.
Tiles outside the extent of all locations are empty without a query.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models import FloatField, Func, Max, Min
from django.contrib.gis.geos import Polygon
from django.db import connection

from atlas.core.maps import MAX_ZOOM
from providers.models import ServiceMarker

from .marker_filter import MarkerFilter

TILE_SIZE = 256
CELLS_PER_SIDE = 8  # 64 px on screen: clusters (34–52 px wide) hardly overlap
SINGLE_MARKER_ZOOM = 17  # a tile is ~190 m wide: markers are never too many to draw
# A tile is ~80 km wide: a quarter of a city per statement. The stored markers cost ~1.3 µs
# each: 0.2–0.35 s for the first view's tiles at 1,003,701 services (load 4), far below the
# statement timeout; 16 zoom-11 statements cost 30–50 % more (each its filter, its cache
# entry), and zoom 9 is the first view's (the map's lowest zoom asks for zoom 8).
SQL_FROM_ZOOM = 9
EMPTY = '{"clusters": [], "markers": []}'
# Web mercator's latitude limit: tiles end there.
MAX_LATITUDE = math.degrees(math.atan(math.sinh(math.pi)))


def world_pixel(lng: float, lat: float, zoom: int) -> tuple[float, float]:
    """Web-mercator pixel coordinates at ``zoom`` of a TILE_SIZE-wide world at zoom 0
    (latitudes beyond the tiles' limit count as at it)."""
    n = 2**zoom * TILE_SIZE
    lat = max(min(lat, MAX_LATITUDE), -MAX_LATITUDE)
    x = (lng + 180) / 360 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @classmethod
    def checked(cls, z: int, x: int, y: int) -> Tile | None:
        """The tile, or None when it does not exist (zoom beyond MAX_ZOOM, x or y off the
        world): such requests are answered 404."""
        if not 0 <= z <= MAX_ZOOM:
            return None
        if not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        return cls(z, x, y)

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        n = 2**self.z

        def latitude(row: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

        return (
            self.x / n * 360 - 180,
            latitude(self.y + 1),
            (self.x + 1) / n * 360 - 180,
            latitude(self.y),
        )

    def children(self) -> list[Tile]:
        return [
            Tile(self.z + 1, 2 * self.x + dx, 2 * self.y + dy) for dy in (0, 1) for dx in (0, 1)
        ]

    def intersects(self, extent: tuple[float, float, float, float] | None) -> bool:
        """Whether the tile touches ``extent`` (west, north, east, south as shares of the
        world, like ``ServiceMarker.x`` and ``y``; None: nothing)."""
        if extent is None:
            return False
        n = 2**self.z
        west, north, east, south = extent
        return (
            self.x / n <= east
            and west <= (self.x + 1) / n
            and (self.y / n <= south and north <= (self.y + 1) / n)
        )

    def cell(self, lat: float, lng: float) -> tuple[int, int]:
        """(row, column) of the cell holding a point, clamped to the tile."""
        world_x, world_y = world_pixel(lng, lat, self.z)
        px = world_x - self.x * TILE_SIZE
        py = world_y - self.y * TILE_SIZE
        size = TILE_SIZE // CELLS_PER_SIDE

        def clamp(value: float) -> int:
            return min(max(int(value // size), 0), CELLS_PER_SIDE - 1)

        return clamp(py), clamp(px)


class Latitude(Func):
    function = "ST_Y"
    output_field = FloatField()


class Longitude(Func):
    function = "ST_X"
    output_field = FloatField()


def data_extent() -> tuple[float, float, float, float] | None:
    """(west, north, east, south) of all stored markers as shares of the world, or None
    without any: four index lookups (the extent of all locations read every point: 0.6 s at
    a million, paid by each cold tile until cached)."""
    extent = ServiceMarker.objects.aggregate(
        west=Min("x"), north=Min("y"), east=Max("x"), south=Max("y")
    )
    return None if extent["west"] is None else tuple(extent.values())


def tile_text(
    tile: Tile,
    kept: MarkerFilter,
    extent: tuple[float, float, float, float] | None,
    cached: Callable[[Tile, Callable[[], str]], str],
) -> str:
    """The tile's JSON text: from SQL from SQL_FROM_ZOOM on, merged from its children below.
    ``cached(tile, build)`` returns the cached text of a tile or builds and caches it."""
    if not tile.intersects(extent):
        return EMPTY
    if tile.z >= SQL_FROM_ZOOM:
        return cached(tile, lambda: tile_json(tile, kept))
    return cached(
        tile,
        lambda: merge(
            tile,
            [json.loads(tile_text(child, kept, extent, cached)) for child in tile.children()],
        ),
    )


def merge(tile: Tile, children: list[dict]) -> str:
    """The tile from its children's answers: each child cell lies in one cell of the tile,
    so counts add, positions average by count, bounds widen and category counts add."""
    cells: dict[tuple[int, int], dict] = {}

    def add(lat, lng, count, bounds, shares, marker=None):
        cell = cells.setdefault(
            tile.cell(lat, lng),
            {"n": 0, "lat": 0.0, "lng": 0.0, "bounds": list(bounds), "shares": {}, "markers": []},
        )
        cell["n"] += count
        cell["lat"] += lat * count
        cell["lng"] += lng * count
        box = cell["bounds"]
        cell["bounds"] = [
            min(box[0], bounds[0]),
            min(box[1], bounds[1]),
            max(box[2], bounds[2]),
            max(box[3], bounds[3]),
        ]
        for category, k in shares:
            cell["shares"][category] = cell["shares"].get(category, 0) + k
        if marker:
            cell["markers"].append(marker)

    for child in children:
        for lat, lng, count, bounds, shares in child["clusters"]:
            add(lat, lng, count, bounds, shares)
        for marker in child["markers"]:
            _id, lat, lng, category, _name = marker
            add(lat, lng, 1, [lat, lng, lat, lng], [[category, 1]], marker)
    clusters, markers = [], []
    for key in sorted(cells):
        cell = cells[key]
        if cell["n"] == 1:
            markers.extend(cell["markers"])
            continue
        shares = sorted(cell["shares"].items(), key=lambda s: (-s[1], s[0] is None, s[0] or 0))
        clusters.append(
            [
                round(cell["lat"] / cell["n"], 6),
                round(cell["lng"] / cell["n"], 6),
                cell["n"],
                cell["bounds"],
                [list(s) for s in shares],
            ]
        )
    return json.dumps({"clusters": clusters, "markers": markers}, ensure_ascii=False)


def marker_rows(tile: Tile, kept: MarkerFilter) -> tuple[str, list]:
    """SQL and parameters of the markers ``kept`` in the tile: ``pk``, the world shares
    ``x`` and ``y``, ``category_id``, ``lat`` and ``lng`` (also what bench/tile_formats.py
    encodes as vector tiles)."""
    west, south, east, north = tile.bounds()
    # A little margin for the index's rough cut: the exact test is on x and y below.
    margin = (east - west) / TILE_SIZE
    envelope = Polygon.from_bbox(
        (
            west - margin,
            max(south - margin, -MAX_LATITUDE),
            east + margin,
            min(north + margin, MAX_LATITUDE),
        )
    )
    envelope.srid = settings.ATLAS_SRID
    tiles = 2**tile.z
    # x and y are shares of the world; a tile's bounds are exact binary fractions, so
    # these comparisons are the ones on pixels (edge points belong east and south).
    markers = kept.markers().filter(
        point__bboverlaps=envelope,
        x__gte=tile.x / tiles,
        x__lt=(tile.x + 1) / tiles,
        y__gte=tile.y / tiles,
        y__lt=(tile.y + 1) / tiles,
    )
    return (
        markers.order_by()
        .annotate(lat=Latitude("point"), lng=Longitude("point"))
        .values_list("pk", "x", "y", "category_id", "lat", "lng")
        .query.sql_with_params()
    )


def tile_json(tile: Tile, kept: MarkerFilter) -> str:
    """The tile's clusters and single markers as JSON text built by PostgreSQL::

        {"clusters": [[lat, lng, count, [south, west, north, east], [[category id, n], …]], …],
         "markers": [[service id, lat, lng, category id, name], …]}

    ``category id`` is a marker's most specific category (its colour), or null; a
    cluster's list has one entry per category, largest first. ``kept`` says which published
    markers the filters keep.

    One pass over the stored markers (``ServiceMarker``) in the tile: their grid position
    is stored, so a marker costs a comparison and a hash aggregate, not a join.
    """
    rows_sql, params = marker_rows(tile, kept)
    tiles = 2**tile.z
    table = ServiceMarker._meta.db_table
    # Cells of 1/CELLS_PER_SIDE of the tile: the world in cells is a power of two too.
    cells = tiles * CELLS_PER_SIDE
    if tile.z >= SINGLE_MARKER_ZOOM:
        clusters_sql = "'[]'::json"
        markers_sql = f"""(SELECT json_agg(json_build_array(
                    m.service_id, round(r.lat::numeric, 6), round(r.lng::numeric, 6),
                    m.category_id, m.name)
                    ORDER BY floor(r.y * {cells}), floor(r.x * {cells}), m.service_id)
                FROM marker r JOIN "{table}" m ON m.service_at_location_id = r.pk)"""  # noqa: S608
    else:
        clusters_sql = """(SELECT json_agg(json_build_array(
                    round(c.lat::numeric, 6), round(c.lng::numeric, 6), c.n,
                    json_build_array(round(c.south::numeric, 6), round(c.west::numeric, 6),
                                     round(c.north::numeric, 6), round(c.east::numeric, 6)),
                    c.list) ORDER BY c.cy, c.cx)
                FROM cell c WHERE c.n > 1)"""
        markers_sql = f"""(SELECT json_agg(json_build_array(
                    m.service_id, round(c.lat::numeric, 6), round(c.lng::numeric, 6),
                    m.category_id, m.name) ORDER BY c.cy, c.cx, m.service_id)
                FROM cell c JOIN "{table}" m ON m.service_at_location_id = c.pk
                WHERE c.n = 1)"""  # noqa: S608
    # Only the table name (from model metadata), integers computed here and ORM-compiled
    # SQL are interpolated; every value is a query parameter.
    sql = f"""
        WITH marker (pk, x, y, category, lat, lng) AS ({rows_sql}),
        -- Materialised: planned on its own it is one hash aggregate over the markers
        -- (groups are few). Inlined, PostgreSQL sorted every marker for cell's ordered
        -- aggregate (an external sort of 287,119 rows at 1,000,000 services).
        per_category AS MATERIALIZED (
            SELECT floor(x * {cells})::int AS cx, floor(y * {cells})::int AS cy, category,
                   count(*)::int AS k, sum(lat) AS lat, sum(lng) AS lng,
                   min(lat) AS south, min(lng) AS west, max(lat) AS north, max(lng) AS east,
                   min(pk) AS pk
            FROM marker GROUP BY 1, 2, 3
        ), cell AS (
            SELECT cx, cy, sum(k)::int AS n, sum(lat) / sum(k) AS lat, sum(lng) / sum(k) AS lng,
                   min(south) AS south, min(west) AS west, max(north) AS north,
                   max(east) AS east, min(pk) AS pk,
                   json_agg(json_build_array(category, k) ORDER BY k DESC, category) AS list
            FROM per_category GROUP BY cx, cy
        )
        SELECT json_build_object(
            'clusters', coalesce({clusters_sql}, '[]'),
            'markers', coalesce({markers_sql}, '[]')
        )::text
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (text,) = cursor.fetchone()
    return text
