"""Benchmark of the caseworker lookup against a running server.

Prints p50/p95 of search as you type (/api/v1/addresses/) and of the full lookup
(/api/v1/lookup/: address → areas → responsibilities → 10 nearest services),
each beside the same work done as raw SQL over one database connection.

Needs the demo with all 401,032 addresses (``manage.py load_demo``) and 100,000
published services (``bench/lookup.py setup`` adds synthetic ones, external ids
``bench:…``; ``bench/lookup.py teardown`` removes them). Then start a server, e.g.

    DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench ATLAS_API_ANON_RATE= \\
      ATLAS_API_ANON_BURST_RATE= \\
      .venv/bin/gunicorn atlas.wsgi -b 127.0.0.1:8103 -w 2
    .venv/bin/python bench/lookup.py run --url http://127.0.0.1:8103

Targets: search p95 < 30 ms, lookup p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from planning_areas.address_search import parse_query, street_key  # noqa: E402
from planning_areas.models import Address, Area  # noqa: E402
from providers.models import Location, Organization, Service, ServiceAtLocation  # noqa: E402

SERVICES = 100_000
BATCH = 5_000


def setup(target: int) -> None:
    """Top published services up to ``target`` with synthetic ones spread over all areas."""
    have = Service.objects.published().count()
    missing = target - have
    if missing <= 0:
        print(f"{have} published services: nothing to add")
        return
    organization, _created = Organization.objects.get_or_create(
        external_id="bench:organisation", defaults={"name": "Benchmark-Träger (synthetisch)"}
    )
    layer_areas = Area.objects.filter(layer__slug="planungsraeume-2021")
    per_area = missing // layer_areas.count() + 1
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ST_X(p.geom), ST_Y(p.geom) FROM (
                SELECT (ST_Dump(ST_GeneratePoints(geometry, %s, 42))).geom
                FROM planning_areas_area WHERE layer_id = %s
            ) p LIMIT %s
            """,
            [per_area, layer_areas.first().layer_id, missing],
        )
        points = cursor.fetchall()
    offset = Service.objects.filter(external_id__startswith="bench:").count()
    started = time.monotonic()
    from django.contrib.gis.geos import Point

    with transaction.atomic():
        for start in range(0, len(points), BATCH):
            chunk = points[start : start + BATCH]
            numbers = range(offset + start, offset + start + len(chunk))
            locations = Location.objects.bulk_create(
                Location(
                    organization=organization,
                    name=f"Standort {n}",
                    street="Benchmarkweg",
                    house_number=str(n),
                    point=Point(x, y, srid=settings.ATLAS_SRID),
                    external_id=f"bench:{n}",
                )
                for n, (x, y) in zip(numbers, chunk, strict=True)
            )
            services = Service.objects.bulk_create(
                Service(
                    organization=organization,
                    name=f"Angebot {n}",
                    status=Service.Status.PUBLISHED,
                    external_id=f"bench:{n}",
                )
                for n in numbers
            )
            ServiceAtLocation.objects.bulk_create(
                ServiceAtLocation(service=s, location=loc)
                for s, loc in zip(services, locations, strict=True)
            )
        links = Location.objects.filter(external_id__startswith="bench:").refresh_areas()
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE providers_location, providers_location_areas, providers_service, "
            "providers_serviceatlocation"
        )
    print(
        f"added {len(points)} services in {time.monotonic() - started:.0f} s "
        f"({links} area links); published now: {Service.objects.published().count()}"
    )


def teardown() -> None:
    with transaction.atomic():
        Service.objects.filter(external_id__startswith="bench:").delete()
        Location.objects.filter(external_id__startswith="bench:").delete()
        Organization.objects.filter(external_id="bench:organisation").delete()
    print("synthetic services removed")


