"""Abuse benchmark (issue 10): what a stranger can make the atlas do.

    DATABASE_URL=postgis://atlas:atlas@127.0.0.1:5432/atlas_bench .venv/bin/python bench/abuse.py

1. ``near=`` at 100,000 services: the worst time of the API's list query (as
   ``ServiceViewSet.list`` runs it, in this process) for radii up to the largest allowed
   (ATLAS_API_MAX_RADIUS_METRES), around sample points across the city, beside the same
   query as hand-written SQL, with the plan's scan lines (is the geography index used?).
   Target: < 200 ms.
2. The request limit: a gunicorn with 3 workers, a limit of N per minute and one trusted
   proxy; clients in 6 threads send 4 N requests with spoofed ``X-Forwarded-For`` entries in
   front of the one address the proxy saw. Target: at most N pass.
3. Hostile import files: ``bench/abuse_files.py`` (time and peak memory of each refusal).

The database is filled like bench/api.py's (its generator, 100,000 services) when it holds
a different number. Never point it at a database whose data matters. Figures are printed
with the machine's load (/proc/loadavg).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from django.db import connection  # noqa: E402

from bench.synthetic_services import (  # noqa: E402  (sets up Django)
    ensure_generated,
    refuse_unmigrated_database,
)
from providers import service_pages  # noqa: E402
from providers.filters import max_radius, parse_service_query  # noqa: E402

SERVICES = 100_000
RADII = [500, 1_000, 2_000, 5_000, 10_000, 50_000]
SAMPLE_POINTS = [(13.405, 52.52), (13.30, 52.45), (13.55, 52.55), (13.20, 52.60), (13.65, 52.40)]
RUNS = 3
PAGE_SIZE = 100
TARGET_MS = 200
THROTTLE_LIMIT = 60
THROTTLE_PORT = 8111
WORKERS = 3

RAW_NEAR_SQL = """
WITH matches AS MATERIALIZED (
    SELECT s.id, s.name,
           min(ST_Distance(l.point::geography,
                           ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography))
               AS distance
    FROM providers_service s
    JOIN providers_serviceatlocation sl ON sl.service_id = s.id
    JOIN providers_location l ON l.id = sl.location_id
    WHERE s.status = 'published'
      AND (s.valid_from IS NULL OR s.valid_from <= current_date)
      AND (s.valid_until IS NULL OR s.valid_until >= current_date)
      AND l.point::geography
          && _ST_Expand(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, %(r)s)
      AND _ST_DWithin(l.point::geography,
                      ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, %(r)s, true)
    GROUP BY s.id),
page AS (SELECT id FROM matches ORDER BY distance, name, id LIMIT 100)
SELECT (SELECT count(*) FROM matches),
       (SELECT json_agg(f.public) FROM providers_servicefeature f
        WHERE f.service_id IN (SELECT id FROM page))
"""


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def ensure_data() -> None:
    ensure_generated(SERVICES)


def _api_list(lon: float, lat: float, radius: int) -> int:
    """The API's list query for near=, as ServiceViewSet.list runs it."""
    query = parse_service_query({"near": f"{lon},{lat}", "radius": str(radius)})
    _, count = service_pages.page(query, 0, PAGE_SIZE)
    return count


def _raw(lon: float, lat: float, radius: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(RAW_NEAR_SQL, {"lon": lon, "lat": lat, "r": radius})
        return cursor.fetchone()[0]


def _timed(fn, radius: int) -> tuple[float, float, int]:
    """Worst and median milliseconds over the sample points and runs, and the match count."""
    samples, count = [], 0
    for lon, lat in SAMPLE_POINTS:
        for _ in range(RUNS):
            started = time.perf_counter()
            count = max(count, fn(lon, lat, radius))
            samples.append((time.perf_counter() - started) * 1000)
    return max(samples), statistics.median(samples), count


def _scan_lines(radius: int) -> list[str]:
    lon, lat = SAMPLE_POINTS[0]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + RAW_NEAR_SQL, {"lon": lon, "lat": lat, "r": radius})
        lines = [r[0].strip() for r in cursor.fetchall()]
        return [line for line in lines if "providers_location" in line or "geography" in line]


