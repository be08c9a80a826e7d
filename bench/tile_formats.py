"""Vector tiles or JSON clusters: the same map tiles in three formats, measured in PostGIS.

Issue 15 asks to choose between vector tiles and server-side clusters by measurement. For
the tiles of the map's first view (the extent of the current layers, a 1280 × 800 window)
and of two zoomed-in views (map zoom 15 and 18 at Alexanderplatz), this prints per tile the SQL time
and the size (plain and gzip) of

  (a) json:      today's tile (``atlas.site.tiles.tile_text`` with no cache and no filter:
                 one statement from tile zoom 11 on, merged from its children below, as
                 the map asks);
  (b) mvt-grid:  ``ST_AsMVT`` of the same grid clusters and single markers, from the same
                 stored markers (``ServiceMarker``) by the same cell aggregation, in one
                 statement; categories as a JSON text attribute;
  (c) mvt-raw:   ``ST_AsMVT`` of every marker in the tile (its id and category), what a
                 vector-tile plugin would cluster in the browser;

beside the load average. Read only: it never writes to the database. It needs the stored
markers (providers migration 0020).

    .venv/bin/python bench/tile_formats.py --database atlas_bench100k [--runs 3]
    .venv/bin/python bench/tile_formats.py --database atlas_bench1m --runs 1

``--dump DIR`` writes the raw-point tiles (c) of each view, for ``bench/tile_decode.mjs``
(what decoding and clustering them would cost a browser's JavaScript engine).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


import bench.database_argument  # noqa: E402, F401  (--database, before Django)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from atlas.site.marker_filter import MarkerFilter  # noqa: E402
from atlas.site.tiles import (  # noqa: E402
    CELLS_PER_SIDE,
    SINGLE_MARKER_ZOOM,
    TILE_SIZE,
    Tile,
    data_extent,
    marker_rows,
    tile_text,
)
from planning_areas.map_view import map_view  # noqa: E402
from providers.models import Service  # noqa: E402

WINDOW = (1280, 800)
ZOOMED = (15, 52.5219, 13.4132)  # map zoom, lat, lng: Alexanderplatz
STREET = (18, 52.5219, 13.4132)  # every marker on its own (SINGLE_MARKER_ZOOM)
MVT_EXTENT = 4096


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def view_tiles(zoom: int, lat: float, lng: float) -> list[Tile]:
    """The tiles a WINDOW-sized map at ``zoom`` around (lat, lng) asks for: one zoom level
    above the map's, each drawn 512 px wide (atlas/static/atlas/js/markers.js)."""
    z = zoom - 1
    world = TILE_SIZE * 2**z
    cx = (lng + 180) / 360 * world
    cy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * world
    # On screen a tile of zoom z is 512 px: the window covers WINDOW/2 px of zoom z.
    half_w, half_h = WINDOW[0] / 4, WINDOW[1] / 4
    xs = range(int((cx - half_w) // TILE_SIZE), int((cx + half_w) // TILE_SIZE) + 1)
    ys = range(int((cy - half_h) // TILE_SIZE), int((cy + half_h) // TILE_SIZE) + 1)
    return [t for y in ys for x in xs if (t := Tile.checked(z, x, y))]


# Geometries in the tile's own integer coordinates (MVT_EXTENT per tile, y down), computed
# from the stored world shares: what ST_AsMVTGeom would compute from the point.
TILE_POINT = (
    "ST_MakePoint(floor(({x} * {tiles} - {tx}) * {extent}),"
    " floor(({y} * {tiles} - {ty}) * {extent}))"
)

GRID_SQL = """
WITH marker (pk, x, y, category, lat, lng) AS ({rows}),
per_category AS (
    SELECT floor(x * {cells})::int AS cx, floor(y * {cells})::int AS cy, category,
           count(*)::int AS k, sum(x) AS sx, sum(y) AS sy, sum(lat) AS lat, sum(lng) AS lng,
           min(lat) AS south, min(lng) AS west, max(lat) AS north, max(lng) AS east,
           min(pk) AS pk
    FROM marker GROUP BY 1, 2, 3
), cell AS (
    SELECT cx, cy, sum(k)::int AS n, sum(sx) / sum(k) AS x, sum(sy) / sum(k) AS y,
           min(south) AS south, min(west) AS west, max(north) AS north, max(east) AS east,
           min(pk) AS pk,
           json_agg(json_build_array(category, k) ORDER BY k DESC, category) AS list
    FROM per_category GROUP BY cx, cy
)
SELECT coalesce((
    SELECT ST_AsMVT(c, 'clusters', {extent}, 'geom') FROM (
        SELECT {cluster_point} AS geom, c.n AS count, c.list::text AS categories,
               c.south, c.west, c.north, c.east
        FROM cell c WHERE c.n > 1 AND {z} < {single}) c), ''::bytea)
    || coalesce((
    SELECT ST_AsMVT(m, 'markers', {extent}, 'geom') FROM (
        SELECT {marker_point} AS geom, m.service_id AS id, m.category_id AS category, m.name
        FROM marker r JOIN cell c ON c.cx = floor(r.x * {cells}) AND c.cy = floor(r.y * {cells})
        JOIN providers_servicemarker m ON m.service_at_location_id = r.pk
        WHERE c.n = 1 OR {z} >= {single}) m), ''::bytea)
"""

RAW_SQL = """
WITH marker (pk, x, y, category, lat, lng) AS ({rows})
SELECT coalesce((
    SELECT ST_AsMVT(m, 'markers', {extent}, 'geom') FROM (
        SELECT {marker_point} AS geom, r.pk AS id, r.category FROM marker r) m), ''::bytea)
"""


def mvt(tile: Tile, template: str) -> bytes:
    """ST_AsMVT of the tile's markers: grid clusters and single markers (GRID_SQL) or every
    marker (RAW_SQL)."""
    rows, params = marker_rows(tile, MarkerFilter())
    tiles = 2**tile.z
    point = {"tiles": tiles, "tx": tile.x, "ty": tile.y, "extent": MVT_EXTENT}
    # Integers computed here and the ORM-compiled marker query only; values are parameters.
    sql = template.format(
        rows=rows,
        cells=tiles * CELLS_PER_SIDE,
        z=tile.z,
        single=SINGLE_MARKER_ZOOM,
        extent=MVT_EXTENT,
        cluster_point=TILE_POINT.format(x="c.x", y="c.y", **point),
        marker_point=TILE_POINT.format(x="r.x", y="r.y", **point),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bytes(cursor.fetchone()[0])


def timed(fn, runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database")
    parser.add_argument("--runs", type=int, default=3, help="samples per tile and format")
    parser.add_argument(
        "--dump", type=Path, help="write each view's raw-point tiles (c) here, for tile_decode.mjs"
    )
    args = parser.parse_args()

    services = Service.objects.published()
    extent = data_extent()
    view = map_view()
    first_zoom = view.zoom_to_fit(*WINDOW)
    lat, lng = view.center
    views = [
        (f"first view (map zoom {first_zoom})", view_tiles(first_zoom, lat, lng)),
        (f"zoomed in (map zoom {ZOOMED[0]})", view_tiles(*ZOOMED)),
        (f"street (map zoom {STREET[0]})", view_tiles(*STREET)),
    ]
    print(
        f"database {connection.settings_dict['NAME']!r}, {services.count():,} published"
        f" services, {args.runs} run(s) per tile and format (median), load before {load()}"
    )
    header = (
        f"{'tile':>14} {'markers':>8} | {'json ms':>8} {'bytes':>8} {'gzip':>7}"
        f" | {'mvt-grid ms':>11} {'bytes':>8} {'gzip':>7} | {'mvt-raw ms':>10} {'bytes':>9}"
        f" {'gzip':>8}"
    )
    for number, (label, tiles) in enumerate(views, 1):
        print(f"\n{label}: {len(tiles)} tiles")
        print(header)
        totals = [0.0] * 9
        for tile in tiles:
            json_ms, text = timed(
                lambda t=tile: tile_text(t, MarkerFilter(), extent, lambda _t, build: build()),
                args.runs,
            )
            json_bytes = text.encode()
            grid_ms, grid = timed(lambda t=tile: mvt(t, GRID_SQL), args.runs)
            raw_ms, raw = timed(lambda t=tile: mvt(t, RAW_SQL), args.runs)
            markers = _markers(text)
            if args.dump:
                folder = args.dump / f"view{number}-zoom{tile.z + 1}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{tile.z}-{tile.x}-{tile.y}.mvt").write_bytes(raw)
            row = [
                json_ms,
                len(json_bytes),
                len(gzip.compress(json_bytes)),
                grid_ms,
                len(grid),
                len(gzip.compress(grid)),
                raw_ms,
                len(raw),
                len(gzip.compress(raw)),
            ]
            totals = [a + b for a, b in zip(totals, row, strict=True)]
            print(_row(f"{tile.z}/{tile.x}/{tile.y}", markers, row), flush=True)
        print(_row("sum", None, totals))
    print(f"\nload after {load()}")


def _markers(text: str) -> int:
    import json

    data = json.loads(text)
    return sum(c[2] for c in data["clusters"]) + len(data["markers"])


def _row(name: str, markers: int | None, row: list[float]) -> str:
    count = f"{markers:>8,}" if markers is not None else f"{'':>8}"
    return (
        f"{name:>14} {count} | {row[0]:8.1f} {row[1]:8,.0f} {row[2]:7,.0f}"
        f" | {row[3]:11.1f} {row[4]:8,.0f} {row[5]:7,.0f} | {row[6]:10.1f} {row[7]:9,.0f}"
        f" {row[8]:8,.0f}"
    )


if __name__ == "__main__":
    main()