def typed_variants(address: Address, rng: random.Random) -> list[str]:
    """What a caseworker types on the way to an address, keystroke groups included."""
    street = address.street.name
    number = f"{address.house_number or ''}{address.house_number_suffix.lower()}"
    full = f"{street} {number}".strip()
    abbreviated = full.replace("straße", "str.").replace("Straße", "Str.")
    variants = [street[:4], street[: max(6, len(street) // 2)], abbreviated, full]
    if address.postcode:
        variants.append(f"{abbreviated} {address.postcode}")
    if len(street) > 6:  # one typo
        i = rng.randrange(2, len(street) - 1)
        variants.append(f"{street[:i]}{street[i + 1 :]} {number}")
    return variants


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label:<34} n={len(values):>5}  p50 {statistics.median(values):6.1f} ms"
        f"  p95 {percentile(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
    )


class Client:
    """One keep-alive HTTP connection, like a browser tab."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)

    def get(self, path: str, params: dict) -> tuple[float, dict]:
        url = f"{path}?{urllib.parse.urlencode(params)}"
        started = time.perf_counter()
        self.connection.request("GET", url, headers={"Accept": "application/json"})
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}: {body[:200]!r}")
        return elapsed, json.loads(body)


# The raw-SQL equivalents: the same statements the views run, without Django or HTTP.
SQL_STREETS = """
    SELECT id, CASE WHEN key = %(k)s THEN 3.0 ELSE 2.0 + similarity(key, %(k)s) END AS score
    FROM planning_areas_street WHERE key LIKE %(prefix)s ORDER BY score DESC, key LIMIT 12
"""
SQL_STREETS_FUZZY = """
    SELECT id, CASE WHEN key LIKE %(contains)s THEN 1.0 + similarity(key, %(k)s)
                    ELSE similarity(key, %(k)s) END AS score
    FROM planning_areas_street WHERE key LIKE %(contains)s OR key %% %(k)s
    ORDER BY score DESC, key LIMIT 12
"""
SQL_ADDRESSES = """
    SELECT a.id, s.name, a.house_number, a.house_number_suffix, a.postcode, a.district
    FROM planning_areas_address a JOIN planning_areas_street s ON s.id = a.street_id
    JOIN unnest(%(ids)s::bigint[], %(scores)s::float8[]) m(id, score) ON m.id = a.street_id
    ORDER BY m.score + CASE WHEN a.house_number = %(n)s THEN 1 ELSE 0 END
             + CASE WHEN a.postcode = %(p)s THEN 1.5 ELSE 0 END DESC,
             abs(a.house_number - %(n)s) NULLS LAST, a.house_number, a.house_number_suffix
    LIMIT 10
"""
SQL_LOOKUP = [
    # the address and the chain of its official area
    """SELECT a.id, a.area_id, p.id, p.parent_id, pp.id, pp.parent_id
       FROM planning_areas_address a JOIN planning_areas_area p ON p.id = a.area_id
       LEFT JOIN planning_areas_area pp ON pp.id = p.parent_id WHERE a.id = %(address)s""",
    # areas at the point, every current layer
    """SELECT a.id, a.code, a.name, l.slug FROM planning_areas_area a
       JOIN planning_areas_layer l ON l.id = a.layer_id
       WHERE ST_Covers(a.geometry, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))
         AND (l.valid_until IS NULL OR l.valid_until >= CURRENT_DATE)""",
    # responsibilities of those areas with their contacts
    """SELECT r.id, c.name, c.phone, c.internal_phone, o.name
       FROM planning_areas_responsibility r JOIN providers_contact c ON c.id = r.contact_id
       JOIN providers_organization o ON o.id = c.organization_id
       WHERE r.area_id IN (SELECT a.id FROM planning_areas_area a
             WHERE ST_Covers(a.geometry, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)))""",
    # the 10 nearest published services
    """WITH c AS (SELECT l.id, l.point FROM providers_location l
          WHERE EXISTS (SELECT 1 FROM providers_serviceatlocation sl
                        JOIN providers_service s ON s.id = sl.service_id
                        WHERE sl.location_id = l.id AND s.status = 'published')
          ORDER BY l.point <-> ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) LIMIT 50)
       SELECT s.id, s.name, ST_Distance(c.point::geography,
              ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography) d
       FROM c JOIN providers_serviceatlocation sl ON sl.location_id = c.id
       JOIN providers_service s ON s.id = sl.service_id ORDER BY d LIMIT 10""",
]


def raw_search(cursor, text: str) -> float:
    parsed = parse_query(text, {})
    started = time.perf_counter()
    scores: dict[int, float] = {}
    for key in parsed.street_keys:
        cursor.execute(SQL_STREETS, {"k": key, "prefix": f"{key}%"})
        rows = cursor.fetchall()
        if not rows:
            cursor.execute("SET LOCAL pg_trgm.similarity_threshold = 0.45")
            cursor.execute(SQL_STREETS_FUZZY, {"k": key, "contains": f"%{key}%"})
            rows = cursor.fetchall()
        scores.update(rows)
    if scores:
        cursor.execute(
            SQL_ADDRESSES,
            {
                "ids": list(scores),
                "scores": list(scores.values()),
                "n": parsed.house_number,
                "p": parsed.postcode,
            },
        )
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def raw_lookup(cursor, address_id: int, x: float, y: float) -> float:
    started = time.perf_counter()
    for sql in SQL_LOOKUP:
        cursor.execute(sql, {"address": address_id, "x": x, "y": y})
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def run(base: str, samples: int, seed: int) -> None:
    rng = random.Random(seed)
    services = Service.objects.published().count()
    addresses = Address.objects.count()
    print(f"data: {addresses} addresses, {services} published services; server {base}")
    ids = list(Address.objects.values_list("pk", flat=True))
    picked = (
        Address.objects.select_related("street", "area")
        .filter(pk__in=rng.sample(ids, samples))
        .order_by("?")
    )
    client = Client(base)
    client.get("/api/v1/addresses/", {"q": "warm up 1"})
    search_http, search_sql, lookup_http, lookup_sql, point_http = [], [], [], [], []
    with connection.cursor() as cursor:
        for address in picked:
            for text in typed_variants(address, rng):
                elapsed, _payload = client.get("/api/v1/addresses/", {"q": text})
                search_http.append(elapsed)
                with transaction.atomic():
                    search_sql.append(raw_search(cursor, text))
            elapsed, payload = client.get("/api/v1/lookup/", {"address_id": address.pk})
            lookup_http.append(elapsed)
            point = payload["point"]
            lookup_sql.append(raw_lookup(cursor, address.pk, point["lon"], point["lat"]))
            # A clicked point: areas by point-in-polygon and the 10 nearest of all services.
            lat = point["lat"] + rng.uniform(-0.002, 0.002)
            lon = point["lon"] + rng.uniform(-0.002, 0.002)
            elapsed, _payload = client.get("/api/v1/lookup/", {"lat": lat, "lon": lon})
            point_http.append(elapsed)
    assert street_key("Karl-Marx-Str.") == "karlmarxstrasse"
    print(summary("search as you type, HTTP", search_http))
    print(summary("search as you type, raw SQL", search_sql))
    print(summary("lookup by address, HTTP", lookup_http))
    print(summary("lookup by point (clicked), HTTP", point_http))
    print(summary("lookup, raw SQL", lookup_sql))
    ok_search = percentile(search_http, 0.95) < 30
    ok_lookup = max(percentile(lookup_http, 0.95), percentile(point_http, 0.95)) < 50
    print(
        f"targets: search p95 < 30 ms {'met' if ok_search else 'MISSED'}; "
        f"lookup p95 < 50 ms {'met' if ok_lookup else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="add synthetic published services up to --services")
    p_setup.add_argument("--services", type=int, default=SERVICES)
    sub.add_parser("teardown", help="remove the synthetic services")
    p_run = sub.add_parser("run", help="measure against a running server")
    p_run.add_argument("--url", default="http://127.0.0.1:8103")
    p_run.add_argument("--samples", type=int, default=200, help="addresses to walk through")
    p_run.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.services)
    elif args.command == "teardown":
        teardown()
    else:
        run(args.url, args.samples, args.seed)


if __name__ == "__main__":
    main()
