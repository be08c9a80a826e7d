"""Vector tiles or JSON clusters: the same map tiles in three formats, measured in PostGIS.

Issue 15 asks to choose between vector tiles and server-side clusters by measurement. For
the tiles of the map's first view (the extent of the current layers, a 1280 × 800 window)
and of two zoomed-in views (map zoom 15 and 18 at Alexanderplatz), this prints per tile the SQL time
and the size (plain and gzip) of

  (a) json:      today's tile (``atlas.site.tiles.tile_text`` with no cache: one statement
                 from tile zoom 11 on, merged from its children below, as the map asks);
  (b) mvt-grid:  ``ST_AsMVT`` of the same grid clusters and single markers (one statement,
                 the cluster CTEs of ``tile_json``, categories as a JSON text attribute);
  (c) mvt-raw:   ``ST_AsMVT`` of every marker in the tile (id and category), what a
                 vector-tile plugin would cluster in the browser;

beside the load average. Read only: it never writes to the database.

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


def _use_database_argument() -> None:
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--database")
    name = early.parse_known_args()[0].database
    if name:
        import environ

        environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
        url = os.environ.get("DATABASE_URL", "postgis://atlas:atlas@127.0.0.1:5432/atlas")
        os.environ["DATABASE_URL"] = f"{url.rsplit('/', 1)[0]}/{name}"


_use_database_argument()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from atlas.site.queries import category_specificity  # noqa: E402
from atlas.site.tiles import (  # noqa: E402
    CELLS_PER_SIDE,
    SINGLE_MARKER_ZOOM,
    TILE_SIZE,
    Tile,
    data_extent,
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


MVT_SQL = """
WITH marker AS (
    SELECT sal.service_id AS id, l.point,
           ST_Y(l.point) AS lat, ST_X(l.point) AS lng,
           (ST_X(l.point) + 180) / 360 * {world} AS px,
           (1 - ln(tan(radians(ST_Y(l.point))) + 1 / cos(radians(ST_Y(l.point))))
                / pi()) / 2 * {world} AS py
    FROM providers_serviceatlocation sal
    JOIN providers_location l ON l.id = sal.location_id
    WHERE l.point && ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => 1.0 / 256), 4326)
      AND sal.service_id IN ({services})
), in_tile AS (
    SELECT id, point, lat, lng, floor(px / {cell})::int AS cx, floor(py / {cell})::int AS cy
    FROM marker
    WHERE px >= {x0} AND px < {x1} AND py >= {y0} AND py < {y1}
), placed AS (
    SELECT in_tile.*, count(*) OVER (PARTITION BY cx, cy) AS n FROM in_tile
), coloured AS (
    SELECT placed.*,
           (SELECT sc.category_id FROM providers_service_categories sc
            WHERE sc.service_id = placed.id
            ORDER BY array_position(%s::bigint[], sc.category_id::bigint) LIMIT 1) AS category
    FROM placed
)
{body}
"""

GRID_BODY = """
, shares AS MATERIALIZED (
    SELECT cx, cy, json_agg(json_build_array(category, k) ORDER BY k DESC, category) AS list
    FROM (SELECT cx, cy, category, count(*) AS k FROM coloured
          WHERE n > 1 AND {z} < {single} GROUP BY cx, cy, category) per_category
    GROUP BY cx, cy
), clusters AS (
    SELECT cx, cy, count(*) AS n, avg(lat) AS lat, avg(lng) AS lng,
           min(lat) AS south, min(lng) AS west, max(lat) AS north, max(lng) AS east
    FROM placed WHERE n > 1 AND {z} < {single} GROUP BY cx, cy
)
SELECT coalesce((
    SELECT ST_AsMVT(c, 'clusters', {extent}, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(c.lng, c.lat), 4326), 3857),
                            ST_TileEnvelope({z}, {x}, {y}), {extent}, 0, false) AS geom,
               c.n AS count, s.list::text AS categories,
               c.south, c.west, c.north, c.east
        FROM clusters c JOIN shares s ON s.cx = c.cx AND s.cy = c.cy) c), ''::bytea)
    || coalesce((
    SELECT ST_AsMVT(m, 'markers', {extent}, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(m.point, 3857), ST_TileEnvelope({z}, {x}, {y}),
                            {extent}, 0, false) AS geom,
               m.id, m.category, sv.name
        FROM coloured m JOIN providers_service sv ON sv.id = m.id
        WHERE m.n = 1 OR {z} >= {single}) m), ''::bytea)
"""

RAW_BODY = """
SELECT coalesce((
    SELECT ST_AsMVT(m, 'markers', {extent}, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(m.point, 3857), ST_TileEnvelope({z}, {x}, {y}),
                            {extent}, 0, false) AS geom,
               m.id, m.category
        FROM coloured m) m), ''::bytea)
"""


def mvt(tile: Tile, body: str, services_sql: str, params: list, ranked: list[int]) -> bytes:
    world = TILE_SIZE * 2**tile.z
    values = {
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
        "world": world,
        "cell": TILE_SIZE // CELLS_PER_SIDE,
        "x0": tile.x * TILE_SIZE,
        "x1": (tile.x + 1) * TILE_SIZE,
        "y0": tile.y * TILE_SIZE,
        "y1": (tile.y + 1) * TILE_SIZE,
        "single": SINGLE_MARKER_ZOOM,
        "extent": MVT_EXTENT,
    }
    # Integers computed here and the ORM-compiled service query only; values are parameters.
    sql = MVT_SQL.format(services=services_sql, body=body.format(**values), **values)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, ranked])
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
    services_sql, params = services.order_by().values("pk").query.sql_with_params()
    rank = category_specificity()
    ranked = sorted(rank, key=rank.__getitem__)
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
                lambda t=tile: tile_text(t, services, None, extent, lambda _t, build: build()),
                args.runs,
            )
            json_bytes = text.encode()
            grid_ms, grid = timed(
                lambda t=tile: mvt(t, GRID_BODY, services_sql, params, ranked), args.runs
            )
            raw_ms, raw = timed(
                lambda t=tile: mvt(t, RAW_BODY, services_sql, params, ranked), args.runs
            )
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
