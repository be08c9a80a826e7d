"""Map speed in headless Chromium: first markers, long tasks while loading and panning.

    .venv/bin/python bench/map.py --database atlas_bench100k [--runs 3] [--skip-demo]
    .venv/bin/python bench/map.py --database atlas_bench1m --skip-demo
    DATABASE_URL=postgis://…/atlas_map .venv/bin/python bench/map.py [--services 50000]

1. With the database in DATABASE_URL (the demo, about 3,700 services): the same figures.
2. With ``--database`` (an existing database, name or URL, used as it is, e.g. the shared
   atlas_bench100k / atlas_bench1m) or else a copy holding ``--services`` published services
   (the demo plus synthetic ones, ``<name>_bench<N>k``, created on first use and kept).

The map fetches clusters per tile (``/karte/kacheln/z/x/y.json``, clustered in PostGIS,
cached per data version and filters). Each scenario starts gunicorn as in production
(DEBUG off, collected static files, ``--preload``, 2 workers sharing the map's cache) on
127.0.0.1:PORT (default 8102) and empties the map's cache: the first page load is **cold**
(every tile computed by PostgreSQL), the following ones are **warm** (tiles from the shared
cache; each run has a fresh browser profile). The database must be migrated (the stored
markers, the cache table): clone a shared one (``CREATE DATABASE x TEMPLATE …``) first.
Per scenario it prints: time from navigation to the first
markers and to every tile of the view drawn, the tile requests, the longest task while
loading, the long tasks (> 50 ms, the browser's definition) while panning and zooming, the
raw SQL time of the same tiles (``tile_json`` in a separate process, no cache), the machine
load, and whether the targets are met: first markers < 1.5 s up to 100,000 services
(< 2 s above), no long task > 50 ms while panning. Tile images come from a local stub.

``--cold-database`` restarts PostgreSQL (``--restart-command``) and empties the kernel's
page cache (as root) before each scenario's server starts: the cold run is then the first
visitor after a restart of the machine or the database, which reads the markers from disk.
``--warm-up`` runs ``manage.py warm_map`` (timed) after the map's cache is emptied: the
cold run is then the first visitor after a deployment's warm-up (README, periodic jobs).
``--query`` opens the map with filters (``category=kita``, ``q=Beratung``): every run and
the raw SQL use them; the target stays the one for the atlas's size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.support import STUB_TILE_URL, isolate, launch  # noqa: E402

PYTHON = sys.executable


def configured_database_url() -> str:
    """DATABASE_URL from the environment or .env, with the settings' default."""
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    return os.environ.get("DATABASE_URL", "postgis://atlas:atlas@127.0.0.1:5432/atlas")


