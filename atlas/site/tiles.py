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
services would otherwise be one statement over all of them, beyond the statement timeout.
Tiles outside the extent of all locations are empty without a query.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.gis.db.models import Extent
from django.db import connection
from django.db.models import QuerySet

from atlas.core.maps import MAX_ZOOM
from providers.models import Location, Service, ServiceAtLocation

from .queries import category_specificity

TILE_SIZE = 256
CELLS_PER_SIDE = 8  # 64 px on screen: clusters (34–52 px wide) hardly overlap
SINGLE_MARKER_ZOOM = 17  # a tile is ~190 m wide: markers are never too many to draw
SQL_FROM_ZOOM = 11  # a tile is ~20 km wide: at most ~1/40 of a city's services per statement
EMPTY = '{"clusters": [], "markers": []}'
# Web mercator's latitude limit: tiles end there.
MAX_LATITUDE = math.degrees(math.atan(math.sinh(math.pi)))


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
        """Whether the tile touches ``extent`` (west, south, east, north; None: nothing)."""
        if extent is None:
            return False
        west, south, east, north = self.bounds()
        return west <= extent[2] and extent[0] <= east and south <= extent[3] and extent[1] <= north

    def cell(self, lat: float, lng: float) -> tuple[int, int]:
        """(row, column) of the cell holding a point, clamped to the tile."""
        n = 2**self.z * TILE_SIZE
        px = (lng + 180) / 360 * n - self.x * TILE_SIZE
        py = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n - self.y * TILE_SIZE
        size = TILE_SIZE // CELLS_PER_SIDE

        def clamp(value: float) -> int:
            return min(max(int(value // size), 0), CELLS_PER_SIDE - 1)

        return clamp(py), clamp(px)


def data_extent() -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of all locations, or None without any."""
    return Location.objects.aggregate(extent=Extent("point"))["extent"]


def tile_text(
    tile: Tile,
    services: QuerySet[Service],
    locations: QuerySet[Location] | None,
    extent: tuple[float, float, float, float] | None,
    cached: Callable[[Tile, Callable[[], str]], str],
) -> str:
    """The tile's JSON text: from SQL from SQL_FROM_ZOOM on, merged from its children below.
    ``cached(tile, build)`` returns the cached text of a tile or builds and caches it."""
    if not tile.intersects(extent):
        return EMPTY
    if tile.z >= SQL_FROM_ZOOM:
        return cached(tile, lambda: tile_json(tile, services, locations))
    return cached(
        tile,
        lambda: merge(
            tile,
            [
                json.loads(tile_text(child, services, locations, extent, cached))
                for child in tile.children()
            ],
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


def tile_json(
    tile: Tile, services: QuerySet[Service], locations: QuerySet[Location] | None = None
) -> str:
    """The tile's clusters and single markers as JSON text built by PostgreSQL::

        {"clusters": [[lat, lng, count, [south, west, north, east], [[category id, n], …]], …],
         "markers": [[service id, lat, lng, category id, name], …]}

    ``category id`` is a marker's most specific category (its colour), or null; a
    cluster's list has one entry per category, largest first.
    """
    rank = category_specificity()
    ranked_ids = sorted(rank, key=rank.__getitem__)
    service_sql, service_params = services.order_by().values("pk").query.sql_with_params()
    location_clause, location_params = "", ()
    if locations is not None:
        location_sql, location_params = locations.order_by().values("pk").query.sql_with_params()
        location_clause = f"AND sal.location_id IN ({location_sql})"
    west, south, east, north = tile.bounds()
    # A little margin for rounding: the exact test is on the pixel coordinates below.
    margin = (east - west) / TILE_SIZE
    world = TILE_SIZE * 2**tile.z
    cell = TILE_SIZE // CELLS_PER_SIDE
    tables = {
        "sal": ServiceAtLocation._meta.db_table,
        "location": Location._meta.db_table,
        "service": Service._meta.db_table,
        "categories": Service.categories.through._meta.db_table,
    }
    # Only table names (from model metadata), integers computed here and ORM-compiled
    # subqueries are interpolated; every value is a query parameter.
    sql = f"""
        WITH marker AS (
            SELECT sal.service_id AS id, ST_Y(l.point) AS lat, ST_X(l.point) AS lng,
                   (ST_X(l.point) + 180) / 360 * {world} AS px,
                   (1 - ln(tan(radians(ST_Y(l.point))) + 1 / cos(radians(ST_Y(l.point))))
                        / pi()) / 2 * {world} AS py
            FROM "{tables["sal"]}" sal
            JOIN "{tables["location"]}" l ON l.id = sal.location_id
            WHERE l.point && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
              AND sal.service_id IN ({service_sql}) {location_clause}
        ), in_tile AS (
            SELECT id, lat, lng,
                   floor(px / {cell})::int AS cx, floor(py / {cell})::int AS cy
            FROM marker
            WHERE px >= {tile.x * TILE_SIZE} AND px < {(tile.x + 1) * TILE_SIZE}
              AND py >= {tile.y * TILE_SIZE} AND py < {(tile.y + 1) * TILE_SIZE}
        ), placed AS (
            SELECT in_tile.*, count(*) OVER (PARTITION BY cx, cy) AS n
            FROM in_tile
        ), coloured AS (
            SELECT placed.*,
                   (SELECT sc.category_id FROM "{tables["categories"]}" sc
                    WHERE sc.service_id = placed.id
                    ORDER BY array_position(%s::bigint[], sc.category_id::bigint) LIMIT 1)
                   AS category
            FROM placed
        ), shares AS MATERIALIZED (
            -- One pass over the markers for all clusters' category counts.
            SELECT cx, cy, json_agg(json_build_array(category, k) ORDER BY k DESC, category)
                   AS list
            FROM (SELECT cx, cy, category, count(*) AS k
                  FROM coloured WHERE n > 1 AND {tile.z} < {SINGLE_MARKER_ZOOM}
                  GROUP BY cx, cy, category) per_category
            GROUP BY cx, cy
        ), clusters AS (
            SELECT cx, cy, count(*) AS n, avg(lat) AS lat, avg(lng) AS lng,
                   min(lat) AS south, min(lng) AS west, max(lat) AS north, max(lng) AS east
            FROM placed WHERE n > 1 AND {tile.z} < {SINGLE_MARKER_ZOOM}
            GROUP BY cx, cy
        )
        SELECT json_build_object(
            'clusters', coalesce((
                SELECT json_agg(json_build_array(
                    round(c.lat::numeric, 6), round(c.lng::numeric, 6), c.n,
                    json_build_array(round(c.south::numeric, 6), round(c.west::numeric, 6),
                                     round(c.north::numeric, 6), round(c.east::numeric, 6)),
                    s.list)
                    ORDER BY c.cy, c.cx)
                FROM clusters c JOIN shares s ON s.cx = c.cx AND s.cy = c.cy), '[]'),
            'markers', coalesce((
                SELECT json_agg(json_build_array(
                    m.id, round(m.lat::numeric, 6), round(m.lng::numeric, 6), m.category,
                    sv.name) ORDER BY m.cy, m.cx, m.id)
                FROM coloured m JOIN "{tables["service"]}" sv ON sv.id = m.id
                WHERE m.n = 1 OR {tile.z} >= {SINGLE_MARKER_ZOOM}), '[]')
        )::text
    """  # noqa: S608
    envelope = [
        west - margin,
        max(south - margin, -MAX_LATITUDE),
        east + margin,
        min(north + margin, MAX_LATITUDE),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*envelope, *service_params, *location_params, ranked_ids])
        (text,) = cursor.fetchone()
    return text