def bench_near() -> None:
    allowed = max_radius()
    print(f"\n## 1. near= at {SERVICES:,} services (load {load()})")
    print(
        f"largest allowed radius (ATLAS_API_MAX_RADIUS_METRES): {allowed} m;"
        f" target < {TARGET_MS} ms"
    )
    print(f"worst of {len(SAMPLE_POINTS)} points x {RUNS} runs; page of {PAGE_SIZE}")
    print(
        f"{'radius m':>9} {'matches':>8} {'API worst':>10} {'median':>7}"
        f" {'SQL worst':>10} {'median':>7}  allowed"
    )
    with connection.cursor() as cursor:
        # As the web processes run it (settings: jit=off, no parallel workers).
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    _api_list(*SAMPLE_POINTS[0], 500)  # warm the connection (PostGIS loads on first use)
    for radius in RADII:
        raw_worst, raw_median, count = _timed(_raw, radius)
        if radius <= allowed:
            api_worst, api_median, count = _timed(_api_list, radius)
            verdict = "yes" + ("" if api_worst < TARGET_MS else "  MISSED")
            api = f"{api_worst:>10.0f} {api_median:>7.0f}"
        else:
            api, verdict = f"{'-':>10} {'-':>7}", "no: the API answers 400"
        print(f"{radius:>9} {count:>8} {api} {raw_worst:>10.0f} {raw_median:>7.0f}  {verdict}")
    print(f"load after: {load()}")
    print(f"\nplan of the raw SQL at {allowed} m (location scans):")
    for line in _scan_lines(allowed):
        print(f"  {line}")
    print("\nraw SQL:" + RAW_NEAR_SQL)


def _get(path: str, forwarded: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", THROTTLE_PORT, timeout=60)
    try:
        conn.request("GET", path, headers={"X-Forwarded-For": forwarded})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def bench_throttle() -> None:
    print(
        f"\n## 2. Request limit {THROTTLE_LIMIT}/minute, {WORKERS} gunicorn workers (load {load()})"
    )
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-not-secret"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "ATLAS_API_ANON_BURST_RATE": f"{THROTTLE_LIMIT}/minute",
        "ATLAS_API_ANON_RATE": "100000/hour",
        "ATLAS_NUM_PROXIES": "1",
    }
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_throttlecount")
    # Without debug the app refuses to start before collectstatic (atlas/wsgi.py).
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            str(BASE_DIR / ".venv/bin/gunicorn"),
            "atlas.wsgi:application",
            "--bind",
            f"127.0.0.1:{THROTTLE_PORT}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", THROTTLE_PORT, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("gunicorn did not come up") from None
                time.sleep(0.5)
        paths = [
            "/api/v1/categories/",
            "/liste/?near=13.405,52.52&radius=500",
            "/karte/kacheln/10/550/335.json?q=kita",
        ]
        statuses: list[int] = []
        lock = threading.Lock()
        rng = random.Random(7)  # noqa: S311 - spoofed addresses, not security
        total = 4 * THROTTLE_LIMIT
        jobs = [
            (
                paths[i % len(paths)],
                f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.0.{i % 250}, 198.51.100.77",
            )
            for i in range(total)
        ]

        def worker(share):
            for path, forwarded in share:
                status = _get(path, forwarded)
                with lock:
                    statuses.append(status)

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(jobs[i::6],)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        seconds = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    passed = statuses.count(200)
    verdict = "OK" if passed <= THROTTLE_LIMIT else "MISSED"
    print(
        f"{total} requests in {seconds:.1f} s, each with a different spoofed address left of the "
        f"proxy's entry: {passed} passed (200), {statuses.count(429)} refused (429), "
        f"other {len(statuses) - passed - statuses.count(429)};"
        f" target <= {THROTTLE_LIMIT}: {verdict}"
    )
    print(f"load after: {load()}")


def bench_files() -> None:
    print(f"\n## 3. Hostile import files (load {load()})")
    try:
        from bench import abuse_files
    except ImportError as exc:
        print(f"section missing: bench/abuse_files.py could not be imported ({exc})")
        return
    abuse_files.main()


SECTIONS = {"near": bench_near, "throttle": bench_throttle, "files": bench_files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", choices=sorted(SECTIONS), action="append", help="run only these sections"
    )
    args = parser.parse_args()
    print(f"# bench/abuse.py on {os.uname().nodename}, {os.cpu_count()} cores; load {load()}")
    ensure_data()
    refuse_unmigrated_database()
    for name, section in SECTIONS.items():
        if not args.only or name in args.only:
            section()


if __name__ == "__main__":
    main()