def database_url_with_name(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


def ensure_bench_database(source_url: str, services: int) -> str:
    """A database with the demo plus synthetic services up to ``services`` published ones."""
    import psycopg2

    name = source_url.rsplit("/", 1)[1].split("?")[0] + f"_bench{services // 1000}k"
    url = database_url_with_name(source_url, name)
    admin_dsn = database_url_with_name(
        source_url.replace("postgis://", "postgresql://"), "postgres"
    )
    connection = psycopg2.connect(admin_dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if not exists:
            print(f"creating database {name} (migrate, demo, synthetic services) …", flush=True)
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    env = {**os.environ, "DATABASE_URL": url}
    if not exists:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PYTHON, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True
        )
    subprocess.run(
        [PYTHON, str(Path(__file__).with_name("synthetic_services.py")), str(services)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return url


WORKERS = 2
CLEAR_MAP_CACHE = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
django.setup()
from django.conf import settings
from django.core.cache import caches
caches[settings.MAP_CACHE].clear()
"""


class Server:
    """gunicorn as in production (README, "Deploying behind gunicorn": DEBUG off, collected
    static files, ``--preload``), WORKERS workers sharing the map's cache
    (ATLAS_MAP_CACHE_URL, by default a table in the database: it must be migrated)."""

    def __init__(self, database_url: str, port: int):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-not-secret"),
            "DJANGO_LOG_LEVEL": "WARNING",
            "ATLAS_TILE_URL": STUB_TILE_URL,
            # One browser pans through hundreds of tiles a minute: request limits off.
            "ATLAS_API_ANON_BURST_RATE": "",
            "ATLAS_API_ANON_RATE": "",
        }
        self.url = f"http://127.0.0.1:{port}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is in use: stop that server first")
        # Without debug the app refuses to start before collectstatic (atlas/wsgi.py).
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "atlas.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--preload",
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)  # noqa: S310
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start")

    def clear_map_cache(self) -> None:
        """Empty the tile and count cache all workers share: the next load is cold."""
        subprocess.run([PYTHON, "-c", CLEAR_MAP_CACHE], cwd=ROOT, env=self.env, check=True)

    def warm_up(self) -> None:
        """``manage.py warm_map`` as a deployment runs it, timed."""
        started = time.monotonic()
        output = subprocess.run(
            [PYTHON, "manage.py", "warm_map"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seconds = time.monotonic() - started
        print(f"  warm_map: {output.strip()} (command {seconds:.1f} s)")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


OBSERVE_LONG_TASKS = """
() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
}
"""


def load_once(browser, server_url: str, query: str = "") -> dict:
    # Playwright's wait_for_function evaluates a string, which the site's CSP refuses; the
    # page's own scripts are the same either way (the browser tests do this too).
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="de-DE", bypass_csp=True
    )
    isolate(context, server_url)
    page = context.new_page()
    page.add_init_script(OBSERVE_LONG_TASKS.join(["(", ")()"]))
    page.goto(f"{server_url}/{query}", wait_until="commit")
    page.wait_for_function(
        "document.body && document.body.dataset.markers !== undefined"
        " && document.getElementById('map').dataset.tiles === 'drawn'",
        timeout=300_000,
    )
    figures = page.evaluate(
        """() => {
        const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
        const tiles = performance.getEntriesByType("resource")
          .filter((e) => e.name.includes("/karte/kacheln/"));
        return {
          first: mark("atlas:first-markers"),
          drawn: mark("atlas:markers-drawn"),
          tiles: tiles.map((e) => [new URL(e.name).pathname, e.duration, e.encodedBodySize]),
          markers: Number(document.body.dataset.markers),
          longTasksLoading: window.__longTasks.slice(),
        };
    }"""
    )
    figures["context"] = context
    figures["page"] = page
    return figures


def pan_and_zoom(page) -> list[float]:
    page.evaluate("window.__longTasks = []")
    page.wait_for_timeout(300)
    map_box = page.locator("#map").bounding_box()
    cx = map_box["x"] + map_box["width"] / 2
    cy = map_box["y"] + map_box["height"] / 2
    rng = random.Random(4)
    for _ in range(8):
        dx, dy = rng.choice([(-300, 0), (300, 0), (0, -200), (0, 200), (-250, 150)])
        page.mouse.move(cx, cy)
        page.mouse.down()
        for step in range(1, 16):
            page.mouse.move(cx + dx * step / 15, cy + dy * step / 15)
            page.wait_for_timeout(16)
        page.mouse.up()
        page.wait_for_timeout(400)
    for delta in (-300, -300, 300, 300):
        page.mouse.move(cx, cy)
        page.mouse.wheel(0, delta)
        page.wait_for_timeout(700)
    page.wait_for_function(
        "document.getElementById('map').dataset.tiles === 'drawn'", timeout=300_000
    )
    page.wait_for_timeout(300)
    return page.evaluate("window.__longTasks.slice()")


def describe(tasks: list[float]) -> str:
    if not tasks:
        return "none"
    return f"{len(tasks)}, longest {max(tasks):.0f} ms"


def machine_load() -> str:
    return "load average " + ", ".join(f"{n:.2f}" for n in os.getloadavg())


SQL_TIMING = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
django.setup()
from django.http import QueryDict
from atlas.site.filtering import filter_services
from atlas.site.marker_filter import MarkerFilter
from atlas.site.tiles import Tile, tile_json
query, paths = sys.argv[1], sys.argv[2:]
for path in paths:
    z, x, y = (int(p) for p in path.rsplit(".", 1)[0].split("/")[-3:])
    result = filter_services(QueryDict(query))
    started = time.perf_counter()
    tile_json(Tile(z, x, y), MarkerFilter.of(result.narrowed_services, result.locations))
    print(path, f"{(time.perf_counter() - started) * 1000:.0f}")
"""


def raw_sql_ms(database_url: str, paths: list[str], query: str = "") -> dict[str, float]:
    """Time of each tile's query for the filters in ``query`` alone (tile_json, no cache),
    in a separate process."""
    env = {**os.environ, "DATABASE_URL": database_url}
    output = subprocess.run(
        [PYTHON, "-c", SQL_TIMING, query, *paths],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split()[0]: float(line.split()[1]) for line in output.splitlines()}


def make_database_cold(restart_command: str) -> None:
    """Restart PostgreSQL and empty the kernel's page cache: nothing of the database is in
    memory, as after a reboot."""
    subprocess.run(restart_command, shell=True, check=True)  # noqa: S602 - the operator's
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        print(f"  the page cache stays (not root?): {exc}")


def run_scenario(
    browser,
    server: Server,
    database_url: str,
    label: str,
    runs: int,
    warm_up: bool = False,
    query: str = "",
) -> dict:
    runs_figures, panning_tasks = [], []
    server_url = server.url
    server.clear_map_cache()
    if warm_up:
        server.warm_up()
    first_load = "after warm_map" if warm_up else "cold (server caches empty)"
    print(f"[{label}] {machine_load()} (before)")
    for _ in range(runs):
        figures = load_once(browser, server_url, f"?{query}" if query else "")
        panning_tasks.extend(pan_and_zoom(figures["page"]))
        figures["context"].close()
        del figures["context"], figures["page"]
        runs_figures.append(figures)
    # The same panning with a search that matches nothing: what the machine's load and the
    # base map cost without any marker (long tasks above this floor are the markers').
    empty = load_once(browser, server_url, "?q=zzzzqqqq")
    floor = pan_and_zoom(empty["page"])
    empty["context"].close()
    print(f"[{label}] {machine_load()} (after)")
    cold, warm = runs_figures[0], runs_figures[1:] or runs_figures
    markers = cold["markers"]
    print(f"[{label}] services on the map: {markers:,}")
    print(
        f"[{label}] {first_load}: first markers {cold['first']:.0f} ms, "
        f"all tiles drawn {cold['drawn']:.0f} ms"
    )
    first_warm = statistics.median(f["first"] for f in warm)
    warm_runs = ", ".join(f"{f['first']:.0f}" for f in warm)
    print(
        f"[{label}] warm (tiles cached on the server, fresh browser): first markers median "
        f"{first_warm:.0f} ms, all drawn median "
        f"{statistics.median(f['drawn'] for f in warm):.0f} ms "
        f"(runs: {warm_runs})"
    )
    tiles = cold["tiles"]
    slowest = max(tiles, key=lambda t: t[1])
    print(
        f"[{label}] tiles in the first view: {len(tiles)}, "
        f"{sum(t[2] for t in tiles) / 1024:.0f} kB; slowest cold response "
        f"{slowest[1]:.0f} ms ({slowest[0]})"
    )
    sql = raw_sql_ms(database_url, [t[0] for t in tiles], query)
    print(
        f"[{label}] raw SQL of the same tiles (tile_json, no cache): slowest "
        f"{max(sql.values()):.0f} ms, sum {sum(sql.values()):.0f} ms"
    )
    loading = max((max(f["longTasksLoading"], default=0) for f in runs_figures), default=0)
    print(f"[{label}] longest task while loading: {loading:.0f} ms")
    print(f"[{label}] long tasks while panning and zooming: {describe(panning_tasks)}")
    print(f"[{label}] the same without markers (the machine's floor): {describe(floor)}")
    # The target is by the size of the atlas, not by what the filters keep.
    with urllib.request.urlopen(f"{server_url}/karte/anzahl.json", timeout=300) as response:  # noqa: S310
        atlas_size = json.load(response)["count"]
    target = 1500 if atlas_size < 500_000 else 2000
    longest_pan = max(panning_tasks, default=0)
    first_run = "after warm_map" if warm_up else "cold"
    print(
        f"[{label}] target first markers < {target} ms: "
        f"{first_run} {'met' if cold['first'] < target else 'NOT met'}, "
        f"warm {'met' if first_warm < target else 'NOT met'}; "
        f"no long task > 50 ms while panning: {'met' if longest_pan <= 50 else 'NOT met'}"
    )
    return {"cold": cold, "warm": warm, "panning": panning_tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument(
        "--database",
        help="an existing database (name or postgis:// URL) for the large scenario, e.g. "
        "the shared atlas_bench100k; used as it is, no services are generated",
    )
    parser.add_argument(
        "--cold-database",
        action="store_true",
        help="restart PostgreSQL and empty the page cache before each scenario",
    )
    parser.add_argument(
        "--restart-command",
        default="pg_ctlcluster --skip-systemctl-redirect 15 main restart",
        help="how --cold-database restarts PostgreSQL",
    )
    parser.add_argument(
        "--warm-up", action="store_true", help="run manage.py warm_map before the cold run"
    )
    parser.add_argument(
        "--query",
        default="",
        help="the map's filters as a query string, e.g. category=kita (default: none)",
    )
    args = parser.parse_args()
    database_url = configured_database_url()

    def scenario(url: str, label: str) -> None:
        if args.query:
            label = f"{label}, ?{args.query}"
        if args.cold_database:
            make_database_cold(args.restart_command)
        with Server(url, args.port) as server:
            run_scenario(
                browser, server, url, label, args.runs, warm_up=args.warm_up, query=args.query
            )

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        if not args.skip_demo:
            scenario(database_url, "demo")
        if not args.skip_large:
            if args.database:
                large_url = (
                    args.database
                    if "://" in args.database
                    else database_url_with_name(database_url, args.database)
                )
                label = large_url.rsplit("/", 1)[1]
            else:
                large_url = ensure_bench_database(database_url, args.services)
                label = f"{args.services:,} services"
            scenario(large_url, label)
        browser.close()


if __name__ == "__main__":
    main()
