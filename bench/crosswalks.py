"""Benchmark of the Baukasten: crosswalks and the Sozialraum proposal on the Berlin demo.

    .venv/bin/python bench/crosswalks.py [--repeat 3] [--iterations 20]

Needs the demo with all 401,032 addresses and the postcode areas
(``manage.py load_demo``). Times, worst of ``--repeat`` runs, each in a
transaction that is rolled back (stored crosswalks stay as they are):

- PLR 2021 × PLZ and PLZ × PLR 2021 (address codes: 401,032 addresses),
- PLR 2021 × PLR 2006 (area-weighted, ST_Intersection on geography),
- the max-p regionalisation of the 542 PLR (≥ 20,000 residents, child poverty
  and unemployment),

and prints the machine and its load before and after, beside the SQL the
crosswalks run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from planning_areas.crosswalks import build_crosswalk  # noqa: E402
from planning_areas.models import Address, Area, Layer  # noqa: E402
from planning_areas.regionalisation import propose_regions  # noqa: E402

PAIRS = [
    ("planungsraeume-2021", "postleitzahlen"),
    ("postleitzahlen", "planungsraeume-2021"),
    ("planungsraeume-2021", "planungsraeume-2006"),
]

AREA_SQL = """
SELECT s.id, t.id,
       CASE WHEN ST_CoveredBy(s.geometry, t.geometry) THEN ST_Area(s.geometry::geography)
            ELSE ST_Area(ST_Intersection(s.geometry, t.geometry)::geography) END,
       ST_Area(s.geometry::geography)
FROM planning_areas_area s JOIN planning_areas_area t
  ON t.layer_id = %(target)s AND ST_Intersects(s.geometry, t.geometry)
WHERE s.layer_id = %(source)s
"""
CODES_SQL = """
SELECT a.area_id, pc.id, count(*)
FROM planning_areas_address a
JOIN planning_areas_area o ON o.id = a.area_id
LEFT JOIN planning_areas_area pc ON pc.layer_id = %(postcodes)s AND pc.code = a.postcode
WHERE o.layer_id = %(official)s
GROUP BY 1, 2
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}"


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def timed(function, repeat: int) -> tuple[float, object]:
    worst, result = 0.0, None
    for _ in range(repeat):
        with transaction.atomic():
            started = time.perf_counter()
            result = function()
            worst = max(worst, time.perf_counter() - started)
            transaction.set_rollback(True)
    return worst, result


def raw_sql_seconds(sql: str, params: dict) -> tuple[float, int]:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = len(cursor.fetchall())
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20, help="max-p construction runs")
    parser.add_argument(
        "--skip-regions", action="store_true", help="leave out the max-p run (25-200 s)"
    )
    args = parser.parse_args()
    layers = {layer.slug: layer for layer in Layer.objects.all()}
    missing = {s for pair in PAIRS for s in pair} - set(layers)
    if missing:
        sys.exit(f"Load the demo first (manage.py load_demo); missing layers: {sorted(missing)}")
    print(machine())
    print(f"load before: {load()}")
    print(
        f"addresses: {Address.objects.count():,}, of which with a position: "
        f"{Address.objects.filter(point__isnull=False).count():,}"
    )
    for source, target in PAIRS:
        seconds, report = timed(
            lambda s=source, t=target: build_crosswalk(layers[s], layers[t], commit=True),
            args.repeat,
        )
        print(
            f"crosswalk {source} × {target}: {seconds:.2f} s (worst of {args.repeat}); "
            f"method {report.method}, {report.pairs} pairs, "
            f"{100 * report.placed_share:.1f} % placed"
        )
    ids = {"source": layers["planungsraeume-2021"].pk, "target": layers["planungsraeume-2006"].pk}
    seconds, rows = raw_sql_seconds(AREA_SQL, ids)
    print(f"\nraw SQL, area overlaps PLR 2021 × PLR 2006: {seconds:.2f} s, {rows} rows{AREA_SQL}")
    codes = {
        "postcodes": layers["postleitzahlen"].pk,
        "official": layers["planungsraeume-2021"].pk,
    }
    seconds, rows = raw_sql_seconds(CODES_SQL, codes)
    print(f"raw SQL, address codes PLR 2021 × PLZ: {seconds:.2f} s, {rows} rows{CODES_SQL}")
    if args.skip_regions:
        print(f"load after: {load()}")
        return
    plr = layers["planungsraeume-2021"]
    started = time.perf_counter()
    proposal = propose_regions(
        plr,
        indicators=["child_poverty_percent", "unemployment_percent"],
        iterations=args.iterations,
    )
    total = time.perf_counter() - started
    low, high = proposal.population_range
    print(
        f"max-p regionalisation of {Area.objects.filter(layer=plr).count()} PLR "
        f"(≥ 20,000 residents, {args.iterations} construction runs): {total:.1f} s "
        f"(spopt alone {proposal.seconds:.1f} s); {len(proposal.populations)} regions, "
        f"{low:,}–{high:,} residents"
    )
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
